//! The weak-to-strong protocol (science.md): for each cell of a preset's grid,
//! 1. split the task's training pool into halves A and B (seeded);
//! 2. the labeler supervises: typically a weak model trained on A labels B (and the test set);
//! 3. the strong ceiling trains on ground truth (half B by default, or A);
//! 4. the student (the strong backbone) trains on B with the weak labels and the objective;
//! 5. metrics: accuracies with standard errors, PGR, agreement.
//!
//! Weak labels and ceilings are stages shared by the runs that need them (all objectives share one
//! weak stage; all labelers and objectives share one ceiling). Every stage and run is a folder
//! named by the hash of what determines it; a folder with its final file is reused, never
//! recomputed, unless forced.

use std::{
    collections::{HashMap, HashSet},
    panic::AssertUnwindSafe,
    path::{Path, PathBuf},
    sync::{atomic::AtomicUsize, atomic::Ordering, Arc},
    time::Instant,
};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};

use crate::{
    curves::CurveRow,
    metrics,
    objective::SoftXent,
    preset::{Half, RunConfig},
    results::{self, LabelSection, SummaryRow},
    rng, spec, train, Dataset, Env, Example, LabelerCtx, Preset, Registry, WeakLabels,
};

/// Where results go and whether finished work may be reused.
#[derive(Debug, Clone, Default)]
pub struct RunOptions {
    pub out: PathBuf,
    /// Recompute runs and stages even when finished results exist; also allows writing into a
    /// folder that holds another preset's results.
    pub force: bool,
    /// The preset's name: a folder that holds another preset's results is refused (unless
    /// `force`), so that one preset's collected summary never silently replaces another's.
    pub name: Option<String>,
    /// Runs finished and in all, updated as the preset runs (e.g. for a Ctrl-C handler).
    pub progress: Option<Arc<RunProgress>>,
}

impl RunOptions {
    /// Results into `out`, reusing finished work.
    pub fn new(out: impl Into<PathBuf>) -> Self {
        RunOptions { out: out.into(), ..Default::default() }
    }
}

/// How far a preset has got: runs finished (computed or reused) and runs in all.
#[derive(Debug, Default)]
pub struct RunProgress {
    pub finished: AtomicUsize,
    pub total: AtomicUsize,
}

/// What running a preset produced.
pub struct Outcome {
    pub rows: Vec<SummaryRow>,
    /// How many runs were found finished on disk and reused.
    pub reused: usize,
    /// Runs that failed (`[id] label: error`); their folders hold no summary.
    pub failures: Vec<String>,
    /// The distinct errors of the failed runs, each with the ids of the runs that failed with it
    /// (a missing asset fails every cell the same way: it is reported once).
    pub failure_groups: Vec<(String, Vec<String>)>,
}

/// Split `n` training indices into halves A and B for `seed`.
pub fn split_halves(n: usize, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let perm = rng::permutation(n, seed, "halves");
    let (a, b) = perm.split_at(n / 2);
    (a.to_vec(), b.to_vec())
}

/// One test example's predictions, as written to `predictions.csv`.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct PredictionRow {
    index: usize,
    label: usize,
    weak: usize,
    ceiling: usize,
    student: usize,
}

struct Session<'a> {
    registry: &'a Registry,
    env: &'a Env,
    opts: &'a RunOptions,
    datasets: HashMap<String, Dataset>,
    /// Stages recomputed in this invocation (so that --force recomputes each only once).
    fresh: HashSet<PathBuf>,
}

