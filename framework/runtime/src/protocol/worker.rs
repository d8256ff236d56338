//! One worker over a [`Plan`]: it takes the first stage (in plan order) that is not finished,
//! whose needs are finished, and that no other process has claimed (a non-blocking flock of the
//! stage's lock file), computes it, and repeats until every stage is finished or has failed here.
//! Any number of workers, in any processes (`w2s run` twice, `--jobs N`, a Slurm array), may
//! work on one output folder: each stage is computed once; a stage whose worker died is unclaimed
//! by the OS and is redone from scratch by the next worker that looks (its final file is written
//! last, so a half-written stage is never taken for finished). Like EleutherAI/w2s's
//! `gpu_pool.py` in purpose, but claims are locks on the shared folder, not a parent's queue, so
//! workers need no parent.

use std::{
    collections::HashMap,
    io::Write,
    panic::AssertUnwindSafe,
    sync::atomic::Ordering,
    time::{Duration, Instant},
};

use anyhow::anyhow;
use w2s_core::{file_lock, preset::RunConfig};

use super::{
    panic_message,
    plan::{Plan, StageKind},
    run_one::{compute_ceiling, compute_weak, run_one},
    session::Session,
};

/// How long a worker that finds nothing to take waits before it looks again.
const POLL: Duration = Duration::from_millis(150);

/// What one worker did.
#[derive(Debug, Default)]
pub(super) struct WorkerLog {
    /// Stages finished before this worker looked first.
    pub(super) found_finished: Vec<usize>,
    /// Stages this worker computed.
    pub(super) computed: Vec<usize>,
    /// Stages that failed here, with the error.
    pub(super) failed: HashMap<usize, String>,
    /// Time spent deciding and claiming (scans, locks, reading markers), not computing or waiting.
    pub(super) overhead: Duration,
}

/// Whether stage `i` of `plan` is finished on disk.
pub(super) fn is_finished(s: &Session<'_>, plan: &Plan, runs: &[RunConfig], i: usize) -> bool {
    let stage = &plan.stages[i];
    let dir = s.opts.out.join(&stage.folder);
    match stage.kind {
        StageKind::Run => s.is_done(&dir, stage.marker) && s.finished(&dir, &runs[stage.run].id()).is_some(),
        _ => s.is_done(&dir, stage.marker),
    }
}

/// Work on `plan` until every stage is finished or failed here; `after_run` is called after each
/// run this worker finishes (to rewrite the collected summary).
pub(super) fn work(
    s: &mut Session<'_>,
    plan: &Plan,
    runs: &[RunConfig],
    mut after_run: impl FnMut(&mut Session<'_>) -> anyhow::Result<()>,
) -> anyhow::Result<WorkerLog> {
    let n = plan.stages.len();
    let mut log = WorkerLog::default();
    let mut settled = vec![false; n];
    let mut told_waiting = vec![false; n];
    let mut first = true;
    loop {
        let scan = Instant::now();
        let mut took = None;
        let mut open = 0;
        for i in 0..n {
            if settled[i] {
                continue;
            }
            if is_finished(s, plan, runs, i) {
                settled[i] = true;
                if first {
                    log.found_finished.push(i);
                }
                continue;
            }
            open += 1;
            let stage = &plan.stages[i];
            if let Some(&dep) = stage.needs_at.iter().find(|&&d| log.failed.contains_key(&d)) {
                // The need's own error, so that one cause (a missing asset) is reported once.
                tracing::debug!("stage {} not started: its stage {} failed", stage.id, plan.stages[dep].id);
                let why = log.failed[&dep].clone();
                log.failed.insert(i, why);
                settled[i] = true;
                continue;
            }
            if took.is_some() || !stage.needs_at.iter().all(|&d| settled[d] && !log.failed.contains_key(&d)) {
                continue;
            }
            let lock_path = s.opts.out.join(stage.lock_file());
            match file_lock::try_lock(&lock_path)? {
                Some(lock) => took = Some((i, lock)),
                None if !told_waiting[i] => {
                    told_waiting[i] = true;
                    let owner = file_lock::owner_of(&lock_path).filter(|&u| Some(u) != own_uid());
                    let whose = owner.map(|u| format!(" (its lock file belongs to user id {u})")).unwrap_or_default();
                    tracing::info!("stage {} is being computed by another process{whose}; taking other work", stage.id);
                }
                None => {}
            }
        }
        first = false;
        if let Some(p) = &s.opts.progress {
            let done = plan.run_stage.iter().filter(|&&r| settled[r] && !log.failed.contains_key(&r)).count();
            p.finished.store(done, Ordering::SeqCst);
        }
        let Some((i, lock)) = took else {
            log.overhead += scan.elapsed();
            if open == 0 || settled.iter().all(|&d| d) {
                return Ok(log);
            }
            std::thread::sleep(POLL);
            continue;
        };
        // Finished between our look and our claim?
        if is_finished(s, plan, runs, i) {
            settled[i] = true;
            log.overhead += scan.elapsed();
            continue;
        }
        log.overhead += scan.elapsed();
        let stage = &plan.stages[i];
        s.held.insert(lock.path().to_path_buf());
        let started = Instant::now();
        let rc = &runs[stage.run];
        let dir = s.opts.out.join(&stage.folder);
        tracing::info!("stage {}/{n} {}: {}", i + 1, stage.id, stage.label);
        let result = std::panic::catch_unwind(AssertUnwindSafe(|| match stage.kind {
            StageKind::Weak => compute_weak(s, rc),
            StageKind::Ceiling => compute_ceiling(s, rc),
            StageKind::Run => run_one(s, rc, &dir).and_then(|_| s.mark_computed(&dir)),
        }))
        .unwrap_or_else(|panic| Err(anyhow!("the stage panicked: {}", panic_message(panic.as_ref()))));
        s.held.remove(lock.path());
        drop(lock);
        settled[i] = true;
        match result {
            Ok(()) => {
                log.computed.push(i);
                ledger(s, &stage.id, started.elapsed());
                if stage.kind == StageKind::Run {
                    let t = Instant::now();
                    after_run(s)?;
                    log.overhead += t.elapsed();
                }
            }
            Err(e) => {
                let error = format!("{e:#}");
                tracing::error!("stage {} failed: {error}", stage.id);
                log.failed.insert(i, error);
            }
        }
    }
}

/// This process's user id (the owner of `/proc/self`).
fn own_uid() -> Option<u32> {
    file_lock::owner_of(std::path::Path::new("/proc/self"))
}

/// The name of the ledger of computed stages in an output folder.
pub const LEDGER: &str = "logs/stages.log";

/// Append "stage computed" to the output folder's ledger (one line, one write, O_APPEND: lines
/// of concurrent workers never interleave), so that a user can check that every stage was
/// computed once.
fn ledger(s: &Session<'_>, id: &str, took: Duration) {
    let path = s.opts.out.join(LEDGER);
    let host = hostname();
    let line = format!("{id} computed by pid {} on {host} in {:.1}s\n", std::process::id(), took.as_secs_f64());
    let write = || -> std::io::Result<()> {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir)?;
        }
        let mut f = std::fs::OpenOptions::new().create(true).append(true).open(&path)?;
        f.write_all(line.as_bytes())
    };
    if let Err(e) = write() {
        tracing::warn!("could not append to {}: {e}", path.display());
    }
}

/// This machine's host name.
pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_else(|_| "localhost".into())
}
