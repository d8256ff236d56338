//! `ground-truth`: the true labels (a sanity check: the student should match the ceiling); the
//! task's soft gold distributions where it has them (e.g. rater shares on `sentiment-pairs`).

use w2s_core::{params::NoParams, LabelerCtx, WeakLabeler, WeakLabels};

pub struct GroundTruth;

impl WeakLabeler for GroundTruth {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let k = ctx.data.n_classes;
        Ok(WeakLabels {
            b: ctx.b.iter().map(|&i| ctx.data.train[i].gold(k)).collect(),
            test: ctx.data.test.iter().map(|e| e.gold(k)).collect(),
            keep: vec![true; ctx.b.len()],
        })
    }
}

w2s_core::register!(WeakLabeler {
    name: "ground-truth",
    description: "the true labels, as a perfect supervisor (sanity check)",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(GroundTruth),
});
