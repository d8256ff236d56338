//! `w2s report`: a report of real (small) runs opens in headless Chromium with every figure
//! drawn and the findings table present; partial input says what is missing; bad input (an
//! empty folder, another tool's CSVs, runs of different presets mixed) is refused with a clear
//! message and no report file.

use std::path::{Path, PathBuf};

use w2s_core::Preset;

/// The quickstart made small (folder named `quickstart`, so the report uses it as the quickstart
/// with changed settings) and the smoke preset unchanged, run into `root`.
fn small_results(root: &Path) -> (PathBuf, PathBuf) {
    let (registry, env) = (w2s_tests::registry(), w2s_tests::env());
    let quick = root.join("quickstart");
    let overrides: Vec<String> =
        ["task.n_train=400", "task.n_test=200", "seeds=[0,1]"].iter().map(|s| s.to_string()).collect();
    let p = Preset::from_value(serde_json::to_value(w2s::presets::quickstart()).unwrap(), &overrides).unwrap();
    w2s_tests::run(&p, &registry, &env, &quick, false).unwrap();
    let smoke = root.join("smoke");
    w2s_tests::run(&w2s::presets::smoke(), &registry, &env, &smoke, false).unwrap();
    (quick, smoke)
}

fn report(paths: &[PathBuf], out: Option<&Path>) -> anyhow::Result<w2s::report::Written> {
    w2s::report::write(paths, out, &w2s_tests::registry(), &w2s_tests::env())
}

#[test]
fn report_of_some_presets_opens_in_a_browser_and_says_what_is_missing() {
    let dir = tempfile::tempdir().unwrap();
    small_results(dir.path());
    let w = report(&[dir.path().to_path_buf()], None).unwrap();
    assert_eq!(w.presets, ["quickstart", "smoke"]);
    assert!(w.missing.contains(&"model-ladder".to_string()) && w.missing.contains(&"quickstart".to_string()));
    // The quickstart with changed settings measures (a)-(c); the rest are missing.
    let by_id = |id: &str| w.findings.iter().find(|f| f.id == id).unwrap();
    for id in ["a", "b", "c1", "c2"] {
        let f = by_id(id);
        assert!(f.estimate.is_some_and(|e| e.n > 0), "({id}) measured: {f:?}");
        assert!(f.preset.starts_with("quickstart (changed settings"), "{}", f.preset);
        assert_ne!(f.verdict, w2s::report::stats::Verdict::Missing);
    }
    assert_eq!(by_id("g").verdict, w2s::report::stats::Verdict::Missing);
    let md = std::fs::read_to_string(&w.markdown).unwrap();
    assert!(md.contains("## Findings") && md.contains("**Missing:**") && md.contains("model-ladder"), "{md}");
    assert!(md.contains("](quickstart/accuracy.png)"), "figures linked relative to the report");
    let html = std::fs::read_to_string(&w.html).unwrap();
    assert!(!html.contains("src=\"quickstart/"), "figures are embedded, not linked");
    let figures = html.matches("<img ").count();
    // quickstart: accuracy, imitation, criteria; smoke: accuracy, imitation (at least).
    assert!(figures >= 5, "{figures} figures");
    let Some(check) = w2s_tests::browser::render_check(&w.html).unwrap() else { return };
    assert_eq!(check.images, figures);
    assert!(check.all_drawn(), "undrawn figures: {:?}", check.undrawn);
    assert_eq!(check.findings_rows, Some(w.findings.len()), "every finding is a row of table#findings");
    assert!(check.title.starts_with("w2s report"), "{}", check.title);
}

#[test]
fn bad_input_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let err = |paths: &[PathBuf]| format!("{:#}", report(paths, None).err().expect("refused"));
    // An empty folder.
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let e = err(std::slice::from_ref(&empty));
    assert!(e.contains("empty") && e.contains("holds no w2s results") && e.contains("preset.json"), "{e}");
    // Another tool's CSVs.
    let other = dir.path().join("other");
    std::fs::create_dir(&other).unwrap();
    std::fs::write(other.join("metrics.csv"), "epoch,loss\n1,0.5\n").unwrap();
    let e = err(std::slice::from_ref(&other));
    assert!(e.contains("metrics.csv") && e.contains("not results of `w2s run`"), "{e}");
    // A summary.csv that is not w2s's.
    std::fs::write(other.join("preset.json"), serde_json::to_string(&w2s::presets::smoke()).unwrap()).unwrap();
    std::fs::write(other.join("summary.csv"), "epoch,loss\n1,0.5\n").unwrap();
    let e = err(std::slice::from_ref(&other));
    assert!(e.contains("summary.csv") && e.contains("not a w2s summary"), "{e}");
    // Runs of different presets mixed in one folder: the quickstart's rows in smoke's summary.
    let (quick, smoke) = small_results(&dir.path().join("runs"));
    let mut summary = std::fs::read_to_string(smoke.join("summary.csv")).unwrap();
    let foreign = std::fs::read_to_string(quick.join("summary.csv")).unwrap();
    summary.push_str(foreign.lines().nth(1).unwrap());
    summary.push('\n');
    std::fs::write(smoke.join("summary.csv"), summary).unwrap();
    let e = err(std::slice::from_ref(&smoke));
    assert!(e.contains("runs of different presets mixed") && e.contains("1 of its 5 rows"), "{e}");
    // Several folders and no --out.
    let e = err(&[quick.clone(), empty.clone()]);
    assert!(e.contains("empty"), "every folder is checked first: {e}");
    let e = err(&[quick.clone(), quick.clone()]);
    assert!(e.contains("--out") || e.contains("two results folders"), "{e}");
    for d in [&empty, &other, &smoke, &quick] {
        assert!(!d.join("report.html").exists() && !d.join("report.md").exists(), "nothing written in {}", d.display());
    }
}
