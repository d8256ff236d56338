//! `logconf-buffered`: `logconf` with its threshold taken over recent predictions, not one batch.
//!
//! coef = aux_coef · min(1, step_frac / warmup_frac) (logconf's linear warm-up). Each call appends
//! this batch's p[:,0] (detached) to a buffer of the student's most recent `buffer` values, dropping
//! the oldest; t = quantile(buffer, mean(y[:,1])) (prior from this batch's weak labels);
//! ĥ = [p0 ≥ t, p0 < t] for this batch; target = (1 − coef)·y + coef·ĥ; loss = xent(p, target).
//! A batch larger than `buffer` keeps only its last `buffer` values. With more than two classes,
//! ĥ is the one-hot argmax exactly as in `logconf`, and the buffer is not used.

use serde::{Deserialize, Serialize};
use tch::Tensor;
use w2s_core::{params::check, Objective, Params, StepInfo};

use super::logconf::{hardened_loss, quantile, LogConfParams, Warmup};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfBufferedParams {
    /// Final weight α of the student's own hardened predictions.
    pub aux_coef: f64,
    /// Fraction of training over which the weight rises linearly from 0 to α.
    pub warmup_frac: f64,
    /// How many of the student's most recent p[:,0] values (this batch's included) set the threshold.
    pub buffer: usize,
}

impl Default for LogConfBufferedParams {
    fn default() -> Self {
        let LogConfParams { aux_coef, warmup_frac } = LogConfParams::default();
        LogConfBufferedParams { aux_coef, warmup_frac, buffer: 256 }
    }
}

impl Params for LogConfBufferedParams {
    fn validate(&self) -> anyhow::Result<()> {
        LogConfParams { aux_coef: self.aux_coef, warmup_frac: self.warmup_frac }.validate()?;
        check(self.buffer >= 1, "buffer", "an integer ≥ 1")
    }
}

/// The auxiliary confidence loss with a threshold over a buffer of recent predictions.
#[derive(Debug)]
pub struct LogConfBuffered {
    pub params: LogConfBufferedParams,
    /// The most recent p[:,0] values (detached, on the logits' device), oldest first; at most
    /// `params.buffer` of them. `None` before the first batch.
    pub recent: Option<Tensor>,
}

impl Clone for LogConfBuffered {
    /// With a copy of the buffer (not shared with the original).
    fn clone(&self) -> Self {
        LogConfBuffered { params: self.params.clone(), recent: self.recent.as_ref().map(Tensor::copy) }
    }
}

impl LogConfBuffered {
    pub fn new(params: LogConfBufferedParams) -> anyhow::Result<Self> {
        Ok(LogConfBuffered { params, recent: None })
    }
}

impl Objective for LogConfBuffered {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, at: StepInfo) -> anyhow::Result<Tensor> {
        let coef = Warmup::Linear.coef(self.params.aux_coef, self.params.warmup_frac, at);
        let (recent, cap) = (&mut self.recent, self.params.buffer);
        hardened_loss(logits, targets, coef, |p0, prior| {
            let all = match recent.take() {
                Some(r) => Tensor::f_cat(&[&r.f_to_device(p0.device())?, p0], 0)?,
                None => p0.shallow_clone(),
            };
            let len = all.size()[0];
            let keep = len.min(cap as i64);
            let kept = all.f_narrow(0, len - keep, keep)?.f_contiguous()?;
            let t = quantile(&kept, prior)?;
            *recent = Some(kept);
            Ok(t)
        })
    }

    /// The threshold is a quantile of recent predictions, this batch's among them.
    fn uses_batch_statistics(&self) -> bool {
        true
    }
}

