//! Training curves: test accuracy and loss every N steps, for every model trained.

use serde::{Deserialize, Serialize};

/// One evaluation point of one model's training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurveRow {
    /// `weak`, `ceiling` or `student`.
    pub role: String,
    pub step: usize,
    pub epoch: f64,
    pub lr: f64,
    /// Mean training loss since the previous evaluation.
    pub train_loss: f64,
    pub test_loss: f64,
    pub test_acc: f64,
}
