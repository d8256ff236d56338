//! Combining the ensemble members' labels (`mean`, `vote`, `agreement`).
//!
//! ## Learned weights (`agreement`)
//!
//! This follows RAVEN (Jeon, Sobotka, Choi, Brbić, "Weak-to-Strong Generalization under
//! Distribution Shifts", NeurIPS 2025; github.com/mlbio-epfl/raven, `rw2s/vision/ensemble.py`,
//! `Ensemble.combine_logits` and `Ensemble.ensemble_weights_update_callback`) in its form: one
//! weight per member for all examples (`ensemble_weights_per_n_samples = 1`), on the simplex,
//! mixing the members' soft labels into a distribution (`treat_as_probas`), and larger for the
//! members that agree with a reference. In RAVEN the reference is the strong student, trained on
//! the mixture at the same time: the gradient of its cross-entropy against `Σ_m w_m y_m` with
//! respect to `w_m` is its cross-entropy against member `m` alone, so SGD on the weights (from
//! uniform, clamped at 1e-6 and renormalized after every step) favours the members the student
//! agrees with.
//!
//! A labeler runs before any student exists, so here the reference is the other members, and the
//! weights come from a model of their agreement instead of SGD. Under the "one-coin" model of
//! Dawid and Skene (1979) (member `m` gives the true class with probability `p_m`, otherwise one
//! of the other `k − 1` classes uniformly, members independent given the class), two members
//! agree with probability `p_a p_b + (1 − p_a)(1 − p_b)/(k − 1)`, whatever the class priors; so
//! with the skill `δ_m = (k p_m − 1)/(k − 1)` (0 at chance, 1 when always right) the rescaled
//! agreement rates form a rank-one matrix off the diagonal, `g_ab = δ_a δ_b`, as Parisi, Strino,
//! Nadler and Kluger ("Ranking and combining multiple predictors without labeled data", PNAS
//! 2014) use for two classes. Over the `n` examples of B that every member keeps (test labels are
//! not used), with `ŷ_im = argmax y_im` a member's hard label:
//!
//! ```text
//! g_ab = (k A_ab − 1)/(k − 1),  A_ab = #{i : ŷ_ia = ŷ_ib} / n        (every pair a ≠ b)
//! δ    = argmin Σ_{a<b} (g_ab − δ_a δ_b)²  over δ_m ∈ [−1/(k − 1), 1]:
//!          start δ_m = sqrt(clamp(mean_{b≠m} g_mb, 0, 1)), then at most `iterations` rounds of
//!          δ_m ← clamp(Σ_{b≠m} g_mb δ_b / Σ_{b≠m} δ_b²) for m = 0..M (each the exact minimiser
//!          in δ_m, so the fit never gets worse), stopping once no δ_m moves by 1e-9
//! p_m  = (1 + (k − 1) δ_m)/k, clamped to [1/(n + 2), (n + 1)/(n + 2)]
//! w_m  = max(0, v_m) / Σ_m' max(0, v_m'),  v_m = ln((k − 1) p_m / (1 − p_m))
//! ```
//!
//! `v_m` is the weight the best weighted vote gives member `m` under the model (Nitzan and
//! Paroush 1982, for two classes); the weights are uniform if every `v_m ≤ 0`. Each member is
//! scored only by its agreement with the others (the diagonal is left out), so none gains by
//! agreeing with itself. Deviations: no student in the loop and no learning rate (RAVEN); a
//! member at or below chance (`p_m ≤ 1/k`) gets weight 0, not RAVEN's floor of 1e-6; hard labels,
//! `k` classes and a least-squares fit where Parisi et al. take the leading eigenvector for two.
//! Members whose errors are correlated (the same weak model twice, a member derived from
//! others, systematic `flip`s) break the independence the model assumes and are overrated. With
//! two members only the product `δ_0 δ_1` is known: both get the same weight, so `agreement`
//! equals `mean`; telling which of two supervisors is right needs a third. The estimated
//! accuracies `p_m` and the weights are logged.

use std::cmp::Ordering;

use w2s_core::{metrics::argmax, rng, WeakLabels};

