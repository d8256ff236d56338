//! Weak labelers: supervisors that label half B (and the test set, so that their accuracy and the
//! student's agreement with them can be measured).

use crate::{curves::CurveRow, train, Backbone, Dataset, Env, Registry, TrainConfig};

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
    /// Training curves of any model the labeler trains.
    pub curves: Vec<CurveRow>,
}

impl LabelerCtx<'_> {
    /// Train the weak backbone on half A with ground truth (cross-entropy) and predict B and test:
    /// the standard model-generated weak supervisor.
    pub fn train_weak_model(&mut self) -> anyhow::Result<(Probs, Probs)> {
        let train_set: Vec<&crate::Example> = self.a.iter().map(|&i| &self.data.train[i]).collect();
        let b_set: Vec<&crate::Example> = self.b.iter().map(|&i| &self.data.train[i]).collect();
        let targets = train::gold_targets(&train_set, self.data.n_classes);
        let mut xent = crate::objective::SoftXent;
        let out = train::train_and_predict(
            self.env,
            &train::Job {
                role: "weak",
                backbone: self.weak,
                n_classes: self.data.n_classes,
                train: &train_set,
                targets: &targets,
                test: &self.data.test.iter().collect::<Vec<_>>(),
                also_predict: Some(&b_set),
                cfg: self.weak_train,
                seed: self.seed,
            },
            &mut xent,
        )?;
        self.curves.extend(out.curves);
        Ok((out.extra.unwrap_or_default(), out.test))
    }
}

/// A weak supervisor.
pub trait WeakLabeler {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels>;
}
