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
mod prompted;
mod run_one;
mod session;
mod stages;
mod summary;

use std::{
    collections::{HashMap, HashSet},
    panic::AssertUnwindSafe,
    path::PathBuf,
    sync::{atomic::AtomicUsize, atomic::Ordering, Arc},
};

use anyhow::anyhow;
use w2s_core::{atomic_file::write_atomic, preset::RunConfig, rng, Env, Preset, Registry};

use crate::results::{self, SummaryRow};

use run_one::run_one;
pub use run_one::CHAIN_FILE;
use session::{claim_folder, finished_row, write_collected, Session};
pub use summary::device_name;

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
    let strong_params = strong_parameters(runs, registry, env);
    let mut session = Session { registry, env, opts, datasets: HashMap::new(), fresh: HashSet::new() };
    let (mut rows, mut reused, mut failures) = (Vec::new(), 0, Vec::new());
    let mut failure_groups: Vec<(String, Vec<String>)> = Vec::new();
    // The first finished run draws the figures at once.
    let mut last_figures = std::time::Instant::now().checked_sub(FIGURE_EVERY).unwrap_or_else(std::time::Instant::now);
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
                // The summary after every run (nothing finished is lost); the figures, which cost
                // a rendering each, at most every FIGURE_EVERY and at the end.
                let figures = last_figures.elapsed() >= FIGURE_EVERY;
                write_collected(&opts.out, &rows, &strong_params, figures)?;
                if figures {
                    last_figures = std::time::Instant::now();
                }
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
    write_collected(&opts.out, &rows, &strong_params, true)?;
    Ok(Outcome { rows, reused, failures, failure_groups })
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