use super::Combine;
use crate::labelers::soft_one_hot;

/// What [`combine`] returns: the labels, and the weights of the members (`agreement`: learned;
/// `mean`: uniform; `vote`: none) with, for `agreement`, the members' estimated accuracies and
/// the rounds of the fit it took.
#[derive(Debug, Clone, PartialEq)]
pub struct Combined {
    pub labels: WeakLabels,
    pub weights: Option<Vec<f64>>,
    pub accuracy: Option<Vec<f64>>,
    pub rounds: usize,
}

/// Tie-breaking keys of the examples of B and of the test set.
pub struct Ties<'a> {
    pub b: &'a [u64],
    pub test: &'a [u64],
}

/// The class with the largest score; equal scores go to the class with the smaller hash of
/// (`tie`, class).
fn top_class(k: usize, tie: u64, better: impl Fn(usize, usize) -> Ordering) -> usize {
    let hash = |c: usize| rng::key(tie, "ensemble-class", c as u64);
    (1..k).fold(0, |best, c| match better(c, best) {
        Ordering::Greater => c,
        Ordering::Equal if hash(c) < hash(best) => c,
        _ => best,
    })
}

/// Check that every member labelled every example of B and of the test set over `k` classes;
/// an error names the member.
fn check_shapes(members: &[WeakLabels], names: &[String], k: usize) -> anyhow::Result<()> {
    let (n_b, n_test) = members.first().map_or((0, 0), |m| (m.b.len(), m.test.len()));
    for (m, wl) in members.iter().enumerate() {
        let name = || format!("members[{m}] ({})", names.get(m).map_or("?", |s| s.as_str()));
        anyhow::ensure!(
            wl.b.len() == n_b && wl.keep.len() == n_b && wl.test.len() == n_test,
            "{}: labelled {} examples of B (keep: {}) and {} test examples, but members[0] labelled {n_b} and {n_test}",
            name(),
            wl.b.len(),
            wl.keep.len(),
            wl.test.len()
        );
        if let Some(row) = wl.b.iter().chain(&wl.test).find(|row| row.len() != k) {
            anyhow::bail!(
                "{}: gives label distributions over {} classes, but the task has {k}: the members' labels must \
                 agree on the number of classes",
                name(),
                row.len()
            );
        }
    }
    Ok(())
}

/// Combine the members' labels (`names` for messages; `k` classes). The keep of the result is
/// the examples every member keeps.
pub fn combine(
    members: &[WeakLabels],
    names: &[String],
    k: usize,
    how: Combine,
    iterations: usize,
    ties: &Ties<'_>,
) -> anyhow::Result<Combined> {
    anyhow::ensure!(members.len() >= 2, "parameter `members`: expected at least 2 labelers, found {}", members.len());
    check_shapes(members, names, k)?;
    let n_b = members[0].b.len();
    anyhow::ensure!(ties.b.len() == n_b && ties.test.len() == members[0].test.len(), "one tie key per example");
    let keep: Vec<bool> = (0..n_b).map(|i| members.iter().all(|m| m.keep[i])).collect();
    let uniform = vec![1.0 / members.len() as f64; members.len()];
    let (weights, accuracy, rounds) = match how {
        Combine::Mean => (Some(uniform), None, 0),
        Combine::Vote => (None, None, 0),
        Combine::Agreement => {
            let (w, a, rounds) = agreement_weights(members, &keep, k, iterations)?;
            (Some(w), Some(a), rounds)
        }
    };
    let rows = |split: fn(&WeakLabels) -> &Vec<Vec<f32>>, keys: &[u64]| -> Vec<Vec<f32>> {
        (0..split(&members[0]).len())
            .map(|i| match &weights {
                Some(w) => mix(members.iter().map(|m| &split(m)[i][..]), w, k),
                None => soft_one_hot(vote(members.iter().map(|m| &split(m)[i][..]), k, keys[i]), k, 1.0),
            })
            .collect()
    };
    let labels = WeakLabels { b: rows(|m| &m.b, ties.b), test: rows(|m| &m.test, ties.test), keep };
    Ok(Combined { labels, weights, accuracy, rounds })
}

