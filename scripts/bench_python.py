"""The common alternative, for `amso bench`: a straightforward Python featurizer (the same
recipe as src/engine/featurize.rs) feeding the same model.onnx through the official onnxruntime.

usage: bench_python.py MODEL.onnx ADS.jsonl BUCKETS   → prints {"ads", "seconds", "ads_per_second"}
       bench_python.py --features ADS.jsonl BUCKETS   → the feature ids of each ad, a JSON list a line
                                                    (null for an ad with code points this Python's
                                                    Unicode tables do not know)
AMSO_CHAR_CLASSES=FILE.json: Rust's character classes, for exact parity (see load_classes).
"""
import bisect
import json
import os
import sys
import time
import unicodedata

import numpy as np
import onnxruntime as ort

HOMOGLYPHS = str.maketrans({
    "а": "a", "е": "e", "ё": "e", "о": "o", "ο": "o", "р": "p", "ρ": "p", "с": "c", "х": "x",
    "χ": "x", "у": "y", "і": "i", "ι": "i", "ѕ": "s", "ј": "j", "ԁ": "d", "ɡ": "g", "ν": "v",
    "κ": "k", "τ": "t", "α": "a", "ε": "e",
})
LEET = str.maketrans({"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b"})


def fnv1a(data: bytes) -> int:
    h = 0x811C9DC5
    for b in data:
        h ^= b
        h = (h * 0x01000193) & 0xFFFFFFFF
    return h


def is_cjk(c: str) -> bool:
    o = ord(c)
    return (0x3040 <= o <= 0x30FF or 0x3400 <= o <= 0x4DBF or 0x4E00 <= o <= 0x9FFF
            or 0xAC00 <= o <= 0xD7AF or 0x1100 <= o <= 0x11FF or 0xF900 <= o <= 0xFAFF)


def load_classes(path):
    """Rust's own character classes (`char::is_alphanumeric`, `char::is_alphabetic`, which
    follow Unicode's derived Alphabetic property) as sorted [first, last] ranges, written by
    the parity test: Python's unicodedata has no Alphabetic property."""
    with open(path, encoding="utf-8") as f:
        table = json.load(f)
    return {k: ([r[0] for r in v], [r[1] for r in v]) for k, v in table.items()}


CLASSES = load_classes(os.environ["AMSO_CHAR_CLASSES"]) if os.environ.get("AMSO_CHAR_CLASSES") else None


def in_class(name: str, c: str) -> bool:
    firsts, lasts = CLASSES[name]
    i = bisect.bisect_right(firsts, ord(c)) - 1
    return i >= 0 and ord(c) <= lasts[i]


def is_alnum(c: str) -> bool:
    if CLASSES:
        return in_class("alnum", c)
    # Without the table: close to Rust's char::is_alphanumeric, which also counts vowel marks
    # such as Arabic harakat as letters; str.isalnum() does not.
    if c.isalnum():
        return True
    return unicodedata.category(c) in ("Mn", "Mc") and unicodedata.name(c, "").startswith("ARABIC")


def is_alpha(c: str) -> bool:
    return in_class("alpha", c) if CLASSES else c.isalpha()


def known(text: str) -> bool:
    """Whether every code point is assigned in this Python's Unicode tables: NFKC and case
    mapping of code points assigned later (Rust's tables are newer) cannot be reproduced."""
    return all(unicodedata.category(c) != "Cn" for c in text)


def tokens(text: str) -> list:
    raw, cur = [], []
    for c in text:
        if is_alnum(c):
            cur.append(c)
        elif cur:
            raw.append("".join(cur))
            cur = []
    if cur:
        raw.append("".join(cur))
    out, i = [], 0
    while i < len(raw):
        j = i
        while j < len(raw) and len(raw[j]) == 1 and is_alpha(raw[j]):
            j += 1
        if j - i >= 3:
            out.extend(raw[i:j])
            out.append("".join(raw[i:j]))
            i = j
            continue
        t = raw[i]
        out.append(t)
        if any(is_alpha(c) for c in t) and any(c in "0123456789" for c in t):
            out.append(t.translate(LEET))
        i += 1
    return out


def featurize(headline: str, body: str, url, buckets: int) -> list:
    # Lower case one character at a time, as Rust's char::to_lowercase does (str.lower()
    # would turn a word-final sigma into ς).
    text = "".join(c.lower() for c in unicodedata.normalize("NFKC", headline + "\n" + body))
    text = text.translate(HOMOGLYPHS)
    toks = tokens(text)
    feats = [b"w\x1f" + t.encode() for t in toks]
    feats += [b"b\x1f" + (a + " " + b).encode() for a, b in zip(toks, toks[1:])]
    for t in toks:
        chars = "<" + t + ">"
        lo, hi = (2, 4) if any(is_cjk(c) for c in t) else (3, 5)
        for n in range(lo, hi + 1):
            if len(chars) < n:
                break
            feats += [b"c\x1f" + chars[k:k + n].encode() for k in range(len(chars) - n + 1)]
    if url:
        host = url.split("://", 1)[-1].split("/")[0].split("?")[0].split("#")[0].rsplit("@", 1)[-1].split(":")[0].lower()
        host = host[4:] if host.startswith("www.") else host
        if host:
            feats.append(b"d\x1f" + host.encode())
    return [fnv1a(f) % buckets for f in feats[:4096]]


def main() -> int:
    if sys.argv[1] == "--features":
        # Reference mode for tests: the feature ids of every ad, one JSON list per line.
        data, buckets = sys.argv[2], int(sys.argv[3])
        for line in open(data, encoding="utf-8"):
            if line.strip():
                a = json.loads(line)
                text = a["headline"] + a.get("body", "") + (a.get("landing_url") or "")
                if not known(text):
                    print("null")
                    continue
                print(json.dumps(featurize(a["headline"], a.get("body", ""), a.get("landing_url"), buckets)))
        return 0
    model, data, buckets = sys.argv[1], sys.argv[2], int(sys.argv[3])
    ads = [json.loads(line) for line in open(data, encoding="utf-8") if line.strip()]
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model, options, providers=["CPUExecutionProvider"])
    started = time.perf_counter()
    for k in range(0, len(ads), 256):
        batch = [featurize(a["headline"], a.get("body", ""), a.get("landing_url"), buckets) for a in ads[k:k + 256]]
        width = max(1, max(len(f) for f in batch))
        ids = np.zeros((len(batch), width), dtype=np.int64)
        weights = np.zeros((len(batch), width), dtype=np.float32)
        for r, f in enumerate(batch):
            ids[r, :len(f)] = f
            if f:
                weights[r, :len(f)] = 1.0 / len(f)
        session.run(["scores"], {"ids": ids, "weights": weights})
    seconds = time.perf_counter() - started
    print(json.dumps({"ads": len(ads), "seconds": seconds, "ads_per_second": len(ads) / seconds}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
