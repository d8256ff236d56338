//! Tasks: where labelled examples come from.

use crate::Env;

/// One labelled example. `label` indexes the task's classes.
///
/// A *pairwise* example (reward modelling) has a second text in `pair`: its classes are
/// "the first text is better" (0) and "the second is better" (1), and models score each text
/// with one reward; the two rewards are the logits (Bradley–Terry).
///
/// `soft`, when present, is the gold *distribution* over the classes (e.g. the share of human
/// raters preferring each text of a pair); gold-label training (ceilings, weak models on half A,
/// `ground-truth`) then targets it instead of the one-hot `label`, which stays the hard answer
/// that accuracies are measured against.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: usize,
    pub pair: Option<String>,
    pub soft: Option<Vec<f32>>,
}

impl Example {
    /// A single-text example.
    pub fn new(text: impl Into<String>, label: usize) -> Self {
        Example { text: text.into(), label, pair: None, soft: None }
    }
    /// A pairwise example: `label` 0 when `first` is better, 1 when `second` is.
    pub fn pair(first: impl Into<String>, second: impl Into<String>, label: usize) -> Self {
        Example { text: first.into(), label, pair: Some(second.into()), soft: None }
    }
    /// The same example with a gold distribution over its classes.
    pub fn with_soft(mut self, soft: Vec<f32>) -> Self {
        self.soft = Some(soft);
        self
    }
    /// The gold training target over `n_classes`: the soft distribution if any, else one-hot.
    pub fn gold(&self, n_classes: usize) -> Vec<f32> {
        match &self.soft {
            Some(s) if s.len() == n_classes => s.clone(),
            _ => {
                let mut v = vec![0.0; n_classes];
                v[self.label] = 1.0;
                v
            }
        }
    }
}

/// A task's data: a training pool (split into halves A and B per seed) and a fixed test set.
#[derive(Debug, Clone)]
pub struct Dataset {
    pub n_classes: usize,
    pub class_names: Vec<String>,
    pub train: Vec<Example>,
    pub test: Vec<Example>,
}

impl Dataset {
    /// Fraction of examples of each class, in `examples`.
    pub fn class_balance(&self, examples: &[Example]) -> Vec<f64> {
        let mut counts = vec![0usize; self.n_classes];
        for e in examples {
            counts[e.label] += 1;
        }
        counts.iter().map(|&c| c as f64 / examples.len().max(1) as f64).collect()
    }
}

/// A source of labelled examples.
pub trait Task {
    /// Load (and cache in memory, if useful) the data. Deterministic for given parameters.
    fn load(&self, env: &Env) -> anyhow::Result<Dataset>;
    /// The user files (or folders) this task reads, whose contents are part of every run's
    /// identity (see [`crate::fingerprint`]): edit one and the runs that read it are recomputed.
    /// Fetched assets, which are checked against pinned sizes or hashes, need not be listed.
    fn data_files(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }
}
