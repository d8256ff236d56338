//! `w2s run PRESET --jobs N [--devices D,...]`: N worker processes on one output folder, each a
//! plain `w2s run` of the same preset (libtorch's global RNG and intra-op thread pool are per
//! process), the cores split between them and a device each; the parent only watches the plan's
//! stages and draws the progress of the whole plan. The workers claim stages with file locks
//! (`w2s_runtime::protocol::worker`), so a worker that dies leaves its stage to the others.
//! EleutherAI/w2s's `gpu_pool.py`, without writing a pool: the same command on one core, on every
//! core or GPU of a machine, or as a Slurm array (`crate::slurm`).

use std::{
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use anyhow::{bail, Context};
use w2s_runtime::protocol::plan::{self, Plan, StageState};

/// What every worker of one invocation is given: the preset, its overrides and output folder, and
/// the global options that change what a worker computes or loads.
#[derive(Debug, Clone)]
pub struct Invocation {
    /// A registered name, a group member, or a preset file (made absolute).
    pub preset: String,
    pub set: Vec<String>,
    /// Absolute.
    pub out: PathBuf,
    pub force: bool,
    pub force_token: Option<String>,
    /// Absolute paths of `--plugin` libraries.
    pub plugins: Vec<PathBuf>,
    pub verbose: u8,
}

impl Invocation {
    /// The arguments (after the program) of a worker with `threads` and `device`.
    pub fn worker_args(&self, threads: Option<i32>, device: Option<&str>) -> Vec<String> {
        let mut args = Vec::new();
        if self.verbose > 0 {
            args.push(format!("-{}", "v".repeat(self.verbose as usize)));
        }
        for p in &self.plugins {
            args.push("--plugin".into());
            args.push(p.display().to_string());
        }
        if let Some(t) = threads {
            args.push("--threads".into());
            args.push(t.to_string());
        }
        if let Some(d) = device {
            args.push("--device".into());
            args.push(d.to_string());
        }
        args.push("run".into());
        args.push(self.preset.clone());
        for s in &self.set {
            args.push("--set".into());
            args.push(s.clone());
        }
        args.push("--out".into());
        args.push(self.out.display().to_string());
        if self.force {
            args.push("--force".into());
            if let Some(t) = &self.force_token {
                args.push("--force-token".into());
                args.push(t.clone());
            }
        }
        args
    }
}

/// The preset argument as a worker elsewhere (another directory, a Slurm node) reads it: a file
/// path made absolute, a name unchanged.
pub fn portable_preset(arg: &str) -> String {
    let path = Path::new(arg);
    if path.is_file() {
        if let Ok(abs) = std::fs::canonicalize(path) {
            return abs.display().to_string();
        }
    }
    arg.to_string()
}

/// An absolute form of `path` (which need not exist yet).
pub fn absolute(path: &Path) -> anyhow::Result<PathBuf> {
    if path.is_absolute() {
        return Ok(path.to_path_buf());
    }
    Ok(std::env::current_dir().context("reading the current folder")?.join(path))
}

/// One worker's share of the machine.
#[derive(Debug, Clone, PartialEq)]
pub struct Worker {
    pub threads: i32,
    /// `None`: the parent's `--device`.
    pub device: Option<String>,
}

/// Check one `--devices` entry: `cpu`, `cuda` or `cuda:N` with N a visible GPU.
fn check_device(d: &str) -> anyhow::Result<String> {
    let d = d.trim().to_ascii_lowercase();
    let well_formed = d == "cpu" || d == "cuda" || d.strip_prefix("cuda:").is_some_and(|n| n.parse::<usize>().is_ok());
    if !well_formed {
        bail!("--devices: {d:?} is not a device: expected cpu, cuda or cuda:N (e.g. --devices cuda:0,cuda:1)");
    }
    if d != "cpu" {
        w2s_runtime::device::choose(&d).with_context(|| format!("--devices: {d}"))?;
    }
    Ok(d)
}

/// The workers of `--jobs` / `--devices` / `--threads`: `jobs` workers (default: one per device,
/// else 1), device `i` of the list for worker `i` (round robin), and `threads` each (default: the
/// machine's cores split evenly, at least 1).
pub fn workers(
    jobs: Option<usize>,
    devices: &[String],
    threads: Option<i32>,
    cores: usize,
) -> anyhow::Result<Vec<Worker>> {
    if jobs == Some(0) {
        bail!("--jobs 0: a run needs at least one worker (--jobs 1 runs in this process)");
    }
    let devices: Vec<String> = devices
        .iter()
        .flat_map(|d| d.split(','))
        .filter(|d| !d.trim().is_empty())
        .map(check_device)
        .collect::<anyhow::Result<_>>()?;
    let n = jobs.unwrap_or(devices.len().max(1));
    let threads = threads.unwrap_or_else(|| (cores / n).max(1) as i32);
    Ok((0..n)
        .map(|i| Worker { threads, device: (!devices.is_empty()).then(|| devices[i % devices.len()].clone()) })
        .collect())
}

/// How the pool ended.
pub struct PoolEnd {
    /// Per worker: its log file and how it exited (`None`: killed by a signal).
    pub exits: Vec<(PathBuf, Option<i32>)>,
    pub seconds: f64,
}

/// Start the workers, draw the plan's progress until they have all exited.
pub fn run(inv: &Invocation, workers: &[Worker], plan: &Plan, env: &w2s_core::Env) -> anyhow::Result<PoolEnd> {
    let logs = inv.out.join("logs");
    std::fs::create_dir_all(&logs).with_context(|| format!("creating {}", logs.display()))?;
    let exe = std::env::current_exe().context("finding the w2s binary")?;
    let started = Instant::now();
    let mut children: Vec<(Child, PathBuf)> = Vec::new();
    for (i, w) in workers.iter().enumerate() {
        let log_path = logs.join(format!("worker-{}.log", i + 1));
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .with_context(|| format!("opening {}", log_path.display()))?;
        let args = inv.worker_args(Some(w.threads), w.device.as_deref());
        use std::io::Write;
        let mut header = &log;
        writeln!(header, "# worker {} of {}: {} {}", i + 1, workers.len(), exe.display(), args.join(" "))?;
        let child = Command::new(&exe)
            .args(&args)
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .env("W2S_WORKER", format!("{}/{}", i + 1, workers.len()))
            .spawn()
            .with_context(|| format!("starting worker {} ({})", i + 1, exe.display()))?;
        tracing::info!(
            "worker {} (pid {}): {} thread(s), device {}; log {}",
            i + 1,
            child.id(),
            w.threads,
            w.device.as_deref().unwrap_or("as --device"),
            log_path.display()
        );
        children.push((child, log_path));
    }
    let token = inv.force.then_some(inv.force_token.as_deref()).flatten();
    let bar = w2s_core::progress::bar(env, plan.stages.len() as u64, "stages");
    let mut exits: Vec<Option<Option<i32>>> = vec![None; children.len()];
    loop {
        let states = plan::states(plan, &inv.out, token);
        let count = |s: StageState| states.iter().filter(|&&x| x == s).count();
        let runs_done = plan.run_stage.iter().filter(|&&i| states[i] == StageState::Finished).count();
        let alive = exits.iter().filter(|e| e.is_none()).count();
        bar.set_position(count(StageState::Finished) as u64);
        bar.set_message(format!(
            "{alive} worker(s); runs {runs_done}/{}; stages {} running, {} waiting, finished",
            plan.run_stage.len(),
            count(StageState::Running),
            count(StageState::Waiting),
        ));
        for (i, (child, _)) in children.iter_mut().enumerate() {
            if exits[i].is_none() {
                if let Some(status) = child.try_wait()? {
                    exits[i] = Some(status.code());
                    if !status.success() {
                        tracing::warn!("worker {} exited with {status}; the others go on", i + 1);
                    }
                }
            }
        }
        if exits.iter().all(|e| e.is_some()) {
            break;
        }
        std::thread::sleep(Duration::from_millis(400));
    }
    bar.finish_and_clear();
    Ok(PoolEnd {
        exits: children.into_iter().zip(exits).map(|((_, log), e)| (log, e.flatten())).collect(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jobs_split_the_cores_and_take_devices_round_robin() {
        let w = workers(Some(2), &[], None, 8).unwrap();
        assert_eq!(w, vec![Worker { threads: 4, device: None }; 2]);
        let w = workers(Some(3), &["cpu,cpu".into()], Some(1), 8).unwrap();
        assert_eq!(w.len(), 3);
        assert!(w.iter().all(|w| w.threads == 1 && w.device.as_deref() == Some("cpu")));
        // One per device when --jobs is left out; at least one thread each.
        assert_eq!(workers(None, &["cpu".into(), "cpu".into()], None, 1).unwrap().len(), 2);
        assert_eq!(workers(None, &[], None, 1).unwrap(), vec![Worker { threads: 1, device: None }]);
    }

    #[test]
    fn bad_jobs_and_devices_are_refused_with_what_was_expected() {
        let e = workers(Some(0), &[], None, 2).unwrap_err().to_string();
        assert!(e.contains("--jobs 0"), "{e}");
        let e = format!("{:#}", workers(Some(1), &["gpu0".into()], None, 2).unwrap_err());
        assert!(e.contains("\"gpu0\"") && e.contains("cuda:N"), "{e}");
        let e = format!("{:#}", workers(Some(1), &["cuda:x".into()], None, 2).unwrap_err());
        assert!(e.contains("cuda:x"), "{e}");
        // A GPU number past those visible (there are none on a CPU machine).
        let e = format!("{:#}", workers(Some(1), &["cuda:7".into()], None, 2).unwrap_err());
        assert!(e.contains("cuda:7"), "{e}");
    }

    #[test]
    fn worker_arguments_repeat_the_invocation() {
        let inv = Invocation {
            preset: "quickstart".into(),
            set: vec!["seeds=[0]".into()],
            out: "/tmp/o".into(),
            force: true,
            force_token: Some("t1".into()),
            plugins: vec!["/p/lib.so".into()],
            verbose: 1,
        };
        let args = inv.worker_args(Some(1), Some("cpu"));
        assert_eq!(
            args.join(" "),
            "-v --plugin /p/lib.so --threads 1 --device cpu run quickstart --set seeds=[0] --out /tmp/o --force --force-token t1"
        );
    }
}