impl Session<'_> {
    fn dataset(&mut self, task: &spec::Spec) -> anyhow::Result<&Dataset> {
        let key = spec::short_hash(&serde_json::to_value(task)?);
        if !self.datasets.contains_key(&key) {
            let t = self.registry.tasks.build(task)?;
            let data = t.load(self.env).with_context(|| format!("loading task {}", task.label()))?;
            let example = data
                .train
                .first()
                .map(|e| format!("{:?} -> {}", e.text, data.class_names.get(e.label).map_or("?", |s| s.as_str())));
            tracing::info!(
                task = %task.label(), train = data.train.len(), test = data.test.len(),
                balance = ?data.class_balance(&data.train), example = example.unwrap_or_default(), "task loaded"
            );
            self.datasets.insert(key.clone(), data);
        }
        Ok(&self.datasets[&key])
    }

    /// The strong backbone of a run, adapted to the task's unlabeled training texts (both halves,
    /// no labels) when it asks for that (e.g. `smollm2` with `generative`: the talk's unsupervised
    /// next-token step). Adapted weights are cached by the backbone itself.
    fn strong_backbone(&self, rc: &RunConfig, data: &Dataset) -> anyhow::Result<Box<dyn crate::Backbone>> {
        let strong = self.registry.backbones.build(&rc.strong)?;
        let texts: Vec<&str> =
            data.train.iter().flat_map(|e| std::iter::once(e.text.as_str()).chain(e.pair.as_deref())).collect();
        let adapted = strong
            .adapt_to_texts(self.env, &texts)
            .with_context(|| format!("adapting {} to the task's unlabeled texts", rc.strong.label()))?;
        Ok(adapted.unwrap_or(strong))
    }

    /// The finished stage in `dir` (its `marker` file exists, and `read` reads it back whole and
    /// of the right sizes), or `None`: compute it. A stage that fails to read is logged and
    /// recomputed, never used and never fatal. With `force`, each stage is recomputed once per
    /// invocation.
    fn reusable<T>(&self, dir: &Path, marker: &str, read: impl Fn(&Path) -> anyhow::Result<T>) -> Option<T> {
        let done = dir.join(marker).exists() && (!self.opts.force || self.fresh.contains(dir));
        if !done {
            return None;
        }
        match read(dir) {
            Ok(stage) => Some(stage),
            Err(e) => {
                tracing::warn!("stage {} is damaged ({e:#}); recomputing it", dir.display());
                None
            }
        }
    }
}

/// The file in a results folder that names the preset whose results it holds.
const OWNER_FILE: &str = ".w2s-preset";

/// Refuse a folder that holds another preset's results (unless forced); record ours.
fn claim_folder(opts: &RunOptions) -> anyhow::Result<()> {
    let Some(name) = &opts.name else { return Ok(()) };
    let owner = opts.out.join(OWNER_FILE);
    if let Ok(found) = std::fs::read_to_string(&owner) {
        let found = found.trim();
        if found != name && !opts.force {
            bail!(
                "output folder {} holds the results of preset `{found}`, not `{name}`: running `{name}` there \
                 would replace its summary. Choose another folder with --out DIR, or pass --force",
                opts.out.display()
            );
        }
    }
    results::write_atomic(&owner, name.as_bytes())
}

/// The summary row of a finished run in `dir`, if it has one that reads back whole; a damaged
/// summary is logged, and the run is recomputed.
fn finished_row(dir: &Path, id: &str) -> Option<SummaryRow> {
    let summary = dir.join("summary.csv");
    if !summary.exists() {
        return None;
    }
    match results::read_csv::<SummaryRow>(&summary) {
        Ok(rows) if rows.len() == 1 && rows[0].run_id == id => rows.into_iter().next(),
        Ok(rows) => {
            tracing::warn!("{} holds {} rows, not this run's one: recomputing the run", summary.display(), rows.len());
            None
        }
        Err(e) => {
            tracing::warn!("{} cannot be read ({e:#}): recomputing the run", summary.display());
            None
        }
    }
}

/// The preset's collected files from the rows so far: `summary.csv` and the figures. Written
/// after every finished run, so that an interrupted preset keeps the rows of what it finished.
fn write_collected(out: &Path, rows: &[SummaryRow]) -> anyhow::Result<()> {
    results::write_csv(&out.join("summary.csv"), rows)?;
    if !rows.is_empty() {
        let title = out.file_name().and_then(|n| n.to_str()).unwrap_or("w2s");
        results::write_atomic(&out.join("accuracy.svg"), crate::plot::accuracy_svg(rows, title).as_bytes())?;
        let imitation = crate::plot::pgr_vs_label_acc_svg(rows, &format!("{title}: PGR vs weak label accuracy"));
        results::write_atomic(&out.join("imitation.svg"), imitation.as_bytes())?;
    }
    Ok(())
}

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Run every cell of `preset`, reusing finished runs. Every run is isolated: an error *or a
/// panic* in one is reported in [`Outcome::failures`] and the others go on. The collected
/// `summary.csv` is rewritten after every finished run.
pub fn run_preset(preset: &Preset, registry: &Registry, env: &Env, opts: &RunOptions) -> anyhow::Result<Outcome> {
    run_resolved(preset, &preset.resolved_runs(registry, env)?, registry, env, opts)
}

