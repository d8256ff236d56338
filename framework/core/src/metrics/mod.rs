//! The metrics of the protocol: accuracy with its standard error, performance gap recovered
//! (PGR) with its bootstrap interval, and agreement between student and supervisor; AUROC
//! ([`auroc`]), calibration ([`calibration`]), and misfit and gain ([`misfit`]).

pub mod auroc;
pub mod bootstrap;
pub mod calibration;
pub mod misfit;

/// Index of the largest probability (the first one on ties).
pub fn argmax(p: &[f32]) -> usize {
    let mut best = 0;
    for (i, &v) in p.iter().enumerate() {
        if v > p[best] {
            best = i;
        }
    }
    best
}

/// Accuracy of predictions against labels, with its binomial standard error sqrt(a(1-a)/n).
/// NaN for an empty set.
/// Predictions and labels of different lengths are a caller's bug: the result is NaN (and logged),
/// never a panic that would take other runs down with it.
pub fn accuracy(preds: &[usize], labels: &[usize]) -> (f64, f64) {
    if preds.len() != labels.len() {
        tracing::error!("accuracy of {} predictions against {} labels is undefined", preds.len(), labels.len());
        return (f64::NAN, f64::NAN);
    }
    if preds.is_empty() {
        return (f64::NAN, f64::NAN);
    }
    let n = preds.len() as f64;
    let acc = preds.iter().zip(labels).filter(|(p, l)| p == l).count() as f64 / n;
    (acc, (acc * (1.0 - acc) / n).sqrt())
}

/// PGR = (w2s − weak) / (strong − weak). Undefined (NaN, with the reason) when strong ≤ weak.
pub fn pgr(weak: f64, strong: f64, w2s: f64) -> (f64, Option<String>) {
    if !(weak.is_finite() && strong.is_finite() && w2s.is_finite()) {
        return (f64::NAN, Some("an accuracy is undefined".into()));
    }
    if strong <= weak {
        return (
            f64::NAN,
            Some(format!("strong ceiling {strong:.4} is not above the weak supervisor {weak:.4}: no gap to recover")),
        );
    }
    ((w2s - weak) / (strong - weak), None)
}

/// Whether the gap strong − weak is resolved: larger than `z` standard errors of the difference,
/// sqrt(se_weak² + se_strong²) (both binomial, on the same test set; their covariance is ignored,
/// which overstates the error when the two models err on the same examples). PGR over an
/// unresolved gap divides by noise.
pub fn gap_is_resolved(weak: f64, weak_se: f64, strong: f64, strong_se: f64, z: f64) -> bool {
    (strong - weak) > z * gap_se(weak_se, strong_se)
}

/// Standard error of the gap strong − weak from the two accuracies' errors (see
/// [`gap_is_resolved`] for what it ignores).
pub fn gap_se(weak_se: f64, strong_se: f64) -> f64 {
    (weak_se * weak_se + strong_se * strong_se).sqrt()
}

/// Agreement of student and supervisor: overall, where the supervisor is right, where it is wrong.
/// A part with no examples is NaN.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Agreement {
    pub all: f64,
    pub weak_correct: f64,
    pub weak_wrong: f64,
}

pub fn agreement(student: &[usize], supervisor: &[usize], labels: &[usize]) -> Agreement {
    if student.len() != labels.len() || supervisor.len() != labels.len() {
        tracing::error!(
            "agreement of lists of {}, {} and {} is undefined",
            student.len(),
            supervisor.len(),
            labels.len()
        );
        return Agreement { all: f64::NAN, weak_correct: f64::NAN, weak_wrong: f64::NAN };
    }
    let frac = |pick: &dyn Fn(usize) -> bool| {
        let idx: Vec<usize> = (0..labels.len()).filter(|&i| pick(i)).collect();
        if idx.is_empty() {
            f64::NAN
        } else {
            idx.iter().filter(|&&i| student[i] == supervisor[i]).count() as f64 / idx.len() as f64
        }
    };
    Agreement {
        all: frac(&|_| true),
        weak_correct: frac(&|i| supervisor[i] == labels[i]),
        weak_wrong: frac(&|i| supervisor[i] != labels[i]),
    }
}

