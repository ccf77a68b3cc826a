//! Turning ad text into hashed n-gram features, the input of the model.
//!
//! The recipe (kept in step with the Python reference in `scripts/bench_python.py`, which the integration tests compare against):
//! 1. Unicode NFKC, lower-casing, and folding of common look-alike letters (Cyrillic and
//!    Greek homoglyphs) onto Latin ones.
//! 2. Tokens are maximal runs of alphanumeric characters; everything else separates.
//!    Three or more single-letter tokens in a row are also joined (`c a s i n o` →
//!    `casino`), and tokens mixing letters and digits also get a de-leeted form
//!    (`c4sino` → `casino`).
//! 3. Features: word unigrams, word bigrams, and character n-grams of `<token>`
//!    (lengths 3–5, or 2–4 for tokens in CJK or Hangul scripts, which have no spaces),
//!    plus the landing page's domain. Each is hashed (FNV-1a, 32-bit, over a kind tag and
//!    the UTF-8 text) into one of `buckets` rows.
//! 4. Every feature weighs 1/n: the model averages their embeddings.

use unicode_normalization::UnicodeNormalization;

/// Default number of hash buckets (rows of the embedding table).
pub const DEFAULT_BUCKETS: u32 = 1 << 17;

/// At most this many features are kept per ad (the first ones, in text order: words, then
/// bigrams, then character n-grams, then the domain). 4,096 keep every feature of about
/// 1,000 characters of text; the earlier cap of 384 cut the character n-grams of longer ads
/// short and cost the model its lead over the TF-IDF baseline on them.
pub const MAX_FEATURES: usize = 4096;

/// What a feature is, for explanations.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FeatureKind {
    Word,
    Bigram,
    CharGram,
    Domain,
}

impl FeatureKind {
    fn tag(self) -> &'static [u8] {
        match self {
            FeatureKind::Word => b"w\x1f",
            FeatureKind::Bigram => b"b\x1f",
            FeatureKind::CharGram => b"c\x1f",
            FeatureKind::Domain => b"d\x1f",
        }
    }
}

/// Text normalised for featurisation: NFKC, lower case, homoglyphs folded.
pub fn normalize(text: &str) -> String {
    // ASCII is its own NFKC form and has no look-alike letters to fold: lower case is all.
    if text.is_ascii() {
        return text.to_ascii_lowercase();
    }
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc() {
        for lower in c.to_lowercase() {
            out.push(fold_homoglyph(lower));
        }
    }
    out
}

/// Maps letters that look like Latin ones (used to dodge filters) onto those letters.
fn fold_homoglyph(c: char) -> char {
    match c {
        'а' => 'a',
        'е' | 'ё' => 'e',
        'о' | 'ο' => 'o',
        'р' | 'ρ' => 'p',
        'с' => 'c',
        'х' | 'χ' => 'x',
        'у' => 'y',
        'і' | 'ι' => 'i',
        'ѕ' => 's',
        'ј' => 'j',
        'ԁ' => 'd',
        'ɡ' => 'g',
        'ν' => 'v',
        'κ' => 'k',
        'τ' => 't',
        'α' => 'a',
        'ε' => 'e',
        _ => c,
    }
}

/// The de-leeted form of a token mixing letters and digits, if it differs.
fn deleet(token: &str) -> Option<String> {
    let has_alpha = token.chars().any(char::is_alphabetic);
    let has_digit = token.chars().any(|c| c.is_ascii_digit());
    if !(has_alpha && has_digit) {
        return None;
    }
    Some(
        token
            .chars()
            .map(|c| match c {
                '0' => 'o',
                '1' => 'i',
                '3' => 'e',
                '4' => 'a',
                '5' => 's',
                '7' => 't',
                '8' => 'b',
                other => other,
            })
            .collect(),
    )
}

/// Tokens of normalised text, with joined single letters and de-leeted forms added.
pub fn tokens(normalized: &str) -> Vec<String> {
    token_cows(normalized)
        .into_iter()
        .map(|t| t.into_owned())
        .collect()
}

