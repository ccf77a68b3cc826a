"""Scores the inputs AMSO recorded with the official Python onnxruntime and compares them
with the scores AMSO's own runtime produced for the same model.

usage: onnx_parity.py MODEL.onnx SAMPLE.json   (exit 0 when max |diff| <= 1e-5)
SAMPLE.json: {"ids": [[int]], "weights": [[float]], "scores": [[float]]}
"""
import json
import sys

import numpy as np
import onnxruntime as ort


def main() -> int:
    model, sample_path = sys.argv[1], sys.argv[2]
    with open(sample_path, encoding="utf-8") as f:
        sample = json.load(f)
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    ids = np.asarray(sample["ids"], dtype=np.int64)
    weights = np.asarray(sample["weights"], dtype=np.float32)
    (scores,) = session.run(["scores"], {"ids": ids, "weights": weights})
    expected = np.asarray(sample["scores"], dtype=np.float32)
    diff = float(np.max(np.abs(scores - expected)))
    print(json.dumps({"rows": int(ids.shape[0]), "max_abs_diff": diff, "onnxruntime": ort.__version__}))
    return 0 if diff <= 1e-5 else 1


if __name__ == "__main__":
    sys.exit(main())
