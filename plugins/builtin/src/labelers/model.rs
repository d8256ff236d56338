//! `model`: the standard weak supervisor of the paper: the weak backbone fine-tuned on half A
//! with ground truth, whose soft predictions label half B.

use w2s_core::{params::NoParams, LabelerCtx, WeakLabeler, WeakLabels};

pub struct ModelLabeler;

impl WeakLabeler for ModelLabeler {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let (b, test) = ctx.train_weak_model()?;
        Ok(WeakLabels { keep: vec![true; b.len()], b, test })
    }
}

w2s_core::register!(WeakLabeler {
    name: "model",
    description: "the weak backbone trained on half A with ground truth; its soft predictions label half B",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(ModelLabeler),
});