/// [`tokens`] without copying the ones that are slices of the text.
pub fn token_cows(normalized: &str) -> Vec<std::borrow::Cow<'_, str>> {
    use std::borrow::Cow;
    let raw: Vec<&str> = normalized
        .split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .collect();
    let mut out: Vec<Cow<'_, str>> = Vec::with_capacity(raw.len() + 4);
    let single = |t: &str| {
        let mut cs = t.chars();
        matches!((cs.next(), cs.next()), (Some(c), None) if c.is_alphabetic())
    };
    let mut i = 0;
    while i < raw.len() {
        // A run of spaced-out letters (`c a s i n o`) becomes one word as well.
        let mut j = i;
        while j < raw.len() && single(raw[j]) {
            j += 1;
        }
        if j - i >= 3 {
            out.extend(raw[i..j].iter().map(|t| Cow::Borrowed(*t)));
            out.push(Cow::Owned(raw[i..j].concat()));
            i = j;
            continue;
        }
        out.push(Cow::Borrowed(raw[i]));
        if let Some(plain) = deleet(raw[i]) {
            out.push(Cow::Owned(plain));
        }
        i += 1;
    }
    out
}

/// Letters of scripts written without spaces between words (Chinese, Japanese, Korean).
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF      // Hiragana, Katakana
        | 0x3400..=0x4DBF    // CJK extension A
        | 0x4E00..=0x9FFF    // CJK unified ideographs
        | 0xAC00..=0xD7AF    // Hangul syllables
        | 0x1100..=0x11FF    // Hangul jamo
        | 0xF900..=0xFAFF) // CJK compatibility ideographs
}

const FNV_OFFSET: u32 = 0x811c_9dc5;
const FNV_PRIME: u32 = 0x0100_0193;

/// FNV-1a, 32-bit, over the concatenation of `parts`.
fn fnv1a_parts(parts: &[&[u8]]) -> u32 {
    let mut h = FNV_OFFSET;
    for part in parts {
        for b in *part {
            h ^= u32::from(*b);
            h = h.wrapping_mul(FNV_PRIME);
        }
    }
    h
}

/// FNV-1a, 32-bit, over `tag` then `text`.
#[cfg(test)]
fn fnv1a(tag: &[u8], text: &[u8]) -> u32 {
    fnv1a_parts(&[tag, text])
}

/// Calls `emit(kind, parts)` for every feature of an ad, in order; a feature's text is
/// the concatenation of its parts (nothing is allocated per feature).
fn for_each_feature(
    headline: &str,
    body: &str,
    landing_url: Option<&str>,
    mut emit: impl FnMut(FeatureKind, &[&[u8]]),
) {
    let mut text = String::with_capacity(headline.len() + body.len() + 1);
    text.push_str(headline);
    text.push('\n');
    text.push_str(body);
    let text = normalize(&text);
    let toks = token_cows(&text);
    for t in &toks {
        emit(FeatureKind::Word, &[t.as_bytes()]);
    }
    for w in toks.windows(2) {
        emit(
            FeatureKind::Bigram,
            &[w[0].as_bytes(), b" ", w[1].as_bytes()],
        );
    }
    // `<token>` as bytes, and where each character starts.
    let mut bytes: Vec<u8> = Vec::with_capacity(64);
    let mut starts: Vec<usize> = Vec::with_capacity(64);
    for t in &toks {
        bytes.clear();
        starts.clear();
        starts.push(0);
        bytes.push(b'<');
        for (i, _) in t.char_indices() {
            starts.push(1 + i);
        }
        bytes.extend_from_slice(t.as_bytes());
        starts.push(bytes.len());
        bytes.push(b'>');
        starts.push(bytes.len());
        let chars = starts.len() - 1;
        let (lo, hi) = if t.chars().any(is_cjk) {
            (2, 4)
        } else {
            (3, 5)
        };
        for n in lo..=hi {
            if chars < n {
                break;
            }
            for k in 0..=chars - n {
                emit(FeatureKind::CharGram, &[&bytes[starts[k]..starts[k + n]]]);
            }
        }
    }
    if let Some(domain) = landing_url.and_then(domain_of) {
        emit(FeatureKind::Domain, &[domain.as_bytes()]);
    }
}

/// The host of a URL, lower-cased, without a leading `www.`.
pub fn domain_of(url: &str) -> Option<String> {
    let rest = url.trim().split_once("://").map_or(url.trim(), |(_, r)| r);
    let host = rest.split(['/', '?', '#']).next()?.rsplit('@').next()?;
    let host = host.split(':').next()?.to_lowercase();
    let host = host.strip_prefix("www.").unwrap_or(&host).to_string();
    (!host.is_empty()).then_some(host)
}

