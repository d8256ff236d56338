//! `smoothed-xent`: cross-entropy against label-smoothed targets, (1 − eps)·y + eps/k.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use w2s_core::{objective::soft_cross_entropy, params::check, Objective, Params, StepInfo};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SmoothedXentParams {
    pub eps: f64,
}

impl Default for SmoothedXentParams {
    fn default() -> Self {
        SmoothedXentParams { eps: 0.1 }
    }
}

impl Params for SmoothedXentParams {
    fn validate(&self) -> anyhow::Result<()> {
        check((0.0..1.0).contains(&self.eps), "eps", "a number in [0, 1)")
    }
}

pub struct SmoothedXent(SmoothedXentParams);

impl Objective for SmoothedXent {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        let k = targets.size()[1] as f64;
        soft_cross_entropy(logits, &(targets * (1.0 - self.0.eps) + self.0.eps / k))
    }
}

w2s_core::register!(Objective {
    name: "smoothed-xent",
    description: "cross-entropy against label-smoothed weak labels (example plugin)",
    params: SmoothedXentParams,
    build: |p| Ok::<_, anyhow::Error>(SmoothedXent(p)),
});
