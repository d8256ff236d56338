//! `entropy-detached`: logconf without hardening, as EleutherAI/w2s's `entropy` loss (their
//! `harden=False` variant) is written: the student's own predictions enter the target detached.
//!
//! coef = aux_coef · min(1, step_frac / warmup_frac) (the linear warm-up shared with `logconf`,
//! [`Warmup::Linear`]); target = (1 − coef)·y + coef·p (p = softmax(logits), detached); loss = mean
//! over the batch of −Σ target · log p. Per class, so k > 2 works unchanged.
//!
//! Note: because p is detached, d loss / d logits = p − target = (1 − coef)·(p − y), i.e. exactly
//! (1 − coef) times the gradient of `xent`; the value differs by coef·(H(p) − xent(p, y)). It is not
//! an entropy penalty on p (that would need p *not* detached: see `entropy`). It trains exactly
//! like `xent` under Adam (which ignores a constant scale of the gradient, up to its epsilon), and
//! is kept, under a name that says so, to compare with the published variant.

use tch::{Kind, Tensor};
use w2s_core::{objective::soft_cross_entropy, Objective, StepInfo};

use super::logconf::{LogConfParams, Warmup};

/// Cross-entropy against a blend of the weak labels and the student's own detached soft predictions.
#[derive(Debug, Clone)]
pub struct EntropyDetached {
    /// The same parameters (and defaults) as `logconf`: aux_coef 0.5, warmup_frac 0.1.
    pub params: LogConfParams,
}

impl EntropyDetached {
    pub fn new(params: LogConfParams) -> anyhow::Result<Self> {
        Ok(EntropyDetached { params })
    }
}

impl Objective for EntropyDetached {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, at: StepInfo) -> anyhow::Result<Tensor> {
        let coef = Warmup::Linear.coef(self.params.aux_coef, self.params.warmup_frac, at);
        let probs = logits.f_softmax(-1, Kind::Float)?.detach();
        let target = targets * (1.0 - coef) + probs * coef;
        soft_cross_entropy(logits, &target)
    }
}

w2s_core::register!(Objective {
    name: "entropy-detached",
    description: "EleutherAI's `entropy` as written: weak labels blended with the student's own *detached* \
                  predictions; its gradient is (1 - coef) x xent's, so it trains like xent (kept for comparison)",
    params: LogConfParams,
    build: EntropyDetached::new,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::logconf::tests::{at, example};

    #[test]
    fn loss_known_answer() {
        // p = [[0.8, 0.2], [0.3, 0.7]], y = [[0.6, 0.4], [0.4, 0.6]]. At step_frac 0.5, coef = 0.5:
        // target = [[0.7, 0.3], [0.35, 0.65]].
        // row 0: 0.7·0.2231436 + 0.3·1.6094379 = 0.6390319; row 1: 0.35·1.2039728 + 0.65·0.3566749 = 0.6532292.
        // loss = (0.6390319 + 0.6532292)/2 = 0.6461305.
        let (logits, y) = example();
        let mut l = EntropyDetached::new(LogConfParams::default()).unwrap();
        let got = l.loss(&logits, &y, at(0.5)).unwrap().double_value(&[]);
        assert!((got - 0.646_130_5).abs() < 1e-5, "{got}");
        // Half-way through the warm-up, coef = 0.25: target row 0 = 0.75·[0.6, 0.4] + 0.25·[0.8, 0.2]
        // = [0.65, 0.35], row 1 = 0.75·[0.4, 0.6] + 0.25·[0.3, 0.7] = [0.375, 0.625].
        // row 0: 0.65·0.2231436 + 0.35·1.6094379 = 0.7083466; row 1: 0.375·1.2039728 + 0.625·0.3566749
        // = 0.6744116. loss = 0.6913791.
        let got = l.loss(&logits, &y, at(0.05)).unwrap().double_value(&[]);
        assert!((got - 0.691_379_1).abs() < 1e-5, "{got}");
    }

    #[test]
    fn own_predictions_are_detached() {
        // With p detached, d loss / d logits = (p - target)/batch: at coef 0.5, row 0 is
        // ([0.8, 0.2] - [0.7, 0.3])/2 = [0.05, -0.05], row 1 ([0.3, 0.7] - [0.35, 0.65])/2 = [-0.025, 0.025]
        // (= (1 - coef)·(p - y)/batch, half of xent's gradient). Not detaching p would give other values.
        let (logits, y) = example();
        let logits = logits.set_requires_grad(true);
        EntropyDetached::new(LogConfParams::default()).unwrap().loss(&logits, &y, at(0.5)).unwrap().backward();
        let g = Vec::<f32>::try_from(logits.grad().view([-1])).unwrap();
        for (i, want) in [0.05, -0.05, -0.025, 0.025].into_iter().enumerate() {
            assert!((g[i] as f64 - want).abs() < 1e-5, "{g:?}");
        }
    }
}
