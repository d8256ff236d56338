//! The `w2s` binary as a user meets it: listing, errors for bad presets, a tiny run and its reuse.

use std::process::Command;

fn w2s(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_w2s")).args(args).output().expect("w2s runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn list_json_names_every_kind() {
    let (code, stdout, _) = w2s(&["list", "--json"]);
    assert_eq!(code, 0);
    let rows: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let kinds: std::collections::BTreeSet<&str> =
        rows.as_array().unwrap().iter().map(|r| r["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds.into_iter().collect::<Vec<_>>(),
        ["backbone", "criterion", "labeler", "objective", "preset", "task"]
    );
    let (code, text, _) = w2s(&["list"]);
    assert_eq!(code, 0);
    assert!(text.contains("logconf") && text.contains("{\"aux_coef\":0.5,\"warmup_frac\":0.1}"), "{text}");
}

#[test]
fn unknown_preset_lists_the_registered_ones() {
    let (code, _, stderr) = w2s(&["run", "quickstrat"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown preset `quickstrat`") && stderr.contains("bootstrap-chain, chess-engine-ladder, chess-pairs, denoise, early-stopping, ensembles, model-ladder, model-ladder-truncations, prompting, quickstart, reward-generative, reward-pairs, sentiment-finetune, sentiment-ladder, smoke, synthetic-vs-model"), "{stderr}");
}

#[test]
fn bad_preset_file_names_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("broken.json");
    std::fs::write(&f, "{\n  \"task\": \"sentiment\",\n  \"weak\": bow\n}\n").unwrap();
    let (code, _, stderr) = w2s(&["run", f.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("broken.json") && stderr.contains("line 3, column"), "{stderr}");
}

#[test]
fn misspelled_parameter_fails_before_training() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let (code, _, stderr) = w2s(&["run", "smoke", "--set", "objective.1.aux_cof=0.3", "--out", out.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("aux_cof") && stderr.contains("expected `aux_coef` or `warmup_frac`"), "{stderr}");
    assert!(!out.exists(), "nothing was trained or written");
}

#[test]
fn toml_preset_runs_and_is_reused() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("mini.toml");
    std::fs::write(
        &f,
        r#"
task = { kind = "sentiment", n_train = 100, n_test = 50 }
weak = { kind = "bow", size = "tiny" }
strong = { kind = "bow", size = "small" }
labeler = "model"
objective = "xent"
seeds = [0]
weak_train = { epochs = 1, lr = 1e-2, eval_every = 0 }
strong_train = { epochs = 1, lr = 1e-2, eval_every = 0 }
"#,
    )
    .unwrap();
    let out = dir.path().join("out");
    let (code, stdout, stderr) = w2s(&["-q", "run", f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("PGR") && stdout.contains("1 runs (0 reused)"), "{stdout}");
    assert!(out.join("summary.csv").exists() && out.join("accuracy.svg").exists());
    let (code, stdout, _) = w2s(&["-q", "run", f.to_str().unwrap(), "--out", out.to_str().unwrap()]);
    assert_eq!(code, 0);
    assert!(stdout.contains("1 runs (1 reused)"), "{stdout}");
}

#[test]
fn tasks_prints_size_balance_and_an_example() {
    let (code, stdout, stderr) = w2s(&["-q", "tasks", "sentiment", "wordnet-isa", "user-data"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(
        stdout.contains("sentiment") && stdout.contains("train  4000") && stdout.contains("balance [50.0%, 50.0%]"),
        "{stdout}"
    );
    assert!(stdout.contains("\"Is a"), "a WordNet question is shown: {stdout}");
    assert!(stdout.contains("user-data          skipped") && stdout.contains("parameter `train`"), "{stdout}");
}
