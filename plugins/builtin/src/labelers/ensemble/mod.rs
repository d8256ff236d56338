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
//! How the labels are combined, and the weights learned from agreement: [`combine`].

use anyhow::Context;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use w2s_core::{
    metrics::argmax, params::check, Backbone, LabelerCtx, Params, Registry, Spec, TrainConfig, WeakLabeler, WeakLabels,
};

use super::{default_inner, test_tie_keys, tie_keys};

mod combine;
pub use combine::{combine, Combined, Ties};

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
mod tests;
