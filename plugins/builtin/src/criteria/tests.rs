//! Known-answer tests of the built-in stopping criteria on hand-made logs.

use w2s_core::stopping::{EvalLog, WeakVal};

use super::*;

/// Two-class distributions putting `p` on class 1.
fn rows(p1: &[f32]) -> Vec<Vec<f32>> {
    p1.iter().map(|&p| vec![1.0 - p, p]).collect()
}

/// A log of four evaluations on three test examples with labels [1, 0, 1]: test accuracy
/// 1/3, 1, 2/3, 2/3 (the best is the second evaluation, step 20).
fn log() -> EvalLog {
    EvalLog {
        steps: vec![10, 20, 30, 40],
        test: vec![rows(&[0.4, 0.6, 0.6]), rows(&[0.7, 0.3, 0.8]), rows(&[0.9, 0.8, 0.9]), rows(&[0.95, 0.9, 0.97])],
        weak_val: Some(WeakVal {
            targets: rows(&[1.0, 0.0]),
            // Cross-entropy against [1, 0] targets: lowest at the third evaluation.
            preds: vec![rows(&[0.5, 0.5]), rows(&[0.6, 0.4]), rows(&[0.8, 0.2]), rows(&[0.9, 0.6])],
        }),
    }
}

const LABELS: [usize; 3] = [1, 0, 1];

fn pick(c: &dyn StoppingCriterion, log: &EvalLog) -> anyhow::Result<usize> {
    c.choose(&CriterionView::new(log, &LABELS, c.needs())?)
}

#[test]
fn final_and_oracle_pick_the_last_and_the_best_evaluation() {
    let log = log();
    assert_eq!(pick(&Final, &log).unwrap(), 3);
    assert_eq!(pick(&Oracle, &log).unwrap(), 1, "the best test accuracy is at step 20");
    assert!(Oracle.needs().ground_truth && !Final.needs().ground_truth);
}

#[test]
fn weak_val_criteria_follow_the_held_out_weak_labels() {
    let log = log();
    // Losses: ln 2 = 0.693, (−ln .6 − ln .6)/2 = 0.511, (−ln .8 − ln .8)/2 = 0.223, (−ln .9 − ln .4)/2 = 0.511.
    assert_eq!(pick(&WeakValLoss, &log).unwrap(), 2);
    // Agreement with [1, 0]: 1/2 (0.5 is class 0), 1, 1, 1/2: the earliest best is evaluation 1.
    assert_eq!(pick(&WeakValAgreement, &log).unwrap(), 1);
}

#[test]
fn a_criterion_that_needs_a_weak_slice_says_how_to_record_one() {
    let log = EvalLog { weak_val: None, ..log() };
    let e = pick(&WeakValLoss, &log).unwrap_err().to_string();
    assert!(e.contains("held-out weak-labelled slice") && e.contains("weak_val_frac"), "{e}");
    let empty = EvalLog::default();
    assert!(pick(&Final, &empty).unwrap_err().to_string().contains("no evaluation"));
}

/// A criterion that tries to read the labels without declaring it.
struct Peeker;
impl StoppingCriterion for Peeker {
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize> {
        Ok(view.test_labels()?.len())
    }
}

#[test]
fn test_labels_are_hidden_from_criteria_that_do_not_declare_them() {
    let e = pick(&Peeker, &log()).unwrap_err().to_string();
    assert!(e.contains("only to criteria that declare"), "{e}");
}

#[test]
fn confidence_plateau_stops_when_mean_confidence_settles() {
    // Mean confidence per evaluation: 0.6, 0.8, 0.9, 0.902, 0.903, 0.95.
    let c = [0.6f32, 0.8, 0.9, 0.902, 0.903, 0.95];
    let log = EvalLog { steps: (1..=6).collect(), test: c.iter().map(|&p| rows(&[p, p])).collect(), weak_val: None };
    let plateau = |tolerance, patience| ConfidencePlateau(PlateauParams { tolerance, patience });
    // Within 0.005 of the previous two: evaluation 4 (0.903 vs 0.902 and 0.9).
    assert_eq!(pick(&plateau(0.005, 2), &log).unwrap(), 4);
    // Patience 1: evaluation 3 (0.902 vs 0.9).
    assert_eq!(pick(&plateau(0.005, 1), &log).unwrap(), 3);
    // Never settles within 1e-4: the last.
    assert_eq!(pick(&plateau(1e-4, 1), &log).unwrap(), 5);
}

#[test]
fn churn_stops_at_the_first_stable_evaluation() {
    // Predictions over 4 examples at 5 evaluations; churn (changed since the previous): -, 3/4,
    // 1/4, 0, 1/4.
    let preds = [[0, 0, 0, 0], [1, 1, 1, 0], [1, 1, 1, 1], [1, 1, 1, 1], [0, 1, 1, 1]];
    let test = preds
        .iter()
        .map(|p| p.iter().map(|&c| if c == 1 { vec![0.2, 0.8] } else { vec![0.8, 0.2] }).collect())
        .collect();
    let log = EvalLog { steps: vec![5, 10, 15, 20, 25], test, weak_val: None };
    assert_eq!(pick(&Churn(ChurnParams { threshold: 0.0 }), &log).unwrap(), 3);
    assert_eq!(pick(&Churn(ChurnParams { threshold: 0.3 }), &log).unwrap(), 2);
    // Two evaluations, 3/4 changed, threshold 0.1: none stable, so the least churn (the only one).
    let short = EvalLog { steps: vec![5, 10], test: log.test[..2].to_vec(), weak_val: None };
    assert_eq!(pick(&Churn(ChurnParams { threshold: 0.1 }), &short).unwrap(), 1);
}

#[test]
fn ties_go_to_the_earliest_and_nan_is_never_best() {
    assert_eq!(earliest_best([1.0, 3.0, 3.0]), 1);
    assert_eq!(earliest_best([f64::NAN, 2.0, f64::NAN]), 1);
    assert_eq!(earliest_best([f64::NAN, f64::NAN]), 1);
}

#[test]
fn the_criteria_are_registered() {
    let r = w2s_core::Registry::with_builtins().unwrap();
    for name in ["final", "oracle", "weak-val-loss", "weak-val-agreement", "confidence-plateau", "churn"] {
        let c = r.criterion(&w2s_core::Spec::new(name)).unwrap();
        assert_eq!(c.needs().ground_truth, name == "oracle", "{name}");
    }
    let e = format!("{:#}", r.criterion(&w2s_core::Spec::new("churn").with("threshold", 1.5)).err().unwrap());
    assert!(e.contains("threshold") && e.contains("[0, 1)"), "{e}");
}
