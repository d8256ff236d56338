//! The training loop shared by every model the protocol trains (weak supervisor, strong ceiling,
//! student): Adam, no weight decay, cosine annealing over all steps (the reference code's
//! defaults), NaN detection, periodic test evaluation into curves, and batched prediction.
//!
//! Batches group rows of similar length, except for objectives whose loss uses statistics over
//! the batch ([`Objective::uses_batch_statistics`]), which get plain seeded random batches. The
//! training loss stays on the device (summed there, detached): it is read, and checked for NaN,
//! only at evaluations and every [`NAN_CHECK_EVERY`] steps, so that no step waits for the host.

use anyhow::{bail, Context};
use serde::{Deserialize, Serialize};
use tch::{nn::OptimizerConfig, Kind, Tensor};

use crate::{
    backbone::Inputs, curves::CurveRow, metrics, params::check, progress, rng, Backbone, Env, Example, Model,
    Objective, StepInfo,
};

/// Learning-rate schedule over all steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Cosine annealing from `lr` to 0 (the reference code).
    Cosine,
    Constant,
}

/// Training settings of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub schedule: Schedule,
    /// Evaluate on the test set every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Batch size for inference.
    pub eval_batch: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 2, batch_size: 32, lr: 5e-5, schedule: Schedule::Cosine, eval_every: 50, eval_batch: 128 }
    }
}

impl TrainConfig {
    /// Check every field; `at` names where these settings sit (e.g. `strong_train`).
    pub fn validate(&self, at: &str) -> anyhow::Result<()> {
        check(self.epochs >= 1, &format!("{at}.epochs"), "at least 1")?;
        check(self.batch_size >= 1, &format!("{at}.batch_size"), "at least 1")?;
        check(self.eval_batch >= 1, &format!("{at}.eval_batch"), "at least 1")?;
        check(self.lr.is_finite() && self.lr > 0.0, &format!("{at}.lr"), "a positive number")?;
        Ok(())
    }

    fn lr_at(&self, step: usize, total: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Cosine => {
                self.lr * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total.max(1) as f64).cos())
            }
        }
    }
}

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
    let loss = crate::objective::soft_cross_entropy(&logits, &targets.f_index_select(0, &idx)?)?;
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

fn to_tensor(rows: &[Vec<f32>]) -> anyhow::Result<Tensor> {
    let k = rows.first().map_or(0, |r| r.len());
    anyhow::ensure!(rows.iter().all(|r| r.len() == k), "training targets of different lengths (expected {k} each)");
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_slice(&flat).f_view([rows.len() as i64, k as i64])?)
}

fn from_tensor(t: &Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
    let (_, k) = t.size2().context("predictions are not a [rows, classes] tensor")?;
    let k = k as usize;
    let flat = Vec::<f32>::try_from(t.f_to_kind(Kind::Float)?.f_contiguous()?.f_view(-1)?)?;
    Ok(flat.chunks(k.max(1)).map(|c| c.to_vec()).collect())
}

/// One model to train and evaluate.
pub struct Job<'a> {
    /// `weak`, `ceiling`, `student`: names the curves and seeds the initialisation.
    pub role: &'a str,
    pub backbone: &'a dyn Backbone,
    pub n_classes: usize,
    pub train: &'a [&'a Example],
    /// Target distribution per training example.
    pub targets: &'a [Vec<f32>],
    pub test: &'a [&'a Example],
    /// More examples to predict after training (e.g. half B for a weak supervisor).
    pub also_predict: Option<&'a [&'a Example]>,
    pub cfg: &'a crate::TrainConfig,
    pub seed: u64,
}

/// Predictions and curves of a trained model.
pub struct Trained {
    pub test: Vec<Vec<f32>>,
    pub extra: Option<Vec<Vec<f32>>>,
    pub curves: Vec<CurveRow>,
}

/// A model's inputs for a list of examples: one text each, or two for pairwise examples.
pub struct Encoded {
    pub first: Inputs,
    pub second: Option<Inputs>,
}

