//! Tasks: where labelled examples come from.

use crate::Env;

/// One labelled example. `label` indexes the task's classes.
///
/// A *pairwise* example (reward modelling) has a second text in `pair`: its classes are
/// "the first text is better" (0) and "the second is better" (1), and models score each text
/// with one reward; the two rewards are the logits (Bradley–Terry).
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: usize,
    pub pair: Option<String>,
}

impl Example {
    /// A single-text example.
    pub fn new(text: impl Into<String>, label: usize) -> Self {
        Example { text: text.into(), label, pair: None }
    }
    /// A pairwise example: `label` 0 when `first` is better, 1 when `second` is.
    pub fn pair(first: impl Into<String>, second: impl Into<String>, label: usize) -> Self {
        Example { text: first.into(), label, pair: Some(second.into()) }
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
}
