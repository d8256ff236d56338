//! Expected calibration error (Guo et al. 2017, "On Calibration of Modern Neural Networks",
//! eq. 3): the test set binned by confidence (the largest class probability) into equal-width
//! bins; ECE = Σ_b (n_b / n) · |accuracy_b − mean confidence_b|.

use super::argmax;

/// The number of equal-width confidence bins (Guo et al. use 15; 10 is also common; fixed here
/// so that every run's ECE is comparable).
pub const ECE_BINS: usize = 10;

/// ECE of class probabilities against labels over [`ECE_BINS`] bins; NaN for an empty set.
pub fn expected_calibration_error(probs: &[Vec<f32>], labels: &[usize]) -> f64 {
    if probs.is_empty() || probs.len() != labels.len() {
        return f64::NAN;
    }
    let mut count = [0usize; ECE_BINS];
    let mut correct = [0.0f64; ECE_BINS];
    let mut confidence = [0.0f64; ECE_BINS];
    for (p, &label) in probs.iter().zip(labels) {
        let top = argmax(p);
        let c = p.get(top).copied().unwrap_or(0.0) as f64;
        // Bin b holds confidences in (b/B, (b+1)/B]; a confidence of 0 goes to the first bin.
        let bin = ((c * ECE_BINS as f64).ceil() as usize).clamp(1, ECE_BINS) - 1;
        count[bin] += 1;
        correct[bin] += (top == label) as usize as f64;
        confidence[bin] += c;
    }
    let n = probs.len() as f64;
    (0..ECE_BINS)
        .filter(|&b| count[b] > 0)
        .map(|b| {
            let m = count[b] as f64;
            (m / n) * (correct[b] / m - confidence[b] / m).abs()
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answer() {
        // Bin (0.9, 1.0]: confidences 0.95 and 0.95, one right: |0.5 - 0.95| = 0.45, weight 2/4.
        // Bin (0.6, 0.7]: confidences 0.65 and 0.65, both right: |1 - 0.65| = 0.35, weight 2/4.
        // ECE = 0.5 · 0.45 + 0.5 · 0.35 = 0.40.
        let probs = vec![vec![0.95, 0.05], vec![0.05, 0.95], vec![0.65, 0.35], vec![0.35, 0.65]];
        let ece = expected_calibration_error(&probs, &[0, 0, 0, 1]);
        assert!((ece - 0.40).abs() < 1e-6, "{ece}");
    }

    #[test]
    fn calibrated_predictions_have_zero_error() {
        // Confidence 0.75 and right 3 times in 4: perfectly calibrated.
        let probs = vec![vec![0.75, 0.25]; 4];
        let ece = expected_calibration_error(&probs, &[0, 0, 0, 1]);
        assert!(ece.abs() < 1e-6, "{ece}");
        assert!(expected_calibration_error(&[], &[]).is_nan());
    }
}