/// The hashed features of an ad: bucket ids, in text order, at most [`MAX_FEATURES`].
pub fn featurize(headline: &str, body: &str, landing_url: Option<&str>, buckets: u32) -> Vec<u32> {
    featurize_capped(headline, body, landing_url, buckets, MAX_FEATURES)
}

/// The hashed features of an ad, in text order, at most `cap` of them.
pub fn featurize_capped(
    headline: &str,
    body: &str,
    landing_url: Option<&str>,
    buckets: u32,
    cap: usize,
) -> Vec<u32> {
    let mut ids = Vec::with_capacity(128);
    for_each_feature(headline, body, landing_url, |kind, parts| {
        if ids.len() < cap {
            let h = match parts {
                [a] => fnv1a_parts(&[kind.tag(), a]),
                [a, b, c] => fnv1a_parts(&[kind.tag(), a, b, c]),
                _ => {
                    let mut all: Vec<&[u8]> = vec![kind.tag()];
                    all.extend_from_slice(parts);
                    fnv1a_parts(&all)
                }
            };
            ids.push(h % buckets);
        }
    });
    ids
}

/// The features of an ad with their text, for explaining a score.
pub fn featurize_explained(
    headline: &str,
    body: &str,
    landing_url: Option<&str>,
    buckets: u32,
) -> Vec<(u32, FeatureKind, String)> {
    let mut out = Vec::new();
    for_each_feature(headline, body, landing_url, |kind, parts| {
        if out.len() < MAX_FEATURES {
            let mut all: Vec<&[u8]> = vec![kind.tag()];
            all.extend_from_slice(parts);
            let text = String::from_utf8_lossy(&parts.concat()).into_owned();
            out.push((fnv1a_parts(&all) % buckets, kind, text));
        }
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has_word(text: &str, word: &str) -> bool {
        tokens(&normalize(text)).iter().any(|t| t == word)
    }

    #[test]
    fn normalisation_folds_width_case_and_homoglyphs() {
        assert_eq!(normalize("ＣＡＳＩＮＯ"), "casino");
        assert_eq!(normalize("Cаsinо"), "casino"); // Cyrillic а and о
        assert_eq!(normalize("Straße"), "straße");
    }

    #[test]
    fn obfuscations_still_yield_the_plain_word() {
        assert!(has_word("Best c4sino bonus", "casino"));
        assert!(has_word("play c a s i n o now", "casino"));
        assert!(has_word("🎰casino🎰 tonight", "casino"));
        assert!(has_word("Саsіnо", "casino"));
        // Ordinary numbers are left alone.
        assert!(!has_word("buy 2 get 1", "b"));
    }

    #[test]
    fn cjk_and_arabic_give_features() {
        let ja = featurize("今すぐ登録", "カジノで稼ぐ", None, DEFAULT_BUCKETS);
        assert!(ja.len() > 5);
        let ar = featurize("عرض خاص", "ربح سريع مضمون", None, DEFAULT_BUCKETS);
        assert!(ar.len() > 5);
    }

    #[test]
    fn features_are_deterministic_and_bounded() {
        let a = featurize(
            "Free spins",
            "Win big at our casino",
            Some("https://www.lucky.example/x"),
            DEFAULT_BUCKETS,
        );
        let b = featurize(
            "Free spins",
            "Win big at our casino",
            Some("https://www.lucky.example/x"),
            DEFAULT_BUCKETS,
        );
        assert_eq!(a, b);
        assert!(a.iter().all(|id| *id < DEFAULT_BUCKETS));
        let long = "word ".repeat(2000);
        assert_eq!(
            featurize(&long, "", None, DEFAULT_BUCKETS).len(),
            MAX_FEATURES
        );
    }

    #[test]
    fn domains_are_extracted() {
        assert_eq!(
            domain_of("https://www.Shop.example/a?b").as_deref(),
            Some("shop.example")
        );
        assert_eq!(
            domain_of("shop.example:8080/x").as_deref(),
            Some("shop.example")
        );
        assert_eq!(
            domain_of("https://user@host.example").as_deref(),
            Some("host.example")
        );
        assert_eq!(domain_of(""), None);
    }

    #[test]
    fn fnv_matches_the_reference() {
        // FNV-1a 32 of "a" is 0xe40c292c.
        assert_eq!(fnv1a(b"", b"a"), 0xe40c_292c);
    }
}