/// [`run_preset`] for runs already resolved with [`Preset::resolved_runs`] (a caller that has
/// validated the preset does not resolve it twice).
pub fn run_resolved(
    preset: &Preset,
    runs: &[RunConfig],
    registry: &Registry,
    env: &Env,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    results::ensure_writable(&opts.out)?;
    claim_folder(opts)?;
    results::remove_stale_temporaries(&opts.out);
    results::write_atomic(&opts.out.join("preset.json"), serde_json::to_string_pretty(preset)?.as_bytes())?;
    let mut session = Session { registry, env, opts, datasets: HashMap::new(), fresh: HashSet::new() };
    let (mut rows, mut reused, mut failures) = (Vec::new(), 0, Vec::new());
    let mut failure_groups: Vec<(String, Vec<String>)> = Vec::new();
    if let Some(p) = &opts.progress {
        p.total.store(runs.len(), Ordering::SeqCst);
    }
    for (i, rc) in runs.iter().enumerate() {
        let id = rc.id();
        let dir = opts.out.join(&id);
        let label = format!(
            "{} | weak {} | strong {} | labeler {} | objective {} | seed {}",
            rc.task.label(),
            rc.weak.label(),
            rc.strong.label(),
            rc.labeler.label(),
            rc.objective.label(),
            rc.seed
        );
        let reuse = if opts.force { None } else { finished_row(&dir, &id) };
        let result = if let Some(row) = reuse {
            tracing::info!("run {}/{} [{id}] reused: {label}", i + 1, runs.len());
            reused += 1;
            Ok(row)
        } else {
            tracing::info!("run {}/{} [{id}]: {label}", i + 1, runs.len());
            std::panic::catch_unwind(AssertUnwindSafe(|| run_one(&mut session, rc, &dir)))
                .unwrap_or_else(|panic| Err(anyhow!("the run panicked: {}", panic_message(panic.as_ref()))))
        };
        match result {
            Ok(row) => {
                rows.push(row);
                write_collected(&opts.out, &rows)?;
            }
            Err(e) => {
                let error = format!("{e:#}");
                match failure_groups.iter_mut().find(|(msg, _)| *msg == error) {
                    Some((_, ids)) => {
                        tracing::error!("run [{id}] failed with the same error as run [{}]", ids[0]);
                        ids.push(id.clone());
                    }
                    None => {
                        tracing::error!("run [{id}] failed: {error}");
                        failure_groups.push((error.clone(), vec![id.clone()]));
                    }
                }
                failures.push(format!("[{id}] {label}: {error}"));
            }
        }
        if let Some(p) = &opts.progress {
            p.finished.store(i + 1, Ordering::SeqCst);
        }
    }
    write_collected(&opts.out, &rows)?;
    Ok(Outcome { rows, reused, failures, failure_groups })
}

/// A weak stage read back from its folder.
struct WeakStage {
    b: Vec<Vec<f32>>,
    keep: Vec<bool>,
    test: Vec<Vec<f32>>,
    curves: Vec<CurveRow>,
}

/// A ceiling stage read back from its folder.
struct CeilingStage {
    test: Vec<Vec<f32>>,
    curves: Vec<CurveRow>,
}

/// Check that label rows read back from `file` are `n` distributions over `k` classes.
fn check_rows(file: &Path, what: &str, rows: &[Vec<f32>], n: usize, k: usize) -> anyhow::Result<()> {
    if rows.len() != n {
        bail!("{}: {} rows of {what}, expected {n}", file.display(), rows.len());
    }
    if let Some((i, p)) = first_non_distribution(rows, k) {
        bail!("{}: row {i} of {what} is not a distribution over {k} classes: {p:?}", file.display());
    }
    Ok(())
}

/// The first row (with its index) that is not a probability distribution over `k` classes: `k`
/// finite, non-negative entries summing to 1 (within 1e-3).
fn first_non_distribution<'a>(rows: impl IntoIterator<Item = &'a Vec<f32>>, k: usize) -> Option<(usize, &'a Vec<f32>)> {
    rows.into_iter().enumerate().find(|(_, p)| {
        let sum: f32 = p.iter().sum();
        p.len() != k || p.iter().any(|x| !x.is_finite() || *x < 0.0) || (sum - 1.0).abs() > 1e-3
    })
}

