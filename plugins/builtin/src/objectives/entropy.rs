//! `entropy`: cross-entropy against the weak labels plus entropy minimisation of the student's own
//! predictions (Grandvalet & Bengio 2004, "Semi-supervised Learning by Entropy Minimization"), the
//! soft counterpart of `logconf`'s hardened self-training term.
//!
//! coef = aux_coef · min(1, step_frac / warmup_frac) (the linear warm-up shared with `logconf`,
//! [`Warmup::Linear`]); loss = mean over the batch of (1 − coef)·xent(p, y) + coef·H(p), with
//! H(p) = −Σ p log p and the gradient flowing through p. This equals the cross-entropy against the
//! blended target (1 − coef)·y + coef·p *without* detaching p, which is how EleutherAI/w2s's
//! `entropy` loss reads on paper; as written there (p detached) its entropy term has zero gradient
//! and it trains like `xent`: that version is kept as `entropy-detached`.
//!
//! Gradient per example: (1 − coef)·(p − y) − coef·p ⊙ (log p + H(p)), so confident predictions
//! are pushed further towards their argmax, as logconf's hardened targets push them, but smoothly
//! and without a batch threshold (so no class-prior estimate and no dependence on batch make-up).
//! Per class, so k > 2 works unchanged.

use tch::{Kind, Tensor};
use w2s_core::{objective::soft_cross_entropy, Objective, StepInfo};

use super::logconf::{LogConfParams, Warmup};

/// Cross-entropy against the weak labels with an entropy-minimisation term.
#[derive(Debug, Clone)]
pub struct Entropy {
    /// The same parameters (and defaults) as `logconf`: aux_coef 0.5, warmup_frac 0.1.
    pub params: LogConfParams,
}

impl Entropy {
    pub fn new(params: LogConfParams) -> anyhow::Result<Self> {
        Ok(Entropy { params })
    }
}

/// Mean entropy −Σ p log p of the rows of softmax(logits), differentiable.
pub fn mean_entropy(logits: &Tensor) -> anyhow::Result<Tensor> {
    let logp = logits.f_log_softmax(-1, Kind::Float)?;
    let plogp = logp.f_exp()?.f_mul(&logp)?;
    Ok(plogp.f_sum_dim_intlist(-1, false, Kind::Float)?.f_mean(Kind::Float)?.f_neg()?)
}

impl Objective for Entropy {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, at: StepInfo) -> anyhow::Result<Tensor> {
        let coef = Warmup::Linear.coef(self.params.aux_coef, self.params.warmup_frac, at);
        let xent = soft_cross_entropy(logits, targets)?;
        Ok(xent.f_mul_scalar(1.0 - coef)?.f_add(&mean_entropy(logits)?.f_mul_scalar(coef)?)?)
    }
}

w2s_core::register!(Objective {
    name: "entropy",
    description: "cross-entropy on weak labels plus entropy minimisation of the student's own predictions \
                  ((1 - coef) xent + coef H(p), gradient through p; linear warm-up)",
    params: LogConfParams,
    build: Entropy::new,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::logconf::tests::{at, example};

    #[test]
    fn loss_known_answer() {
        // p = [[0.8, 0.2], [0.3, 0.7]], y = [[0.6, 0.4], [0.4, 0.6]], coef 0.5 at step_frac 0.5.
        // row 0: 0.5·(0.6·0.2231436 + 0.4·1.6094379) + 0.5·0.5004024 = 0.6390319;
        // row 1: 0.5·(0.4·1.2039728 + 0.6·0.3566749) + 0.5·0.6108643 = 0.6532292; mean 0.6461305
        // (the same value as the detached blend: only the gradients differ).
        let (logits, y) = example();
        let got = Entropy::new(LogConfParams::default()).unwrap().loss(&logits, &y, at(0.5)).unwrap().double_value(&[]);
        assert!((got - 0.646_130_5).abs() < 1e-5, "{got}");
    }

    #[test]
    fn gradient_flows_through_the_entropy() {
        // d/dz = [(1 - c)(p - y) - c·p(log p + H)] / batch, c = 0.5:
        // row 0: H = 0.5004024, [0.25·0.2 - 0.25·0.8(ln 0.8 + H), ...] / 2 = [-0.0054518, 0.0054518];
        // row 1: H = 0.6108643 -> [0.0194831, -0.0194831]. The detached blend gives
        // [0.05, -0.05, -0.025, 0.025] (half of xent's): these values fail on it.
        let (logits, y) = example();
        let logits = logits.set_requires_grad(true);
        Entropy::new(LogConfParams::default()).unwrap().loss(&logits, &y, at(0.5)).unwrap().backward();
        let g = Vec::<f32>::try_from(logits.grad().view([-1])).unwrap();
        for (i, want) in [-0.005_451_8, 0.005_451_8, 0.019_483_1, -0.019_483_1].into_iter().enumerate() {
            assert!((g[i] as f64 - want).abs() < 1e-5, "{g:?}");
        }
    }

    #[test]
    fn entropy_term_sharpens_confident_predictions() {
        // With the weak labels equal to the student's own predictions, xent's gradient is 0 and
        // only the entropy term acts: it moves the logits towards the argmax.
        let (logits, _) = example();
        let p = logits.softmax(-1, Kind::Float);
        let logits = logits.set_requires_grad(true);
        Entropy::new(LogConfParams::default()).unwrap().loss(&logits, &p, at(0.5)).unwrap().backward();
        let g = Vec::<f32>::try_from(logits.grad().view([-1])).unwrap();
        assert!(g[0] < 0.0 && g[1] > 0.0, "row 0 (argmax 0) is pushed towards class 0: {g:?}");
        assert!(g[2] > 0.0 && g[3] < 0.0, "row 1 (argmax 1) is pushed towards class 1: {g:?}");
    }
}
