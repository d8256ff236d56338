//! `ensemble`: several supervisors at once (issue #12, item 3). Each of `members` labels half B
//! and the test set on its own, and `combine` turns their soft labels into one:
//!
//! - `mean`: the average of the members' distributions, `y_i = (1/M) Σ_m y_im`;
//! - `vote`: majority vote of the members' hard labels (`argmax y_im`, the first largest class, as
//!   everywhere in w2s), given as a hard label. A tie between classes with equally many votes goes
//!   to the one with the larger summed probability `Σ_m y_imc`, and a tie in that too to the class
//!   with the smaller seeded hash of (seed, example index, class), so that it favours no class
//!   and does not depend on the order of B;
//! - `agreement`: a weighted average `y_i = Σ_m w_m y_im`, with weights on the simplex learned
//!   without ground truth from how often each member agrees with the others (below).
//!
//! A member is a labeler spec (`"noise"`, `{"kind": "flip", ...}`) or an object
//! `{"labeler": spec, "weak": backbone spec, "seed_offset": n, "weak_train": {...}}`: it labels
//! through a sub-context with the same data and halves, the backbone `weak` instead of the run's
//! weak backbone, the seed `seed + seed_offset`, and `weak_train` instead of the run's weak
//! training settings, so that members can be weak models of different families, seeds or
//! training. The default is three seeds of the weak model (`model` with offsets 0, 1, 2). The
//! training curves of every member are kept, their role suffixed with the member's index
//! (`weak[1]`). The student trains on the examples of B that every member keeps.
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

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use w2s_core::{
    metrics::argmax, params::check, rng, Backbone, LabelerCtx, Params, Registry, Spec, TrainConfig, WeakLabeler,
    WeakLabels,
};

use super::{default_inner, soft_one_hot, test_tie_keys, tie_keys};

/// How the members' labels become one.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Combine {
    /// The average of the members' soft labels.
    #[default]
    Mean,
    /// Majority vote of the members' hard labels.
    Vote,
    /// A weighted average, the weights learned from agreement between members.
    Agreement,
}

/// One supervisor of the ensemble: a labeler with, optionally, its own weak backbone, seed
/// offset and weak training settings. Written as a labeler spec alone or as an object.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "Value")]
pub struct Member {
    /// The labeler.
    pub labeler: Spec,
    /// The weak backbone its weak model trains (the run's `weak` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weak: Option<Spec>,
    /// Added to the run's seed for this member (weak-model initialisation, shuffling, noise).
    #[serde(default)]
    pub seed_offset: u64,
    /// Training settings of its weak model (the run's `weak_train` when absent).
    #[serde(default, skip_serializing_if = "Option::is_none", serialize_with = "without_eval_batch")]
    pub weak_train: Option<TrainConfig>,
}

/// A member's `weak_train` as it enters the resolved spec, hence run ids: without `eval_batch`,
/// which cannot change results (as for the run's own `weak_train`).
fn without_eval_batch<S: serde::Serializer>(t: &Option<TrainConfig>, s: S) -> Result<S::Ok, S::Error> {
    let mut v = serde_json::to_value(t).map_err(serde::ser::Error::custom)?;
    if let Value::Object(map) = &mut v {
        map.remove("eval_batch");
    }
    v.serialize(s)
}

/// The object form of a [`Member`].
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemberFields {
    labeler: Spec,
    #[serde(default)]
    weak: Option<Spec>,
    #[serde(default)]
    seed_offset: u64,
    #[serde(default)]
    weak_train: Option<TrainConfig>,
}

impl Member {
    /// A member that is `labeler` on the run's weak backbone, seed and training settings.
    pub fn of(labeler: Spec) -> Self {
        Member { labeler, weak: None, seed_offset: 0, weak_train: None }
    }
}