/// `Σ_m w_m p_m`.
fn mix<'p>(rows: impl Iterator<Item = &'p [f32]>, w: &[f64], k: usize) -> Vec<f32> {
    let mut out = vec![0.0f64; k];
    for (p, &wm) in rows.zip(w) {
        for (o, &x) in out.iter_mut().zip(p) {
            *o += wm * f64::from(x);
        }
    }
    out.into_iter().map(|x| x as f32).collect()
}

/// The class most members put first; ties by summed probability, then by the hash of `tie`.
fn vote<'p>(rows: impl Iterator<Item = &'p [f32]>, k: usize, tie: u64) -> usize {
    let (mut votes, mut mass) = (vec![0usize; k], vec![0.0f64; k]);
    for p in rows {
        if let Some(v) = votes.get_mut(argmax(p)) {
            *v += 1;
        }
        for (s, &x) in mass.iter_mut().zip(p) {
            *s += f64::from(x);
        }
    }
    top_class(k, tie, |c, d| votes[c].cmp(&votes[d]).then(mass[c].total_cmp(&mass[d])))
}

/// The learned weights (see the module header), the members' estimated accuracies `p_m` and the
/// number of rounds of the fit, over the examples of B that `keep` marks.
fn agreement_weights(
    members: &[WeakLabels],
    keep: &[bool],
    k: usize,
    iterations: usize,
) -> anyhow::Result<(Vec<f64>, Vec<f64>, usize)> {
    let n_members = members.len();
    let rows: Vec<usize> = (0..keep.len()).filter(|&i| keep[i]).collect();
    anyhow::ensure!(
        !rows.is_empty(),
        "`combine: agreement`: no example of B is kept by every member, so there is no agreement to learn weights from"
    );
    let kf = k.max(2) as f64;
    let n = rows.len() as f64;
    let votes: Vec<Vec<usize>> = members.iter().map(|m| rows.iter().map(|&i| argmax(&m.b[i])).collect()).collect();
    // Rescaled agreement rates g_ab (the diagonal is never read).
    let g: Vec<Vec<f64>> = (0..n_members)
        .map(|a| {
            (0..n_members)
                .map(|b| {
                    let agree = votes[a].iter().zip(&votes[b]).filter(|(x, y)| x == y).count() as f64;
                    (kf * agree / n - 1.0) / (kf - 1.0)
                })
                .collect()
        })
        .collect();
    let others = |m: usize| (0..n_members).filter(move |&b| b != m);
    let lowest = -1.0 / (kf - 1.0);
    let mut skill: Vec<f64> = (0..n_members)
        .map(|m| (others(m).map(|b| g[m][b]).sum::<f64>() / (n_members - 1) as f64).clamp(0.0, 1.0).sqrt())
        .collect();
    let mut rounds = 0;
    while rounds < iterations {
        rounds += 1;
        let mut moved = 0.0f64;
        for m in 0..n_members {
            let norm: f64 = others(m).map(|b| skill[b] * skill[b]).sum();
            if norm > 0.0 {
                let next = (others(m).map(|b| g[m][b] * skill[b]).sum::<f64>() / norm).clamp(lowest, 1.0);
                moved = moved.max((next - skill[m]).abs());
                skill[m] = next;
            }
        }
        if moved < 1e-9 {
            break;
        }
    }
    let accuracy: Vec<f64> =
        skill.iter().map(|d| ((1.0 + (kf - 1.0) * d) / kf).clamp(1.0 / (n + 2.0), (n + 1.0) / (n + 2.0))).collect();
    let log_odds: Vec<f64> = accuracy.iter().map(|p| ((kf - 1.0) * p / (1.0 - p)).ln().max(0.0)).collect();
    let total: f64 = log_odds.iter().sum();
    let w = if total > 0.0 {
        log_odds.iter().map(|x| x / total).collect()
    } else {
        tracing::warn!("ensemble: no member agrees with the others more than chance; the weights stay uniform");
        vec![1.0 / n_members as f64; n_members]
    };
    Ok((w, accuracy, rounds))
}
