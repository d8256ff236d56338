//! The optimisation loop of one model: Adam with the configured schedule, the training loss
//! summed on the device and checked for NaN, periodic test evaluation into curves.

use anyhow::{bail, Context};
use tch::{nn::OptimizerConfig, Kind, Tensor};
use w2s_core::{curves::CurveRow, metrics, progress, rng, Env, Model, Objective, StepInfo};

use super::{
    batches::{batches_for, row_index},
    encoded::{from_tensor, predict, to_tensor, Encoded},
    Job, Snapshot,
};

/// What each evaluation looks at: the test set with its labels (for the curves), and the
/// held-out slice to record predictions of, if any.
pub(crate) struct EvalSets<'a> {
    pub(crate) test: &'a Encoded,
    pub(crate) labels: &'a [usize],
    pub(crate) watch: Option<&'a Encoded>,
}

/// Train, and return the curves and (if the job records) the predictions of every evaluation.
pub(crate) fn fit(
    env: &Env,
    model: &mut dyn Model,
    objective: &mut dyn Objective,
    job: &Job<'_>,
    train_in: &Encoded,
    sets: &EvalSets<'_>,
) -> anyhow::Result<(Vec<CurveRow>, Vec<Snapshot>)> {
    let cfg = job.cfg;
    let n = train_in.len();
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let total = steps_per_epoch * cfg.epochs;
    let targets = to_tensor(job.targets)?.f_to_device(env.device)?;
    let mut opt = tch::nn::Adam::default().build(model.var_store(), cfg.lr)?;
    let bar = progress::bar(env, total as u64, format!("training {}", job.role));
    let mut curves = Vec::new();
    let mut snapshots = Vec::new();
    let mut losses = LossSum::new(env.device)?;
    let mut step = 0;
    for epoch in 0..cfg.epochs {
        let seed = rng::key(job.seed, job.role, epoch as u64 + 1);
        for rows in &batches_for(&*objective, n, |i| train_in.row_cost(i), cfg.batch_size, seed) {
            let lr = cfg.lr_at(step, total);
            opt.set_lr(lr);
            let logits = train_in.logits(model, rows, true)?;
            // Uploaded without waiting for the device's queue (a plain copy from host memory would).
            let idx = row_index(rows).f_to_device_(env.device, Kind::Int64, true, false)?;
            let batch_targets = targets.f_index_select(0, &idx)?;
            let loss = objective.loss(&logits, &batch_targets, StepInfo { step, total })?;
            losses.add(&loss)?;
            opt.zero_grad();
            loss.f_backward().with_context(|| format!("{}: backward pass of step {step}", job.role))?;
            opt.step();
            step += 1;
            bar.inc(1);
            let eval = (cfg.eval_every > 0 && step % cfg.eval_every == 0) || step == total;
            if eval || step % NAN_CHECK_EVERY == 0 {
                let value = losses.read()?;
                if !value.is_finite() {
                    bail!(
                        "{}: training loss became {value} by step {step} of {total} (finite through step {}, the \
                         previous check; lr {lr:.2e}); this run is stopped. Try a lower learning rate.",
                        job.role,
                        losses.checked_at,
                    );
                }
                losses.checked_at = step;
            }
            if eval {
                let train_loss = losses.take_mean()?;
                let probs = from_tensor(&predict(model, sets.test, cfg.eval_batch)?)?;
                let (test_acc, test_loss) = evaluate(&probs, sets.labels)?;
                if job.record.is_some() {
                    let watch = match sets.watch {
                        Some(w) => Some(from_tensor(&predict(model, w, cfg.eval_batch)?)?),
                        None => None,
                    };
                    snapshots.push(Snapshot { step, test: probs, watch });
                }
                curves.push(CurveRow {
                    role: job.role.to_string(),
                    step,
                    epoch: step as f64 / steps_per_epoch as f64,
                    lr,
                    train_loss,
                    test_loss,
                    test_acc,
                });
                bar.set_message(format!("training {} acc {:.3}", job.role, test_acc));
            }
        }
    }
    bar.finish_and_clear();
    if let Some(last) = curves.last() {
        tracing::info!(role = job.role, steps = total, test_acc = last.test_acc, "trained");
    }
    Ok((curves, snapshots))
}

/// The training loss is checked for NaN at least this often (in steps), besides every evaluation.
pub const NAN_CHECK_EVERY: usize = 100;

/// The (detached) training losses since the last evaluation, summed on the device, so that a
/// training step never waits for a host read (which would stall a GPU every step). A NaN or
/// infinite loss makes the sum non-finite, so reading the sum at the checks finds it.
struct LossSum {
    sum: Tensor,
    count: usize,
    /// The step after which the sum was last read and found finite.
    checked_at: usize,
}

impl LossSum {
    fn new(device: tch::Device) -> anyhow::Result<Self> {
        Ok(LossSum { sum: Tensor::f_zeros([], (Kind::Double, device))?, count: 0, checked_at: 0 })
    }

    fn add(&mut self, loss: &Tensor) -> anyhow::Result<()> {
        anyhow::ensure!(loss.numel() == 1, "an objective gave a loss of shape {:?}, not a scalar", loss.size());
        let _ = self.sum.f_add_(&loss.detach().f_reshape([])?)?;
        self.count += 1;
        Ok(())
    }

    /// The sum so far (a host read).
    fn read(&self) -> anyhow::Result<f64> {
        Ok(self.sum.f_double_value(&[])?)
    }

    /// The mean since the last call, and start again.
    fn take_mean(&mut self) -> anyhow::Result<f64> {
        let mean = self.read()? / self.count.max(1) as f64;
        let _ = self.sum.f_zero_()?;
        self.count = 0;
        Ok(mean)
    }
}

/// Test accuracy and cross-entropy of probabilities (one row per example) against labels.
fn evaluate(rows: &[Vec<f32>], labels: &[usize]) -> anyhow::Result<(f64, f64)> {
    let preds: Vec<usize> = rows.iter().map(|p| metrics::argmax(p)).collect();
    let (acc, _) = metrics::accuracy(&preds, labels);
    let mut loss = 0.0;
    for (p, &l) in rows.iter().zip(labels) {
        let p = p.get(l).with_context(|| format!("a test label {l} with predictions over {} classes", p.len()))?;
        loss -= (p.max(1e-12) as f64).ln();
    }
    Ok((acc, loss / labels.len().max(1) as f64))
}
