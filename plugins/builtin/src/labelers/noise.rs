//! `noise`: ground truth with symmetric label noise: each label is replaced, with probability
//! `rate`, by a different class drawn uniformly. Give `rate`, or `target_accuracy` (then
//! rate = 1 − target_accuracy). The draw is a pure function of (seed, split, example index), so
//! results do not depend on order or threads. Errors are random, hence hard for a student to imitate.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng, LabelerCtx, Params, WeakLabeler, WeakLabels};

use super::soft_one_hot;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseParams {
    /// Probability of replacing a label by another class.
    pub rate: Option<f64>,
    /// Accuracy the noisy labels should have (sets rate = 1 − target_accuracy).
    pub target_accuracy: Option<f64>,
    /// Probability mass on the (possibly flipped) label; 1 gives hard labels.
    pub confidence: Option<f64>,
}

impl Params for NoiseParams {
    fn validate(&self) -> anyhow::Result<()> {
        match (self.rate, self.target_accuracy) {
            (Some(r), None) => check((0.0..=1.0).contains(&r), "rate", "a probability in [0, 1]")?,
            (None, Some(a)) => check((0.0..=1.0).contains(&a), "target_accuracy", "a number in [0, 1]")?,
            _ => anyhow::bail!("parameters `rate` and `target_accuracy`: give exactly one of them"),
        }
        let c = self.confidence.unwrap_or(1.0);
        check((0.5..=1.0).contains(&c), "confidence", "a number in [0.5, 1]")
    }
}

pub struct Noise {
    rate: f64,
    confidence: f32,
}

impl Noise {
    pub fn new(p: NoiseParams) -> anyhow::Result<Self> {
        let rate = p.rate.unwrap_or_else(|| 1.0 - p.target_accuracy.unwrap_or(1.0));
        Ok(Noise { rate, confidence: p.confidence.unwrap_or(1.0) as f32 })
    }

    /// The noisy label of example `item` of `split`.
    pub fn noisy(&self, label: usize, k: usize, seed: u64, split: &str, item: usize) -> usize {
        if k < 2 || rng::uniform(seed, &format!("noise-{split}"), item as u64) >= self.rate {
            return label;
        }
        let shift = 1 + (rng::key(seed, &format!("noise-class-{split}"), item as u64) % (k as u64 - 1)) as usize;
        (label + shift) % k
    }
}

impl WeakLabeler for Noise {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let k = ctx.data.n_classes;
        let b = ctx
            .b
            .iter()
            .map(|&i| soft_one_hot(self.noisy(ctx.data.train[i].label, k, ctx.seed, "train", i), k, self.confidence))
            .collect();
        let test = ctx
            .data
            .test
            .iter()
            .enumerate()
            .map(|(i, e)| soft_one_hot(self.noisy(e.label, k, ctx.seed, "test", i), k, self.confidence))
            .collect();
        Ok(WeakLabels { b, test, keep: vec![true; ctx.b.len()] })
    }
}

w2s_core::register!(WeakLabeler {
    name: "noise",
    description: "ground truth with symmetric random label noise at `rate` (or at 1 - `target_accuracy`)",
    params: NoiseParams,
    build: Noise::new,
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hits_the_target_accuracy() {
        let n = Noise::new(NoiseParams { target_accuracy: Some(0.7), ..Default::default() }).unwrap();
        let total = 10_000;
        let correct = (0..total).filter(|&i| n.noisy(i % 2, 2, 5, "train", i) == i % 2).count();
        let acc = correct as f64 / total as f64;
        assert!((acc - 0.7).abs() < 0.01, "{acc}");
        let flipped = n.noisy(0, 3, 5, "train", 1);
        assert!(flipped < 3);
    }

    #[test]
    fn exactly_one_of_rate_and_target() {
        assert!(NoiseParams::default().validate().is_err());
        assert!(NoiseParams { rate: Some(0.1), target_accuracy: Some(0.9), confidence: None }.validate().is_err());
        assert!(NoiseParams { rate: Some(0.1), ..Default::default() }.validate().is_ok());
    }
}