fn read_weak_stage(dir: &Path, n_b: usize, n_test: usize, k: usize) -> anyhow::Result<WeakStage> {
    let file = dir.join("weak_labels.csv");
    let mut splits = results::read_label_splits(&file)?;
    let (b, keep) = splits.remove("b").unwrap_or_default();
    let (test, _) = splits.remove("test").unwrap_or_default();
    check_rows(&file, "half B", &b, n_b, k)?;
    check_rows(&file, "the test set", &test, n_test, k)?;
    let curves = results::read_csv(&dir.join("curves.csv"))?;
    Ok(WeakStage { b, keep, test, curves })
}

fn read_ceiling_stage(dir: &Path, n_test: usize, k: usize) -> anyhow::Result<CeilingStage> {
    let file = dir.join("test_probs.csv");
    let (test, _) = results::read_labels(&file, "test")?;
    check_rows(&file, "the test set", &test, n_test, k)?;
    Ok(CeilingStage { test, curves: results::read_csv(&dir.join("curves.csv"))? })
}

fn refs<'a>(data: &'a [Example], idx: &[usize]) -> Vec<&'a Example> {
    idx.iter().map(|&i| &data[i]).collect()
}

fn preds(probs: &[Vec<f32>]) -> Vec<usize> {
    probs.iter().map(|p| metrics::argmax(p)).collect()
}

fn check_labels(wl: &WeakLabels, n_b: usize, n_test: usize, k: usize, who: &str) -> anyhow::Result<()> {
    if wl.b.len() != n_b || wl.keep.len() != n_b || wl.test.len() != n_test {
        bail!(
            "labeler {who} returned {} labels / {} keep flags for {n_b} examples of B and {} for {n_test} test examples",
            wl.b.len(), wl.keep.len(), wl.test.len()
        );
    }
    let labels: Vec<&Vec<f32>> = wl.b.iter().chain(&wl.test).collect();
    if let Some((i, p)) = first_non_distribution(labels, k) {
        bail!("labeler {who}: label {i} is not a distribution over {k} classes: {p:?}");
    }
    Ok(())
}

