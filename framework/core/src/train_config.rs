//! Training settings of one model (the reference code's defaults: 2 epochs, batch 32, lr 5e-5,
//! cosine annealing). The loop that uses them is the runtime's (`w2s_runtime::train`).

use serde::{Deserialize, Serialize};

use crate::params::check;

/// Learning-rate schedule over all steps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Schedule {
    /// Cosine annealing from `lr` to 0 (the reference code).
    Cosine,
    Constant,
}

/// Training settings of one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub lr: f64,
    pub schedule: Schedule,
    /// Evaluate on the test set every this many steps (0: only at the end).
    pub eval_every: usize,
    /// Batch size for inference.
    pub eval_batch: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 2, batch_size: 32, lr: 5e-5, schedule: Schedule::Cosine, eval_every: 50, eval_batch: 128 }
    }
}

impl TrainConfig {
    /// Check every field; `at` names where these settings sit (e.g. `strong_train`).
    pub fn validate(&self, at: &str) -> anyhow::Result<()> {
        check(self.epochs >= 1, &format!("{at}.epochs"), "at least 1")?;
        check(self.batch_size >= 1, &format!("{at}.batch_size"), "at least 1")?;
        check(self.eval_batch >= 1, &format!("{at}.eval_batch"), "at least 1")?;
        check(self.lr.is_finite() && self.lr > 0.0, &format!("{at}.lr"), "a positive number")?;
        Ok(())
    }

    /// The learning rate at `step` of `total`.
    pub fn lr_at(&self, step: usize, total: usize) -> f64 {
        match self.schedule {
            Schedule::Constant => self.lr,
            Schedule::Cosine => {
                self.lr * 0.5 * (1.0 + (std::f64::consts::PI * step as f64 / total.max(1) as f64).cos())
            }
        }
    }
}
