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

pub mod chain;
pub mod plan;
mod prompted;
mod run_one;
mod session;
mod stages;
mod summary;
mod worker;

use std::{
    collections::{HashMap, HashSet},
    path::PathBuf,
    sync::{atomic::AtomicUsize, atomic::Ordering, Arc},
};

use w2s_core::{atomic_file::write_atomic, preset::RunConfig, rng, Env, Preset, Registry};

use crate::results::{self, SummaryRow};

pub use run_one::CHAIN_FILE;
pub use session::new_force_token;
use session::{claim_folder, write_collected, Session};
pub use summary::device_name;
pub use worker::{hostname, LEDGER};

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
    /// With `force`: the token that marks what this invocation recomputed; the workers of one
    /// invocation (`--jobs`, a Slurm array) share it, so that each stage is recomputed once.
    /// `None`: a new token.
    pub force_token: Option<String>,
    /// Compute nothing: only rebuild the collected summary and figures from the finished runs
    /// (what `--jobs` does after its workers have finished).
    pub collect_only: bool,
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
    /// Every finished run's row, whoever computed it (other workers on the folder too).
    pub rows: Vec<SummaryRow>,
    /// How many runs were found finished on disk and reused.
    pub reused: usize,
    /// How many runs this process computed.
    pub computed: usize,
    /// Runs with no row that did not fail here (`collect_only`, or left to a worker that died).
    pub unfinished: Vec<String>,
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

/// The message of a caught panic.
fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
        .unwrap_or_else(|| "a panic without a message".into())
}

/// Run every cell of `preset`, reusing finished runs: one worker over the preset's plan (see
/// [`worker`]), so that any number of processes may run it on one folder at once. Every stage is
/// isolated: an error *or a panic* in one is reported in [`Outcome::failures`] (for the runs that
/// needed it) and the others go on. The collected `summary.csv` is rewritten after every finished
/// run.
pub fn run_preset(preset: &Preset, registry: &Registry, env: &Env, opts: &RunOptions) -> anyhow::Result<Outcome> {
    run_resolved(preset, &preset.resolved_runs(registry, env)?, registry, env, opts)
}

/// The parameter counts of the runs' strong backbones that say theirs (`Backbone::parameters`),
/// by label, for the ladder figure; one that cannot be read now is left out (the run itself will
/// report the problem).
fn strong_parameters(runs: &[RunConfig], registry: &Registry, env: &Env) -> HashMap<String, u64> {
    let mut out = HashMap::new();
    for rc in runs {
        let label = rc.strong.label();
        if out.contains_key(&label) {
            continue;
        }
        match registry.backbone(&rc.strong).and_then(|b| b.parameters(env)) {
            Ok(Some(n)) => {
                out.insert(label, n);
            }
            Ok(None) => {}
            Err(e) => tracing::debug!("parameters of {label}: {e:#}"),
        }
    }
    out
}

/// How often a running preset redraws its figures (the summary is rewritten after every run).
const FIGURE_EVERY: std::time::Duration = std::time::Duration::from_secs(30);

/// [`run_preset`] for runs already resolved with [`Preset::resolved_runs`] (a caller that has
/// validated the preset does not resolve it twice).
pub fn run_resolved(
    preset: &Preset,
    runs: &[RunConfig],
    registry: &Registry,
    env: &Env,
    opts: &RunOptions,
) -> anyhow::Result<Outcome> {
    crate::progress::install();
    results::ensure_writable(&opts.out)?;
    claim_folder(opts)?;
    w2s_core::atomic_file::remove_stale_temporaries(&opts.out);
    write_atomic(&opts.out.join("preset.json"), serde_json::to_string_pretty(preset)?.as_bytes())?;
    let plan = plan::plan(runs, registry)?;
    let mut collector = Collector::new(strong_parameters(runs, registry, env));
    let mut session = Session::new(registry, env, opts);
    if let Some(p) = &opts.progress {
        p.total.store(runs.len(), Ordering::SeqCst);
    }
    let log = if opts.collect_only {
        worker::WorkerLog::default()
    } else {
        worker::work(&mut session, &plan, runs, |s| collector.write(s, &plan, false).map(|_| ()))?
    };
    let rows = collector.write(&session, &plan, true)?;
    if !log.computed.is_empty() {
        tracing::info!(
            "computed {} stage(s); deciding and claiming took {:.1} ms per stage",
            log.computed.len(),
            log.overhead.as_secs_f64() * 1e3 / log.computed.len() as f64
        );
    }
    let mut failures = Vec::new();
    let mut failure_groups: Vec<(String, Vec<String>)> = Vec::new();
    for (r, &at) in plan.run_stage.iter().enumerate() {
        let Some(error) = log.failed.get(&at) else { continue };
        let id = runs[r].id();
        match failure_groups.iter_mut().find(|(msg, _)| msg == error) {
            Some((_, ids)) => ids.push(id.clone()),
            None => failure_groups.push((error.clone(), vec![id.clone()])),
        }
        failures.push(format!("[{id}] {}: {error}", plan::run_label(&runs[r])));
    }
    let finished: HashSet<&str> = rows.iter().map(|r| r.run_id.as_str()).collect();
    let unfinished = runs
        .iter()
        .enumerate()
        .filter(|(r, rc)| !finished.contains(rc.id().as_str()) && !log.failed.contains_key(&plan.run_stage[*r]))
        .map(|(_, rc)| rc.id())
        .collect();
    let reused = log.found_finished.iter().filter(|&&i| plan.stages[i].kind == plan::StageKind::Run).count();
    let computed_runs = log.computed.iter().filter(|&&i| plan.stages[i].kind == plan::StageKind::Run).count();
    Ok(Outcome { rows, reused, computed: computed_runs, failures, failure_groups, unfinished })
}

/// The preset's collected files, rebuilt from the run folders of the plan (whoever computed
/// them), under a lock so that the last writer has seen every finished run.
struct Collector {
    params: HashMap<String, u64>,
    rows: HashMap<String, SummaryRow>,
    last_figures: Option<std::time::Instant>,
}

impl Collector {
    fn new(params: HashMap<String, u64>) -> Self {
        Collector { params, rows: HashMap::new(), last_figures: None }
    }

    /// The finished runs' rows in the plan's order; the summary rewritten, and the figures when
    /// `figures` or when they were last drawn over [`FIGURE_EVERY`] ago.
    fn write(&mut self, s: &Session<'_>, plan: &plan::Plan, figures: bool) -> anyhow::Result<Vec<SummaryRow>> {
        let _lock = w2s_core::file_lock::lock(&s.opts.out.join(".locks/collect.lock"))?;
        let mut rows = Vec::new();
        for &at in &plan.run_stage {
            let stage = &plan.stages[at];
            let id = &stage.folder;
            if !self.rows.contains_key(id) {
                if let Some(row) = s.finished(&s.opts.out.join(id), id) {
                    self.rows.insert(id.clone(), row);
                }
            }
            if let Some(row) = self.rows.get(id) {
                rows.push(row.clone());
            }
        }
        let figures = figures || self.last_figures.is_none_or(|t| t.elapsed() >= FIGURE_EVERY);
        write_collected(&s.opts.out, &rows, &self.params, figures)?;
        if figures {
            self.last_figures = Some(std::time::Instant::now());
        }
        Ok(rows)
    }
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