w2s_core::register!(Objective {
    name: "logconf-buffered",
    description: "logconf with the threshold over a buffer of the student's recent predictions (linear warm-up)",
    params: LogConfBufferedParams,
    build: LogConfBuffered::new,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objectives::logconf::tests::{at, example};

    fn probs_to_logits(p0: &[f32]) -> Tensor {
        let v: Vec<f32> = p0.iter().flat_map(|&p| [p.ln(), (1.0 - p).ln()]).collect();
        Tensor::from_slice(&v).view([p0.len() as i64, 2])
    }

    #[test]
    fn threshold_over_the_buffer_known_answers() {
        let params = LogConfBufferedParams { buffer: 3, ..Default::default() };
        let mut l = LogConfBuffered::new(params).unwrap();
        // Batch 1 (logconf's own example): p0 = [0.8, 0.3], y = [[0.6, 0.4], [0.4, 0.6]], buffer
        // [0.8, 0.3] = the batch, so t = 0.55 and the answer is logconf's: ĥ = [[1,0],[0,1]], at
        // coef 0.5 target [[0.8, 0.2], [0.2, 0.8]]; loss = (0.5004024 + 0.5261345)/2 = 0.5132684.
        let (logits1, y1) = example();
        let got = l.loss(&logits1, &y1, at(0.5)).unwrap().double_value(&[]);
        assert!((got - 0.513_268_4).abs() < 1e-5, "{got}");
        // Batch 2: p0 = [0.7, 0.45], y = [[0.75, 0.25], [0.75, 0.25]] -> prior 0.25. The buffer keeps the
        // last 3 of [0.8, 0.3, 0.7, 0.45] = [0.3, 0.7, 0.45]; sorted [0.3, 0.45, 0.7], position
        // 0.25·2 = 0.5 -> t = 0.375. Both 0.7 and 0.45 are ≥ t: ĥ = [[1,0],[1,0]], target
        // 0.5·[0.75, 0.25] + 0.5·[1, 0] = [0.875, 0.125] for both rows.
        // row 0: 0.875·0.3566749 + 0.125·1.2039728 = 0.4625872 (-ln 0.7, -ln 0.3)
        // row 1: 0.875·0.7985077 + 0.125·0.5978370 = 0.7734238 (-ln 0.45, -ln 0.55)
        // loss = 0.6180055. (The batch alone would give t = 0.45 + 0.25·0.25 = 0.5125, ĥ row 1 = [0, 1],
        // row 1 target [0.375, 0.625] and loss (0.4625872 + 0.6730885)/2 = 0.5678379.)
        let y2 = Tensor::from_slice(&[0.75f32, 0.25, 0.75, 0.25]).view([2, 2]);
        let got = l.loss(&probs_to_logits(&[0.7, 0.45]), &y2, at(0.5)).unwrap().double_value(&[]);
        assert!((got - 0.618_005_5).abs() < 1e-5, "{got}");
        let kept = Vec::<f32>::try_from(l.recent.as_ref().unwrap()).unwrap();
        assert_eq!(kept.len(), 3);
        for (k, want) in kept.iter().zip([0.3, 0.7, 0.45]) {
            assert!((*k as f64 - want).abs() < 1e-6, "{kept:?}");
        }
    }

    #[test]
    fn nan_logits_give_a_nan_loss_not_a_panic_and_batch_statistics_are_declared() {
        let mut l = LogConfBuffered::new(LogConfBufferedParams { buffer: 4, ..Default::default() }).unwrap();
        assert!(l.uses_batch_statistics());
        let logits = Tensor::from_slice(&[0.1f32, 0.2, f32::NAN, 0.3, 0.5, 0.1]).view([3, 2]);
        let y = Tensor::from_slice(&[0.6f32, 0.4, 0.4, 0.6, 0.5, 0.5]).view([3, 2]);
        assert!(l.loss(&logits, &y, at(0.5)).unwrap().double_value(&[]).is_nan());
        // The NaN stays in the buffer: the next (finite) batch's threshold is NaN, still no panic.
        let (logits, y) = example();
        let _ = l.loss(&logits, &y, at(0.5)).unwrap().double_value(&[]);
        assert_eq!(l.recent.as_ref().unwrap().size(), [4]);
    }

    #[test]
    fn invalid_params_are_named() {
        let err = LogConfBufferedParams { buffer: 0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("buffer"), "{err}");
        let err = LogConfBufferedParams { warmup_frac: 1.5, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("warmup_frac"), "{err}");
    }
}
