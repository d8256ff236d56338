//! A bootstrap confidence interval of PGR over test examples (Efron's percentile bootstrap): the
//! test set is resampled with replacement, the three accuracies and PGR recomputed on each
//! resample (the weak, ceiling and student predictions of one example stay together, so their
//! correlation is kept), and the 2.5th and 97.5th percentiles of the defined PGRs reported.

use crate::rng;

use super::pgr;

/// Resamples drawn for the interval.
pub const RESAMPLES: usize = 1000;

/// The 95% percentile-bootstrap interval of PGR from per-example correctness of the weak
/// supervisor, the ceiling and the student on the test set, seeded by `seed`. NaN bounds when
/// fewer than half of the resamples give a defined PGR (a gap that vanishes under resampling).
pub fn pgr_interval(weak_right: &[bool], strong_right: &[bool], student_right: &[bool], seed: u64) -> (f64, f64) {
    let n = weak_right.len();
    if n == 0 || strong_right.len() != n || student_right.len() != n {
        return (f64::NAN, f64::NAN);
    }
    let mut rng = rng::Rng::new(seed, "pgr-bootstrap");
    let mut draws = Vec::with_capacity(RESAMPLES);
    for _ in 0..RESAMPLES {
        let (mut w, mut s, mut t) = (0usize, 0usize, 0usize);
        for _ in 0..n {
            let i = rng.below(n);
            w += weak_right[i] as usize;
            s += strong_right[i] as usize;
            t += student_right[i] as usize;
        }
        let (p, _) = pgr(w as f64 / n as f64, s as f64 / n as f64, t as f64 / n as f64);
        if p.is_finite() {
            draws.push(p);
        }
    }
    if draws.len() * 2 < RESAMPLES {
        return (f64::NAN, f64::NAN);
    }
    draws.sort_by(f64::total_cmp);
    let at = |q: f64| draws[((q * (draws.len() - 1) as f64).round() as usize).min(draws.len() - 1)];
    (at(0.025), at(0.975))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_interval_holds_the_point_estimate_and_narrows_with_more_examples() {
        // weak right on 60%, ceiling on 90%, student on 75% of the examples: PGR 0.5.
        let make = |n: usize| {
            let weak: Vec<bool> = (0..n).map(|i| i % 10 < 6).collect();
            let strong: Vec<bool> = (0..n).map(|i| i % 10 < 9).collect();
            let student: Vec<bool> = (0..n).map(|i| i % 20 < 15).collect();
            (weak, strong, student)
        };
        let (w, s, t) = make(200);
        let (lo, hi) = pgr_interval(&w, &s, &t, 0);
        assert!(lo < 0.5 && 0.5 < hi, "[{lo}, {hi}]");
        let (w, s, t) = make(2000);
        let (lo2, hi2) = pgr_interval(&w, &s, &t, 0);
        assert!(lo2 < 0.5 && 0.5 < hi2 && hi2 - lo2 < 0.6 * (hi - lo), "[{lo2}, {hi2}] vs [{lo}, {hi}]");
        assert_eq!(pgr_interval(&w, &s, &t, 0), (lo2, hi2), "seeded");
    }

    #[test]
    fn no_gap_gives_no_interval() {
        let same = vec![true, false, true, false];
        let (lo, hi) = pgr_interval(&same, &same, &same, 0);
        assert!(lo.is_nan() && hi.is_nan());
        assert!(pgr_interval(&[], &[], &[], 0).0.is_nan());
    }
}