impl Encoded {
    /// Encode examples with `model`; pairwise examples encode both texts.
    pub fn new(model: &mut dyn Model, examples: &[&Example], env: &Env) -> anyhow::Result<Self> {
        let firsts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let pairwise = is_pairwise(examples)?;
        let second = if pairwise {
            let seconds: Vec<&str> = examples.iter().map(|e| e.pair.as_deref().unwrap_or_default()).collect();
            Some(model.encode(&seconds, env)?)
        } else {
            None
        };
        Ok(Encoded { first: model.encode(&firsts, env)?, second })
    }
    pub fn len(&self) -> usize {
        self.first.len()
    }
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
    /// Cost of row `i` (its token count, both texts for a pair).
    pub fn row_cost(&self, i: usize) -> usize {
        self.first.row_cost(i) + self.second.as_ref().map_or(0, |s| s.row_cost(i))
    }
    /// Logits of `rows`: the model's own, or for pairs `[reward(first), reward(second)]`, so that a
    /// softmax over them is the Bradley–Terry probability that each text is the better one.
    pub fn logits(&self, model: &dyn Model, rows: &[usize], train: bool) -> anyhow::Result<Tensor> {
        let first = model.logits(&self.first, rows, train)?;
        match &self.second {
            None => Ok(first),
            Some(second) => Ok(Tensor::f_cat(&[first, model.logits(second, rows, train)?], 1)?),
        }
    }
}

/// Whether the examples are pairwise (all of them) or single texts (all of them).
pub fn is_pairwise(examples: &[&Example]) -> anyhow::Result<bool> {
    let pairs = examples.iter().filter(|e| e.pair.is_some()).count();
    if pairs != 0 && pairs != examples.len() {
        bail!(
            "{pairs} of {} examples are pairs: a task's examples must be all pairs or all single texts",
            examples.len()
        );
    }
    Ok(pairs > 0)
}

/// The job's training examples (and targets) without those the model drops as too long for its
/// context (both texts of a pair are checked); the count is logged.
fn drop_over_length<'a>(model: &dyn Model, job: &Job<'a>) -> anyhow::Result<(Vec<&'a Example>, Vec<Vec<f32>>)> {
    let firsts: Vec<&str> = job.train.iter().map(|e| e.text.as_str()).collect();
    let mut over = model.over_length(&firsts)?;
    let seconds: Vec<&str> = job.train.iter().filter_map(|e| e.pair.as_deref()).collect();
    if seconds.len() == job.train.len() {
        for (o, long) in over.iter_mut().zip(model.over_length(&seconds)?) {
            *o |= long;
        }
    }
    let dropped = over.iter().filter(|&&o| o).count();
    if dropped > 0 {
        tracing::info!(
            "{}: dropped {dropped} of {} training examples longer than the model's context",
            job.role,
            over.len()
        );
    }
    if dropped == job.train.len() {
        bail!("{}: every training example is longer than the model's context (too_long = drop)", job.role);
    }
    let keep = |i: &usize| !over[*i];
    let train = (0..job.train.len()).filter(keep).map(|i| job.train[i]).collect();
    let targets = (0..job.train.len()).filter(keep).map(|i| job.targets[i].clone()).collect();
    Ok((train, targets))
}

/// Build a fresh model, train it with `objective` on the job's targets, and predict.
pub fn train_and_predict(env: &Env, job: &Job<'_>, objective: &mut dyn Objective) -> anyhow::Result<Trained> {
    if job.train.len() != job.targets.len() {
        bail!("{}: {} training examples but {} targets", job.role, job.train.len(), job.targets.len());
    }
    if job.train.is_empty() {
        bail!("{}: no training examples", job.role);
    }
    tch::manual_seed(rng::key(job.seed, job.role, 0) as i64 & i64::MAX);
    // A pairwise task trains a reward model: one output per text, two texts per example.
    let outputs = if is_pairwise(job.train)? { 1 } else { job.n_classes };
    let mut model = job.backbone.build(env, outputs).with_context(|| format!("building the {} model", job.role))?;
    let (kept_train, kept_targets) = drop_over_length(model.as_ref(), job)?;
    let job = &Job { train: &kept_train, targets: &kept_targets, ..*job };
    let train_in = Encoded::new(model.as_mut(), job.train, env)?;
    let test_in = Encoded::new(model.as_mut(), job.test, env)?;
    let test_labels: Vec<usize> = job.test.iter().map(|e| e.label).collect();
    let curves = fit(env, model.as_mut(), objective, job, &train_in, &test_in, &test_labels)?;
    let test = from_tensor(&predict(model.as_ref(), &test_in, job.cfg.eval_batch)?)?;
    let extra = match job.also_predict {
        Some(ex) => {
            let inputs = Encoded::new(model.as_mut(), ex, env)?;
            Some(from_tensor(&predict(model.as_ref(), &inputs, job.cfg.eval_batch)?)?)
        }
        None => None,
    };
    Ok(Trained { test, extra, curves })
}