fn run_one(s: &mut Session<'_>, rc: &RunConfig, dir: &Path) -> anyhow::Result<SummaryRow> {
    let start = Instant::now();
    let (registry, env) = (s.registry, s.env);
    let stages = s.opts.out.join("stages");
    let data = s.dataset(&rc.task)?.clone();
    let k = data.n_classes;
    let (a, b) = split_halves(data.train.len(), rc.seed);
    let test: Vec<&Example> = data.test.iter().collect();
    let test_labels: Vec<usize> = data.test.iter().map(|e| e.label).collect();
    let weak_bb = registry.backbones.build(&rc.weak)?;
    let strong_bb = s.strong_backbone(rc, &data)?;

    // 1. Weak labels on B and test.
    let wdir = stages.join(format!("weak-{}", rc.weak_stage_id()));
    let stage = match s.reusable(&wdir, "weak_labels.csv", |d| read_weak_stage(d, b.len(), test.len(), k)) {
        Some(stage) => stage,
        None => {
            let labeler = registry.labelers.build(&rc.labeler)?;
            let mut ctx = LabelerCtx {
                env,
                registry,
                data: &data,
                a: &a,
                b: &b,
                seed: rc.seed,
                weak: weak_bb.as_ref(),
                weak_train: &rc.weak_train,
                curves: Vec::new(),
            };
            let wl = labeler.label(&mut ctx).with_context(|| format!("labeler {}", rc.labeler.label()))?;
            check_labels(&wl, b.len(), test.len(), k, &rc.labeler.label())?;
            results::write_csv(&wdir.join("curves.csv"), &ctx.curves)?;
            write_weak_labels(&wdir.join("weak_labels.csv"), &data, &b, &wl)?;
            s.fresh.insert(wdir.clone());
            read_weak_stage(&wdir, b.len(), test.len(), k)?
        }
    };
    let WeakStage { b: weak_b, keep, test: weak_test, mut curves } = stage;

    let mut objective = registry.objectives.build(&rc.objective)?;
    if let Some(spec) = objective.prompting() {
        let weak_run = WeakRun { wdir: &wdir, weak_b: &weak_b, keep: &keep, weak_test: &weak_test, curves };
        return prompted_run(env, strong_bb.as_ref(), rc, dir, &data, &b, &spec, weak_run, start);
    }

    // 2. Strong ceiling on ground truth.
    let cdir = stages.join(format!("ceiling-{}", rc.ceiling_stage_id()));
    let ceiling = match s.reusable(&cdir, "test_probs.csv", |d| read_ceiling_stage(d, test.len(), k)) {
        Some(stage) => stage,
        None => {
            let half = if rc.ceiling_on == Half::A { &a } else { &b };
            let train_set = refs(&data.train, half);
            let targets = train::gold_targets(&train_set, k);
            let out = train::train_and_predict(
                env,
                &train::Job {
                    role: "ceiling",
                    backbone: strong_bb.as_ref(),
                    n_classes: k,
                    train: &train_set,
                    targets: &targets,
                    test: &test,
                    also_predict: None,
                    cfg: &rc.strong_train,
                    seed: rc.seed,
                },
                &mut SoftXent,
            )?;
            results::write_csv(&cdir.join("curves.csv"), &out.curves)?;
            let idx: Vec<usize> = (0..test.len()).collect();
            results::write_labels(
                &cdir.join("test_probs.csv"),
                &[LabelSection {
                    split: "test",
                    index: &idx,
                    label: test_labels.clone(),
                    probs: &out.test,
                    keep: None,
                }],
            )?;
            s.fresh.insert(cdir.clone());
            read_ceiling_stage(&cdir, test.len(), k)?
        }
    };
    let ceiling_test = ceiling.test;
    curves.extend(ceiling.curves);

    // 3. Student on B with weak labels.
    let kept: Vec<usize> = (0..b.len()).filter(|&i| keep[i]).collect();
    if kept.is_empty() {
        bail!("labeler {} kept no examples of half B: nothing to train the student on", rc.labeler.label());
    }
    let student_set: Vec<&Example> = kept.iter().map(|&i| &data.train[b[i]]).collect();
    let student_targets: Vec<Vec<f32>> = kept.iter().map(|&i| weak_b[i].clone()).collect();
    let student = train::train_and_predict(
        env,
        &train::Job {
            role: "student",
            backbone: strong_bb.as_ref(),
            n_classes: k,
            train: &student_set,
            targets: &student_targets,
            test: &test,
            also_predict: None,
            cfg: &rc.strong_train,
            seed: rc.seed,
        },
        objective.as_mut(),
    )?;
    curves.extend(student.curves.iter().cloned());

    // 4. Metrics.
    let kept_preds: Vec<usize> = kept.iter().map(|&i| metrics::argmax(&weak_b[i])).collect();
    let kept_truth: Vec<usize> = kept.iter().map(|&i| data.train[b[i]].label).collect();
    let labels = LabelFigures {
        accuracy: metrics::accuracy(&kept_preds, &kept_truth).0,
        coverage: kept.len() as f64 / b.len() as f64,
        pgr_undefined: None,
    };
    let probs = [weak_test.as_slice(), ceiling_test.as_slice(), student.test.as_slice()];
    let (row, pred_rows) =
        summary(env, rc, (a.len(), b.len()), format!("{:?}", rc.ceiling_on), probs, &test_labels, labels, start);
    write_run(dir, rc, &wdir, &curves, &pred_rows, row)
}

/// The weak labels' own figures in a summary row.
struct LabelFigures {
    /// Accuracy of the labels the student learns from (kept examples of B, or a prompt's shots).
    accuracy: f64,
    /// Fraction of B kept.
    coverage: f64,
    /// Why PGR is undefined whatever the accuracies (zero-shot prompting), if it is.
    pgr_undefined: Option<String>,
}

/// `cpu`, `cuda:0`, ...
pub fn device_name(device: tch::Device) -> String {
    match device {
        tch::Device::Cpu => "cpu".into(),
        tch::Device::Cuda(n) => format!("cuda:{n}"),
        other => format!("{other:?}").to_lowercase(),
    }
}

