//! The in-product linear baseline every trained model is measured against: TF-IDF over word
//! 1–2 grams and character 3–5 grams (2–4 in CJK and Hangul) + one-vs-rest logistic
//! regression, the standard strong baseline for short-text classification.
//!
//! - Features are the product's own n-grams ([`crate::engine::featurize`]), all of them (no
//!   per-ad cap), hashed into 2²⁰ buckets so collisions are rare.
//! - TF-IDF: raw counts × smoothed idf, ln((1 + n) / (1 + df)) + 1, and each ad's vector
//!   L2-normalised (scikit-learn's `TfidfVectorizer` defaults).
//! - Logistic regression per category, trained by stochastic gradient descent with AdaGrad
//!   step sizes (one accumulator per feature, shared by the categories) and L2 decay, the
//!   examples' weights scaling their gradients as in [`super::train`].
//!
//! It is trained in Rust on exactly the rows a model is trained on, so every card (and
//! `amso eval --baseline`) can say whether the model earns its place on the user's own data.

use super::train::{AdaGrad, SparseRow, adagrad_logistic};
use super::{CATEGORIES, sigmoid, tfidf};
use std::sync::atomic::AtomicBool;

/// Hash buckets of the baseline's vocabulary.
pub const BASELINE_BUCKETS: u32 = 1 << 20;

/// What the baseline is, for cards and reports.
pub const BASELINE_TYPE: &str = "TF-IDF (word 1–2 + char 3–5 grams, 2^20 hashed) + one-vs-rest logistic regression (AdaGrad SGD, L2)";

/// Hyper-parameters.
#[derive(Clone, Debug)]
pub struct BaselineParams {
    pub epochs: usize,
    pub learning_rate: f32,
    /// L2 penalty per example seen (scikit-learn's 1/(C·n) with C = 1 is about 1e-5 here).
    pub l2: f32,
    pub seed: u64,
}

impl Default for BaselineParams {
    fn default() -> Self {
        BaselineParams {
            epochs: 6,
            learning_rate: 0.5,
            l2: 1e-6,
            seed: 11,
        }
    }
}

/// One training document: all its hashed n-grams (at [`BASELINE_BUCKETS`]), its 0/1 targets
/// and its weight.
pub struct Doc {
    pub ids: Vec<u32>,
    pub targets: [f32; CATEGORIES],
    pub weight: f32,
}

/// A trained baseline.
pub struct Baseline {
    idf: Vec<f32>,
    /// `BASELINE_BUCKETS × CATEGORIES`, row-major.
    weights: Vec<f32>,
    bias: [f32; CATEGORIES],
}

impl Baseline {
    /// The ad's TF-IDF vector, L2-normalised.
    fn vector(&self, ids: &[u32]) -> Vec<(u32, f32)> {
        tfidf::vector(ids, &self.idf)
    }

    fn logits(&self, v: &[(u32, f32)]) -> [f32; CATEGORIES] {
        let mut z = self.bias;
        for (id, x) in v {
            let row = &self.weights[*id as usize * CATEGORIES..(*id as usize + 1) * CATEGORIES];
            for (zc, w) in z.iter_mut().zip(row) {
                *zc += x * w;
            }
        }
        z
    }

    /// Per-category probabilities of an ad's n-grams (from [`all_features`]).
    pub fn predict(&self, ids: &[u32]) -> [f32; CATEGORIES] {
        self.logits(&self.vector(ids)).map(sigmoid)
    }

    /// Trains on `docs` ([`adagrad_logistic`] over their TF-IDF vectors); None when `cancel`
    /// turned true (checked after each epoch).
    pub fn train(docs: &[Doc], params: &BaselineParams, cancel: &AtomicBool) -> Option<Baseline> {
        let buckets = BASELINE_BUCKETS as usize;
        let idf = tfidf::idf(docs.iter().map(|d| d.ids.as_slice()), buckets);
        let mut model = Baseline {
            idf,
            weights: Vec::new(),
            bias: [0.0; CATEGORIES],
        };
        let rows: Vec<SparseRow> = docs
            .iter()
            .map(|d| SparseRow {
                x: model.vector(&d.ids),
                targets: d.targets,
                weight: d.weight,
            })
            .collect();
        let opts = AdaGrad {
            buckets,
            epochs: params.epochs,
            learning_rate: params.learning_rate,
            l2: params.l2,
            seed: params.seed,
            epsilon: 1e-6,
            average_last: 1,
        };
        (model.weights, model.bias) = adagrad_logistic(&rows, &opts, |_, _| {}, cancel)?;
        Some(model)
    }
}

/// Every hashed n-gram of an ad at [`BASELINE_BUCKETS`], without the per-ad cap the model's
/// input has.
pub fn all_features(headline: &str, body: &str, landing_url: Option<&str>) -> Vec<u32> {
    crate::engine::featurize::featurize_capped(
        headline,
        body,
        landing_url,
        BASELINE_BUCKETS,
        usize::MAX,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_signal_and_honours_weights() {
        use rand::rngs::StdRng;
        use rand::{Rng, SeedableRng};
        let mut rng = StdRng::seed_from_u64(3);
        let docs: Vec<Doc> = (0..3000)
            .map(|i| {
                let positive = i % 5 == 0;
                let mut ids: Vec<u32> = (0..10).map(|_| rng.gen_range(100..5000)).collect();
                if positive {
                    ids.push(7);
                }
                let mut targets = [0.0; CATEGORIES];
                targets[2] = if positive { 1.0 } else { 0.0 };
                Doc {
                    ids,
                    targets,
                    weight: 1.0,
                }
            })
            .collect();
        let never = AtomicBool::new(false);
        let b = Baseline::train(&docs, &BaselineParams::default(), &never).unwrap();
        assert!(b.predict(&[7, 200, 300])[2] > 0.5);
        assert!(b.predict(&[200, 300, 400])[2] < 0.5);
        let cancel = AtomicBool::new(true);
        assert!(Baseline::train(&docs, &BaselineParams::default(), &cancel).is_none());
    }
}
