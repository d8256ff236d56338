//! Tasks: where labelled examples come from.

use crate::Env;

/// One labelled example. `label` indexes the task's classes.
#[derive(Debug, Clone, PartialEq)]
pub struct Example {
    pub text: String,
    pub label: usize,
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
