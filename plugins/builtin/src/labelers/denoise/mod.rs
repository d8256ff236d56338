//! Denoising the weak labels with the strong model's features (issue #12, item 4): three wrappers
//! around an `inner` labeler (the weak model by default) that read the features of half B from
//! a backbone (`features`, normally the run's strong backbone: the frozen-trunk features its
//! linear probe trains on, see `Backbone::features`), fit a probe on them and the inner soft
//! labels with cross-fitting ([`probe`]: each fold of B predicted by a probe fitted on the
//! others), and use its out-of-fold predictions:
//!
//! - `probe-filter` ([`filter`]): drops the `contamination` share of B whose weak label
//!   disagrees most with the probe (EleutherAI/w2s `Probe.filter`);
//! - `probe-relabel` ([`relabel`]): the probe's predictions become the labels (EleutherAI/w2s
//!   `probe_relabel`);
//! - `confident-learning` ([`confident_learning`]): drops the label issues that confident
//!   learning (Northcutt et al. 2021; cleanlab) finds from the probe's predicted probabilities
//!   ([`cl`]).
//!
//! The probe is fitted only on the examples the inner labeler keeps; every example of B gets an
//! out-of-fold prediction. Test labels are always the inner labeler's. Pairwise examples are not
//! supported (features are of one text).

use anyhow::Context;
use tch::Tensor;
use w2s_core::{metrics::argmax, params::check, Backbone, LabelerCtx, Registry, Spec, WeakLabeler, WeakLabels};

pub mod cl;
pub mod confident_learning;
pub mod filter;
pub mod probe;
pub mod relabel;
#[cfg(test)]
mod tests;

use probe::{assign_folds, cross_fit, Probe};

/// The backbones that can give features, for the message of one that cannot.
const FEATURE_BACKBONES: &str = "minilm, smollm2, gpt2, hf-decoder";

/// A parameter struct of a denoising labeler: the fields they share (`inner`, `features`,
/// `probe`, `k`, `l2p`, `folds`) with their defaults, and its own (after them) with theirs.
/// Generated rather than nested with `#[serde(flatten)]`, which serde does not support with
/// `deny_unknown_fields`.
macro_rules! denoise_params {
    (
        $(#[$meta:meta])*
        pub struct $name:ident {
            $($(#[$doc:meta])* pub $field:ident: $ty:ty = $default:expr,)*
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// The labeler whose labels are denoised.
            pub inner: w2s_core::Spec,
            /// The backbone whose features are probed (required; normally the run's strong
            /// backbone). Part of the labeler spec, hence of the weak stage's identity.
            pub features: Option<w2s_core::Spec>,
            /// `knn` or `logreg`.
            pub probe: $crate::labelers::denoise::probe::ProbeKind,
            /// Neighbours of the `knn` probe.
            pub k: usize,
            /// L2 penalty of the `logreg` probe.
            pub l2p: f64,
            /// Cross-fitting folds of B.
            pub folds: usize,
            $($(#[$doc])* pub $field: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    inner: $crate::labelers::default_inner(),
                    features: None,
                    probe: Default::default(),
                    k: 50,
                    l2p: 1e-3,
                    folds: 5,
                    $($field: $default,)*
                }
            }
        }

        impl $name {
            /// The fields every denoising labeler has.
            pub fn common(&self) -> $crate::labelers::denoise::Common<'_> {
                $crate::labelers::denoise::Common {
                    inner: &self.inner,
                    features: self.features.as_ref(),
                    probe: $crate::labelers::denoise::probe::Probe { kind: self.probe, k: self.k, l2p: self.l2p },
                    folds: self.folds,
                }
            }
        }
    };
}
pub(crate) use denoise_params;

/// The parameters every denoising labeler has.
#[derive(Debug, Clone, Copy)]
pub struct Common<'a> {
    pub inner: &'a Spec,
    pub features: Option<&'a Spec>,
    pub probe: Probe,
    pub folds: usize,
}

impl Common<'_> {
    pub fn validate(&self) -> anyhow::Result<()> {
        check(
            self.features.is_some(),
            "features",
            "a backbone spec whose features are probed, normally the run's strong backbone \
             (e.g. {\"kind\": \"minilm\", \"mode\": \"probe\"}); required, as it is part of the weak stage's identity",
        )?;
        check(self.folds >= 2, "folds", "at least 2 (cross-fitting folds of B)")?;
        check(self.probe.k >= 1, "k", "at least 1 neighbour")?;
        check(self.probe.l2p.is_finite() && self.probe.l2p >= 0.0, "l2p", "a penalty of at least 0")
    }
}

