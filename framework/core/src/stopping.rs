//! Early stopping as a component kind (issue #12, item 2): a [`StoppingCriterion`] looks at what
//! a student's training logged at every evaluation ([`EvalLog`]) and picks one evaluation, using
//! no ground truth unless it says so ([`Needs::ground_truth`], which marks it as cheating
//! wherever it appears).
//!
//! The talk: "if we were able to do early stopping and stop at the best possible time, then we
//! would do quite a bit better". EleutherAI/w2s (`w2s/sft.py`) selects the checkpoint with the
//! best loss on a weak-labelled validation split (`load_best_model_at_end`,
//! `metric_for_best_model`); the same is `weak-val-loss` here. Because the log keeps the test
//! predictions of every evaluation, any criterion, plugins' too, can be scored afterwards without
//! retraining (`w2s criteria`).

use anyhow::bail;

use crate::labeler::Probs;

/// What a student's training recorded at each evaluation.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct EvalLog {
    /// The training step of each evaluation, increasing.
    pub steps: Vec<usize>,
    /// The student's test-set distributions at each evaluation (`test[e][i]`).
    pub test: Vec<Probs>,
    /// Its predictions on a held-out weak-labelled slice of half B, if the run kept one.
    pub weak_val: Option<WeakVal>,
}

/// A held-out slice of half B: its weak labels, and the student's predictions of it at each
/// evaluation (it never trains on them).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct WeakVal {
    pub targets: Probs,
    pub preds: Vec<Probs>,
}

/// What a criterion reads beyond the test predictions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// The held-out weak-labelled slice of B (a run with `weak_val_frac > 0`).
    pub weak_val: bool,
    /// The test labels: such a criterion is an upper bound, not a method (marked as cheating).
    pub ground_truth: bool,
}

/// What a criterion is shown: the log, and the test labels only if it declared it needs them.
pub struct CriterionView<'a> {
    log: &'a EvalLog,
    test_labels: Option<&'a [usize]>,
}

impl<'a> CriterionView<'a> {
    /// The view a criterion with `needs` gets of `log` (test labels only when it needs them), or
    /// an error saying what the log lacks.
    pub fn new(log: &'a EvalLog, test_labels: &'a [usize], needs: Needs) -> anyhow::Result<Self> {
        if log.steps.is_empty() {
            bail!("the run recorded no evaluation (it was trained before evaluations were logged)");
        }
        if log.test.len() != log.steps.len() {
            bail!("the log has {} evaluation steps but {} sets of test predictions", log.steps.len(), log.test.len());
        }
        if needs.weak_val {
            match &log.weak_val {
                None => bail!(
                    "it needs the student's predictions on a held-out weak-labelled slice of B, which this run did \
                     not keep: rerun it with `weak_val_frac` > 0 (e.g. --set weak_val_frac=0.2)"
                ),
                Some(v) if v.preds.len() != log.steps.len() => {
                    bail!("the weak-labelled slice has {} evaluations, not {}", v.preds.len(), log.steps.len())
                }
                Some(_) => {}
            }
        }
        Ok(CriterionView { log, test_labels: needs.ground_truth.then_some(test_labels) })
    }

    /// The number of evaluations.
    pub fn len(&self) -> usize {
        self.log.steps.len()
    }

    pub fn is_empty(&self) -> bool {
        self.log.steps.is_empty()
    }

    pub fn steps(&self) -> &[usize] {
        &self.log.steps
    }

    /// The test predictions (no labels) of every evaluation.
    pub fn test(&self) -> &[Probs] {
        &self.log.test
    }

    /// The held-out weak-labelled slice (present when the criterion declared `weak_val`).
    pub fn weak_val(&self) -> anyhow::Result<&WeakVal> {
        self.log
            .weak_val
            .as_ref()
            .ok_or_else(|| anyhow::anyhow!("no held-out weak-labelled slice: declare `Needs::weak_val`"))
    }

    /// The test labels (only for a criterion that declared `ground_truth`).
    pub fn test_labels(&self) -> anyhow::Result<&[usize]> {
        self.test_labels
            .ok_or_else(|| anyhow::anyhow!("test labels are shown only to criteria that declare `Needs::ground_truth`"))
    }
}

/// Picks the evaluation at which to stop a student's training.
pub trait StoppingCriterion {
    /// What it reads besides the test predictions.
    fn needs(&self) -> Needs {
        Needs::default()
    }
    /// The index (into [`CriterionView::steps`]) of the chosen evaluation.
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize>;
}
