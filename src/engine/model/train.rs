//! Training the classifier with stochastic gradient descent on the per-category logistic
//! loss, as fastText's one-vs-all mode does.

use super::{CATEGORIES, Weights, sigmoid};
use rand::Rng;
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// One training example: feature ids and a 0/1 target per category.
#[derive(Clone, Debug)]
pub struct Example {
    pub ids: Vec<u32>,
    pub targets: [f32; CATEGORIES],
    /// How much the example counts (1 for an unweighted set; 1/sampling probability, capped,
    /// for human verdicts drawn at different rates).
    pub weight: f32,
}

/// Hyper-parameters.
#[derive(Clone, Debug)]
pub struct TrainParams {
    pub buckets: u32,
    pub dim: usize,
    pub epochs: usize,
    /// Initial learning rate, decayed linearly to zero.
    pub learning_rate: f32,
    pub seed: u64,
}

impl Default for TrainParams {
    fn default() -> Self {
        TrainParams {
            buckets: crate::engine::featurize::DEFAULT_BUCKETS,
            dim: 16,
            epochs: 10,
            learning_rate: 0.4,
            seed: 7,
        }
    }
}

/// Trains on `examples`, calling `progress(epoch, mean_loss)` after each epoch.
pub fn train(
    examples: &[Example],
    params: &TrainParams,
    progress: impl FnMut(usize, f64),
) -> Weights {
    let never = std::sync::atomic::AtomicBool::new(false);
    train_until(examples, params, progress, &never).expect("never cancelled")
}

/// [`train`], stopping (None) at the end of the epoch during which `cancel` turned true.
/// Each example's gradient is scaled by its weight over the mean weight, so a weighted set
/// keeps the learning rate of an unweighted one.
pub fn train_until(
    examples: &[Example],
    params: &TrainParams,
    mut progress: impl FnMut(usize, f64),
    cancel: &std::sync::atomic::AtomicBool,
) -> Option<Weights> {
    let mean_weight = (examples.iter().map(|e| f64::from(e.weight)).sum::<f64>()
        / examples.len().max(1) as f64)
        .max(1e-9) as f32;
    let mut rng = StdRng::seed_from_u64(params.seed);
    let dim = params.dim;
    let bound = 1.0 / dim as f32;
    let embedding = (0..params.buckets as usize * dim)
        .map(|_| rng.gen_range(-bound..bound))
        .collect();
    // Start each output at the log-odds of its base rate, so early updates learn signal.
    let mut out_b = vec![0.0f32; CATEGORIES];
    for (c, b) in out_b.iter_mut().enumerate() {
        let pos = examples.iter().filter(|e| e.targets[c] > 0.5).count() as f32;
        let rate = ((pos + 1.0) / (examples.len() as f32 + 2.0)).clamp(1e-4, 1.0 - 1e-4);
        *b = (rate / (1.0 - rate)).ln();
    }
    let mut w = Weights {
        buckets: params.buckets,
        dim,
        categories: CATEGORIES,
        embedding,
        out_w: vec![0.0; dim * CATEGORIES],
        out_b,
    };

    let mut order: Vec<usize> = (0..examples.len()).collect();
    let total_steps = (params.epochs * examples.len()).max(1) as f32;
    let mut step = 0usize;
    let mut grad_h = vec![0.0f32; dim];
    for epoch in 0..params.epochs {
        order.shuffle(&mut rng);
        let mut loss = 0.0f64;
        for &i in &order {
            let ex = &examples[i];
            let lr = params.learning_rate
                * (1.0 - step as f32 / total_steps).max(0.0001)
                * (ex.weight / mean_weight);
            step += 1;
            if ex.ids.is_empty() {
                continue;
            }
            let h = w.hidden(&ex.ids);
            let z = w.logits(&h);
            grad_h.iter_mut().for_each(|g| *g = 0.0);
            for (c, (&zc, &y)) in z.iter().zip(&ex.targets).enumerate() {
                let p = sigmoid(zc);
                loss -= f64::from(if y > 0.5 {
                    p.max(1e-7).ln()
                } else {
                    (1.0 - p).max(1e-7).ln()
                });
                let g = lr * (y - p);
                for d in 0..dim {
                    let idx = d * CATEGORIES + c;
                    grad_h[d] += g * w.out_w[idx];
                    w.out_w[idx] += g * h[d];
                }
                w.out_b[c] += g;
            }
            let scale = 1.0 / ex.ids.len() as f32;
            for id in &ex.ids {
                let row = &mut w.embedding[*id as usize * dim..(*id as usize + 1) * dim];
                for (v, g) in row.iter_mut().zip(&grad_h) {
                    *v += g * scale;
                }
            }
        }
        progress(
            epoch + 1,
            loss / (examples.len().max(1) * CATEGORIES) as f64,
        );
        if cancel.load(std::sync::atomic::Ordering::Relaxed) {
            return None;
        }
    }
    Some(w)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn learns_a_separable_signal() {
        // Category 0 fires when feature 1 is present; everything else is noise.
        let mut rng = StdRng::seed_from_u64(1);
        let examples: Vec<Example> = (0..2000)
            .map(|i| {
                let positive = i % 4 == 0;
                let mut ids: Vec<u32> = (0..8).map(|_| rng.gen_range(10..1000)).collect();
                if positive {
                    ids.push(1);
                }
                let mut targets = [0.0; CATEGORIES];
                targets[0] = if positive { 1.0 } else { 0.0 };
                Example {
                    ids,
                    targets,
                    weight: 1.0,
                }
            })
            .collect();
        let params = TrainParams {
            buckets: 1024,
            dim: 8,
            epochs: 5,
            ..Default::default()
        };
        let mut losses = Vec::new();
        let w = train(&examples, &params, |_, l| losses.push(l));
        assert!(losses.last() < losses.first(), "{losses:?}");
        let pos = w.predict(&[1, 20, 30, 40])[0];
        let neg = w.predict(&[20, 30, 40, 50])[0];
        assert!(pos > 0.5 && neg < 0.5, "pos {pos} neg {neg}");
    }
}
