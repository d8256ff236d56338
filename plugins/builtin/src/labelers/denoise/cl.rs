//! Confident learning (Northcutt, Jiang & Chuang 2021, "Confident Learning: Estimating
//! Uncertainty in Dataset Labels", JAIR 70), as pure functions of out-of-sample predicted
//! probabilities `pred[i][j]` and given (noisy) labels `labels[i]` over `k` classes. Follows
//! cleanlab (github.com/cleanlab/cleanlab, `cleanlab/count.py`: `get_confident_thresholds`,
//! `compute_confident_joint`, `calibrate_confident_joint`, `estimate_latent`;
//! `cleanlab/filter.py`: `find_label_issues` with its defaults `filter_by =
//! "prune_by_noise_rate"`, `frac_noise = 1`, `min_examples_per_class = 1`, and `_reduce_issues`;
//! `cleanlab/internal/util.py`: `round_preserving_row_totals`), step for step, with the same
//! constants (1e-6 for fuzzy comparisons, thresholds clipped to at least 2e-6, threshold 2 for a
//! class no example has). Deviation: ties in sorting (rounding remainders, pruning margins) go
//! to the lower index (numpy's default sort is not stable for long arrays).

use serde::{Deserialize, Serialize};

/// Fuzzy comparison of probabilities (cleanlab's `FLOATING_POINT_COMPARISON`).
const EPS: f64 = 1e-6;

/// Which examples are label issues.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilterBy {
    /// Per given class k and true class j ≠ k, the C[k][j] examples labelled k with the largest
    /// margin p_j − p_k (cleanlab's default).
    #[default]
    PruneByNoiseRate,
    /// The examples counted off the diagonal of the confident joint (cleanlab's
    /// `confident_learning`, also accepted).
    #[serde(alias = "confident_learning")]
    ConfidentJoint,
}

/// The per-class thresholds t_j: the mean predicted probability of class j over the examples
/// labelled j (2, above any probability, for a class no example has), at least 2e-6.
pub fn confident_thresholds(pred: &[Vec<f32>], labels: &[usize], k: usize) -> Vec<f64> {
    (0..k)
        .map(|j| {
            let own: Vec<f64> = (0..labels.len()).filter(|&i| labels[i] == j).map(|i| f64::from(pred[i][j])).collect();
            if own.is_empty() {
                2.0
            } else {
                (own.iter().sum::<f64>() / own.len() as f64).max(2.0 * EPS)
            }
        })
        .collect()
}

/// The class an example confidently belongs to: the one class whose probability reaches its
/// threshold, or the most probable of several (the first on ties); `None` if none reaches it.
fn confident_class(p: &[f32], t: &[f64]) -> Option<usize> {
    let over: Vec<usize> = (0..p.len()).filter(|&j| f64::from(p[j]) >= t[j] - EPS).collect();
    match over.len() {
        0 => None,
        1 => Some(over[0]),
        _ => Some(w2s_core::metrics::argmax(p)),
    }
}

/// The (uncalibrated) confident joint `C[given][true]`, its diagonal at least 1, and the indices
/// of the examples counted off its diagonal.
pub fn confident_joint(pred: &[Vec<f32>], labels: &[usize], k: usize) -> (Vec<Vec<i64>>, Vec<usize>) {
    let t = confident_thresholds(pred, labels, k);
    let mut c = vec![vec![0i64; k]; k];
    let mut off = Vec::new();
    for (i, (p, &given)) in pred.iter().zip(labels).enumerate() {
        if let Some(truth) = confident_class(p, &t) {
            c[given][truth] += 1;
            if truth != given {
                off.push(i);
            }
        }
    }
    for (j, row) in c.iter_mut().enumerate() {
        row[j] = row[j].max(1);
    }
    (c, off)
}

/// The number of examples given each class.
pub fn label_counts(labels: &[usize], k: usize) -> Vec<i64> {
    let mut n = vec![0i64; k];
    for &l in labels {
        n[l] += 1;
    }
    n
}

