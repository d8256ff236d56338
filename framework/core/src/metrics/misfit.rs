//! Misfit and gain (Charikar, Pabbaraju & Shiragur 2024, "Quantifying the Gain in
//! Weak-to-Strong Generalization", Theorem 1): with squared loss, when the strong model's
//! function class is convex, the student's gain over its weak supervisor is at least its misfit:
//! d(f_sw, f*) ≤ d(f_w, f*) − d(f_sw, f_w), i.e. gain = err(weak) − err(student) ≥ d(student,
//! weak). Here, on class-probability vectors:
//! - squared distance d(p, q) = mean_i Σ_c (p_ic − q_ic)² and squared error = d(p, one-hot labels)
//!   (the Brier score), so that gain and misfit are in the same units and the relation can be
//!   checked across a sweep;
//! - the cross-entropy form of misfit, mean_i KL(weak_i ‖ student_i) (the paper's Section 5 uses
//!   the KL divergence for classification).
//!
//! Deviation: the paper states gain in the loss the student is trained with; w2s trains with
//! cross-entropy (or another objective) and reports the squared form beside it, so the inequality
//! is a measured relation here, not a theorem.

/// Mean squared distance between two lists of distributions; NaN when empty or mismatched.
pub fn squared_distance(p: &[Vec<f32>], q: &[Vec<f32>]) -> f64 {
    if p.is_empty() || p.len() != q.len() || p.iter().zip(q).any(|(a, b)| a.len() != b.len()) {
        return f64::NAN;
    }
    let total: f64 =
        p.iter().zip(q).map(|(a, b)| a.iter().zip(b).map(|(x, y)| ((x - y) as f64).powi(2)).sum::<f64>()).sum();
    total / p.len() as f64
}

/// The Brier score: the squared distance of the distributions from the one-hot labels.
pub fn squared_error(p: &[Vec<f32>], labels: &[usize]) -> f64 {
    if labels.len() != p.len() {
        return f64::NAN;
    }
    let one_hot: Vec<Vec<f32>> = p
        .iter()
        .zip(labels)
        .map(|(row, &l)| (0..row.len()).map(|c| if c == l { 1.0 } else { 0.0 }).collect())
        .collect();
    squared_distance(p, &one_hot)
}

/// Mean KL(weak_i ‖ student_i) (0·ln 0 = 0; student probabilities floored at 1e-12); NaN when
/// empty or mismatched.
pub fn kl_misfit(weak: &[Vec<f32>], student: &[Vec<f32>]) -> f64 {
    if weak.is_empty() || weak.len() != student.len() || weak.iter().zip(student).any(|(a, b)| a.len() != b.len()) {
        return f64::NAN;
    }
    let total: f64 = weak
        .iter()
        .zip(student)
        .map(|(w, s)| {
            w.iter()
                .zip(s)
                .filter(|(&wc, _)| wc > 0.0)
                .map(|(&wc, &sc)| wc as f64 * ((wc as f64).ln() - (sc as f64).max(1e-12).ln()))
                .sum::<f64>()
        })
        .sum();
    total / weak.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_answers() {
        let weak = vec![vec![0.5, 0.5], vec![1.0, 0.0]];
        let student = vec![vec![0.25, 0.75], vec![1.0, 0.0]];
        // (0.25² + 0.25²) / 2 examples = 0.0625.
        assert!((squared_distance(&weak, &student) - 0.0625).abs() < 1e-9);
        // Brier of the student against labels [1, 0]: (0.25² + 0.25²) / 2 = 0.0625.
        assert!((squared_error(&student, &[1, 0]) - 0.0625).abs() < 1e-9);
        // KL(½,½ ‖ ¼,¾) = ½ ln(½/¼) + ½ ln(½/¾) = ½ ln 2 + ½ ln(2/3); the second row is 0.
        let kl = 0.5 * (0.5 * 2f64.ln() + 0.5 * (2.0f64 / 3.0).ln());
        assert!((kl_misfit(&weak, &student) - kl).abs() < 1e-6, "{}", kl_misfit(&weak, &student));
        assert_eq!(kl_misfit(&student, &student), 0.0);
        assert!(kl_misfit(&[], &[]).is_nan() && squared_distance(&weak, &weak[..1]).is_nan());
    }

    #[test]
    fn projection_onto_a_convex_set_gains_at_least_its_misfit() {
        // Charikar et al.'s picture in one dimension: the target f* = 1 (label 1 of 2 classes),
        // the weak model says 0.3; the student class is the convex set p(1) in [0.6, 1.0], and the
        // student fitted to the weak labels is its projection, 0.6. Gain = err(weak) − err(student)
        // ≥ misfit = d(student, weak), with equality only when f* is the projection's endpoint.
        let row = |p1: f32| vec![1.0 - p1, p1];
        let (weak, student) = (vec![row(0.3)], vec![row(0.6)]);
        let gain = squared_error(&weak, &[1]) - squared_error(&student, &[1]);
        let misfit = squared_distance(&student, &weak);
        assert!(gain >= misfit - 1e-9, "gain {gain} misfit {misfit}");
    }
}