fn fit(
    env: &Env,
    model: &mut dyn Model,
    objective: &mut dyn Objective,
    job: &Job<'_>,
    train_in: &Encoded,
    test_in: &Encoded,
    test_labels: &[usize],
) -> anyhow::Result<Vec<CurveRow>> {
    let cfg = job.cfg;
    let n = train_in.len();
    let steps_per_epoch = n.div_ceil(cfg.batch_size);
    let total = steps_per_epoch * cfg.epochs;
    let targets = to_tensor(job.targets)?.f_to_device(env.device)?;
    let mut opt = tch::nn::Adam::default().build(model.var_store(), cfg.lr)?;
    let bar = progress::bar(env, total as u64, format!("training {}", job.role));
    let mut curves = Vec::new();
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
                let probs = predict(model, test_in, cfg.eval_batch)?;
                let (test_acc, test_loss) = evaluate(&probs, test_labels)?;
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
    Ok(curves)
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

fn row_index(rows: &[usize]) -> Tensor {
    Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>())
}

/// The batches of one epoch for `objective`: plain seeded random batches
/// ([`random_batches`]) when its loss uses statistics over the batch
/// ([`Objective::uses_batch_statistics`]), else batches of rows of similar length
/// ([`epoch_batches`]).
pub fn batches_for(
    objective: &dyn Objective,
    n: usize,
    cost: impl Fn(usize) -> usize,
    batch_size: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    if objective.uses_batch_statistics() {
        random_batches(n, batch_size, seed)
    } else {
        epoch_batches(n, cost, batch_size, seed)
    }
}

/// The batches of one epoch, nothing grouped: a seeded shuffle cut into batches (the reference
/// code's random batches).
pub fn random_batches(n: usize, batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    rng::permutation(n, seed, "batches").chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
}

/// The batches of one epoch: a seeded shuffle, then, within windows of 16 batches, rows grouped
/// by length so that little compute goes to padding; the batch order is shuffled again.
pub fn epoch_batches(n: usize, cost: impl Fn(usize) -> usize, batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order = rng::permutation(n, seed, "batches");
    for window in order.chunks_mut(batch_size.max(1) * 16) {
        window.sort_by_key(|&i| cost(i));
    }
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size.max(1)).map(|c| c.to_vec()).collect();
    rng::Rng::new(seed, "batch-order").shuffle(&mut batches);
    batches
}

/// Test accuracy and cross-entropy of probabilities against labels.
fn evaluate(probs: &Tensor, labels: &[usize]) -> anyhow::Result<(f64, f64)> {
    let rows = from_tensor(probs)?;
    let preds: Vec<usize> = rows.iter().map(|p| metrics::argmax(p)).collect();
    let (acc, _) = metrics::accuracy(&preds, labels);
    let mut loss = 0.0;
    for (p, &l) in rows.iter().zip(labels) {
        let p = p.get(l).with_context(|| format!("a test label {l} with predictions over {} classes", p.len()))?;
        loss -= (p.max(1e-12) as f64).ln();
    }
    Ok((acc, loss / labels.len().max(1) as f64))
}

