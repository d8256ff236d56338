//! What the scale tests share: the `w2s` binary, a small preset, its summary rows and the
//! folder's ledger of computed stages.
#![allow(dead_code)]

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
    process::Command,
};

pub fn w2s(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_w2s")).args(args).output().expect("w2s runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A small preset of 12 runs (2 labelers × 2 objectives × 3 seeds) over 6 weak stages (labeler ×
/// seed) and 3 ceilings (one per seed), written to `dir/sweep.toml`.
pub fn preset(dir: &Path) -> PathBuf {
    let f = dir.join("sweep.toml");
    std::fs::write(
        &f,
        r#"
task = { kind = "sentiment", n_train = 200, n_test = 100 }
weak = { kind = "bow", size = "tiny" }
strong = { kind = "bow", size = "small" }
labeler = ["model", { kind = "noise", rate = 0.2 }]
objective = ["xent", "logconf"]
seeds = [0, 1, 2]
weak_train = { epochs = 2, lr = 1e-2, eval_every = 0 }
strong_train = { epochs = 3, lr = 1e-2, eval_every = 0 }
"#,
    )
    .unwrap();
    f
}

/// The rows of a summary, without what may differ between equal runs (time, threads, device).
pub fn rows(out: &Path) -> Vec<HashMap<String, String>> {
    let text = std::fs::read_to_string(out.join("summary.csv")).unwrap();
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().unwrap().split(',').collect();
    lines
        .map(|l| {
            header
                .iter()
                .zip(l.split(','))
                .filter(|(h, _)| !matches!(**h, "seconds" | "threads" | "device"))
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The stage ids of the plan of `preset`.
pub fn plan_ids(preset: &Path) -> Vec<String> {
    let (code, stdout, stderr) = w2s(&["-q", "plan", preset.to_str().unwrap(), "--json"]);
    assert_eq!(code, 0, "{stderr}");
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    v["stages"].as_array().unwrap().iter().map(|s| s["id"].as_str().unwrap().to_string()).collect()
}

/// How many times each stage was computed, from the folder's ledger.
pub fn ledger(out: &Path) -> HashMap<String, usize> {
    let mut n = HashMap::new();
    for line in std::fs::read_to_string(out.join("logs/stages.log")).unwrap_or_default().lines() {
        *n.entry(line.split(' ').next().unwrap().to_string()).or_default() += 1;
    }
    n
}

/// A reference run in one process, with one thread (results do not depend on the thread count
/// of a tiny model, but the comparison should not rest on that).
pub fn reference(dir: &Path, preset: &Path) -> PathBuf {
    let out = dir.join("reference");
    let (code, _, stderr) =
        w2s(&["-q", "--threads", "1", "run", preset.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    out
}
