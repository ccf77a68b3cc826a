//! The ad policy classifier: a fastText-style model (hashed n-gram embeddings averaged,
//! then one logistic output per policy category), its training, evaluation and export.

pub mod baseline;
pub mod card;
pub mod compare;
pub mod onnx;
pub mod promotion;
pub mod quality;
pub mod registry;
pub mod retrain;
pub mod runtime;
pub mod tfidf;
pub mod train;

use crate::vocab::policy::Category;

/// Number of model outputs: one per policy category, in [`Category::ALL`] order.
pub const CATEGORIES: usize = Category::ALL.len();

/// The learned parameters.
#[derive(Clone, Debug, PartialEq)]
pub struct Weights {
    /// Rows of the embedding table (hash buckets).
    pub buckets: u32,
    /// Embedding width.
    pub dim: usize,
    /// Number of outputs.
    pub categories: usize,
    /// `buckets × dim`, row-major.
    pub embedding: Vec<f32>,
    /// `dim × categories`, row-major.
    pub out_w: Vec<f32>,
    /// `categories`.
    pub out_b: Vec<f32>,
    /// The TF-IDF form's idf per bucket: the input is the ad's TF-IDF vector
    /// ([`tfidf::vector`]) instead of the mean of its n-grams. None: mean-pooled.
    pub idf: Option<Vec<f32>>,
}

impl Weights {
    /// The input vector of `ids`: distinct ids with their values (count / n when
    /// mean-pooled, TF-IDF L2-normalised in the TF-IDF form).
    pub fn input(&self, ids: &[u32]) -> Vec<(u32, f32)> {
        match &self.idf {
            Some(idf) => tfidf::vector(ids, idf),
            None => tfidf::shares(ids),
        }
    }

    /// The weighted sum of the embeddings of `ids`' input (zeros for no features).
    pub fn hidden(&self, ids: &[u32]) -> Vec<f32> {
        let mut h = vec![0.0f32; self.dim];
        let mut add = |id: u32, w: f32| {
            let row = &self.embedding[id as usize * self.dim..(id as usize + 1) * self.dim];
            for (acc, v) in h.iter_mut().zip(row) {
                *acc += v * w;
            }
        };
        match &self.idf {
            Some(idf) => tfidf::vector(ids, idf)
                .into_iter()
                .for_each(|(id, w)| add(id, w)),
            // The same sum as over `input`, without its sort: the embedding form's training
            // calls this for every example.
            None => {
                let w = 1.0 / ids.len().max(1) as f32;
                ids.iter().for_each(|id| add(*id, w));
            }
        }
        h
    }

    /// The logit of each category for a hidden vector.
    pub fn logits(&self, hidden: &[f32]) -> Vec<f32> {
        let mut z = self.out_b.clone();
        for (d, hv) in hidden.iter().enumerate() {
            let row = &self.out_w[d * self.categories..(d + 1) * self.categories];
            for (zc, wc) in z.iter_mut().zip(row) {
                *zc += hv * wc;
            }
        }
        z
    }

    /// Per-category probabilities for one ad's features (the reference implementation
    /// of what the ONNX graph computes).
    pub fn predict(&self, ids: &[u32]) -> Vec<f32> {
        self.logits(&self.hidden(ids))
            .into_iter()
            .map(sigmoid)
            .collect()
    }
}

/// The logistic function.
pub fn sigmoid(z: f32) -> f32 {
    1.0 / (1.0 + (-z).exp())
}
