//! `xent`: cross-entropy of the student's distribution against the weak soft labels.

use tch::Tensor;
use w2s_core::{objective::soft_cross_entropy, params::NoParams, Objective, StepInfo};

/// Cross-entropy against soft targets.
#[derive(Debug, Clone, Copy, Default)]
pub struct Xent;

impl Objective for Xent {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        soft_cross_entropy(logits, targets)
    }
}

w2s_core::register!(Objective {
    name: "xent",
    description: "cross-entropy of the student against the weak soft labels",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(Xent),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // logits [0, ln 3] -> p = [0.25, 0.75]; target [0.5, 0.5]:
        // loss = -(0.5 ln 0.25 + 0.5 ln 0.75) = 0.8369882...
        let logits = Tensor::from_slice(&[0.0f32, 3f32.ln()]).view([1, 2]);
        let y = Tensor::from_slice(&[0.5f32, 0.5]).view([1, 2]);
        let l = Xent.loss(&logits, &y, StepInfo { step: 0, total: 1 }).unwrap().double_value(&[]);
        assert!((l - 0.836_988_1).abs() < 1e-5, "{l}");
    }
}