#[allow(clippy::too_many_arguments)] // each argument is a distinct figure of the run
/// A run's summary row and per-example predictions from the test probabilities of the weak
/// supervisor, the ceiling and the student (in that order).
fn summary(
    env: &Env,
    rc: &RunConfig,
    (n_a, n_b): (usize, usize),
    ceiling_on: String,
    [weak, ceiling, student]: [&[Vec<f32>]; 3],
    test_labels: &[usize],
    labels: LabelFigures,
    start: Instant,
) -> (SummaryRow, Vec<PredictionRow>) {
    let (weak_p, ceil_p, stud_p) = (preds(weak), preds(ceiling), preds(student));
    let (weak_acc, weak_acc_se) = metrics::accuracy(&weak_p, test_labels);
    let (strong_acc, strong_acc_se) = metrics::accuracy(&ceil_p, test_labels);
    let (w2s_acc, w2s_acc_se) = metrics::accuracy(&stud_p, test_labels);
    let (mut pgr, mut why) = metrics::pgr(weak_acc, strong_acc, w2s_acc);
    if let Some(reason) = labels.pgr_undefined {
        (pgr, why) = (f64::NAN, Some(reason));
    }
    let reliable = pgr.is_finite() && metrics::gap_is_resolved(weak_acc, weak_acc_se, strong_acc, strong_acc_se, 2.0);
    if pgr.is_finite() && !reliable {
        let se = metrics::gap_se(weak_acc_se, strong_acc_se);
        why = Some(format!(
            "unreliable: the gap strong - weak = {:.4} is within 2 standard errors ({:.4}) of zero",
            strong_acc - weak_acc,
            2.0 * se
        ));
    }
    if let Some(why) = &why {
        tracing::warn!("PGR of run {}: {why}", rc.id());
    }
    let agree = metrics::agreement(&stud_p, &weak_p, test_labels);
    let row = SummaryRow {
        task: rc.task.label(),
        weak: rc.weak.label(),
        strong: rc.strong.label(),
        labeler: rc.labeler.label(),
        objective: rc.objective.label(),
        seed: rc.seed,
        run_id: rc.id(),
        n_a,
        n_b,
        n_test: test_labels.len(),
        ceiling_on,
        weak_acc,
        weak_acc_se,
        strong_acc,
        strong_acc_se,
        w2s_acc,
        w2s_acc_se,
        pgr,
        pgr_note: why.unwrap_or_default(),
        pgr_reliable: reliable,
        agreement: agree.all,
        agreement_weak_correct: agree.weak_correct,
        agreement_weak_wrong: agree.weak_wrong,
        label_acc: labels.accuracy,
        label_coverage: labels.coverage,
        seconds: start.elapsed().as_secs_f64(),
        device: device_name(env.device),
        threads: tch::get_num_threads(),
        w2s_version: env!("CARGO_PKG_VERSION").to_string(),
    };
    let pred_rows = (0..test_labels.len())
        .map(|i| PredictionRow {
            index: i,
            label: test_labels[i],
            weak: weak_p[i],
            ceiling: ceil_p[i],
            student: stud_p[i],
        })
        .collect();
    (row, pred_rows)
}

/// A run's files; the summary last, so that a folder with a summary is a finished run.
fn write_run(
    dir: &Path,
    rc: &RunConfig,
    wdir: &Path,
    curves: &[CurveRow],
    preds: &[PredictionRow],
    row: SummaryRow,
) -> anyhow::Result<SummaryRow> {
    let record = serde_json::json!({
        "config": rc, "run_id": row.run_id, "device": row.device, "threads": row.threads,
        "w2s_version": row.w2s_version,
    });
    results::write_atomic(&dir.join("config.json"), serde_json::to_string_pretty(&record)?.as_bytes())?;
    std::fs::copy(wdir.join("weak_labels.csv"), dir.join("weak_labels.csv"))
        .with_context(|| format!("copying weak labels into {}", dir.display()))?;
    results::write_csv(&dir.join("curves.csv"), curves)?;
    results::write_csv(&dir.join("predictions.csv"), preds)?;
    results::write_csv(&dir.join("summary.csv"), std::slice::from_ref(&row))?;
    Ok(row)
}

/// The weak stage's results, as a run reads them.
struct WeakRun<'a> {
    wdir: &'a Path,
    weak_b: &'a [Vec<f32>],
    keep: &'a [bool],
    weak_test: &'a [Vec<f32>],
    curves: Vec<CurveRow>,
}

