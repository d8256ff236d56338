//! Sweeps at scale, as a user meets them: `w2s plan`, `w2s run --jobs`, two runs on one folder,
//! a worker killed with SIGKILL, a half-written stage, `w2s slurm --dry-run` and its errors. The
//! real scheduler is in `slurm.rs`.

mod common;

use std::{
    process::{Command, Stdio},
    time::{Duration, Instant},
};

use common::{ledger, plan_ids, preset, reference, rows, w2s};

#[test]
fn plan_lists_stages_with_dependencies_and_their_state() {
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(dir.path());
    let (code, stdout, stderr) = w2s(&["-q", "plan", preset.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let stages = v["stages"].as_array().unwrap();
    let kinds = |k: &str| stages.iter().filter(|s| s["kind"] == k).count();
    // 2 labelers × 3 seeds weak stages, 3 ceilings (one per seed), 12 runs.
    assert_eq!((kinds("weak"), kinds("ceiling"), kinds("run")), (6, 3, 12), "{stdout}");
    let ids: Vec<&str> = stages.iter().map(|s| s["id"].as_str().unwrap()).collect();
    for (i, s) in stages.iter().enumerate() {
        for need in s["needs"].as_array().unwrap() {
            let at = ids.iter().position(|id| need == id).expect("a need is a stage of the plan");
            assert!(at < i, "stage {i} needs a later stage");
        }
        if s["kind"] == "run" {
            assert_eq!(s["needs"].as_array().unwrap().len(), 2, "a run needs its weak stage and its ceiling");
        }
    }
    // Stable ids: the same plan twice.
    assert_eq!(plan_ids(&preset), ids);
    // With an output folder, each stage's state.
    let out = reference(dir.path(), &preset);
    let (code, stdout, _) = w2s(&["-q", "plan", preset.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("finished") && !stdout.contains("waiting"), "{stdout}");
    assert!(stdout.contains("21 stages: 6 weak, 3 ceiling, 12 runs"), "{stdout}");
}

#[test]
fn jobs_2_gives_the_rows_of_one_process_and_computes_each_stage_once() {
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(dir.path());
    let reference = reference(dir.path(), &preset);
    let out = dir.path().join("jobs2");
    let (code, stdout, stderr) =
        w2s(&["--threads", "1", "run", preset.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("12 runs (0 reused)") && stdout.contains("with 2 worker processes"), "{stdout}");
    assert_eq!(rows(&out), rows(&reference));
    let counts = ledger(&out);
    let ids = plan_ids(&preset);
    assert_eq!(counts.len(), ids.len(), "every stage computed: {counts:?}");
    assert!(counts.values().all(|&n| n == 1), "each stage once: {counts:?}");
    // Each worker logged to its own file; together they computed every stage.
    let mut computed = 0;
    for w in ["worker-1.log", "worker-2.log"] {
        let log = std::fs::read_to_string(out.join("logs").join(w)).unwrap();
        assert!(log.starts_with("# worker "), "{w}: {log}");
        computed += log
            .lines()
            .filter_map(|l| l.split("computed ").nth(1)?.split(' ').next()?.parse::<usize>().ok())
            .sum::<usize>();
    }
    assert_eq!(computed, ids.len());
    // Again: everything reused, nothing computed.
    let (code, stdout, _) =
        w2s(&["-q", "run", preset.to_str().unwrap(), "--out", out.to_str().unwrap(), "--jobs", "2"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("12 runs (12 reused)"), "{stdout}");
    assert_eq!(ledger(&out), counts);
}

#[test]
fn two_runs_started_together_share_the_work() {
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(dir.path());
    let reference = reference(dir.path(), &preset);
    let out = dir.path().join("together");
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_w2s"))
            .args(["-q", "--threads", "1", "run", preset.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (a, b) = (start(), start());
    for child in [a, b] {
        let o = child.wait_with_output().unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        // Each sees every row, whoever computed it.
        assert!(String::from_utf8_lossy(&o.stdout).contains("12 runs"));
    }
    assert_eq!(rows(&out), rows(&reference));
    let counts = ledger(&out);
    assert_eq!(counts.len(), plan_ids(&preset).len());
    assert!(counts.values().all(|&n| n == 1), "each stage computed once: {counts:?}");
}

#[test]
fn a_worker_killed_mid_preset_leaves_its_work_to_the_others() {
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(dir.path());
    let reference = reference(dir.path(), &preset);
    let out = dir.path().join("killed");
    // A half-written stage, as a worker killed while writing leaves it: files without the final
    // one. It must be redone, never taken for finished.
    let ids = plan_ids(&preset);
    let weak = ids.iter().find(|id| id.starts_with("weak-")).unwrap();
    let half = out.join("stages").join(weak);
    std::fs::create_dir_all(&half).unwrap();
    std::fs::write(half.join("curves.csv"), "half-written").unwrap();
    let start = || {
        Command::new(env!("CARGO_BIN_EXE_w2s"))
            .args(["-q", "--threads", "1", "run", preset.to_str().unwrap(), "--out", out.to_str().unwrap()])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let (mut victim, survivor) = (start(), start());
    // Kill one as soon as the first stage is done (mid-preset: 21 stages are left to share).
    let t = Instant::now();
    while ledger(&out).is_empty() && t.elapsed() < Duration::from_secs(60) {
        std::thread::sleep(Duration::from_millis(20));
    }
    victim.kill().unwrap(); // SIGKILL
    let _ = victim.wait();
    let o = survivor.wait_with_output().unwrap();
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert_eq!(rows(&out), rows(&reference), "the survivor finished everything, as an uninterrupted run");
    let counts = ledger(&out);
    assert_eq!(counts.len(), ids.len());
    // A rerun completes only what was left: here nothing.
    let (code, stdout, _) = w2s(&["-q", "run", preset.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("12 runs (12 reused)"), "{stdout}");
    assert_eq!(ledger(&out), counts);
}

#[test]
fn bad_jobs_and_devices_are_refused_before_any_work() {
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(dir.path());
    let out = dir.path().join("bad");
    let p = preset.to_str().unwrap();
    let o = out.to_str().unwrap();
    let (code, _, stderr) = w2s(&["-q", "run", p, "--out", o, "--jobs", "0"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("--jobs") && stderr.contains("at least 1"), "{stderr}");
    let (code, _, stderr) = w2s(&["-q", "run", p, "--out", o, "--devices", "cpu,gpu7"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("\"gpu7\"") && stderr.contains("cuda:N"), "{stderr}");
    let (code, _, stderr) = w2s(&["-q", "run", p, "--out", o, "--devices", "cuda:3"]);
    assert_ne!(code, 0);
    assert!(stderr.contains("cuda:3"), "{stderr}");
    assert!(!out.join("summary.csv").exists(), "nothing ran");
}

#[test]
fn slurm_dry_run_writes_an_array_script_and_a_missing_sbatch_is_explained() {
    let dir = tempfile::tempdir().unwrap();
    let preset = preset(dir.path());
    let out = dir.path().join("slurm-out");
    let run = |extra: &[&str], path: &str| {
        let mut args = vec!["-q", "slurm", preset.to_str().unwrap(), "--out", out.to_str().unwrap(), "--tasks", "3"];
        args.extend_from_slice(extra);
        let o = Command::new(env!("CARGO_BIN_EXE_w2s")).args(&args).env("PATH", path).output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["--dry-run", "--cpus-per-task", "2", "--time", "10:00"], "/nonexistent");
    assert_eq!(code, 0, "{stderr}");
    let script = std::fs::read_to_string(out.join("slurm/job.sbatch")).unwrap();
    assert!(stdout.contains("job.sbatch"), "{stdout}");
    for line in ["#SBATCH --array=0-2", "#SBATCH --cpus-per-task=2", "#SBATCH --time=10:00"] {
        assert!(script.lines().any(|l| l == line), "{line} in\n{script}");
    }
    assert!(script.contains(&format!("'{}'", std::fs::canonicalize(&preset).unwrap().display())), "{script}");
    // Without sbatch: a message saying how to get it, and that --dry-run still works.
    let (code, _, stderr) = run(&[], "/nonexistent");
    assert_ne!(code, 0);
    assert!(stderr.contains("sbatch is not installed") && stderr.contains("--dry-run"), "{stderr}");
}
