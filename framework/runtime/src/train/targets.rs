//! Training targets: gold distributions, one-hot rows, and the bare cross-entropy step the
//! benchmarks time.

use tch::Tensor;
use w2s_core::{objective::soft_cross_entropy, Example, Inputs, Model};

use super::batches::row_index;

/// Gold training targets of examples: their soft distributions where the task gives them, else
/// one-hot rows of their labels.
pub fn gold_targets(examples: &[&Example], n_classes: usize) -> Vec<Vec<f32>> {
    examples.iter().map(|e| e.gold(n_classes)).collect()
}

/// One optimizer step of soft cross-entropy on `rows` of `inputs` against the matching rows of
/// `targets` (`[n, classes]`): the bare step the benchmarks time (no schedule, no checks).
pub fn xent_step(
    model: &dyn Model,
    inputs: &Inputs,
    targets: &Tensor,
    rows: &[usize],
    opt: &mut tch::nn::Optimizer,
) -> anyhow::Result<()> {
    let logits = model.logits(inputs, rows, true)?;
    let idx = row_index(rows).f_to_device(targets.device())?;
    let loss = soft_cross_entropy(&logits, &targets.f_index_select(0, &idx)?)?;
    opt.backward_step(&loss);
    Ok(())
}

/// One-hot rows for labels.
pub fn one_hot(labels: impl Iterator<Item = usize>, n_classes: usize) -> Vec<Vec<f32>> {
    labels
        .map(|l| {
            let mut v = vec![0.0; n_classes];
            v[l] = 1.0;
            v
        })
        .collect()
}
