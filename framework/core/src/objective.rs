//! Objectives: the loss a model is trained with, given its logits and (soft) targets.

use tch::Tensor;

/// Where training stands: `step` of `total` optimizer steps.
#[derive(Debug, Clone, Copy)]
pub struct StepInfo {
    pub step: usize,
    pub total: usize,
}

impl StepInfo {
    /// step / total, the `step_frac` of the reference code.
    pub fn frac(&self) -> f64 {
        self.step as f64 / self.total.max(1) as f64
    }
}

/// A training loss. `logits` is `[batch, classes]`, `targets` a `[batch, classes]` distribution.
pub trait Objective {
    /// The scalar loss for one batch.
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, at: StepInfo) -> anyhow::Result<Tensor>;
    /// For a prompting baseline (the `prompt` objective): its settings. The protocol then prompts
    /// the strong model with labelled shots instead of training it.
    fn prompting(&self) -> Option<crate::prompting::PromptSpec> {
        None
    }
    /// Whether the loss of a batch depends on statistics over the batch's rows (e.g. `logconf`'s
    /// class-prior threshold, a quantile of the batch's predictions), not only on each row by
    /// itself. The trainer then draws plain seeded random batches instead of grouping rows of
    /// similar length, so that which rows share a batch does not depend on their length (as in
    /// the reference code's random batches). Default: `false` (per-row losses, length grouping).
    fn uses_batch_statistics(&self) -> bool {
        false
    }
}

/// Cross-entropy of the model's distribution against soft targets, averaged over the batch.
pub fn soft_cross_entropy(logits: &Tensor, targets: &Tensor) -> anyhow::Result<Tensor> {
    let logp = logits.f_log_softmax(-1, tch::Kind::Float)?;
    Ok((targets * logp).f_sum_dim_intlist(-1, false, tch::Kind::Float)?.f_mean(tch::Kind::Float)?.f_neg()?)
}

/// One optimizer step of soft cross-entropy on `rows` of `inputs` against the matching rows of
/// `targets` (`[n, classes]`): the bare step the benchmarks time (no schedule, no checks).
pub fn xent_step(
    model: &dyn crate::Model,
    inputs: &crate::Inputs,
    targets: &Tensor,
    rows: &[usize],
    opt: &mut tch::nn::Optimizer,
) -> anyhow::Result<()> {
    let logits = model.logits(inputs, rows, true)?;
    let idx = Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>()).f_to_device(targets.device())?;
    let loss = soft_cross_entropy(&logits, &targets.f_index_select(0, &idx)?)?;
    opt.backward_step(&loss);
    Ok(())
}

/// Plain soft cross-entropy as an [`Objective`]; the loss used for ground-truth training.
#[derive(Debug, Clone, Copy, Default)]
pub struct SoftXent;

impl Objective for SoftXent {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
        soft_cross_entropy(logits, targets)
    }
}
