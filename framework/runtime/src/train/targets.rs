//! Training targets: gold distributions and one-hot rows.

use w2s_core::Example;

/// Gold training targets of examples: their soft distributions where the task gives them, else
/// one-hot rows of their labels.
pub fn gold_targets(examples: &[&Example], n_classes: usize) -> Vec<Vec<f32>> {
    examples.iter().map(|e| e.gold(n_classes)).collect()
}

/// One-hot rows for labels.
pub fn one_hot(labels: impl Iterator<Item = usize>, n_classes: usize) -> Vec<Vec<f32>> {
    labels
        .map(|l| {
            let mut v = vec![0.0; n_classes];
            v[l] = 1.0;
            v
        })
        .collect()
}
