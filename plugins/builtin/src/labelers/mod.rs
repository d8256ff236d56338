//! Weak labelers: who supervises the student.

pub mod ground_truth;
pub mod model;
pub mod noise;

/// A one-hot distribution over `k` classes, with `confidence` on `label` and the rest spread
/// evenly (confidence 1 gives a hard label).
pub fn soft_one_hot(label: usize, k: usize, confidence: f32) -> Vec<f32> {
    let rest = if k > 1 { (1.0 - confidence) / (k - 1) as f32 } else { 0.0 };
    (0..k).map(|c| if c == label { confidence } else { rest }).collect()
}
