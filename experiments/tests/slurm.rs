//! `w2s slurm` against a real scheduler: Debian's `slurm-wlm` with `munge`, started by hand by
//! `scripts/slurm-local.sh` (installed when missing), a preset submitted as an array of 3 tasks
//! with `--wait`, its merged summary compared with a plain `w2s run`'s, the daemons stopped by
//! pid. Where Slurm cannot be started (no root, no apt) the test says so and is skipped; with
//! `W2S_REQUIRE_SLURM=1` (CI) that is a failure instead.

mod common;

use std::{path::Path, process::Command};

use common::{ledger, plan_ids, preset, reference, rows, w2s};

fn slurm_script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../scripts/slurm-local.sh")
}

/// Stops the daemons that `start` started, whatever happens in the test.
struct Daemons(std::path::PathBuf);

impl Drop for Daemons {
    fn drop(&mut self) {
        let _ = Command::new("bash").arg(slurm_script()).arg("stop").arg(&self.0).status();
    }
}

#[test]
fn an_array_of_three_tasks_gives_the_rows_of_a_plain_run() {
    let dir = tempfile::tempdir().unwrap();
    let state = dir.path().join("slurm");
    let started = Command::new("bash").arg(slurm_script()).arg("start").arg(&state).output().unwrap();
    let why = format!("{}{}", String::from_utf8_lossy(&started.stdout), String::from_utf8_lossy(&started.stderr));
    let _daemons = Daemons(state.clone());
    match started.status.code() {
        Some(0) => {}
        Some(3) if std::env::var_os("W2S_REQUIRE_SLURM").is_none() => {
            eprintln!("SKIPPED: Slurm cannot be started here (set W2S_REQUIRE_SLURM=1 to fail instead): {why}");
            return;
        }
        _ => panic!("could not start Slurm: {why}"),
    }
    let preset = preset(dir.path());
    let plain = reference(dir.path(), &preset);
    let out = dir.path().join("array");
    let (code, stdout, stderr) = w2s(&[
        "-q",
        "slurm",
        preset.to_str().unwrap(),
        "--out",
        out.to_str().unwrap(),
        "--tasks",
        "3",
        "--cpus-per-task",
        "1",
        "--time",
        "10:00",
        "--wait",
    ]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    let job = stdout
        .lines()
        .find_map(|l| l.strip_prefix("submitted job ")?.split(':').next())
        .unwrap_or_else(|| panic!("no job id in {stdout}"))
        .to_string();
    assert!(stdout.contains("12 of 12 runs finished"), "{stdout}");
    assert_eq!(rows(&out), rows(&plain), "the merged summary is a plain run's");
    let counts = ledger(&out);
    assert_eq!(counts.len(), plan_ids(&preset).len(), "{counts:?}");
    assert!(counts.values().all(|&n| n == 1), "each stage computed once across the tasks: {counts:?}");
    for task in 0..3 {
        let log = out.join("logs").join(format!("slurm-{job}_{task}.log"));
        let text = std::fs::read_to_string(&log).unwrap_or_else(|e| panic!("{}: {e}", log.display()));
        assert!(text.contains(&format!("array task {task} of job {job}")), "{text}");
    }
    // Submitting the same command again does only what is left: nothing.
    let (code, stdout, stderr) =
        w2s(&["-q", "slurm", preset.to_str().unwrap(), "--out", out.to_str().unwrap(), "--tasks", "2", "--wait"]);
    assert_eq!(code, 0, "{stdout}\n{stderr}");
    assert_eq!(ledger(&out), counts, "nothing recomputed");
}
