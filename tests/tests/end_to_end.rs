//! A tiny preset end to end: files on disk, reuse of finished runs, a failing run that leaves the
//! others intact, bad output folders and missing or corrupt assets.

use w2s_core::{register, Objective, StepInfo};
use w2s_runtime::results::SummaryRow;
use w2s_tests::{env, registry, run, tiny_preset};

/// An objective whose loss is NaN: to check that a failing run stops with a clear error.
struct NanLoss;
impl Objective for NanLoss {
    fn loss(&mut self, logits: &tch::Tensor, _t: &tch::Tensor, _at: StepInfo) -> anyhow::Result<tch::Tensor> {
        Ok(logits.sum(tch::Kind::Float) * f64::NAN)
    }
}
register!(Objective {
    name: "test_nan",
    description: "test only: a NaN loss",
    params: w2s_core::params::NoParams,
    build: |_: w2s_core::params::NoParams| Ok::<_, anyhow::Error>(NanLoss),
});

#[test]
fn tiny_preset_writes_results_and_reuses_them() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&[]);
    let first = run(&p, &r, &env, dir.path(), false).unwrap();
    assert_eq!(first.rows.len(), 4);
    assert!(first.failures.is_empty(), "{:?}", first.failures);
    assert_eq!(first.reused, 0);
    for row in &first.rows {
        let run_dir = dir.path().join(&row.run_id);
        for f in ["config.json", "summary.csv", "curves.csv", "weak_labels.csv", "predictions.csv"] {
            assert!(run_dir.join(f).exists(), "{f} missing in {}", run_dir.display());
        }
        assert!((0.0..=1.0).contains(&row.weak_acc) && (0.0..=1.0).contains(&row.w2s_acc));
        assert_eq!((row.n_a, row.n_b, row.n_test), (60, 60, 60));
        if row.pgr.is_nan() {
            assert!(!row.pgr_note.is_empty(), "a NaN PGR carries its reason");
        }
    }
    let noise_row = first.rows.iter().find(|r| r.labeler.starts_with("noise")).unwrap();
    assert!((noise_row.label_acc - 0.7).abs() < 0.15, "noise 0.3 gives ~70% label accuracy: {}", noise_row.label_acc);
    let curves = std::fs::read_to_string(dir.path().join(&first.rows[0].run_id).join("curves.csv")).unwrap();
    for role in ["weak", "ceiling", "student"] {
        assert!(curves.contains(role), "curves.csv lacks {role}");
    }
    let top: Vec<SummaryRow> = w2s_runtime::results::read_csv(&dir.path().join("summary.csv")).unwrap();
    assert_eq!(format!("{top:?}"), format!("{:?}", first.rows));

    let second = run(&p, &r, &env, dir.path(), false).unwrap();
    assert_eq!(second.reused, 4);
    assert_eq!(format!("{:?}", second.rows), format!("{:?}", first.rows), "reused rows are read back unchanged");
}

#[test]
fn pairwise_reward_modelling_runs_end_to_end() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&[
        "task={\"kind\":\"sentiment-pairs\",\"n_train\":120,\"n_test\":60}",
        "labeler=[\"model\",\"ground-truth\"]",
        "objective=bradley-terry",
    ]);
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert!(out.failures.is_empty(), "{:?}", out.failures);
    assert_eq!(out.rows.len(), 2);
    for row in &out.rows {
        assert!((0.0..=1.0).contains(&row.w2s_acc) && row.n_test == 60);
    }
    let gt = out.rows.iter().find(|r| r.labeler == "ground-truth").unwrap();
    assert_eq!(gt.weak_acc, 1.0, "ground truth supervises pairs perfectly");
    // The student is a reward model: one output per text, both texts scored.
    let run_dir = dir.path().join(&gt.run_id);
    let preds = std::fs::read_to_string(run_dir.join("predictions.csv")).unwrap();
    assert_eq!(preds.lines().count(), 61, "one prediction per test pair");
}

#[test]
fn a_nan_loss_stops_that_run_only() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let p = tiny_preset(&["labeler=model", "objective=[\"test_nan\",\"xent\"]"]);
    let out = run(&p, &r, &env, dir.path(), false).unwrap();
    assert_eq!(out.rows.len(), 1, "the xent run finishes");
    assert_eq!(out.failures.len(), 1);
    assert!(out.failures[0].contains("loss became NaN") && out.failures[0].contains("student"), "{}", out.failures[0]);
    // The failed run left no summary; the good one did.
    let failed = p.resolved_runs(&r, &env).unwrap().into_iter().find(|rc| rc.objective.kind() == "test_nan").unwrap();
    assert!(!dir.path().join(failed.id()).join("summary.csv").exists());
    assert!(dir.path().join(&out.rows[0].run_id).join("summary.csv").exists());
}

#[test]
fn unwritable_output_fails_before_training() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plain-file");
    std::fs::write(&file, "x").unwrap();
    let err = format!("{:#}", run(&tiny_preset(&[]), &r, &env, &file.join("out"), false).err().unwrap());
    assert!(err.contains("not writable"), "{err}");
}

#[test]
fn missing_and_corrupt_assets_say_how_to_fix() {
    let r = registry();
    let out = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    let mut env = env();
    let real_vader = env.asset_dir("vader").unwrap();
    env.cache_dir = cache.path().to_path_buf();
    let p = tiny_preset(&[]);
    let o = run(&p, &r, &env, out.path(), false).unwrap();
    assert!(
        o.failures.iter().all(|f| f.contains("asset `vader` is missing") && f.contains("bootstrap.sh")),
        "{:?}",
        o.failures
    );
    // The same missing asset in every cell is one error, reported once with the ids of its runs.
    assert_eq!(o.failure_groups.len(), 1, "{:?}", o.failure_groups);
    assert_eq!(o.failure_groups[0].1.len(), o.failures.len());

    let vader = cache.path().join("assets").join("vader");
    std::fs::create_dir_all(&vader).unwrap();
    std::fs::write(vader.join(".complete"), "").unwrap();
    let mut text = std::fs::read(real_vader.join("movieReviewSnippets_GroundTruth.txt")).unwrap();
    text[100] ^= 1;
    std::fs::write(vader.join("movieReviewSnippets_GroundTruth.txt"), text).unwrap();
    let o = run(&p, &r, &env, out.path(), false).unwrap();
    assert!(o.failures.iter().all(|f| f.contains("corrupt") && f.contains("sha256")), "{:?}", o.failures);
}
