//! TF-IDF weighting of hashed n-grams, shared by the model's default (linear) form and the
//! in-product baseline: raw counts × smoothed idf, ln((1 + n) / (1 + df)) + 1, each ad's
//! vector L2-normalised (scikit-learn's `TfidfVectorizer` defaults).

/// Counts of each distinct id, sorted by id.
pub fn counts(ids: &[u32]) -> Vec<(u32, f32)> {
    let mut sorted = ids.to_vec();
    sorted.sort_unstable();
    let mut out: Vec<(u32, f32)> = Vec::with_capacity(sorted.len());
    for id in sorted {
        match out.last_mut() {
            Some((last, n)) if *last == id => *n += 1.0,
            _ => out.push((id, 1.0)),
        }
    }
    out
}

/// Each distinct id with its share of the ad's features, count / n: the mean-pooled input.
pub fn shares(ids: &[u32]) -> Vec<(u32, f32)> {
    let unit = 1.0 / ids.len().max(1) as f32;
    let mut x = counts(ids);
    x.iter_mut().for_each(|(_, v)| *v *= unit);
    x
}

/// The smoothed idf of each of `buckets` ids over `docs` (each an ad's ids): an id no
/// document has gets the largest value, ln(1 + n) + 1.
pub fn idf<'a>(docs: impl Iterator<Item = &'a [u32]>, buckets: usize) -> Vec<f32> {
    let mut df = vec![0u32; buckets];
    let mut n = 0u32;
    let mut seen: Vec<u32> = Vec::new();
    for ids in docs {
        n += 1;
        seen.clear();
        seen.extend_from_slice(ids);
        seen.sort_unstable();
        seen.dedup();
        for id in &seen {
            df[*id as usize] += 1;
        }
    }
    let n = n as f32;
    df.iter()
        .map(|&d| ((1.0 + n) / (1.0 + d as f32)).ln() + 1.0)
        .collect()
}

/// An ad's TF-IDF vector (distinct ids, sorted), L2-normalised; empty for no ids.
pub fn vector(ids: &[u32], idf: &[f32]) -> Vec<(u32, f32)> {
    let mut v = counts(ids);
    for (id, x) in v.iter_mut() {
        *x *= idf[*id as usize];
    }
    let norm = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        v.iter_mut().for_each(|(_, x)| *x /= norm);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_are_unit_length_and_weigh_rare_terms_more() {
        let docs: Vec<Vec<u32>> = vec![vec![1, 2, 2], vec![2, 3], vec![2, 3], vec![2, 3]];
        let idf = idf(docs.iter().map(Vec::as_slice), 8);
        // idf(1) = ln(5/2) + 1, idf(2) = ln(5/5) + 1 = 1, an unseen id ln(5) + 1.
        assert!((idf[2] - 1.0).abs() < 1e-6);
        assert!((idf[7] - (5.0f32.ln() + 1.0)).abs() < 1e-6);
        let v = vector(&[2, 1, 2], &idf);
        let norm: f32 = v.iter().map(|(_, x)| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-6);
        let raw1 = (5.0f32 / 2.0).ln() + 1.0;
        let raw2 = 2.0;
        let expect1 = raw1 / (raw1 * raw1 + raw2 * raw2).sqrt();
        assert_eq!(v[0].0, 1);
        assert!((v[0].1 - expect1).abs() < 1e-6, "{v:?}");
        assert!(vector(&[], &idf).is_empty());
    }
}