/// Median of the finite values (NaN if none).
pub fn median(values: &[f64]) -> f64 {
    let mut v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        return f64::NAN;
    }
    v.sort_by(|a, b| a.partial_cmp(b).unwrap());
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// Mean of the finite values (NaN if none).
pub fn mean(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.is_empty() {
        f64::NAN
    } else {
        v.iter().sum::<f64>() / v.len() as f64
    }
}

/// Standard error of the mean of the finite values, sd/√n with the n − 1 sample variance (NaN
/// for fewer than two).
pub fn standard_error(values: &[f64]) -> f64 {
    let v: Vec<f64> = values.iter().copied().filter(|x| x.is_finite()).collect();
    if v.len() < 2 {
        return f64::NAN;
    }
    let m = mean(&v);
    let var = v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / (v.len() - 1) as f64;
    (var / v.len() as f64).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_error_known_answer() {
        // [1, 2, 3]: sample variance 1, se = 1/√3.
        assert!((standard_error(&[1.0, 2.0, 3.0]) - 1.0 / 3f64.sqrt()).abs() < 1e-12);
        assert!(standard_error(&[1.0]).is_nan());
    }

    #[test]
    fn pgr_known_answers() {
        // (0.70 - 0.60) / (0.90 - 0.60) = 1/3
        let (p, why) = pgr(0.60, 0.90, 0.70);
        assert!((p - 1.0 / 3.0).abs() < 1e-12 && why.is_none());
        assert_eq!(pgr(0.6, 0.9, 0.9).0, 1.0);
        assert!((pgr(0.6, 0.9, 0.57).0 + 0.1).abs() < 1e-12, "below weak is negative");
        let (p, why) = pgr(0.8, 0.8, 0.9);
        assert!(p.is_nan() && why.unwrap().contains("not above"));
        assert!(pgr(0.8, 0.7, 0.9).0.is_nan());
    }

    #[test]
    fn accuracy_and_se() {
        let (a, se) = accuracy(&[1, 0, 1, 1], &[1, 1, 1, 0]);
        assert_eq!(a, 0.5);
        assert!((se - 0.25).abs() < 1e-12); // sqrt(0.25/4)
        assert!(accuracy(&[], &[]).0.is_nan());
    }

    #[test]
    fn agreement_known_answer() {
        let labels = [0, 0, 1, 1, 1];
        let weak = [0, 1, 1, 0, 1]; // right on 0, 2, 4; wrong on 1, 3
        let student = [0, 1, 0, 1, 1]; // agrees with weak on 0, 1, 4
        let a = agreement(&student, &weak, &labels);
        assert!((a.all - 0.6).abs() < 1e-12);
        assert!((a.weak_correct - 2.0 / 3.0).abs() < 1e-12);
        assert!((a.weak_wrong - 0.5).abs() < 1e-12);
        assert!(gap_is_resolved(0.6, 0.02, 0.8, 0.02, 2.0), "0.2 over an SE of 0.028");
        assert!(!gap_is_resolved(0.6, 0.05, 0.7, 0.05, 2.0), "0.1 within 2 SE (0.141)");
        let perfect = agreement(&[0, 1], &[0, 1], &[0, 1]);
        assert!(perfect.weak_wrong.is_nan(), "no supervisor mistakes: undefined, not 0");
    }

    #[test]
    fn median_and_argmax() {
        assert_eq!(median(&[3.0, f64::NAN, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[1.0, 2.0]), 1.5);
        assert!(median(&[f64::NAN]).is_nan());
        assert_eq!(argmax(&[0.2, 0.5, 0.3]), 1);
    }
}
