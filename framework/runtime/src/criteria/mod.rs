//! Scoring stopping criteria ([`w2s_core::StoppingCriterion`]) on a student's logged
//! evaluations: for each criterion, the step it picks and the student's test accuracy and PGR
//! there. Runs write their log (`evals.csv`, [`evals_file`]) and these rows (`criteria.csv`);
//! `w2s criteria RUNS` ([`rescore`]) scores finished runs again with every registered criterion,
//! plugins' included, without training.

pub mod curves_figure;
pub mod evals_file;
pub mod figure;
pub mod rescore;

use serde::{Deserialize, Serialize};
use w2s_core::{
    metrics,
    stopping::{CriterionView, EvalLog},
    Registry, Spec,
};

/// One criterion's choice for one run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CriterionRow {
    pub run_id: String,
    pub criterion: String,
    /// It read the test labels: an upper bound, not a method.
    pub cheating: bool,
    /// The chosen step (NaN-like: empty when the criterion could not be scored, see `note`).
    pub step: Option<usize>,
    pub w2s_acc: f64,
    pub pgr: f64,
    /// Why the criterion could not be scored, or why PGR is undefined.
    pub note: String,
}

/// The criteria a run is scored with: every registered one with default parameters, then the
/// preset's `extra` specs (in that order; an extra spec equal to a default one is not repeated).
pub fn criteria_specs(registry: &Registry, extra: &[Spec]) -> Vec<Spec> {
    let mut specs: Vec<Spec> = registry.criteria.names().iter().map(|n| Spec::new(n)).collect();
    for s in extra {
        if !specs.contains(s) {
            specs.push(s.clone());
        }
    }
    specs
}

/// Score `specs` on one run's log. A criterion that cannot be scored on this log (it needs data
/// the run did not record) gets a row with no step and the reason, unless `strict`, when it is
/// an error naming the run and what to rerun with.
#[allow(clippy::too_many_arguments)] // each is a distinct input of the scoring
pub fn score(
    registry: &Registry,
    specs: &[Spec],
    run_id: &str,
    log: &EvalLog,
    test_labels: &[usize],
    (weak_acc, strong_acc): (f64, f64),
    strict: bool,
) -> anyhow::Result<Vec<CriterionRow>> {
    let mut rows = Vec::with_capacity(specs.len());
    for spec in specs {
        let criterion = registry.criterion(spec)?;
        let needs = criterion.needs();
        let chosen = CriterionView::new(log, test_labels, needs).and_then(|view| {
            let i = criterion.choose(&view)?;
            anyhow::ensure!(i < view.len(), "it chose evaluation {i} of {}", view.len());
            Ok(i)
        });
        let row = match chosen {
            Ok(i) => {
                let preds: Vec<usize> = log.test[i].iter().map(|p| metrics::argmax(p)).collect();
                let acc = metrics::accuracy(&preds, test_labels).0;
                let (pgr, why) = metrics::pgr(weak_acc, strong_acc, acc);
                CriterionRow {
                    run_id: run_id.to_string(),
                    criterion: spec.label(),
                    cheating: needs.ground_truth,
                    step: Some(log.steps[i]),
                    w2s_acc: acc,
                    pgr,
                    note: why.unwrap_or_default(),
                }
            }
            Err(e) if strict => anyhow::bail!("criterion {} on run {run_id}: {e:#}", spec.label()),
            Err(e) => CriterionRow {
                run_id: run_id.to_string(),
                criterion: spec.label(),
                cheating: needs.ground_truth,
                step: None,
                w2s_acc: f64::NAN,
                pgr: f64::NAN,
                note: format!("not scored: {e:#}"),
            },
        };
        rows.push(row);
    }
    Ok(rows)
}