/// A prompting baseline in place of training (see [`crate::prompting`]): the strong model
/// prompted with k shots of half B carrying gold labels (the ceiling) or weak labels (the
/// student), on the first `spec.n_test` test examples.
#[allow(clippy::too_many_arguments)]
fn prompted_run(
    env: &Env,
    strong_bb: &dyn crate::Backbone,
    rc: &RunConfig,
    dir: &Path,
    data: &Dataset,
    b: &[usize],
    spec: &crate::prompting::PromptSpec,
    weak: WeakRun<'_>,
    start: Instant,
) -> anyhow::Result<SummaryRow> {
    use crate::prompting;
    let Some(lm) = strong_bb.language_model(env)? else {
        bail!("objective `prompt` needs a language-model strong backbone; {} is not one", rc.strong.label());
    };
    let n_test = if spec.n_test == 0 { data.test.len() } else { spec.n_test.min(data.test.len()) };
    let test: Vec<&Example> = data.test[..n_test].iter().collect();
    let test_labels: Vec<usize> = test.iter().map(|e| e.label).collect();
    let words = spec.words(&data.class_names)?;
    // Shots come from the examples of B that the labeler kept (a labeler that abstains on an
    // example must not have its label shown).
    let kept: Vec<usize> = (0..b.len()).filter(|&j| weak.keep.get(j).copied().unwrap_or(false)).collect();
    if kept.len() < spec.k {
        bail!(
            "objective `prompt` with k = {} needs that many kept examples of half B; the labeler kept {}",
            spec.k,
            kept.len()
        );
    }
    let shots: Vec<usize> = prompting::choose_shots(&kept, spec.k, rc.seed).into_iter().map(|p| kept[p]).collect();
    let gold: Vec<(&str, usize)> =
        shots.iter().map(|&j| (data.train[b[j]].text.as_str(), data.train[b[j]].label)).collect();
    let weak_shots: Vec<(&str, usize)> =
        shots.iter().map(|&j| (data.train[b[j]].text.as_str(), metrics::argmax(&weak.weak_b[j]))).collect();
    let passes = if spec.k == 0 { 1 } else { 2 };
    let bar = crate::progress::bar(
        env,
        (passes * n_test) as u64,
        format!("prompting {} ({}-shot)", rc.strong.label(), spec.k),
    );
    let tick = |n: usize| bar.inc(n as u64);
    let gold_probs = prompting::classify(lm.as_ref(), spec, &words, &gold, &test, &tick)?;
    let weak_probs = if spec.k == 0 {
        gold_probs.clone()
    } else {
        prompting::classify(lm.as_ref(), spec, &words, &weak_shots, &test, &tick)?
    };
    bar.finish_and_clear();

    let shot_acc = metrics::accuracy(
        &weak_shots.iter().map(|s| s.1).collect::<Vec<_>>(),
        &gold.iter().map(|s| s.1).collect::<Vec<_>>(),
    )
    .0;
    let b_len = b.len();
    let labels = LabelFigures {
        accuracy: shot_acc,
        coverage: kept.len() as f64 / b_len.max(1) as f64,
        // Zero-shot, the "student" prompt holds no weak labels: it is the ceiling's prompt, and
        // PGR would be 1 by construction.
        pgr_undefined: (spec.k == 0).then(|| {
            "zero-shot prompting (k = 0) shows no labels, weak or gold: the student's prompt is the \
             ceiling's, so w2s_acc = strong_acc by construction and PGR is undefined"
                .to_string()
        }),
    };
    let probs = [&weak.weak_test[..n_test], gold_probs.as_slice(), weak_probs.as_slice()];
    let halves = (data.train.len() - b_len, b_len);
    let (row, pred_rows) =
        summary(env, rc, halves, format!("{}-shot gold prompt", spec.k), probs, &test_labels, labels, start);
    write_run(dir, rc, weak.wdir, &weak.curves, &pred_rows, row)
}

fn write_weak_labels(path: &Path, data: &Dataset, b: &[usize], wl: &WeakLabels) -> anyhow::Result<()> {
    let test_idx: Vec<usize> = (0..data.test.len()).collect();
    results::write_labels(
        path,
        &[
            LabelSection {
                split: "b",
                index: b,
                label: b.iter().map(|&i| data.train[i].label).collect(),
                probs: &wl.b,
                keep: Some(&wl.keep),
            },
            LabelSection {
                split: "test",
                index: &test_idx,
                label: data.test.iter().map(|e| e.label).collect(),
                probs: &wl.test,
                keep: None,
            },
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_are_disjoint_complete_and_seeded() {
        let (a, b) = split_halves(101, 3);
        assert_eq!((a.len(), b.len()), (50, 51));
        let mut all: Vec<usize> = a.iter().chain(&b).copied().collect();
        all.sort();
        assert_eq!(all, (0..101).collect::<Vec<_>>());
        assert_eq!(split_halves(101, 3), (a.clone(), b));
        assert_ne!(split_halves(101, 4).0, a);
    }
}