/// The confident joint calibrated so that row j sums to the number of examples labelled j (and
/// the whole to their number), rounded to counts preserving the row sums.
pub fn calibrate(c: &[Vec<i64>], labels: &[usize]) -> Vec<Vec<i64>> {
    let counts = label_counts(labels, c.len());
    let rows: Vec<Vec<f64>> = c
        .iter()
        .zip(&counts)
        .map(|(row, &n)| {
            let sum = (row.iter().sum::<i64>() as f64).max(1e-100);
            row.iter().map(|&x| x as f64 / sum * n as f64).collect()
        })
        .collect();
    let total = rows.iter().flatten().sum::<f64>().max(1e-100);
    let n: i64 = counts.iter().sum();
    rows.iter().map(|r| round_preserving_sum(&r.iter().map(|x| x / total * n as f64).collect::<Vec<_>>())).collect()
}

/// `floats` rounded to integers with the same (rounded) sum: the entries with the largest
/// remainders are rounded up (or, when the rounding overshoots, the smallest down).
pub fn round_preserving_sum(floats: &[f64]) -> Vec<i64> {
    let mut ints: Vec<f64> = floats.iter().map(|x| x.round_ties_even()).collect();
    let want = floats.iter().sum::<f64>().round_ties_even();
    let mut have = ints.iter().sum::<f64>().round_ties_even();
    while (have - want).abs() > EPS {
        let diff = (want - have).round_ties_even();
        let up = diff > 0.0;
        let changes = (diff.abs() as usize).min(floats.len());
        let mut order: Vec<usize> = (0..floats.len()).collect();
        let rem = |i: usize| floats[i] - ints[i];
        order.sort_by(|&a, &b| if up { rem(b).total_cmp(&rem(a)) } else { rem(a).total_cmp(&rem(b)) }.then(a.cmp(&b)));
        for &i in &order[..changes] {
            ints[i] += if up { 1.0 } else { -1.0 };
        }
        have = ints.iter().sum::<f64>().round_ties_even();
    }
    ints.iter().map(|&x| x as i64).collect()
}

/// cleanlab's `_keep_at_least_n_per_class` (`frac_noise` 1) on the calibrated joint `c`: the
/// prune counts `P[true][given]` (transposed), each diagonal at least `n`, what that adds taken
/// evenly from the column's nonzero off-diagonal counts (floored at 0), truncated to integers.
pub fn prune_counts(c: &[Vec<i64>], n: i64) -> Vec<Vec<i64>> {
    let k = c.len();
    let p: Vec<Vec<f64>> = (0..k).map(|r| (0..k).map(|col| c[col][r] as f64).collect()).collect();
    let mut out = vec![vec![0i64; k]; k];
    for col in 0..k {
        let diag = p[col][col];
        let new_diag = diag.max(n as f64);
        let nonzero = (0..k).filter(|&r| p[r][col] != 0.0).count() as f64;
        let per = (new_diag - diag) / (nonzero - 1.0).max(1.0);
        for r in 0..k {
            out[r][col] = if r == col { new_diag as i64 } else { (p[r][col] - per).max(0.0) as i64 };
        }
    }
    out
}

/// What [`find_label_issues`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct Issues {
    /// Whether each example's given label is an issue.
    pub mask: Vec<bool>,
    /// The confident joint before calibration.
    pub raw_joint: Vec<Vec<i64>>,
    /// The calibrated confident joint `C[given][true]`, an estimate of the joint counts.
    pub joint: Vec<Vec<i64>>,
}

impl Issues {
    /// The estimated noise matrix `P(given = i | true = j)`: the calibrated joint's columns
    /// normalised (cleanlab's `estimate_latent`, before its clipping of noise rates).
    pub fn noise_matrix(&self) -> Vec<Vec<f64>> {
        let k = self.joint.len();
        let col: Vec<f64> = (0..k).map(|j| (0..k).map(|i| self.joint[i][j] as f64).sum::<f64>().max(1e-100)).collect();
        self.joint.iter().map(|row| row.iter().zip(&col).map(|(&x, &s)| x as f64 / s).collect()).collect()
    }
}

