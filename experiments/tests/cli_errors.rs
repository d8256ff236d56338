//! Bad numeric arguments of the `w2s` binary: each is a clear error naming the argument, exit
//! code 2, no panic, and before any heavy work (the benchmarks, generation) starts.

use std::process::Command;
use std::time::{Duration, Instant};

/// (arguments, what the message must name).
const CASES: &[(&[&str], &str)] = &[
    (&["--threads", "0", "list"], "--threads"),
    (&["--threads", "100000", "list"], "--threads"),
    (&["bench", "--batch", "0"], "--batch"),
    (&["bench", "--steps", "0"], "--steps"),
    // Beyond the 4000 training sentences of `sentiment`: 32 × (200 + 2) and 2000 × (1 + 2).
    (&["bench", "--steps", "200"], "--steps 200: expected at most 123 with --batch 32"),
    (&["bench", "--batch", "2000"], "--batch 2000: expected at most 1333"),
    (&["bench", "--batch", "18446744073709551615", "--steps", "18446744073709551615"], "--batch"),
    (&["bench-features", "--texts", "0"], "--texts"),
    (&["bench-features", "--layers", "0"], "--layers"),
    (&["bench-features", "--layers", "99"], "--layers"),
    (&["bench-features", "--batch", "0"], "--batch"),
    (&["chess-report", "--n-test", "0"], "--n-test"),
    (&["chess-report", "--n-train", "1"], "--n-train"),
    (&["chess-report", "--depth", "0"], "--depth"),
    (&["chess-report", "--depth", "41"], "--depth"),
];

#[test]
fn bad_numeric_arguments_exit_2_naming_the_argument() {
    for (args, named) in CASES {
        let started = Instant::now();
        let out = Command::new(env!("CARGO_BIN_EXE_w2s")).arg("-q").args(*args).output().expect("w2s runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!stderr.contains("panicked"), "{args:?} panicked: {stderr}");
        assert_eq!(out.status.code(), Some(2), "{args:?}: {stderr}");
        assert!(stderr.contains(named), "{args:?}: the message should name `{named}`: {stderr}");
        assert!(out.stdout.is_empty(), "{args:?} printed results: {}", String::from_utf8_lossy(&out.stdout));
        // Rejected up front: no matmul peak, model load or position generation first.
        assert!(started.elapsed() < Duration::from_secs(20), "{args:?} took {:?}", started.elapsed());
    }
}

#[test]
fn help_says_what_each_argument_accepts() {
    let out = Command::new(env!("CARGO_BIN_EXE_w2s")).args(["tasks", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("0 or left out: one per core"), "{help}");
    let out = Command::new(env!("CARGO_BIN_EXE_w2s")).args(["bench", "--help"]).output().unwrap();
    let help = String::from_utf8_lossy(&out.stdout);
    assert!(help.contains("at least 1") && help.contains("warm-up"), "{help}");
}

/// A preset file with type errors: `w2s show` exits 2 and names the field with the file's line and
/// column; the log piped to a file carries no colour codes.
#[test]
fn invalid_preset_files_name_field_line_and_column_and_logs_are_plain() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        ("seeds.toml", "task = \"sentiment\"\nweak = \"bow\"\nstrong = \"bow\"\nlabeler = \"model\"\nobjective = \"xent\"\nseeds = [\"a\"]\n", "line 6, column 1: field `seeds[0]`: invalid type: string \"a\", expected u64"),
        ("lr.toml", "task = \"sentiment\"\nweak = \"bow\"\nstrong = \"bow\"\nlabeler = \"model\"\nobjective = \"xent\"\nseeds = [0]\n\n[strong_train]\nlr = \"fast\"\n", "line 9, column 1: field `strong_train.lr`: invalid type: string \"fast\", expected f64"),
        ("nested.json", "{\"task\": \"sentiment\", \"weak\": \"bow\", \"strong\": \"bow\", \"objective\": \"xent\", \"seeds\": [0],\n \"labeler\": {\"kind\": \"noise\",\n   \"matched_to\": {\"kind\": \"noise\", \"rate\": \"often\"}}}\n", "line 3, column 36: field `labeler.matched_to.rate`"),
    ];
    for (name, text, expected) in cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_w2s")).arg("show").arg(&path).output().expect("w2s runs");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{name}: {stderr}");
        assert!(stderr.contains(name) && stderr.contains(expected), "{name}: expected `{expected}` in {stderr}");
        assert!(!stderr.contains('\u{1b}'), "{name}: colour codes in a piped log: {stderr:?}");
    }
}
