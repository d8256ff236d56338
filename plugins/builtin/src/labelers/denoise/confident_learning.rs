//! `confident-learning`: Northcutt, Jiang & Chuang 2021, "Confident Learning: Estimating
//! Uncertainty in Dataset Labels" (JAIR 70), natively ([`super::cl`], following cleanlab's
//! `find_label_issues`). The noisy labels are the hard inner labels (argmax of the inner soft
//! labels) of the examples of B the inner labeler keeps; the out-of-sample predicted
//! probabilities are those of the cross-fitted probe on the `features` backbone (cleanlab
//! leaves the model to the user and asks for cross-validated probabilities: here the probe of
//! [`super::probe`]). The label issues are dropped (`keep = false`); the labels themselves, and
//! the test labels, are the inner labeler's. `filter_by`: `prune_by_noise_rate` (cleanlab's
//! default) or `confident_joint` (the off-diagonal examples of the confident joint, cleanlab's
//! `confident_learning`).

use w2s_core::{metrics::argmax, LabelerCtx, Params, Registry, WeakLabeler, WeakLabels};

use super::{
    cl::{find_label_issues, FilterBy},
    denoise_params, Denoiser,
};

denoise_params! {
    pub struct ConfidentLearningParams {
        /// `prune_by_noise_rate` or `confident_joint`.
        pub filter_by: FilterBy = FilterBy::PruneByNoiseRate,
    }
}

impl Params for ConfidentLearningParams {
    fn validate(&self) -> anyhow::Result<()> {
        self.common().validate()
    }
}

pub struct ConfidentLearning {
    pub params: ConfidentLearningParams,
    denoiser: Denoiser,
}

impl ConfidentLearning {
    pub fn new(params: ConfidentLearningParams, registry: &Registry) -> anyhow::Result<Self> {
        let denoiser = Denoiser::new(params.common(), registry)?;
        Ok(ConfidentLearning { params, denoiser })
    }
}

/// A matrix as rows of numbers, for the log.
fn show<T: std::fmt::Display>(m: &[Vec<T>], digits: usize) -> String {
    let rows: Vec<String> = m
        .iter()
        .map(|r| format!("[{}]", r.iter().map(|x| format!("{x:.digits$}")).collect::<Vec<_>>().join(", ")))
        .collect();
    format!("[{}]", rows.join(", "))
}

impl WeakLabeler for ConfidentLearning {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let d = self.denoiser.run(ctx)?;
        let mut wl = d.labels;
        let kept: Vec<usize> = (0..wl.b.len()).filter(|&i| wl.keep[i]).collect();
        let labels: Vec<usize> = kept.iter().map(|&i| argmax(&wl.b[i])).collect();
        let pred: Vec<Vec<f32>> = kept.iter().map(|&i| d.pred[i].clone()).collect();
        let issues = find_label_issues(&pred, &labels, ctx.data.n_classes, self.params.filter_by);
        for (j, &i) in kept.iter().enumerate() {
            if issues.mask[j] {
                wl.keep[i] = false;
            }
        }
        let dropped = issues.mask.iter().filter(|&&m| m).count();
        tracing::info!(
            "confident-learning ({:?}): dropped {dropped} of {} kept examples of B as label issues; \
             calibrated confident joint C[given][true] {}; estimated noise matrix P(given | true) {}",
            self.params.filter_by,
            kept.len(),
            show(&issues.joint, 0),
            show(&issues.noise_matrix(), 3)
        );
        Ok(wl)
    }
}

w2s_core::register!(WeakLabeler {
    name: "confident-learning",
    description: "confident learning (Northcutt et al. 2021): drops the label issues of an inner labeler found from a cross-fitted probe's predictions on a backbone's `features` (cleanlab's `find_label_issues`)",
    params: ConfidentLearningParams,
    build_with_registry: ConfidentLearning::new,
});