impl TryFrom<Value> for Member {
    type Error = String;
    fn try_from(v: Value) -> Result<Self, String> {
        let bare = match &v {
            Value::String(_) => true,
            Value::Object(map) => map.contains_key("kind"),
            _ => false,
        };
        if bare {
            return Spec::try_from(v).map(Member::of);
        }
        let f: MemberFields = serde_json::from_value(v).map_err(|e| {
            format!("{e} (a member is a labeler spec or {{\"labeler\": spec, \"weak\"?, \"seed_offset\"?, \"weak_train\"?}})")
        })?;
        Ok(Member { labeler: f.labeler, weak: f.weak, seed_offset: f.seed_offset, weak_train: f.weak_train })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EnsembleParams {
    /// The supervisors, at least two.
    pub members: Vec<Member>,
    /// `mean`, `vote` or `agreement`.
    pub combine: Combine,
    /// At most this many rounds of fitting the members' skills (`agreement` only).
    pub iterations: usize,
}

impl Default for EnsembleParams {
    fn default() -> Self {
        let seed = |offset| Member { seed_offset: offset, ..Member::of(default_inner()) };
        EnsembleParams { members: vec![seed(0), seed(1), seed(2)], combine: Combine::Mean, iterations: 50 }
    }
}

impl Params for EnsembleParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(
            self.members.len() >= 2,
            "members",
            "a list of at least 2 labelers (an ensemble of one is that labeler)",
        )?;
        for (i, m) in self.members.iter().enumerate() {
            if let Some(t) = &m.weak_train {
                t.validate(&format!("members[{i}].weak_train"))?;
            }
        }
        check(self.iterations >= 1, "iterations", "at least 1")
    }
}

pub struct Ensemble {
    pub params: EnsembleParams,
    labelers: Vec<Box<dyn WeakLabeler>>,
    weaks: Vec<Option<Box<dyn Backbone>>>,
}

impl Ensemble {
    /// The members' labelers and backbones are built here, from `registry`, so that a bad one
    /// fails before any training.
    pub fn new(params: EnsembleParams, registry: &Registry) -> anyhow::Result<Self> {
        let mut labelers = Vec::with_capacity(params.members.len());
        let mut weaks = Vec::with_capacity(params.members.len());
        for (i, m) in params.members.iter().enumerate() {
            labelers.push(registry.labeler(&m.labeler).with_context(|| format!("parameter `members[{i}].labeler`"))?);
            let weak = match &m.weak {
                Some(spec) => Some(registry.backbone(spec).with_context(|| format!("parameter `members[{i}].weak`"))?),
                None => None,
            };
            weaks.push(weak);
        }
        Ok(Ensemble { params, labelers, weaks })
    }
}

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

impl WeakLabeler for Ensemble {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let mut labels = Vec::with_capacity(self.params.members.len());
        let mut names = Vec::with_capacity(self.params.members.len());
        for (i, (m, labeler)) in self.params.members.iter().zip(&self.labelers).enumerate() {
            let name = m.labeler.label();
            let weak: &dyn Backbone = match &self.weaks[i] {
                Some(bb) => bb.as_ref(),
                None => ctx.weak,
            };
            let mut sub = LabelerCtx {
                env: ctx.env,
                registry: ctx.registry,
                data: ctx.data,
                a: ctx.a,
                b: ctx.b,
                seed: ctx.seed.wrapping_add(m.seed_offset),
                weak,
                weak_train: m.weak_train.as_ref().unwrap_or(ctx.weak_train),
                trainer: ctx.trainer,
                curves: Vec::new(),
            };
            let wl = labeler.label(&mut sub).with_context(|| format!("ensemble members[{i}] ({name})"))?;
            ctx.curves.extend(sub.curves.into_iter().map(|mut row| {
                row.role = format!("{}[{i}]", row.role);
                row
            }));
            labels.push(wl);
            names.push(name);
        }
        let b_ties = tie_keys(ctx, "ensemble-ties");
        // (Through the helper: the same loop written here, with its constant stream name, kept
        // LLVM busy for over an hour in the release build of this crate.)
        let test_ties = test_tie_keys(ctx, "ensemble-ties-test");
        let ties = Ties { b: &b_ties, test: &test_ties };
        let out = combine(&labels, &names, ctx.data.n_classes, self.params.combine, self.params.iterations, &ties)?;
        let kept = out.labels.keep.iter().filter(|&&k| k).count();
        let unanimous = (0..ctx.b.len())
            .filter(|&i| out.labels.keep[i])
            .filter(|&i| labels.iter().all(|m| argmax(&m.b[i]) == argmax(&labels[0].b[i])))
            .count();
        tracing::info!(
            "ensemble of {} members ({:?}): {kept} of {} examples of B kept by every member, unanimous on {unanimous}",
            labels.len(),
            self.params.combine,
            ctx.b.len()
        );
        if let (Some(w), Some(a)) = (&out.weights, &out.accuracy) {
            let each: Vec<String> = (0..w.len())
                .map(|m| format!("members[{m}] {}: weight {:.4} (estimated accuracy {:.4})", names[m], w[m], a[m]))
                .collect();
            tracing::info!("ensemble weights learned from agreement ({} rounds): {}", out.rounds, each.join("; "));
        }
        Ok(out.labels)
    }
}

