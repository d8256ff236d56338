//! The training loop shared by every model the protocol trains (weak supervisor, strong ceiling,
//! student): Adam, no weight decay, cosine annealing over all steps (the reference code's
//! defaults), NaN detection, periodic test evaluation into curves, and batched prediction.
//!
//! Batches group rows of similar length, except for objectives whose loss uses statistics over
//! the batch ([`Objective::uses_batch_statistics`]), which get plain seeded random batches. The
//! training loss stays on the device (summed there, detached): it is read, and checked for NaN,
//! only at evaluations and every [`NAN_CHECK_EVERY`] steps, so that no step waits for the host.

mod batches;
mod encoded;
mod fit;
mod targets;

use anyhow::{bail, Context};
use w2s_core::{curves::CurveRow, rng, Backbone, Env, Example, Model, Objective, TrainConfig};

use encoded::from_tensor;
use fit::fit;

pub use batches::{batches_for, epoch_batches, random_batches};
pub use encoded::{is_pairwise, predict, Encoded};
pub use fit::NAN_CHECK_EVERY;
pub use targets::{gold_targets, one_hot};

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
    /// Keep the test predictions of every evaluation (and of `watch`) for stopping criteria.
    pub record: Option<Record<'a>>,
    pub cfg: &'a TrainConfig,
    pub seed: u64,
}

/// What to record at every evaluation besides the curves: the test predictions always, and the
/// predictions of `watch` (a held-out weak-labelled slice) when given.
#[derive(Clone, Copy)]
pub struct Record<'a> {
    pub watch: Option<&'a [&'a Example]>,
}

/// The predictions recorded at one evaluation.
#[derive(Debug, Clone, PartialEq)]
pub struct Snapshot {
    pub step: usize,
    pub test: Vec<Vec<f32>>,
    pub watch: Option<Vec<Vec<f32>>>,
}

/// Predictions and curves of a trained model.
pub struct Trained {
    pub test: Vec<Vec<f32>>,
    pub extra: Option<Vec<Vec<f32>>>,
    pub curves: Vec<CurveRow>,
    /// One per evaluation when the job asked to [`Record`].
    pub snapshots: Vec<Snapshot>,
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
    let watch_in = match job.record.and_then(|r| r.watch) {
        Some(ex) => Some(Encoded::new(model.as_mut(), ex, env)?),
        None => None,
    };
    let eval_sets = fit::EvalSets { test: &test_in, labels: &test_labels, watch: watch_in.as_ref() };
    let (curves, snapshots) = fit(env, model.as_mut(), objective, job, &train_in, &eval_sets)?;
    let test = from_tensor(&predict(model.as_ref(), &test_in, job.cfg.eval_batch)?)?;
    let extra = match job.also_predict {
        Some(ex) => {
            let inputs = Encoded::new(model.as_mut(), ex, env)?;
            Some(from_tensor(&predict(model.as_ref(), &inputs, job.cfg.eval_batch)?)?)
        }
        None => None,
    };
    Ok(Trained { test, extra, curves, snapshots })
}

#[cfg(test)]
mod tests {
    use std::{cell::RefCell, rc::Rc};

    use tch::Tensor;
    use w2s_core::{objective::soft_cross_entropy, Inputs, StepInfo};

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
            let loss = soft_cross_entropy(logits, targets)?;
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
            record: None,
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
            record: None,
            cfg: &cfg,
            seed: 0,
        };
        let env = Env { show_progress: false, ..Env::from_env() };
        let err = format!("{:#}", train_and_predict(&env, &job, &mut NoGraph).err().unwrap());
        assert!(err.contains("weak: backward pass of step 0"), "{err}");
    }
}
