//! `probe-relabel`: the labels of B become the out-of-fold predictions of a probe fitted on the
//! strong model's features and the inner labels. Follows EleutherAI/w2s `w2s/sft.py` with
//! `probe_relabel`: the probe's soft predictions replace the labels outright (neither mixed with
//! the weak labels nor hardened). Deviations: the predictions are out-of-fold (EleutherAI's are
//! in-sample, the probe having been fitted on the same examples), and the probe is fitted on the
//! examples the inner labeler keeps only; which examples are kept, and the test labels, are the
//! inner labeler's.

use w2s_core::{metrics::argmax, LabelerCtx, Params, Registry, WeakLabeler, WeakLabels};

use super::{denoise_params, Denoiser};

denoise_params! {
    pub struct ProbeRelabelParams {}
}

impl Params for ProbeRelabelParams {
    fn validate(&self) -> anyhow::Result<()> {
        self.common().validate()
    }
}

pub struct ProbeRelabel {
    pub params: ProbeRelabelParams,
    denoiser: Denoiser,
}

impl ProbeRelabel {
    pub fn new(params: ProbeRelabelParams, registry: &Registry) -> anyhow::Result<Self> {
        let denoiser = Denoiser::new(params.common(), registry)?;
        Ok(ProbeRelabel { params, denoiser })
    }
}

impl WeakLabeler for ProbeRelabel {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let d = self.denoiser.run(ctx)?;
        let mut wl = d.labels;
        let changed = (0..wl.b.len()).filter(|&i| wl.keep[i] && argmax(&wl.b[i]) != argmax(&d.pred[i])).count();
        tracing::info!(
            "probe-relabel: the hard label of {changed} of {} kept examples of B changes",
            wl.keep.iter().filter(|&&k| k).count()
        );
        wl.b = d.pred;
        Ok(wl)
    }
}

w2s_core::register!(WeakLabeler {
    name: "probe-relabel",
    description: "replaces the labels of B with the out-of-fold predictions of a probe (`knn`/`logreg`) fitted on a backbone's `features` and an inner labeler's labels (EleutherAI's probe relabel)",
    params: ProbeRelabelParams,
    build_with_registry: ProbeRelabel::new,
});