w2s_core::register!(WeakLabeler {
    name: "ensemble",
    description: "several labelers (weak models of other families or seeds, ...) combined by `mean`, majority `vote` or weights learned from their `agreement`",
    params: EnsembleParams,
    build_with_registry: Ensemble::new,
});

#[cfg(test)]
mod tests {
    use serde_json::json;
    use w2s_core::{curves::CurveRow, labeler::Probs, labeler::WeakTrainer};

    use super::*;
    use crate::labelers::{label_for_test, test_dataset, test_spec};

    fn spec(params: serde_json::Value) -> Spec {
        test_spec("ensemble", params)
    }

    /// A member's labels: the same rows on B and on the test set, every example kept.
    fn hand(rows: Vec<Vec<f32>>) -> WeakLabels {
        WeakLabels { keep: vec![true; rows.len()], test: rows.clone(), b: rows }
    }

    fn keys(n: usize) -> Vec<u64> {
        (0..n as u64).map(|i| rng::key(11, "test-ties", i)).collect()
    }

    fn run(members: &[WeakLabels], k: usize, how: Combine) -> anyhow::Result<Combined> {
        let names: Vec<String> = (0..members.len()).map(|m| format!("hand{m}")).collect();
        let (b, test) = (keys(members[0].b.len()), keys(members[0].test.len()));
        combine(members, &names, k, how, 50, &Ties { b: &b, test: &test })
    }

