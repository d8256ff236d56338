//! `bradley-terry`: the pairwise reward-model loss. On a pairwise task the model's two logits are
//! the rewards of the two texts, so with soft weak preferences q (that the first is better):
//! loss = −[q log σ(r₁ − r₂) + (1 − q) log σ(r₂ − r₁)], the cross-entropy of softmax(r₁, r₂)
//! against (q, 1 − q). Refuses anything but two logits per example; on a binary single-text task
//! (also two logits) it is plain cross-entropy.

use tch::Tensor;
use w2s_core::{objective::soft_cross_entropy, params::NoParams, Objective, StepInfo};

#[derive(Debug, Clone, Copy, Default)]
pub struct BradleyTerry;

impl Objective for BradleyTerry {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        anyhow::ensure!(
            logits.size().get(1) == Some(&2),
            "bradley-terry needs two logits per example (a pairwise task's two rewards); got logits of shape {:?}",
            logits.size()
        );
        soft_cross_entropy(logits, targets)
    }
}

w2s_core::register!(Objective {
    name: "bradley-terry",
    description: "pairwise reward-model loss on soft preferences (pairwise tasks)",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(BradleyTerry),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // r = (1, 0), q = 0.8: −[0.8 ln σ(1) + 0.2 ln σ(−1)] = 0.8·0.3132617 + 0.2·1.3132617 = 0.5132617
        let r = Tensor::from_slice(&[1.0f32, 0.0]).view([1, 2]);
        let q = Tensor::from_slice(&[0.8f32, 0.2]).view([1, 2]);
        let l = BradleyTerry.loss(&r, &q, StepInfo { step: 0, total: 1 }).unwrap().double_value(&[]);
        assert!((l - 0.513_261_7).abs() < 1e-5, "{l}");
        let three = Tensor::zeros([1, 3], (tch::Kind::Float, tch::Device::Cpu));
        assert!(BradleyTerry.loss(&three, &three, StepInfo { step: 0, total: 1 }).is_err());
    }
}
