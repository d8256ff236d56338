//! Early stopping end to end: a run logs its evaluations and scores every criterion; a held-out
//! weak-labelled slice changes the run id and feeds the weak-validation criteria; finished runs
//! are scored again without training; a criterion needing data a run lacks says how to rerun.

use w2s_runtime::criteria::{rescore, CriterionRow};
use w2s_tests::{env, registry, run, tiny_preset};

#[test]
fn runs_log_evaluations_and_every_criterion_is_scored() {
    let (r, env) = (registry(), env());
    let dir = tempfile::tempdir().unwrap();
    let plain = tiny_preset(&["labeler=model", "objective=xent"]);
    let held = tiny_preset(&["labeler=model", "objective=xent", "weak_val_frac=0.25"]);
    let a = run(&plain, &r, &env, dir.path(), false).unwrap();
    let b = run(&held, &r, &env, dir.path(), false).unwrap();
    assert!(a.failures.is_empty() && b.failures.is_empty(), "{:?} {:?}", a.failures, b.failures);
    let (a, b) = (&a.rows[0], &b.rows[0]);
    assert_ne!(a.run_id, b.run_id, "a held-out slice changes what the student trains on, hence the id");
    // The same ceiling and weak labels: only the student differs.
    assert_eq!((a.weak_acc, a.strong_acc), (b.weak_acc, b.strong_acc));

    let read = |id: &str| -> Vec<CriterionRow> {
        w2s_runtime::results::read_csv(&dir.path().join(id).join(rescore::CRITERIA_FILE)).unwrap()
    };
    let (rows_a, rows_b) = (read(&a.run_id), read(&b.run_id));
    let by = |rows: &[CriterionRow], name: &str| rows.iter().find(|c| c.criterion == name).unwrap().clone();
    // `final` is the student the summary reports; `oracle` is at least as good and is marked.
    for (rows, summary) in [(&rows_a, a), (&rows_b, b)] {
        let fin = by(rows, "final");
        assert_eq!(fin.w2s_acc, summary.w2s_acc, "the last evaluation is the reported student");
        let oracle = by(rows, "oracle");
        assert!(oracle.cheating && oracle.w2s_acc >= fin.w2s_acc);
        assert!(rows.iter().filter(|c| c.cheating).all(|c| c.criterion == "oracle"));
        for name in ["churn", "confidence-plateau"] {
            assert!(by(rows, name).step.is_some(), "{name} is scored from test predictions alone");
        }
    }
    // Without a slice the weak-validation criteria are not scored, and say why.
    let missing = by(&rows_a, "weak-val-loss");
    assert!(
        missing.step.is_none() && missing.w2s_acc.is_nan() && missing.note.contains("weak_val_frac"),
        "{missing:?}"
    );
    assert!(by(&rows_b, "weak-val-loss").step.is_some() && by(&rows_b, "weak-val-agreement").step.is_some());
    // The collected file holds the rows of the runs of the last invocation, as summary.csv does.
    let all: Vec<CriterionRow> = w2s_runtime::results::read_csv(&dir.path().join(rescore::CRITERIA_FILE)).unwrap();
    assert_eq!(format!("{all:?}"), format!("{rows_b:?}"));

    // Rescoring reads the logs only and gives the same rows.
    let runs = rescore::run_folders(dir.path()).unwrap();
    assert_eq!(runs.len(), 2);
    for d in &runs {
        let before = read(d.file_name().unwrap().to_str().unwrap());
        let (_, again) = rescore::rescore_run(&r, d, &[]).unwrap();
        assert_eq!(format!("{again:?}"), format!("{before:?}"));
    }
    // Asked for strictly, a criterion the run cannot feed is an error naming the run and the fix.
    let e = format!(
        "{:#}",
        rescore::rescore_run(&r, &dir.path().join(&a.run_id), &[w2s_core::Spec::new("weak-val-loss")]).unwrap_err()
    );
    assert!(e.contains(&a.run_id) && e.contains("weak_val_frac"), "{e}");
}

#[test]
fn a_bad_weak_val_fraction_is_refused_before_training() {
    let (r, env) = (registry(), env());
    let p = tiny_preset(&["weak_val_frac=0.95"]);
    let e = format!("{:#}", p.resolved_runs(&r, &env).unwrap_err());
    assert!(e.contains("weak_val_frac") && e.contains("[0, 0.9)"), "{e}");
    let p = tiny_preset(&["criteria=[{\"kind\":\"churn\",\"threshold\":2}]"]);
    let e = format!("{:#}", p.resolved_runs(&r, &env).unwrap_err());
    assert!(e.contains("criteria") && e.contains("threshold"), "{e}");
}
