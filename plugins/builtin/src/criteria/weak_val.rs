//! Checkpoint selection on a held-out weak-labelled slice of half B, as EleutherAI/w2s does
//! (`w2s/sft.py`: a validation split labelled by the weak model, `load_best_model_at_end` with
//! `metric_for_best_model` = its loss, or its accuracy against the weak labels). Here the slice is
//! `weak_val_frac` of the kept examples of B, never trained on.

use w2s_core::{
    metrics::argmax,
    params::NoParams,
    stopping::{CriterionView, Needs},
    StoppingCriterion,
};

use super::earliest_best;

/// The evaluation with the lowest mean cross-entropy `−Σ_c t_c ln p_c` of the student's
/// predictions against the slice's (soft) weak labels.
pub struct WeakValLoss;

/// The evaluation at which the student's hard predictions agree most with the slice's weak labels.
pub struct WeakValAgreement;

const NEEDS: Needs = Needs { weak_val: true, ground_truth: false };

/// Mean soft cross-entropy of `preds` against `targets` (probabilities floored at 1e-12).
pub fn soft_xent(preds: &[Vec<f32>], targets: &[Vec<f32>]) -> f64 {
    let total: f64 = preds
        .iter()
        .zip(targets)
        .map(|(p, t)| -p.iter().zip(t).map(|(&p, &t)| f64::from(t) * f64::from(p.max(1e-12)).ln()).sum::<f64>())
        .sum();
    total / preds.len().max(1) as f64
}

impl StoppingCriterion for WeakValLoss {
    fn needs(&self) -> Needs {
        NEEDS
    }
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize> {
        let v = view.weak_val()?;
        Ok(earliest_best(v.preds.iter().map(|p| -soft_xent(p, &v.targets))))
    }
}

impl StoppingCriterion for WeakValAgreement {
    fn needs(&self) -> Needs {
        NEEDS
    }
    fn choose(&self, view: &CriterionView<'_>) -> anyhow::Result<usize> {
        let v = view.weak_val()?;
        let agreement = |p: &Vec<Vec<f32>>| {
            let same = p.iter().zip(&v.targets).filter(|(a, b)| argmax(a) == argmax(b)).count();
            same as f64 / p.len().max(1) as f64
        };
        Ok(earliest_best(v.preds.iter().map(agreement)))
    }
}

w2s_core::register!(StoppingCriterion {
    name: "weak-val-loss",
    description: "lowest cross-entropy against the weak labels of a held-out slice of B (EleutherAI/w2s; needs weak_val_frac > 0)",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(WeakValLoss),
});

w2s_core::register!(StoppingCriterion {
    name: "weak-val-agreement",
    description: "highest agreement with the weak labels of a held-out slice of B (needs weak_val_frac > 0)",
    params: NoParams,
    build: |_: NoParams| Ok::<_, anyhow::Error>(WeakValAgreement),
});