/// What the denoising labelers share, built from a [`Common`]: the inner labeler, the feature
/// backbone, the probe.
pub struct Denoiser {
    inner: Box<dyn WeakLabeler>,
    inner_name: String,
    features: Box<dyn Backbone>,
    features_name: String,
    probe: Probe,
    folds: usize,
}

/// The inner labels and the probe's out-of-fold predictions of B.
pub struct Denoised {
    pub labels: WeakLabels,
    pub pred: Vec<Vec<f32>>,
}

impl Denoiser {
    /// The inner labeler and the feature backbone are built here, from `registry`, so that a bad
    /// spec fails before any training.
    pub fn new(c: Common<'_>, registry: &Registry) -> anyhow::Result<Self> {
        c.validate()?;
        let spec = c.features.context("parameter `features`: expected a backbone spec")?;
        Ok(Denoiser {
            inner: registry.labeler(c.inner).context("parameter `inner`")?,
            inner_name: c.inner.label(),
            features: registry.backbone(spec).context("parameter `features`")?,
            features_name: spec.label(),
            probe: c.probe,
            folds: c.folds,
        })
    }

    /// The features `[|B|, d]` of half B from the feature backbone.
    pub fn features_of_b(&self, ctx: &LabelerCtx<'_>) -> anyhow::Result<Tensor> {
        let mut texts = Vec::with_capacity(ctx.b.len());
        for &i in ctx.b {
            let ex = &ctx.data.train[i];
            anyhow::ensure!(ex.pair.is_none(), "the denoising labelers read one text per example, not pairs");
            texts.push(ex.text.as_str());
        }
        let f = self
            .features
            .features(ctx.env, &texts)
            .with_context(|| format!("parameter `features`: the features of B from {}", self.features_name))?
            .with_context(|| {
                format!(
                    "parameter `features`: backbone {} cannot give features (use one with a probe mode: {FEATURE_BACKBONES})",
                    self.features_name
                )
            })?;
        let size = f.size();
        anyhow::ensure!(
            size.len() == 2 && size[0] == texts.len() as i64,
            "parameter `features`: {} gave features of shape {size:?} for {} texts, expected [{}, d]",
            self.features_name,
            texts.len(),
            texts.len()
        );
        Ok(f)
    }

    /// Features of B (first, so that a backbone without features fails before the inner labeler
    /// trains), the inner labels, and the cross-fitted probe's predictions of B.
    pub fn run(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<Denoised> {
        let x = self.features_of_b(ctx)?;
        let labels = self.inner.label(ctx).with_context(|| format!("inner labeler {}", self.inner_name))?;
        let kept = labels.keep.iter().filter(|&&k| k).count();
        check(
            self.folds <= kept,
            "folds",
            &format!("at most the number of examples of B that the inner labeler keeps ({kept}), got {}", self.folds),
        )?;
        let fold = assign_folds(ctx.b, self.folds, ctx.seed);
        let pred = cross_fit(&self.probe, &x, &labels.b, &labels.keep, &fold)?;
        let agree = (0..ctx.b.len()).filter(|&i| labels.keep[i] && argmax(&pred[i]) == argmax(&labels.b[i])).count();
        tracing::info!(
            "{:?} probe on the features of {} ({} folds, {} dims): agrees with {} on {agree} of {kept} kept examples of B ({:.4})",
            self.probe.kind,
            self.features_name,
            self.folds,
            x.size()[1],
            self.inner_name,
            agree as f64 / kept.max(1) as f64
        );
        Ok(Denoised { labels, pred })
    }
}

/// The disagreement of a weak label `y` with a probe prediction `p`: their total variation
/// distance ½ Σ_c |p_c − y_c| (for two classes, EleutherAI's `|pred − label|` on P(class 1)).
pub fn disagreement(p: &[f32], y: &[f32]) -> f64 {
    0.5 * p.iter().zip(y).map(|(&a, &b)| f64::from((a - b).abs())).sum::<f64>()
}
