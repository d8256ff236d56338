//! The runtime's [`WeakTrainer`]: the weak backbone trained on half A with ground truth by the
//! shared training loop ([`crate::train`]), predicting half B and the test set.

use w2s_core::{
    curves::CurveRow,
    labeler::{Probs, WeakTrainer},
    objective::SoftXent,
    Example, LabelerCtx,
};

use crate::train;

/// Trains weak models with [`train::train_and_predict`] and soft cross-entropy.
pub struct LoopTrainer;

impl WeakTrainer for LoopTrainer {
    fn train_and_predict(&self, ctx: &LabelerCtx<'_>) -> anyhow::Result<(Probs, Probs, Vec<CurveRow>)> {
        let train_set: Vec<&Example> = ctx.a.iter().map(|&i| &ctx.data.train[i]).collect();
        let b_set: Vec<&Example> = ctx.b.iter().map(|&i| &ctx.data.train[i]).collect();
        let targets = train::gold_targets(&train_set, ctx.data.n_classes);
        let out = train::train_and_predict(
            ctx.env,
            &train::Job {
                role: "weak",
                backbone: ctx.weak,
                n_classes: ctx.data.n_classes,
                train: &train_set,
                targets: &targets,
                test: &ctx.data.test.iter().collect::<Vec<_>>(),
                also_predict: Some(&b_set),
                record: None,
                cfg: ctx.weak_train,
                seed: ctx.seed,
            },
            &mut SoftXent,
        )?;
        Ok((out.extra.unwrap_or_default(), out.test, out.curves))
    }
}
