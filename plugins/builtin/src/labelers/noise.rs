//! `noise`: ground truth with symmetric label noise: each label is replaced, with probability
//! `rate`, by a different class drawn uniformly. Give `rate`, or `target_accuracy` (then
//! rate = 1 − target_accuracy), or `matched_to`, a labeler spec whose accuracy on half B becomes
//! the target (e.g. `"model"`: random errors at the weak model's accuracy). The draw is a pure function of (seed, split, example index), so
//! results do not depend on order or threads. Errors are random, hence hard for a student to imitate.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng, LabelerCtx, Params, WeakLabeler, WeakLabels};

use rayon::prelude::*;

use super::soft_one_hot;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NoiseParams {
    /// Probability of replacing a label by another class.
    pub rate: Option<f64>,
    /// Accuracy the noisy labels should have (sets rate = 1 − target_accuracy).
    pub target_accuracy: Option<f64>,
    /// A labeler whose accuracy on half B this noise should have.
    pub matched_to: Option<w2s_core::Spec>,
    /// Probability mass on the (possibly flipped) label; 1 gives hard labels.
    pub confidence: Option<f64>,
}

impl Params for NoiseParams {
    fn validate(&self) -> anyhow::Result<()> {
        match (self.rate, self.target_accuracy, &self.matched_to) {
            (Some(r), None, None) => check((0.0..=1.0).contains(&r), "rate", "a probability in [0, 1]")?,
            (None, Some(a), None) => check((0.0..=1.0).contains(&a), "target_accuracy", "a number in [0, 1]")?,
            (None, None, Some(_)) => {}
            _ => anyhow::bail!("parameters `rate`, `target_accuracy` and `matched_to`: give exactly one of them"),
        }
        let c = self.confidence.unwrap_or(1.0);
        check((0.5..=1.0).contains(&c), "confidence", "a number in [0.5, 1]")
    }
}

pub struct Noise {
    rate: f64,
    confidence: f32,
    matched_to: Option<w2s_core::Spec>,
}

impl Noise {
    pub fn new(p: NoiseParams) -> anyhow::Result<Self> {
        let rate = p.rate.unwrap_or_else(|| 1.0 - p.target_accuracy.unwrap_or(1.0));
        Ok(Noise { rate, confidence: p.confidence.unwrap_or(1.0) as f32, matched_to: p.matched_to })
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
        let matched;
        let this = match &self.matched_to {
            Some(spec) => {
                let acc = super::accuracy_of(ctx, spec)?;
                // With k classes, a replaced label is always wrong: rate = 1 − accuracy.
                matched = Noise { rate: 1.0 - acc, confidence: self.confidence, matched_to: None };
                &matched
            }
            None => self,
        };
        let k = ctx.data.n_classes;
        let b = ctx
            .b
            .par_iter()
            .map(|&i| soft_one_hot(this.noisy(ctx.data.train[i].label, k, ctx.seed, "train", i), k, this.confidence))
            .collect();
        let test = ctx
            .data
            .test
            .par_iter()
            .enumerate()
            .map(|(i, e)| soft_one_hot(this.noisy(e.label, k, ctx.seed, "test", i), k, this.confidence))
            .collect();
        Ok(WeakLabels { b, test, keep: vec![true; ctx.b.len()] })
    }
}

w2s_core::register!(WeakLabeler {
    name: "noise",
    description: "ground truth with symmetric random label noise at `rate`, 1 - `target_accuracy`, or the accuracy of the labeler `matched_to`",
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

    fn b_accuracy(labels: &WeakLabels, data: &w2s_core::Dataset, b: &[usize]) -> f64 {
        let right = b
            .iter()
            .enumerate()
            .filter(|&(j, &i)| w2s_core::metrics::argmax(&labels.b[j]) == data.train[i].label)
            .count();
        right as f64 / b.len() as f64
    }

    #[test]
    fn matches_the_accuracy_of_another_labeler() {
        use crate::labelers::{label_for_test, test_dataset, test_spec};
        let data = test_dataset(4000, 2);
        let b: Vec<usize> = (0..4000).filter(|i| i % 2 == 1).collect();
        let reference = test_spec("noise", serde_json::json!({"rate": 0.27}));
        let ref_acc = b_accuracy(&label_for_test(&reference, &data, &b, 3).unwrap(), &data, &b);
        let matched = test_spec("noise", serde_json::json!({"matched_to": reference}));
        let got = b_accuracy(&label_for_test(&matched, &data, &b, 3).unwrap(), &data, &b);
        assert!((got - ref_acc).abs() < 0.025, "matched {got} vs reference {ref_acc}");
        assert!((ref_acc - 0.73).abs() < 0.025, "{ref_acc}");
    }

    #[test]
    fn exactly_one_of_rate_and_target() {
        assert!(NoiseParams::default().validate().is_err());
        assert!(NoiseParams { rate: Some(0.1), target_accuracy: Some(0.9), ..Default::default() }.validate().is_err());
        assert!(NoiseParams { rate: Some(0.1), matched_to: Some(w2s_core::Spec::new("model")), ..Default::default() }
            .validate()
            .is_err());
        assert!(NoiseParams { rate: Some(0.1), ..Default::default() }.validate().is_ok());
    }
}
