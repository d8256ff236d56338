//! `kl`: KL divergence of the student from the weak soft labels, KL(y ‖ p).
//!
//! loss = mean over the batch of Σ y·(log y − log p) = xent(p, y) − H(y), with 0·log 0 = 0.
//! H(y) does not depend on the student, so the gradients are those of `xent`; only the value
//! differs (0 when the student matches the weak labels exactly). Per class, so k > 2 works unchanged.

use tch::{Kind, Tensor};
use w2s_core::{objective::soft_cross_entropy, params::NoParams, Objective, StepInfo};

/// KL(y ‖ p).
#[derive(Debug, Clone, Copy, Default)]
pub struct Kl;

impl Objective for Kl {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        // Σ y log y = −H(y); xlogy gives 0 where y = 0.
        let neg_entropy = targets.f_xlogy(targets)?.f_sum_dim_intlist(-1, false, Kind::Float)?.f_mean(Kind::Float)?;
        Ok(soft_cross_entropy(logits, targets)? + neg_entropy)
    }
}

w2s_core::register!(Objective {
    name: "kl",
    description: "KL(weak labels || student) = xent - H(weak labels): exactly xent's gradients (H of the labels \
                  is a constant), only the logged loss differs; not a distinct method, so no preset grids it",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(Kl),
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::xent::Xent;

    const AT: StepInfo = StepInfo { step: 0, total: 1 };

    #[test]
    fn known_answers() {
        // logits [0, ln 3] -> p = [0.25, 0.75].
        // y = [0.5, 0.5]: 0.5 ln(0.5/0.25) + 0.5 ln(0.5/0.75) = 0.3465736 - 0.2027326 = 0.1438410
        // (= xent 0.8369882 - ln 2).
        // y = [1, 0]: 1·ln(1/0.25) + 0 = ln 4 = 1.3862944 (no NaN from 0·log 0).
        let logits = Tensor::from_slice(&[0.0f32, 3f32.ln(), 0.0, 3f32.ln()]).view([2, 2]);
        let y = Tensor::from_slice(&[0.5f32, 0.5, 1.0, 0.0]).view([2, 2]);
        let got = Kl.loss(&logits, &y, AT).unwrap().double_value(&[]);
        assert!((got - (0.143_841_0 + 1.386_294_4) / 2.0).abs() < 1e-5, "{got}");
        // KL of a distribution from itself is 0.
        let p = logits.softmax(-1, Kind::Float);
        let got = Kl.loss(&logits, &p, AT).unwrap().double_value(&[]);
        assert!(got.abs() < 1e-6, "{got}");
    }

    #[test]
    fn same_gradients_as_xent() {
        // d/d logits = (p - y)/batch for both: row 0 [-0.25, 0.25]/2, row 1 [-0.75, 0.75]/2.
        let y = Tensor::from_slice(&[0.5f32, 0.5, 1.0, 0.0]).view([2, 2]);
        let grad = |obj: &mut dyn Objective| {
            let logits = Tensor::from_slice(&[0.0f32, 3f32.ln(), 0.0, 3f32.ln()]).view([2, 2]).set_requires_grad(true);
            obj.loss(&logits, &y, AT).unwrap().backward();
            Vec::<f32>::try_from(logits.grad().view([-1])).unwrap()
        };
        let (gk, gx) = (grad(&mut Kl), grad(&mut Xent));
        for (i, want) in [-0.125, 0.125, -0.375, 0.375].into_iter().enumerate() {
            assert!((gk[i] as f64 - want).abs() < 1e-5 && (gx[i] as f64 - want).abs() < 1e-5, "{gk:?} {gx:?}");
        }
    }
}