/// Class probabilities `[n, classes]` (CPU) for every row of `inputs`, in batches of rows of
/// similar length.
pub fn predict(model: &dyn Model, inputs: &Encoded, batch: usize) -> anyhow::Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let n = inputs.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| inputs.row_cost(i));
    let mut parts = Vec::new();
    for rows in order.chunks(batch.max(1)) {
        parts.push(inputs.logits(model, rows, false)?.f_softmax(-1, Kind::Float)?.f_to_device(tch::Device::Cpu)?);
    }
    anyhow::ensure!(!parts.is_empty(), "nothing to predict: no examples");
    let sorted = Tensor::f_cat(&parts, 0)?;
    let mut inverse = vec![0i64; n];
    for (pos, &i) in order.iter().enumerate() {
        inverse[i] = pos as i64;
    }
    Ok(sorted.f_index_select(0, &Tensor::from_slice(&inverse))?)
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc};

    use super::*;

    /// The mean over batches of (largest − smallest row): with a cost equal to the row number,
    /// length grouping makes it small (rows of a batch are neighbours in a sorted window).
    fn mean_span(batches: &[Vec<usize>]) -> f64 {
        let span = |b: &Vec<usize>| (b.iter().max().unwrap() - b.iter().min().unwrap()) as f64;
        batches.iter().map(span).sum::<f64>() / batches.len() as f64
    }

    /// Soft cross-entropy that claims (or not) to use batch statistics, optionally NaN from a step
    /// on, and otherwise a constant `value` (so that the curves' mean training loss is known).
    struct Spy {
        stats: bool,
        nan_from: Option<usize>,
        value: Option<f64>,
    }

    impl Objective for Spy {
        fn loss(&mut self, logits: &Tensor, targets: &Tensor, at: StepInfo) -> anyhow::Result<Tensor> {
            let loss = crate::objective::soft_cross_entropy(logits, targets)?;
            let loss = match self.value {
                Some(v) => loss * 0.0 + v,
                None => loss,
            };
            Ok(if self.nan_from.is_some_and(|s| at.step >= s) { loss * f64::NAN } else { loss })
        }
        fn uses_batch_statistics(&self) -> bool {
            self.stats
        }
    }

    /// A model whose text `i` (its number) has `i + 1` tokens, with constant logits, that records
    /// the rows of every training batch.
    struct Recorder(Rc<RefCell<Vec<Vec<usize>>>>);
    struct RecorderModel {
        vs: tch::nn::VarStore,
        w: Tensor,
        seen: Rc<RefCell<Vec<Vec<usize>>>>,
    }

    impl Backbone for Recorder {
        fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
            let vs = tch::nn::VarStore::new(env.device);
            let w = vs.root().zeros("w", &[n_classes as i64]);
            Ok(Box::new(RecorderModel { vs, w, seen: self.0.clone() }))
        }
    }

    impl Model for RecorderModel {
        fn encode(&mut self, texts: &[&str], _env: &Env) -> anyhow::Result<Inputs> {
            let lens: Vec<usize> = texts.iter().map(|t| t.parse::<usize>()).collect::<Result<_, _>>()?;
            Ok(Inputs::Tokens(lens.into_iter().map(|i| vec![0; i + 1]).collect()))
        }
        fn logits(&self, _inputs: &Inputs, rows: &[usize], train: bool) -> anyhow::Result<Tensor> {
            if train {
                self.seen.borrow_mut().push(rows.to_vec());
            }
            Ok(self.w.unsqueeze(0).expand([rows.len() as i64, -1], false) * 1.0)
        }
        fn var_store(&self) -> &tch::nn::VarStore {
            &self.vs
        }
    }

    /// Train a [`Recorder`] on 1,024 texts of lengths 1..=1024 (batch 16, one epoch, no
    /// intermediate evaluation): the recorded training batches, or the error.
    fn train_recorder(objective: &mut Spy) -> anyhow::Result<(Vec<Vec<usize>>, Trained)> {
        let examples: Vec<Example> = (0..1024).map(|i| Example::new(i.to_string(), i % 2)).collect();
        let refs: Vec<&Example> = examples.iter().collect();
        let targets = one_hot(refs.iter().map(|e| e.label), 2);
        let cfg = TrainConfig { epochs: 1, batch_size: 16, lr: 1e-3, eval_every: 0, ..Default::default() };
        let seen = Rc::new(RefCell::new(Vec::new()));
        let backbone = Recorder(seen.clone());
        let job = Job {
            role: "student",
            backbone: &backbone,
            n_classes: 2,
            train: &refs,
            targets: &targets,
            test: &refs[..8],
            also_predict: None,
            cfg: &cfg,
            seed: 0,
        };
        let env = Env { show_progress: false, ..Env::from_env() };
        let trained = train_and_predict(&env, &job, objective)?;
        let seen = seen.borrow().clone();
        Ok((seen, trained))
    }

    #[test]
    fn objectives_with_batch_statistics_get_random_batches() {
        // Cost = row number. Length grouping sorts windows of 16 batches (256 random rows of 1,024),
        // so a batch of 16 spans about 16/256 · 1024 = 64 rows; 16 random rows span about 900.
        let (n, cost) = (1024, |i: usize| i);
        let per_row = Spy { stats: false, nan_from: None, value: None };
        let stats = Spy { stats: true, nan_from: None, value: None };
        let grouped = batches_for(&per_row, n, cost, 16, 3);
        let random = batches_for(&stats, n, cost, 16, 3);
        for batches in [&grouped, &random] {
            let mut all: Vec<usize> = batches.iter().flatten().copied().collect();
            all.sort_unstable();
            assert_eq!(all, (0..n).collect::<Vec<_>>(), "every row once");
        }
        assert!(mean_span(&grouped) < 150.0, "length-grouped: {}", mean_span(&grouped));
        assert!(mean_span(&random) > 600.0, "random: {}", mean_span(&random));
        let sorted = random.iter().filter(|b| b.windows(2).all(|w| w[0] <= w[1])).count();
        assert_eq!(sorted, 0, "no random batch is a sorted run of rows");
        assert_eq!(random, random_batches(n, 16, 3), "seeded");
        // The trainer batches the same way.
        let (seen, _) = train_recorder(&mut Spy { stats: true, nan_from: None, value: None }).unwrap();
        assert_eq!(seen.len(), 64);
        assert!(mean_span(&seen) > 600.0, "trainer, batch statistics: {}", mean_span(&seen));
        let (seen, _) = train_recorder(&mut Spy { stats: false, nan_from: None, value: None }).unwrap();
        assert!(mean_span(&seen) < 150.0, "trainer, per-row loss: {}", mean_span(&seen));
    }

    #[test]
    fn the_loss_summed_on_the_device_gives_the_mean_and_catches_nan() {
        // A constant loss 0.75: the one curve row (the end, step 64) has mean training loss 0.75.
        let (_, trained) = train_recorder(&mut Spy { stats: false, nan_from: None, value: Some(0.75) }).unwrap();
        assert_eq!(trained.curves.len(), 1);
        assert!((trained.curves[0].train_loss - 0.75).abs() < 1e-12, "{}", trained.curves[0].train_loss);
        // NaN from step 5 on: found at the end (step 64, the only check of this 64-step run).
        let err = train_recorder(&mut Spy { stats: false, nan_from: Some(5), value: None }).err().unwrap().to_string();
        assert!(err.contains("student: training loss became NaN by step 64 of 64"), "{err}");
        assert!(err.contains("finite through step 0"), "{err}");
    }

    /// A constant loss with no graph.
    struct NoGraph;
    impl Objective for NoGraph {
        fn loss(&mut self, _logits: &Tensor, _targets: &Tensor, _at: StepInfo) -> anyhow::Result<Tensor> {
            Ok(Tensor::from(0.5f32))
        }
    }

    #[test]
    fn a_loss_without_a_gradient_is_an_error_not_a_panic() {
        let examples: Vec<Example> = (0..4).map(|i| Example::new(i.to_string(), i % 2)).collect();
        let refs: Vec<&Example> = examples.iter().collect();
        let targets = one_hot(refs.iter().map(|e| e.label), 2);
        let cfg = TrainConfig { epochs: 1, batch_size: 2, eval_every: 0, ..Default::default() };
        let backbone = Recorder(Rc::new(RefCell::new(Vec::new())));
        let job = Job {
            role: "weak",
            backbone: &backbone,
            n_classes: 2,
            train: &refs,
            targets: &targets,
            test: &refs,
            also_predict: None,
            cfg: &cfg,
            seed: 0,
        };
        let env = Env { show_progress: false, ..Env::from_env() };
        let err = format!("{:#}", train_and_predict(&env, &job, &mut NoGraph).err().unwrap());
        assert!(err.contains("weak: backward pass of step 0"), "{err}");
    }
}
