//! Weak labelers: supervisors that label half B (and the test set, so that their accuracy and the
//! student's agreement with them can be measured).

use crate::{curves::CurveRow, Backbone, Dataset, Env, Registry, TrainConfig};

/// One probability distribution per example.
pub type Probs = Vec<Vec<f32>>;

/// A supervisor's soft labels.
#[derive(Debug, Clone, PartialEq)]
pub struct WeakLabels {
    /// One distribution per example of half B (same order as [`LabelerCtx::b`]).
    pub b: Vec<Vec<f32>>,
    /// One distribution per test example.
    pub test: Vec<Vec<f32>>,
    /// Which examples of B the student trains on (all, unless the labeler abstains on some).
    pub keep: Vec<bool>,
}

/// What a labeler may use: the data, the halves, the weak backbone and its training settings.
pub struct LabelerCtx<'a> {
    pub env: &'a Env,
    /// The registry, so that a labeler can build the labelers it wraps from their specs.
    pub registry: &'a Registry,
    pub data: &'a Dataset,
    /// Indices into `data.train` of half A (ground truth available to the supervisor).
    pub a: &'a [usize],
    /// Indices into `data.train` of half B (to be labelled).
    pub b: &'a [usize],
    pub seed: u64,
    pub weak: &'a dyn Backbone,
    pub weak_train: &'a TrainConfig,
    /// The training loop that [`LabelerCtx::train_weak_model`] uses.
    pub trainer: &'a dyn WeakTrainer,
    /// Training curves of any model the labeler trains.
    pub curves: Vec<CurveRow>,
}

/// Trains the weak backbone for a labeler. The training loop belongs to the runtime
/// (`w2s_runtime::train`), which hands one of these to every labeler through [`LabelerCtx`], so
/// that a labeler plugin links only the core.
pub trait WeakTrainer {
    /// Train `ctx.weak` on half A with ground truth (cross-entropy, `ctx.weak_train`) and return
    /// its predictions of half B and of the test set, with its training curves.
    fn train_and_predict(&self, ctx: &LabelerCtx<'_>) -> anyhow::Result<(Probs, Probs, Vec<CurveRow>)>;
}

impl LabelerCtx<'_> {
    /// Train the weak backbone on half A with ground truth (cross-entropy) and predict B and test:
    /// the standard model-generated weak supervisor.
    pub fn train_weak_model(&mut self) -> anyhow::Result<(Probs, Probs)> {
        let (b, test, curves) = self.trainer.train_and_predict(self)?;
        self.curves.extend(curves);
        Ok((b, test))
    }
}

/// A weak supervisor.
pub trait WeakLabeler {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels>;
}
