//! `ground_truth`: the true labels (a sanity check: the student should match the ceiling).

use w2s_core::{params::NoParams, LabelerCtx, WeakLabeler, WeakLabels};

use super::soft_one_hot;

pub struct GroundTruth;

impl WeakLabeler for GroundTruth {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let k = ctx.data.n_classes;
        Ok(WeakLabels {
            b: ctx.b.iter().map(|&i| soft_one_hot(ctx.data.train[i].label, k, 1.0)).collect(),
            test: ctx.data.test.iter().map(|e| soft_one_hot(e.label, k, 1.0)).collect(),
            keep: vec![true; ctx.b.len()],
        })
    }
}

w2s_core::register!(WeakLabeler {
    name: "ground_truth",
    description: "the true labels, as a perfect supervisor (sanity check)",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(GroundTruth),
});
