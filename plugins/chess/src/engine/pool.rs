//! Engines on every core: one engine process per worker thread, jobs handed out in order, results
//! handed back (in completion order) to the caller's thread, which may stop the feeding early.

use std::sync::mpsc;
use std::sync::Mutex;

use anyhow::Context;

use crate::engine::{Engine, EngineConfig};

/// How many workers to use: `requested`, or one per available core.
pub fn workers(requested: Option<usize>) -> usize {
    requested.filter(|&w| w > 0).unwrap_or_else(|| std::thread::available_parallelism().map(|n| n.get()).unwrap_or(1))
}

/// Start `n` engines with `cfg` (here, so that a missing engine fails at once).
pub fn start_engines(cfg: &EngineConfig, n: usize) -> anyhow::Result<Vec<Engine>> {
    (0..n)
        .map(|i| Engine::with_config(cfg.clone()).with_context(|| format!("starting engine {} of {n}", i + 1)))
        .collect()
}

/// Run `work` on each job of `jobs` (pulled lazily, in order) on the engines, at most two jobs in
/// flight per engine. `on_result` gets each (job key, result) on this thread and returns whether to
/// keep feeding jobs; jobs in flight are always finished.
pub fn run<K, J, R>(
    engines: &mut [Engine],
    jobs: impl Iterator<Item = (K, J)>,
    work: impl Fn(&mut Engine, J) -> anyhow::Result<R> + Sync,
    mut on_result: impl FnMut(K, anyhow::Result<R>) -> anyhow::Result<bool>,
) -> anyhow::Result<()>
where
    K: Send,
    J: Send,
    R: Send,
{
    let n = engines.len().max(1);
    let (job_tx, job_rx) = mpsc::channel::<(K, J)>();
    let job_rx = Mutex::new(job_rx);
    let (res_tx, res_rx) = mpsc::channel::<(K, anyhow::Result<R>)>();
    std::thread::scope(|s| {
        for engine in engines.iter_mut() {
            let (job_rx, res_tx, work) = (&job_rx, res_tx.clone(), &work);
            s.spawn(move || loop {
                let next = job_rx.lock().map(|rx| rx.recv());
                let Ok(Ok((key, job))) = next else { break };
                let r = work(engine, job);
                if res_tx.send((key, r)).is_err() {
                    break;
                }
            });
        }
        drop(res_tx);
        let mut jobs = jobs;
        let mut in_flight = 0usize;
        let mut feeding = true;
        let mut outcome = Ok(());
        loop {
            while feeding && in_flight < 2 * n {
                match jobs.next() {
                    Some(j) => {
                        if job_tx.send(j).is_err() {
                            feeding = false;
                        } else {
                            in_flight += 1;
                        }
                    }
                    None => feeding = false,
                }
            }
            if in_flight == 0 {
                break;
            }
            let Ok((key, r)) = res_rx.recv() else { break };
            in_flight -= 1;
            match on_result(key, r) {
                Ok(go_on) => feeding &= go_on,
                Err(e) => {
                    feeding = false;
                    if outcome.is_ok() {
                        outcome = Err(e);
                    }
                }
            }
        }
        drop(job_tx);
        outcome
    })
}
