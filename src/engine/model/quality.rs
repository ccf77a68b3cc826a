//! Offline quality of a classifier on labelled data: ROC-AUC, PR-AUC (average precision),
//! and precision, recall and F1 at a threshold.

use serde::{Deserialize, Serialize};

/// Quality of one category's scores against 0/1 labels.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CategoryQuality {
    pub positives: usize,
    pub negatives: usize,
    pub roc_auc: Option<f64>,
    pub pr_auc: Option<f64>,
    pub threshold: f64,
    pub precision: f64,
    pub recall: f64,
    pub f1: f64,
}

/// ROC-AUC by the rank-sum (Mann–Whitney) formula, ties counted half; `None` without
/// both classes.
pub fn roc_auc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*a].total_cmp(&scores[*b]));
    let (mut rank_sum, mut pos, mut i) = (0.0f64, 0usize, 0usize);
    while i < idx.len() {
        let mut j = i;
        while j + 1 < idx.len() && scores[idx[j + 1]] == scores[idx[i]] {
            j += 1;
        }
        let avg_rank = (i + j) as f64 / 2.0 + 1.0;
        for k in i..=j {
            if labels[idx[k]] {
                rank_sum += avg_rank;
                pos += 1;
            }
        }
        i = j + 1;
    }
    let neg = scores.len() - pos;
    if pos == 0 || neg == 0 {
        return None;
    }
    Some((rank_sum - (pos * (pos + 1)) as f64 / 2.0) / (pos as f64 * neg as f64))
}

/// Average precision: the mean of precision at each positive, scores descending.
pub fn average_precision(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let mut idx: Vec<usize> = (0..scores.len()).collect();
    idx.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
    let total_pos = labels.iter().filter(|l| **l).count();
    if total_pos == 0 {
        return None;
    }
    let (mut tp, mut sum) = (0usize, 0.0f64);
    for (rank, i) in idx.iter().enumerate() {
        if labels[*i] {
            tp += 1;
            sum += tp as f64 / (rank + 1) as f64;
        }
    }
    Some(sum / total_pos as f64)
}

/// Precision, recall and F1 of `score ≥ threshold`.
pub fn at_threshold(scores: &[f32], labels: &[bool], threshold: f64) -> (f64, f64, f64) {
    let (mut tp, mut fp, mut fn_) = (0usize, 0usize, 0usize);
    for (s, l) in scores.iter().zip(labels) {
        match (f64::from(*s) >= threshold, *l) {
            (true, true) => tp += 1,
            (true, false) => fp += 1,
            (false, true) => fn_ += 1,
            (false, false) => {}
        }
    }
    let precision = if tp + fp == 0 {
        0.0
    } else {
        tp as f64 / (tp + fp) as f64
    };
    let recall = if tp + fn_ == 0 {
        0.0
    } else {
        tp as f64 / (tp + fn_) as f64
    };
    let f1 = if precision + recall == 0.0 {
        0.0
    } else {
        2.0 * precision * recall / (precision + recall)
    };
    (precision, recall, f1)
}

/// The threshold (on a 0.01 grid from 0.05 to 0.95) with the best F1.
pub fn best_f1_threshold(scores: &[f32], labels: &[bool]) -> f64 {
    (5..=95)
        .map(|t| f64::from(t) / 100.0)
        .map(|t| (t, at_threshold(scores, labels, t).2))
        .fold(
            (0.5, -1.0),
            |best, cur| if cur.1 > best.1 { cur } else { best },
        )
        .0
}

/// All figures for one category; `threshold` of `None` picks the best-F1 one.
pub fn category_quality(
    scores: &[f32],
    labels: &[bool],
    threshold: Option<f64>,
) -> CategoryQuality {
    let threshold = threshold.unwrap_or_else(|| best_f1_threshold(scores, labels));
    let (precision, recall, f1) = at_threshold(scores, labels, threshold);
    let positives = labels.iter().filter(|l| **l).count();
    CategoryQuality {
        positives,
        negatives: labels.len() - positives,
        roc_auc: roc_auc(scores, labels),
        pr_auc: average_precision(scores, labels),
        threshold,
        precision,
        recall,
        f1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_and_inverted_rankings() {
        let s = [0.1, 0.2, 0.8, 0.9];
        assert_eq!(roc_auc(&s, &[false, false, true, true]), Some(1.0));
        assert_eq!(roc_auc(&s, &[true, true, false, false]), Some(0.0));
        assert_eq!(roc_auc(&[0.5, 0.5], &[true, false]), Some(0.5));
        assert_eq!(roc_auc(&s, &[false; 4]), None);
        assert_eq!(
            average_precision(&s, &[false, false, true, true]),
            Some(1.0)
        );
    }

    #[test]
    fn threshold_figures() {
        let s = [0.1, 0.4, 0.6, 0.9];
        let l = [false, true, false, true];
        let (p, r, f1) = at_threshold(&s, &l, 0.5);
        assert_eq!((p, r), (0.5, 0.5));
        assert!((f1 - 0.5).abs() < 1e-12);
        let best = best_f1_threshold(&s, &l);
        assert!(best <= 0.4, "{best}");
    }
}