    fn close(a: &[Vec<f32>], b: &[Vec<f32>]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.iter().zip(y).all(|(p, q)| (p - q).abs() < 1e-6))
    }

    fn b_accuracy(wl: &WeakLabels, data: &w2s_core::Dataset, b: &[usize]) -> f64 {
        let right = b.iter().enumerate().filter(|&(j, &i)| argmax(&wl.b[j]) == data.train[i].label).count();
        right as f64 / b.len() as f64
    }

    #[test]
    fn mean_of_two_hand_made_label_sets() {
        let mut a = hand(vec![vec![1.0, 0.0], vec![0.2, 0.8], vec![0.5, 0.5]]);
        let mut b = hand(vec![vec![0.5, 0.5], vec![0.6, 0.4], vec![0.0, 1.0]]);
        a.keep = vec![true, false, true];
        b.keep = vec![true, true, false];
        let out = run(&[a, b], 2, Combine::Mean).unwrap();
        let want = vec![vec![0.75, 0.25], vec![0.4, 0.6], vec![0.25, 0.75]];
        assert!(close(&out.labels.b, &want) && close(&out.labels.test, &want), "{:?}", out.labels);
        assert_eq!(out.labels.keep, [true, false, false], "the examples every member keeps");
        assert_eq!(out.weights, Some(vec![0.5, 0.5]));
    }

    #[test]
    fn majority_vote_of_three_with_ties() {
        let x = |a: f32, b: f32, c: f32| vec![a, b, c];
        // Example 0: two votes for class 0. Example 1: one vote each, class 1 has the largest
        // summed probability (1.1 against 0.9 and 1.0). Examples 2..: one vote each and equal
        // sums: the class with the smallest hash of the example's tie key.
        let n_tied = 40;
        let mut rows: Vec<Vec<Vec<f32>>> = vec![
            vec![x(0.6, 0.3, 0.1), x(0.5, 0.1, 0.4), x(0.2, 0.7, 0.1)],
            vec![x(0.5, 0.3, 0.2), x(0.1, 0.6, 0.3), x(0.3, 0.2, 0.5)],
        ];
        rows.extend((0..n_tied).map(|_| vec![x(1.0, 0.0, 0.0), x(0.0, 1.0, 0.0), x(0.0, 0.0, 1.0)]));
        let members: Vec<WeakLabels> = (0..3).map(|m| hand(rows.iter().map(|r| r[m].clone()).collect())).collect();
        let out = run(&members, 3, Combine::Vote).unwrap();
        let classes: Vec<usize> = out.labels.b.iter().map(|p| argmax(p)).collect();
        assert_eq!(&classes[..2], [0, 1]);
        assert!(out.labels.b.iter().all(|p| p.iter().filter(|&&q| q == 1.0).count() == 1), "hard labels");
        let tie = keys(rows.len());
        for (i, &c) in classes.iter().enumerate().skip(2) {
            let want = (0..3).min_by_key(|&c| rng::key(tie[i], "ensemble-class", c as u64)).unwrap();
            assert_eq!(c, want, "example {i}");
        }
        let mut seen = classes[2..].to_vec();
        seen.sort_unstable();
        seen.dedup();
        assert_eq!(seen, [0, 1, 2], "exact ties favour no class");
        assert_eq!(out, run(&members, 3, Combine::Vote).unwrap(), "deterministic");
        // Two classes: the majority wins even against a confident minority (unlike the mean).
        let two = [vec![0.51, 0.49], vec![0.51, 0.49], vec![0.0, 1.0]].map(|r| hand(vec![r]));
        assert_eq!(run(&two, 2, Combine::Vote).unwrap().labels.b, [[1.0, 0.0]]);
        assert_eq!(argmax(&run(&two, 2, Combine::Mean).unwrap().labels.b[0]), 1);
    }

    #[test]
    fn agreement_gives_a_random_member_a_clearly_lower_weight() {
        let (n, k) = (400, 2);
        let truth: Vec<usize> = (0..n).map(|i| (i * 7 / 3) % 2).collect();
        let one_hot = |c: usize| soft_one_hot(c, k, 1.0);
        let flipped = |r: usize| -> Vec<Vec<f32>> {
            (0..n).map(|i| one_hot(if i % 10 == r { 1 - truth[i] } else { truth[i] })).collect()
        };
        let (a, b) = (flipped(0), flipped(5));
        // The others' consensus: the mean of a and b. And a coin flip.
        let consensus: Vec<Vec<f32>> =
            a.iter().zip(&b).map(|(p, q)| p.iter().zip(q).map(|(x, y)| (x + y) / 2.0).collect()).collect();
        let noise: Vec<Vec<f32>> =
            (0..n).map(|i| one_hot(usize::from(rng::uniform(7, "coin", i as u64) < 0.5))).collect();
        let members = [hand(a), hand(b), hand(consensus), hand(noise)];
        let out = run(&members, k, Combine::Agreement).unwrap();
        let (w, p) = (out.weights.unwrap(), out.accuracy.unwrap());
        assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
        let best_other = w[..3].iter().copied().fold(f64::MAX, f64::min);
        assert!(w[3] < 0.25 * best_other, "the random member's weight {} against {w:?}", w[3]);
        assert!((p[3] - 0.5).abs() < 0.1 && p[..3].iter().all(|&x| x > 0.8), "estimated accuracies {p:?}");
        let right = |wl: &WeakLabels| wl.b.iter().zip(&truth).filter(|(p, &t)| argmax(p) == t).count();
        assert!(right(&out.labels) >= right(&members[0]), "at least as accurate as a member");
        // Labels: the weighted mean of the members'.
        let mixed: Vec<f32> =
            (0..k).map(|c| (0..4).map(|m| w[m] * f64::from(members[m].b[9][c])).sum::<f64>() as f32).collect();
        assert!(close(&out.labels.b[9..10], &[mixed]));
        // Two members: nothing tells which is right, so the weights are equal.
        let pair = run(&members[..2], k, Combine::Agreement).unwrap();
        assert_eq!(pair.weights, Some(vec![0.5, 0.5]));
    }

    #[test]
    fn ensembles_of_truth_and_noise_beat_the_noise_alone() {
        let data = test_dataset(400, 2);
        let b: Vec<usize> = (0..400).filter(|i| i % 2 == 1).collect();
        let noise = json!({"kind": "noise", "rate": 0.4});
        let alone =
            b_accuracy(&label_for_test(&test_spec("noise", json!({"rate": 0.4})), &data, &b, 3).unwrap(), &data, &b);
        let members = json!(["ground-truth", noise, {"labeler": noise, "seed_offset": 1}]);
        for how in ["mean", "vote", "agreement"] {
            let wl = label_for_test(&spec(json!({"members": members, "combine": how})), &data, &b, 3).unwrap();
            let acc = b_accuracy(&wl, &data, &b);
            assert!(acc > alone + 0.15, "{how}: {acc} against the noise alone {alone}");
            assert_eq!(wl.test.len(), data.test.len());
        }
        // The seed offset gives the second noise member other draws than the first.
        let twice = json!({"members": [noise, noise], "combine": "vote"});
        let offset = json!({"members": [noise, {"labeler": noise, "seed_offset": 1}], "combine": "vote"});
        let same = label_for_test(&spec(twice), &data, &b, 3).unwrap();
        let other = label_for_test(&spec(offset), &data, &b, 3).unwrap();
        assert!((b_accuracy(&same, &data, &b) - alone).abs() < 1e-12, "two identical members vote as one");
        assert_ne!(same.b, other.b);
    }

    #[test]
    fn keeps_what_every_member_keeps() {
        let data = test_dataset(100, 2);
        let b: Vec<usize> = (0..100).collect();
        let easy = json!({"kind": "easy", "inner": "ground-truth", "fraction": 0.6});
        let inner = label_for_test(&test_spec("easy", easy.clone()), &data, &b, 0).unwrap();
        let wl = label_for_test(&spec(json!({"members": ["ground-truth", easy]})), &data, &b, 0).unwrap();
        assert_eq!(wl.keep, inner.keep);
    }

    /// A weak trainer that predicts the truth and records, in one curve row, the seed (`step`),
    /// the training settings (`epochs`, `lr`) and whether the backbone was the run's (`test_acc`).
    struct Recorder {
        run_weak: usize,
    }

    impl WeakTrainer for Recorder {
        fn train_and_predict(&self, ctx: &LabelerCtx<'_>) -> anyhow::Result<(Probs, Probs, Vec<CurveRow>)> {
            let k = ctx.data.n_classes;
            let b = ctx.b.iter().map(|&i| soft_one_hot(ctx.data.train[i].label, k, 1.0)).collect();
            let test = ctx.data.test.iter().map(|e| soft_one_hot(e.label, k, 1.0)).collect();
            let same = ctx.weak as *const dyn Backbone as *const () as usize == self.run_weak;
            let row = CurveRow {
                role: "weak".into(),
                step: ctx.seed as usize,
                epoch: ctx.weak_train.epochs as f64,
                lr: ctx.weak_train.lr,
                train_loss: 0.0,
                test_loss: 0.0,
                test_acc: f64::from(u8::from(same)),
            };
            Ok((b, test, vec![row]))
        }
    }

    #[test]
    fn members_label_in_their_own_sub_context() {
        let env = w2s_core::Env { cache_dir: std::env::temp_dir(), device: tch::Device::Cpu, show_progress: false };
        let registry = Registry::with_builtins().unwrap();
        let weak = crate::backbones::bow::Bow::new(Default::default()).unwrap();
        let weak_train = TrainConfig::default();
        let data = test_dataset(20, 2);
        let (a, b): (Vec<usize>, Vec<usize>) = (0..20).partition(|i| i % 2 == 0);
        let trainer = Recorder { run_weak: &weak as *const _ as *const () as usize };
        let mut ctx = LabelerCtx {
            env: &env,
            registry: &registry,
            data: &data,
            a: &a,
            b: &b,
            seed: 5,
            weak: &weak,
            weak_train: &weak_train,
            trainer: &trainer,
            curves: Vec::new(),
        };
        let members = json!([
            "model",
            {"labeler": "model", "seed_offset": 3, "weak": {"kind": "bow", "size": "tiny"},
             "weak_train": {"epochs": 4, "lr": 0.01}},
            "ground-truth"
        ]);
        let ensemble = registry.labeler(&spec(json!({"members": members}))).unwrap();
        let wl = ensemble.label(&mut ctx).unwrap();
        assert_eq!(wl.keep, vec![true; b.len()]);
        let got: Vec<(&str, usize, f64, f64, f64)> =
            ctx.curves.iter().map(|r| (r.role.as_str(), r.step, r.epoch, r.lr, r.test_acc)).collect();
        assert_eq!(got, [("weak[0]", 5, 2.0, 5e-5, 1.0), ("weak[1]", 8, 4.0, 0.01, 0.0)]);
    }

    #[test]
    fn bad_input_names_the_field_or_member() {
        let registry = Registry::with_builtins().unwrap();
        let err = |params: serde_json::Value| -> String {
            let e = registry.resolve(w2s_core::registry::Kind::Labeler, &spec(params)).unwrap_err();
            format!("{e:#}")
        };
        let e = err(json!({"members": ["ground-truth"]}));
        assert!(e.contains("`members`") && e.contains("at least 2"), "{e}");
        let e = err(json!({"members": ["ground-truth", "noise"], "combine": "median"}));
        assert!(e.contains("combine") && e.contains("median") && e.contains("agreement"), "{e}");
        let e = err(json!({"members": ["ground-truth", {"labeler": "noise", "seed_ofset": 1}]}));
        assert!(e.contains("members[1]") && e.contains("seed_ofset") && e.contains("seed_offset"), "{e}");
        let e = err(json!({"members": ["ground-truth", {"kind": "noise", "rate": 2.0}]}));
        assert!(e.contains("members[1].labeler") && e.contains("rate"), "{e}");
        let e =
            err(json!({"members": ["ground-truth", {"labeler": "model", "weak": {"kind": "bow", "size": "huge"}}]}));
        assert!(e.contains("members[1].weak") && e.contains("huge"), "{e}");
        let e = err(json!({"members": [{"labeler": "model", "weak_train": {"lr": 0.0}}, "model"]}));
        assert!(e.contains("members[0].weak_train.lr"), "{e}");
        let e = err(json!({"members": ["model", "model"], "iterations": 0}));
        assert!(e.contains("`iterations`"), "{e}");
        let e = err(json!({"members": ["noise", "model"]}));
        assert!(e.contains("members[0].labeler") && e.contains("rate"), "a bare member is checked too: {e}");
        // Bare and object members resolve alike; the defaults are three seeds of the weak model.
        let full = json!({"members": [{"labeler": "ground-truth"}, {"labeler": "model", "seed_offset": 0}]});
        let short = json!({"members": ["ground-truth", "model"]});
        let resolve = |p| registry.resolve(w2s_core::registry::Kind::Labeler, &spec(p)).unwrap();
        assert_eq!(resolve(full), resolve(short));
        let batch = |b: usize| json!({"members": ["model", {"labeler": "model", "weak_train": {"eval_batch": b}}]});
        assert_eq!(resolve(batch(8)), resolve(batch(512)), "eval_batch cannot change results");
        let defaults = EnsembleParams::default();
        assert!(defaults.validate().is_ok());
        assert_eq!(defaults.members.iter().map(|m| m.seed_offset).collect::<Vec<_>>(), [0, 1, 2]);
        // At label time: a member over another number of classes is named.
        let two = hand(vec![vec![0.5, 0.5]]);
        let three = hand(vec![vec![0.2, 0.3, 0.5]]);
        let e = format!("{:#}", run(&[two.clone(), two.clone(), three], 2, Combine::Mean).unwrap_err());
        assert!(e.contains("members[2] (hand2)") && e.contains("3 classes") && e.contains("task has 2"), "{e}");
        let short_member = WeakLabels { b: vec![], test: vec![], keep: vec![] };
        let e = format!("{:#}", run(&[two, short_member], 2, Combine::Vote).unwrap_err());
        assert!(e.contains("members[1]"), "{e}");
        // Agreement with no example that every member keeps.
        let mut none = hand(vec![vec![1.0, 0.0]]);
        none.keep = vec![false];
        let e = format!("{:#}", run(&[none.clone(), none], 2, Combine::Agreement).unwrap_err());
        assert!(e.contains("agreement") && e.contains("kept by every member"), "{e}");
    }
}
