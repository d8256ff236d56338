//! Two stopping rules of our own design that read only the student's unlabelled test
//! predictions (no weak or true labels).
//!
//! - `confidence-plateau`: the student's mean confidence `c_e = mean_i max_c p_eic` rises while it
//!   fits its labels. Stop at the first evaluation `e ≥ patience` at which it has moved by less
//!   than `tolerance` over each of the last `patience` evaluations (`|c_e − c_{e−j}| < tolerance`
//!   for `j = 1..=patience`); the last evaluation if it never settles. The idea: the weak labels'
//!   signal is learned first, and what comes after the plateau is mostly the slow imitation of
//!   their errors (Burns et al. §5, the student "overfits to the weak labels" late in training).
//! - `churn`: the fraction of test predictions whose class changed since the previous evaluation.
//!   Stop at the first evaluation whose churn is at most `threshold`; if none is, at the one with
//!   the least churn. Stable predictions mean the decision boundary has stopped moving.
//!
//! Neither is from a paper; both are heuristics to be compared against `oracle` in a sweep.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, stopping::CriterionView, Params, StoppingCriterion};

use super::{earliest_best, hard};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PlateauParams {
    /// The largest change of mean confidence that counts as settled.
    pub tolerance: f64,
    /// Over how many evaluations it must have stayed within `tolerance`.
    pub patience: usize,
}

impl Default for PlateauParams {
    fn default() -> Self {
        PlateauParams { tolerance: 0.005, patience: 2 }
    }
}

impl Params for PlateauParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.tolerance > 0.0 && self.tolerance < 1.0, "tolerance", "a number in (0, 1)")?;
        check(self.patience >= 1, "patience", "at least 1")
    }
}

pub struct ConfidencePlateau(pub PlateauParams);

/// Mean over examples of the largest class probability.
pub fn mean_confidence(rows: &[Vec<f32>]) -> f64 {
    let total: f64 = rows.iter().map(|p| p.iter().fold(0.0f32, |m, &x| m.max(x)) as f64).sum();
    total / rows.len().max(1) as f64
}

impl StoppingCriterion for ConfidencePlateau {
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize> {
        let c: Vec<f64> = view.test().iter().map(|p| mean_confidence(p)).collect();
        let PlateauParams { tolerance, patience } = self.0;
        Ok((patience..c.len())
            .find(|&e| (1..=patience).all(|j| (c[e] - c[e - j]).abs() < tolerance))
            .unwrap_or(c.len() - 1))
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChurnParams {
    /// The largest fraction of changed test predictions that counts as stable.
    pub threshold: f64,
}

impl Default for ChurnParams {
    fn default() -> Self {
        ChurnParams { threshold: 0.01 }
    }
}

impl Params for ChurnParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.threshold >= 0.0 && self.threshold < 1.0, "threshold", "a fraction in [0, 1)")
    }
}

pub struct Churn(pub ChurnParams);

/// The fraction of positions where two prediction lists differ.
pub fn churn(before: &[usize], after: &[usize]) -> f64 {
    let changed = before.iter().zip(after).filter(|(a, b)| a != b).count();
    changed as f64 / before.len().max(1) as f64
}

impl StoppingCriterion for Churn {
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize> {
        let preds: Vec<Vec<usize>> = view.test().iter().map(|p| hard(p)).collect();
        if preds.len() < 2 {
            return Ok(preds.len() - 1);
        }
        let churns: Vec<f64> = preds.windows(2).map(|w| churn(&w[0], &w[1])).collect();
        // churns[j] belongs to evaluation j + 1.
        let first_stable = churns.iter().position(|&c| c <= self.0.threshold);
        Ok(1 + first_stable.unwrap_or_else(|| earliest_best(churns.iter().map(|c| -c))))
    }
}

w2s_core::register!(StoppingCriterion {
    name: "confidence-plateau",
    description: "unsupervised: the first evaluation after which the student's mean test confidence has settled (within `tolerance` for `patience` evaluations)",
    params: PlateauParams,
    build: |p: PlateauParams| Ok::<_, anyhow::Error>(ConfidencePlateau(p)),
});

w2s_core::register!(StoppingCriterion {
    name: "churn",
    description: "unsupervised: the first evaluation at which at most `threshold` of the test predictions changed since the previous one",
    params: ChurnParams,
    build: |p: ChurnParams| Ok::<_, anyhow::Error>(Churn(p)),
});
