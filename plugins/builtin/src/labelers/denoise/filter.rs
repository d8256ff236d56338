//! `probe-filter`: drops the examples of B whose weak label the strong model's features
//! contradict. Follows EleutherAI/w2s `Probe.filter` (`w2s/probe.py`, used by `w2s/sft.py` with
//! `probe_filter` and `contamination`): the disagreement of an example is `|pred − label|` on
//! P(class 1), here generalised to any number of classes as the total variation distance
//! ½ Σ_c |p_c − y_c| (the same for two classes), and the `int(contamination · n)` (floored) most
//! disagreeing examples are dropped. Deviations: the predictions are out-of-fold (EleutherAI's
//! are in-sample), only examples the inner labeler keeps are ranked and dropped, and equal
//! disagreements go to a seeded hash of the example index. Labels (of B and test) are the inner
//! labeler's.

use w2s_core::{params::check, LabelerCtx, Params, Registry, WeakLabeler, WeakLabels};

use super::{denoise_params, disagreement, Denoiser};
use crate::labelers::tie_keys;

denoise_params! {
    pub struct ProbeFilterParams {
        /// The share of the kept examples of B to drop, in (0, 1).
        pub contamination: f64 = 0.1,
    }
}

impl Params for ProbeFilterParams {
    fn validate(&self) -> anyhow::Result<()> {
        self.common().validate()?;
        check(
            self.contamination > 0.0 && self.contamination < 1.0,
            "contamination",
            "a share of B to drop in (0, 1), exclusive",
        )
    }
}

pub struct ProbeFilter {
    pub params: ProbeFilterParams,
    denoiser: Denoiser,
}

impl ProbeFilter {
    pub fn new(params: ProbeFilterParams, registry: &Registry) -> anyhow::Result<Self> {
        let denoiser = Denoiser::new(params.common(), registry)?;
        Ok(ProbeFilter { params, denoiser })
    }
}

/// Which of the `eligible` examples survive dropping the `contamination` share (floored) with
/// the largest `scores`; equal scores drop the lower tie key first.
pub fn drop_top(scores: &[f64], eligible: &[bool], contamination: f64, ties: &[u64]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| eligible[i]).collect();
    let n = ((contamination * order.len() as f64).floor() as usize).min(order.len());
    order.sort_by(|&i, &j| scores[j].total_cmp(&scores[i]).then(ties[i].cmp(&ties[j])));
    let mut keep = eligible.to_vec();
    for &i in &order[..n] {
        keep[i] = false;
    }
    keep
}

impl WeakLabeler for ProbeFilter {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let d = self.denoiser.run(ctx)?;
        let mut wl = d.labels;
        let scores: Vec<f64> = d.pred.iter().zip(&wl.b).map(|(p, y)| disagreement(p, y)).collect();
        let before = wl.keep.iter().filter(|&&k| k).count();
        wl.keep = drop_top(&scores, &wl.keep, self.params.contamination, &tie_keys(ctx, "probe-filter-ties"));
        let after = wl.keep.iter().filter(|&&k| k).count();
        tracing::info!(
            "probe-filter: dropped {} of {before} kept examples of B (contamination {})",
            before - after,
            self.params.contamination
        );
        Ok(wl)
    }
}

w2s_core::register!(WeakLabeler {
    name: "probe-filter",
    description: "drops the `contamination` share of B whose inner label disagrees most with a cross-fitted probe (`knn`/`logreg`) on a backbone's `features` (EleutherAI's probe filter)",
    params: ProbeFilterParams,
    build_with_registry: ProbeFilter::new,
});