/// Label issues as cleanlab's `find_label_issues(labels, pred_probs, filter_by=...)` finds them,
/// with `min_examples_per_class = 1` and `frac_noise = 1`.
pub fn find_label_issues(pred: &[Vec<f32>], labels: &[usize], k: usize, filter_by: FilterBy) -> Issues {
    let (raw_joint, off) = confident_joint(pred, labels, k);
    let joint = calibrate(&raw_joint, labels);
    let mut mask = vec![false; labels.len()];
    match filter_by {
        FilterBy::ConfidentJoint => off.iter().for_each(|&i| mask[i] = true),
        FilterBy::PruneByNoiseRate => {
            let prune = prune_counts(&joint, 1);
            for given in 0..k {
                let members: Vec<usize> = (0..labels.len()).filter(|&i| labels[i] == given).collect();
                if members.len() <= 1 {
                    tracing::warn!("class {given} has too few examples: its label issues may not all be found");
                    continue;
                }
                for truth in (0..k).filter(|&j| j != given) {
                    let take = prune[truth][given].max(0) as usize;
                    let margin = |i: usize| f64::from(pred[i][truth]) - f64::from(pred[i][given]);
                    let mut order = members.clone();
                    order.sort_by(|&a, &b| margin(b).total_cmp(&margin(a)).then(a.cmp(&b)));
                    order.iter().take(take).for_each(|&i| mask[i] = true);
                }
            }
        }
    }
    // Not an issue when the given label is (within 1e-6 of) the most probable class.
    for (i, m) in mask.iter_mut().enumerate() {
        let mut p: Vec<f64> = pred[i].iter().map(|&x| f64::from(x)).collect();
        p[labels[i]] += EPS;
        let top = (0..k).fold(0, |best, j| if p[j] > p[best] { j } else { best });
        if top == labels[i] {
            *m = false;
        }
    }
    Issues { mask, raw_joint, joint }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A worked example, checked against cleanlab 2.9.0 (a one-off run, not part of CI):
    /// ```python
    /// from cleanlab.count import compute_confident_joint, get_confident_thresholds
    /// from cleanlab.filter import find_label_issues
    /// get_confident_thresholds(labels, pred)            # [0.54, 0.6125, 0.49166667]
    /// compute_confident_joint(labels, pred, calibrate=False)  # [[3,1,1],[1,2,0],[0,1,3]]
    /// compute_confident_joint(labels, pred)             # [[3,1,1],[1,3,0],[0,2,4]]
    /// find_label_issues(labels, pred, n_jobs=1)         # issues at [3, 4, 8, 12, 13]
    /// find_label_issues(labels, pred, filter_by="confident_learning")  # [3, 4, 8, 13]
    /// ```
    /// By hand: t_0 = (.9+.8+.7+.1+.2)/5 = .54, t_1 = (.8+.9+.6+.15)/4 = .6125, t_2 =
    /// (.8+.9+.6+.15+.2+.3)/6 = .4917. Examples 7 (.6 < t_1), 12 and 14 reach no threshold and
    /// are not counted. Row 2 of the raw joint, [0, 1, 3], is scaled to the 6 examples labelled 2:
    /// [0, 1.5, 4.5], rounded [0, 2, 4] (half to even, sum kept); row 1, [1, 2, 0] → 4/3 · it =
    /// [1.33, 2.67, 0] → [1, 3, 0]. Pruning by noise rate then flags, among the examples labelled
    /// 2, the C[2][1] = 2 with the largest p_1 − p_2: 13 (.5) and 12 (.3); 12 is not confidently
    /// class 1, so only `prune_by_noise_rate` finds it.
    fn worked_example() -> (Vec<Vec<f32>>, Vec<usize>) {
        let labels = vec![0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 2, 2];
        let pred = [
            [0.90, 0.05, 0.05],
            [0.80, 0.10, 0.10],
            [0.70, 0.20, 0.10],
            [0.10, 0.85, 0.05],
            [0.20, 0.10, 0.70],
            [0.10, 0.80, 0.10],
            [0.05, 0.90, 0.05],
            [0.30, 0.60, 0.10],
            [0.75, 0.15, 0.10],
            [0.10, 0.10, 0.80],
            [0.05, 0.05, 0.90],
            [0.20, 0.20, 0.60],
            [0.40, 0.45, 0.15],
            [0.10, 0.70, 0.20],
            [0.30, 0.40, 0.30],
        ];
        (pred.iter().map(|r| r.to_vec()).collect(), labels)
    }

    fn flagged(i: &Issues) -> Vec<usize> {
        (0..i.mask.len()).filter(|&j| i.mask[j]).collect()
    }

    #[test]
    fn reproduces_cleanlab_on_a_worked_example() {
        let (pred, labels) = worked_example();
        let t = confident_thresholds(&pred, &labels, 3);
        for (got, want) in t.iter().zip([0.54, 0.6125, 0.491_666_67]) {
            assert!((got - want).abs() < 1e-6, "{t:?}");
        }
        let (raw, off) = confident_joint(&pred, &labels, 3);
        assert_eq!(raw, vec![vec![3, 1, 1], vec![1, 2, 0], vec![0, 1, 3]]);
        assert_eq!(off, vec![3, 4, 8, 13]);
        assert_eq!(calibrate(&raw, &labels), vec![vec![3, 1, 1], vec![1, 3, 0], vec![0, 2, 4]]);
        let issues = find_label_issues(&pred, &labels, 3, FilterBy::PruneByNoiseRate);
        assert_eq!(flagged(&issues), vec![3, 4, 8, 12, 13]);
        assert_eq!(issues.joint, vec![vec![3, 1, 1], vec![1, 3, 0], vec![0, 2, 4]]);
        assert_eq!(flagged(&find_label_issues(&pred, &labels, 3, FilterBy::ConfidentJoint)), vec![3, 4, 8, 13]);
        let nm = issues.noise_matrix();
        assert!((nm[2][1] - 2.0 / 6.0).abs() < 1e-12 && (nm[1][1] - 0.5).abs() < 1e-12, "{nm:?}");
    }

    #[test]
    fn rounding_keeps_sums_and_the_diagonal_is_at_least_one() {
        assert_eq!(round_preserving_sum(&[1.5, 4.5, 0.0]), vec![2, 4, 0]);
        // Ties in remainder go to the lower index (numpy's unstable sort picked index 2 here).
        assert_eq!(round_preserving_sum(&[0.4, 0.4, 0.4, 0.8]), vec![1, 0, 0, 1]);
        assert_eq!(round_preserving_sum(&[0.6, 0.6, 0.8]), vec![0, 1, 1]);
        // A class no example is given (threshold 2) still gets one on its diagonal; example 1
        // reaches no threshold (.8 < t_0 = .85).
        let pred = vec![vec![0.9, 0.05, 0.05], vec![0.8, 0.1, 0.1], vec![0.2, 0.7, 0.1]];
        assert_eq!(confident_thresholds(&pred, &[0, 0, 1], 3)[2], 2.0);
        let (raw, _) = confident_joint(&pred, &[0, 0, 1], 3);
        assert_eq!(raw, vec![vec![1, 0, 0], vec![0, 1, 0], vec![0, 0, 1]]);
        // Prune counts: a zero diagonal raised to 1, the excess taken from its column's off-diagonals.
        assert_eq!(prune_counts(&[vec![0, 3], vec![2, 5]], 1), vec![vec![1, 2], vec![2, 5]]);
    }
}
