//! `w2s slurm PRESET`: the preset as a Slurm job array (`sbatch --array`). Each array task is one
//! plain `w2s run` worker on the shared output folder (stages claimed with file locks, see
//! `w2s_runtime::protocol::worker`), so the tasks split the plan between them, a task killed by
//! the scheduler (time limit, node lost) leaves its stage unclaimed, and submitting the same
//! command again does only what is left. The real scheduler's interfaces only: the script is
//! submitted with `sbatch --parsable`, watched with `squeue`.

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{bail, Context};

use crate::pool::Invocation;

/// The job's settings (`w2s slurm --help`).
#[derive(Debug, Clone)]
pub struct SlurmArgs {
    /// Array tasks (workers).
    pub tasks: usize,
    pub partition: Option<String>,
    /// Slurm's time format, e.g. `30:00` or `1-00:00:00`.
    pub time: Option<String>,
    pub cpus_per_task: usize,
    pub gpus_per_task: usize,
    /// At most this many tasks at once (`--array=0-N%M`).
    pub array_limit: Option<usize>,
}

/// A value quoted for bash.
fn quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Check a value that goes on an `#SBATCH` line (no spaces, quotes or newlines).
fn sbatch_value(what: &str, v: &str) -> anyhow::Result<()> {
    if v.is_empty() || v.chars().any(|c| c.is_whitespace() || c == '\'' || c == '"' || c == '#') {
        bail!("--{what} {v:?}: expected one word without spaces or quotes");
    }
    Ok(())
}

/// The sbatch script of `inv` as an array of `args.tasks` workers running `exe`.
pub fn script(inv: &Invocation, args: &SlurmArgs, exe: &Path, name: &str) -> anyhow::Result<String> {
    if args.tasks == 0 {
        bail!("--tasks 0: a job array needs at least one task");
    }
    if args.cpus_per_task == 0 {
        bail!("--cpus-per-task 0: each task needs at least one CPU");
    }
    let mut s = String::from("#!/bin/bash\n");
    let job: String = name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    s.push_str(&format!("#SBATCH --job-name=w2s-{job}\n"));
    let limit = args.array_limit.map(|m| format!("%{m}")).unwrap_or_default();
    s.push_str(&format!("#SBATCH --array=0-{}{limit}\n", args.tasks - 1));
    let logs = inv.out.join("logs");
    s.push_str(&format!("#SBATCH --output={}/slurm-%A_%a.log\n", logs.display()));
    s.push_str("#SBATCH --ntasks=1\n");
    s.push_str(&format!("#SBATCH --cpus-per-task={}\n", args.cpus_per_task));
    if args.gpus_per_task > 0 {
        s.push_str(&format!("#SBATCH --gpus-per-task={}\n", args.gpus_per_task));
    }
    if let Some(p) = &args.partition {
        sbatch_value("partition", p)?;
        s.push_str(&format!("#SBATCH --partition={p}\n"));
    }
    if let Some(t) = &args.time {
        sbatch_value("time", t)?;
        s.push_str(&format!("#SBATCH --time={t}\n"));
    }
    let cwd = std::env::current_dir().context("reading the current folder")?;
    s.push_str(&format!("#SBATCH --chdir={}\n", cwd.display()));
    s.push_str("#SBATCH --export=ALL\n");
    s.push_str(
        "# Each array task is one worker on the shared output folder: it claims stages with file\n\
         # locks, so the tasks split the plan between them. Submitting again does only what is left.\n",
    );
    s.push_str("set -euo pipefail\n");
    s.push_str(
        "echo \"w2s worker: array task ${SLURM_ARRAY_TASK_ID:-?} of job ${SLURM_ARRAY_JOB_ID:-?} on $(hostname)\"\n",
    );
    let device = if args.gpus_per_task > 0 { "cuda" } else { "cpu" };
    let threads = args.cpus_per_task as i32;
    let worker: Vec<String> = inv.worker_args(Some(threads), Some(device)).iter().map(|a| quote(a)).collect();
    // The threads follow what Slurm actually gave the task.
    let worker =
        worker.join(" ").replacen(&format!("'--threads' '{threads}'"), "--threads \"${SLURM_CPUS_PER_TASK:-1}\"", 1);
    s.push_str(&format!("exec {} {worker}\n", quote(&exe.display().to_string())));
    Ok(s)
}

/// Where the script of an output folder goes.
pub fn script_path(out: &Path) -> PathBuf {
    out.join("slurm").join("job.sbatch")
}

/// Whether `program` is on the PATH.
pub fn on_path(program: &str) -> bool {
    std::env::var_os("PATH").is_some_and(|p| std::env::split_paths(&p).any(|d| d.join(program).is_file()))
}

/// Submit the script; the job id. `wait`: return when every task has ended (`sbatch --wait`,
/// which fails when a task failed).
pub fn submit(path: &Path, wait: bool) -> anyhow::Result<(String, bool)> {
    if !on_path("sbatch") {
        bail!(
            "sbatch is not installed here: run this on a Slurm cluster's login node, or install Slurm \
             (Debian: apt-get install slurm-wlm munge, and start its daemons; see scripts/slurm-local.sh). \
             The script is written at {} (`--dry-run` only writes it)",
            path.display()
        );
    }
    let mut cmd = Command::new("sbatch");
    cmd.arg("--parsable");
    if wait {
        cmd.arg("--wait");
    }
    let out = cmd.arg(path).output().context("running sbatch")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let job = stdout.lines().next().unwrap_or_default().split(';').next().unwrap_or_default().trim().to_string();
    if job.is_empty() {
        bail!(
            "sbatch did not submit {} ({}): {}",
            path.display(),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok((job, out.status.success()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inv() -> Invocation {
        Invocation {
            preset: "/abs/my preset.json".into(),
            set: vec!["seeds=[0,1]".into()],
            out: "/runs/x".into(),
            force: false,
            force_token: None,
            plugins: vec![],
            verbose: 0,
        }
    }

    #[test]
    fn the_script_is_an_array_of_plain_workers_on_the_shared_folder() {
        let args = SlurmArgs {
            tasks: 3,
            partition: Some("gpu".into()),
            time: Some("30:00".into()),
            cpus_per_task: 2,
            gpus_per_task: 1,
            array_limit: Some(2),
        };
        let s = script(&inv(), &args, Path::new("/bin/w2s"), "my preset").unwrap();
        for line in [
            "#SBATCH --array=0-2%2",
            "#SBATCH --output=/runs/x/logs/slurm-%A_%a.log",
            "#SBATCH --cpus-per-task=2",
            "#SBATCH --gpus-per-task=1",
            "#SBATCH --partition=gpu",
            "#SBATCH --time=30:00",
            "#SBATCH --job-name=w2s-my_preset",
        ] {
            assert!(s.lines().any(|l| l == line), "missing {line:?} in\n{s}");
        }
        let exec = s.lines().last().unwrap();
        assert_eq!(
            exec,
            "exec '/bin/w2s' --threads \"${SLURM_CPUS_PER_TASK:-1}\" '--device' 'cuda' 'run' '/abs/my preset.json' \
             '--set' 'seeds=[0,1]' '--out' '/runs/x'"
        );
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut args =
            SlurmArgs { tasks: 0, partition: None, time: None, cpus_per_task: 1, gpus_per_task: 0, array_limit: None };
        assert!(script(&inv(), &args, Path::new("/w2s"), "p").unwrap_err().to_string().contains("--tasks 0"));
        args.tasks = 2;
        args.partition = Some("a b".into());
        assert!(script(&inv(), &args, Path::new("/w2s"), "p").unwrap_err().to_string().contains("--partition"));
    }
}
