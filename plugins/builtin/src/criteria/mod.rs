//! Early-stopping criteria ([`w2s_core::StoppingCriterion`], issue #12 item 2): which evaluation
//! of a student's training to keep, from its logged predictions.
//!
//! - `final`: the last evaluation (what the protocol reports without early stopping);
//! - `oracle`: the best test accuracy. It reads the test labels: an upper bound on what any
//!   stopping rule could give, marked as cheating everywhere it appears;
//! - `weak-val-loss`, `weak-val-agreement`: the lowest cross-entropy against, or the highest
//!   agreement with, the weak labels of a held-out slice of half B (EleutherAI/w2s's checkpoint
//!   selection);
//! - `confidence-plateau`, `churn`: unsupervised rules on the unlabelled test predictions alone
//!   (`unsupervised.rs`).
//!
//! Ties go to the earliest evaluation (as HF Trainer's `load_best_model_at_end`, which keeps a
//! checkpoint only when strictly better).

mod unsupervised;
mod weak_val;

#[cfg(test)]
mod tests;

use w2s_core::{
    metrics::{accuracy, argmax},
    params::NoParams,
    stopping::{CriterionView, Needs},
    StoppingCriterion,
};

pub use unsupervised::{Churn, ChurnParams, ConfidencePlateau, PlateauParams};
pub use weak_val::{WeakValAgreement, WeakValLoss};

/// The index of the largest score, the earliest of equal ones; NaN scores are never chosen
/// unless all are NaN (then the last).
pub(crate) fn earliest_best(scores: impl IntoIterator<Item = f64>) -> usize {
    let mut best: Option<(usize, f64)> = None;
    let mut n = 0;
    for (i, s) in scores.into_iter().enumerate() {
        n = i + 1;
        if s.is_nan() {
            continue;
        }
        if best.is_none_or(|(_, b)| s > b) {
            best = Some((i, s));
        }
    }
    best.map_or(n.saturating_sub(1), |(i, _)| i)
}

/// Test-set hard predictions of one evaluation.
pub(crate) fn hard(rows: &[Vec<f32>]) -> Vec<usize> {
    rows.iter().map(|p| argmax(p)).collect()
}

/// The last evaluation.
pub struct Final;

impl StoppingCriterion for Final {
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize> {
        Ok(view.len() - 1)
    }
}

/// The evaluation with the best test accuracy (reads the test labels).
pub struct Oracle;

impl StoppingCriterion for Oracle {
    fn needs(&self) -> Needs {
        Needs { ground_truth: true, ..Needs::default() }
    }
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize> {
        let labels = view.test_labels()?;
        Ok(earliest_best(view.test().iter().map(|probs| accuracy(&hard(probs), labels).0)))
    }
}

w2s_core::register!(StoppingCriterion {
    name: "final",
    description: "the last evaluation (no early stopping)",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(Final),
});

w2s_core::register!(StoppingCriterion {
    name: "oracle",
    description:
        "CHEATING (reads test labels): the evaluation with the best test accuracy, an upper bound for any stopping rule",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(Oracle),
});
