//! `adaptconf`: the adaptive confidence loss (AdaptConf) of Guo et al. (2024), "Vision
//! Superalignment: Weak-to-Strong Generalization for Vision Foundation Models" (arXiv 2402.03749).
//!
//! Followed: ggjy/vision_weak_to_strong, `classification/distillers/adaptconf.py`, class
//! `AdaptConf`, `forward` (the variant the repository's README runs), with the optional warm-up of
//! `adapt_conf_loss` in `few_shot_leaerning/utils/__init__.py` and
//! `noisy_labels_learning/utils_sel/kd_loss.py`. Per example i, with student logits z, p =
//! softmax(z), weak soft labels y, a_s = argmax p (the student's hardened prediction), a_w =
//! argmax y (the weak label's), c_s = −log p[a_s] and c_w = −log p[a_w]:
//!
//! ```text
//! α_i  = exp(c_s/T) / (exp(c_s/T) + exp(c_w/T))      (detached)
//!      = σ((log p[a_w] − log p[a_s]) / T)             (computed so: the same number, no overflow)
//! α_i ← w·α_i,  w = min(1, step_frac / warmup_frac)   (w = 1 when warmup_frac = 0, the default)
//! loss = mean_i [ (1 − α_i)·τ²·CE(softmax(log y_i / τ), softmax(z_i / τ)) + α_i·CE(onehot(a_s), p_i) ]
//! ```
//!
//! The reference's lines: `ce_self = F.cross_entropy(logits_student, argmax(logits_student))`,
//! `ce_teacher = F.cross_entropy(logits_student, argmax(logits_teacher))` (both per example),
//! `ce_* = torch.exp(ce_* / superalignment_threshold)`, `alpha = (ce_self / (ce_self +
//! ce_teacher)).detach()`, `loss_kd = ((1 - alpha) * kd_loss(..., kd_temperature).sum(1)).mean(0)`,
//! `loss_align = (alpha * CrossEntropyLoss(reduction='none')(logits_student, argmax(logits_student))).mean(0)`.
//!
//! T is `temperature` (the reference's `--superalignment-threshold`, default 0.5 in its
//! `train.py` and its CIFAR commands; its ImageNet ViT command uses 4.0, its few-shot config 8);
//! τ is `kd_temperature` (`--kd-temperature`, default 1). With τ = 1 the loss is the cross-entropy
//! against the per-example target (1 − α_i)·y_i + α_i·onehot(a_s) (CE is linear in the target).
//!
//! What the formula does (derived, and pinned by the tests): since a_s maximises p, c_s ≤ c_w, so
//! α ∈ (0, 1/2]. α = 1/2 exactly when the student's argmax agrees with the weak label's (or when
//! the student is uniform, whatever T): the target then moves half-way to the student's hardened
//! prediction. When they disagree, α = 1/(1 + (p[a_s]/p[a_w])^(1/T)): the *more* confident the
//! student is in its disagreeing class, the *smaller* α, so a confidently disagreeing student is
//! pulled back to the weak label. α depends on the weak label only through its argmax, not its
//! confidence. As T → ∞, α → 1/2 on every example (a fixed half-and-half blend with the argmax);
//! as T → 0, α → 0 on disagreements and stays 1/2 on agreements. This is the reference code's
//! behaviour, kept as written.
//!
//! Deviations from the reference:
//! - Weak labels are the soft labels y (probabilities), not teacher logits: the teacher's
//!   softmax(logits/τ) is computed exactly as softmax(log y / τ) (y = softmax(logits)), and its
//!   hard label is argmax y (ties: the first class, as `torch.argmax`).
//! - The weak term is a cross-entropy, not `F.kl_div`: they differ by (1 − α_i)·τ²·H(q_i), which is
//!   constant in the parameters (α is detached, y carries no gradient), so the gradients are the
//!   same and the logged loss is on the scale of `xent` and `logconf`.
//! - No ground-truth term (`gt_loss_weight · CE(z, label)` in the classification distiller): a
//!   weak-to-strong student sees no ground truth. `kd_loss_weight` (a constant factor, default 1)
//!   is left out.
//! - α through a sigmoid of log-probabilities instead of the ratio of exponentials, which overflows
//!   (inf/inf = NaN in float32) once c_s/T > 88, e.g. an uncertain student at a small T.
//! - The warm-up (few-shot / noisy-label variants: α scaled by epoch/(0.25·epochs) while epoch <
//!   int(0.25·epochs)) is per step (`warmup_frac`, the linear ramp shared with `logconf`) and off by
//!   default, as in the classification distiller the README runs.
//!
//! Batch handling as in the reference: per-example weights, the mean over the batch; no batch
//! statistic enters (so the trainer may group rows by length). k > 2 classes work unchanged.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use w2s_core::{params::check, Objective, Params, StepInfo};

use super::logconf::Warmup;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AdaptConfParams {
    /// Temperature T of the confidence weighting (the reference's `superalignment_threshold`).
    pub temperature: f64,
    /// Distillation temperature τ of the weak-label term (the reference's `kd_temperature`).
    pub kd_temperature: f64,
    /// Fraction of training over which α is scaled up linearly from 0 (0: no warm-up).
    pub warmup_frac: f64,
}

impl Default for AdaptConfParams {
    fn default() -> Self {
        AdaptConfParams { temperature: 0.5, kd_temperature: 1.0, warmup_frac: 0.0 }
    }
}

impl Params for AdaptConfParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.temperature.is_finite() && self.temperature > 0.0, "temperature", "a finite number > 0")?;
        check(self.kd_temperature.is_finite() && self.kd_temperature > 0.0, "kd_temperature", "a finite number > 0")?;
        check((0.0..=1.0).contains(&self.warmup_frac), "warmup_frac", "a number in [0, 1]")
    }
}

/// The adaptive confidence loss.
#[derive(Debug, Clone)]
pub struct AdaptConf {
    pub params: AdaptConfParams,
}

impl AdaptConf {
    pub fn new(params: AdaptConfParams) -> anyhow::Result<Self> {
        Ok(AdaptConf { params })
    }

    /// The per-example weight α of the student's own hardened prediction (`[batch]`, detached),
    /// before the warm-up, from the student's log-probabilities and the weak labels.
    pub fn alpha(&self, logp: &Tensor, targets: &Tensor) -> anyhow::Result<Tensor> {
        let own = logp.f_argmax(-1, true)?;
        let weak = targets.f_argmax(-1, true)?;
        let lp_own = logp.f_gather(1, &own, false)?;
        let lp_weak = logp.f_gather(1, &weak, false)?;
        // exp(c_s/T) / (exp(c_s/T) + exp(c_w/T)) = σ((c_s − c_w)/T), c = −log p.
        Ok(lp_weak.f_sub(&lp_own)?.f_div_scalar(self.params.temperature)?.f_sigmoid()?.f_squeeze_dim(1)?.detach())
    }
}

impl Objective for AdaptConf {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, at: StepInfo) -> anyhow::Result<Tensor> {
        logits.size2().context("logits are not a [batch, classes] tensor")?;
        let logp = logits.f_log_softmax(-1, Kind::Float)?;
        let ramp = Warmup::Linear.coef(1.0, self.params.warmup_frac, at);
        let alpha = self.alpha(&logp, targets)?.f_mul_scalar(ramp)?;

        // α·CE(onehot(a_s), p) = α·(−log p[a_s]), with the gradient through log p (as the reference).
        let own = logp.f_argmax(-1, true)?;
        let align = logp.f_gather(1, &own, false)?.f_squeeze_dim(1)?.f_neg()?;

        // τ²·CE(softmax(log y / τ), softmax(z / τ)); at τ = 1 this is CE(y, p) (y used as given).
        let tau = self.params.kd_temperature;
        let weak = if tau == 1.0 {
            targets.f_mul(&logp)?.f_sum_dim_intlist(-1, false, Kind::Float)?.f_neg()?
        } else {
            let q = targets.f_to_kind(Kind::Float)?.f_log()?.f_div_scalar(tau)?.f_softmax(-1, Kind::Float)?;
            let logp_tau = logits.f_div_scalar(tau)?.f_log_softmax(-1, Kind::Float)?;
            q.f_mul(&logp_tau)?.f_sum_dim_intlist(-1, false, Kind::Float)?.f_neg()?.f_mul_scalar(tau * tau)?
        };

        let keep = alpha.f_neg()?.f_add_scalar(1.0)?;
        Ok(keep.f_mul(&weak)?.f_add(&alpha.f_mul(&align)?)?.f_mean(Kind::Float)?)
    }
}

w2s_core::register!(Objective {
    name: "adaptconf",
    description: "adaptive confidence loss (Guo et al. 2024): per example, weak labels vs the student's own argmax, \
                  weighted by their relative cross-entropies at a temperature",
    params: AdaptConfParams,
    build: AdaptConf::new,
});

#[cfg(test)]
mod tests {
    use super::*;
    use w2s_core::params::CheckFailed;

    const AT: StepInfo = StepInfo { step: 0, total: 1 };

    fn logits_of(p: &[f32], k: i64) -> Tensor {
        Tensor::from_slice(&p.iter().map(|x| x.ln()).collect::<Vec<_>>()).view([-1, k])
    }

    fn value(params: AdaptConfParams, logits: &Tensor, y: &Tensor) -> f64 {
        AdaptConf::new(params).unwrap().loss(logits, y, AT).unwrap().double_value(&[])
    }

    fn grad(params: AdaptConfParams, logits: &Tensor, y: &Tensor) -> (f64, Vec<f32>) {
        let logits = logits.detach().set_requires_grad(true);
        let l = AdaptConf::new(params).unwrap().loss(&logits, y, AT).unwrap();
        l.backward();
        (l.double_value(&[]), Vec::<f32>::try_from(logits.grad().view([-1])).unwrap())
    }

    #[test]
    fn adaptconf_known_answer() {
        // T = 0.5, τ = 1, no warm-up. α = 1/(1 + (p[a_s]/p[a_w])^(1/T)) = 1/(1 + (p[a_s]/p[a_w])²).
        // row 0: p = [0.8, 0.2],  y = [0.6, 0.4]: a_s = a_w = 0 -> α = 1/2, target = [0.8, 0.2],
        //        CE = 0.8·0.2231436 + 0.2·1.6094379 = 0.1785148 + 0.3218876 = 0.5004024.
        // row 1: p = [0.75, 0.25], y = [0.4, 0.6]: a_s = 0, a_w = 1, ratio 3 -> α = 1/(1+9) = 0.1,
        //        target = 0.9·[0.4, 0.6] + 0.1·[1, 0] = [0.46, 0.54],
        //        CE = 0.46·0.2876821 + 0.54·1.3862944 = 0.1323338 + 0.7485990 = 0.8809327.
        // row 2: p = [0.2, 0.8],  y = [0.9, 0.1]: a_s = 1, a_w = 0, ratio 4 -> α = 1/17,
        //        target = (16/17)·[0.9, 0.1] + (1/17)·[0, 1] = [14.4/17, 2.6/17] = [0.8470588, 0.1529412],
        //        CE = 0.8470588·1.6094379 + 0.1529412·0.2231436 = 1.3632886 + 0.0341278 = 1.3974164.
        // loss = (0.5004024 + 0.8809327 + 1.3974164)/3 = 0.9262505. (The reference's literal
        // exp(c_s/T)/(exp(c_s/T) + exp(c_w/T)) gives the same α: row 1 exp(2·ln(4/3)) = 16/9 and
        // exp(2·ln 4) = 16 -> (16/9)/(16/9 + 16) = 0.1.)
        let logits = logits_of(&[0.8, 0.2, 0.75, 0.25, 0.2, 0.8], 2);
        let y = Tensor::from_slice(&[0.6f32, 0.4, 0.4, 0.6, 0.9, 0.1]).view([3, 2]);
        let o = AdaptConf::new(AdaptConfParams::default()).unwrap();
        let a = Vec::<f32>::try_from(o.alpha(&logits.log_softmax(-1, Kind::Float), &y).unwrap()).unwrap();
        for (got, want) in a.iter().zip([0.5, 0.1, 1.0 / 17.0]) {
            assert!((*got as f64 - want).abs() < 1e-6, "{a:?}");
        }
        let v = value(AdaptConfParams::default(), &logits, &y);
        assert!((v - 0.926_250_5).abs() < 1e-5, "{v}");
        // The target is detached: d loss / d z = (p − target)/3. Row 1: ([0.75, 0.25] − [0.46, 0.54])/3.
        let (_, g) = grad(AdaptConfParams::default(), &logits, &y);
        assert!((g[2] as f64 - 0.29 / 3.0).abs() < 1e-5 && (g[3] as f64 + 0.29 / 3.0).abs() < 1e-5, "{g:?}");
    }

    #[test]
    fn adaptconf_kd_temperature_and_warmup_known_answers() {
        // Row 1 above (p = [0.75, 0.25], y = [0.4, 0.6], α = 0.1) at τ = 2:
        // q = softmax(ln y / 2) = √y/Σ√y = [0.4494897, 0.5505103]; softmax(z/2) = √p/Σ√p = [0.6339746, 0.3660254];
        // CE(q, ·) = 0.4494897·0.4557735 + 0.5505103·1.0050525 = 0.7581451;
        // loss = 0.9·4·0.7581451 + 0.1·(−ln 0.75) = 2.7293222 + 0.0287682 = 2.7580904.
        let logits = logits_of(&[0.75, 0.25], 2);
        let y = Tensor::from_slice(&[0.4f32, 0.6]).view([1, 2]);
        let v = value(AdaptConfParams { kd_temperature: 2.0, ..Default::default() }, &logits, &y);
        assert!((v - 2.758_090_4).abs() < 1e-5, "{v}");
        // Warm-up 0.4: at step_frac 0 α = 0 (plain xent: 0.4·0.2876821 + 0.6·1.3862944 = 0.9468495);
        // at 0.2, α = 0.05: target [0.43, 0.57], 0.43·0.2876821 + 0.57·1.3862944 = 0.9138911.
        let mut o = AdaptConf::new(AdaptConfParams { warmup_frac: 0.4, ..Default::default() }).unwrap();
        let v0 = o.loss(&logits, &y, StepInfo { step: 0, total: 10 }).unwrap().double_value(&[]);
        assert!((v0 - 0.946_849_5).abs() < 1e-5, "{v0}");
        let v2 = o.loss(&logits, &y, StepInfo { step: 2, total: 10 }).unwrap().double_value(&[]);
        assert!((v2 - 0.913_891_1).abs() < 1e-5, "{v2}");
    }

    #[test]
    fn adaptconf_limits() {
        // Uniform student: c_s = c_w = ln k, so α = 1/2 whatever T and y. Not xent on y: the loss has
        // xent's value (any target against a uniform p costs ln k) but the target is ½y + ½·onehot(0)
        // (argmax of a tie is class 0), so for y = [0.3, 0.7] the gradient is [0.5, 0.5] − [0.65, 0.35].
        let y = Tensor::from_slice(&[0.3f32, 0.7]).view([1, 2]);
        for t in [1e-3, 0.5, 4.0] {
            let (v, g) = grad(
                AdaptConfParams { temperature: t, ..Default::default() },
                &Tensor::zeros([1, 2], (Kind::Float, tch::Device::Cpu)),
                &y,
            );
            assert!((v - 2f64.ln()).abs() < 1e-6, "T {t}: {v}");
            assert!((g[0] as f64 + 0.15).abs() < 1e-6 && (g[1] as f64 - 0.15).abs() < 1e-6, "T {t}: {g:?}");
        }
        let y3 = Tensor::from_slice(&[0.2f32, 0.5, 0.3]).view([1, 3]);
        let v = value(AdaptConfParams::default(), &Tensor::zeros([1, 3], (Kind::Float, tch::Device::Cpu)), &y3);
        assert!((v - 3f64.ln()).abs() < 1e-6, "{v}");

        // Confident student (p ≈ [1, 0]) agreeing with an uncertain weak label y = [0.55, 0.45]:
        // α = 1/2, the target moves half-way to the student's argmax: [0.775, 0.225]; gradient p − target.
        let z = Tensor::from_slice(&[10.0f32, -10.0]).view([1, 2]);
        let p0 = 1.0 / (1.0 + (-20f64).exp());
        let (_, g) = grad(AdaptConfParams::default(), &z, &Tensor::from_slice(&[0.55f32, 0.45]).view([1, 2]));
        assert!((g[0] as f64 - (p0 - 0.775)).abs() < 1e-5 && (g[1] as f64 - (1.0 - p0 - 0.225)).abs() < 1e-5, "{g:?}");

        // The same confident student against an uncertain weak label leaning the other way,
        // y = [0.45, 0.55]: α = 1/(1 + e^(20/T)) ≈ 0, the target is the weak label itself (the
        // reference's weighting trusts the weak label when the student confidently disagrees).
        // xent = 0.45·(ln(1 + e^-20)) + 0.55·(20 + ln(1 + e^-20)) ≈ 11.0.
        let y = Tensor::from_slice(&[0.45f32, 0.55]).view([1, 2]);
        let (v, g) = grad(AdaptConfParams::default(), &z, &y);
        let xent = 0.55 * 20.0 + (-20f64).exp().ln_1p();
        assert!((v - xent).abs() < 1e-4, "{v} vs {xent}");
        assert!((g[0] as f64 - (p0 - 0.45)).abs() < 1e-5, "{g:?}");
        // A large T brings every α to 1/2: the target is then ½y + ½·[1, 0] = [0.725, 0.275].
        let (_, g) = grad(AdaptConfParams { temperature: 1e6, ..Default::default() }, &z, &y);
        assert!((g[0] as f64 - (p0 - 0.725)).abs() < 1e-4, "{g:?}");
    }

    #[test]
    fn adaptconf_gradient_is_finite_for_extreme_logits() {
        // ±50 logits, hard and soft weak labels (zeros go through log y at τ ≠ 1), a uniform row at a
        // tiny T (where the reference's exp(c/T) overflows to inf/inf), two and three classes.
        let z = Tensor::from_slice(&[50.0f32, -50.0, -50.0, 50.0, 50.0, -50.0, 0.0, 0.0]).view([4, 2]);
        let y = Tensor::from_slice(&[1.0f32, 0.0, 1.0, 0.0, 0.3, 0.7, 0.0, 1.0]).view([4, 2]);
        let z3 = Tensor::from_slice(&[50.0f32, -50.0, 0.0, -50.0, 0.0, 50.0]).view([2, 3]);
        let y3 = Tensor::from_slice(&[0.0f32, 0.0, 1.0, 0.2, 0.3, 0.5]).view([2, 3]);
        for (z, y) in [(&z, &y), (&z3, &y3)] {
            for (t, tau) in [(0.5, 1.0), (1e-3, 1.0), (0.5, 2.0), (1e-3, 20.0)] {
                let params = AdaptConfParams { temperature: t, kd_temperature: tau, ..Default::default() };
                let (v, g) = grad(params, z, y);
                assert!(v.is_finite(), "T {t} τ {tau}: {v}");
                assert!(g.iter().all(|x| x.is_finite()), "T {t} τ {tau}: {g:?}");
                assert!(g.iter().any(|x| x.abs() > 1e-3), "no gradient reached the logits: {g:?}");
            }
        }
        // NaN logits: a NaN loss (for the trainer's check), not a panic.
        let nan = Tensor::from_slice(&[f32::NAN, 0.0, 1.0, 2.0]).view([2, 2]);
        let y = Tensor::from_slice(&[0.6f32, 0.4, 0.4, 0.6]).view([2, 2]);
        assert!(value(AdaptConfParams::default(), &nan, &y).is_nan());
        // Not a [batch, classes] tensor: an error.
        let flat = Tensor::from_slice(&[0.0f32, 1.0]);
        assert!(AdaptConf::new(AdaptConfParams::default()).unwrap().loss(&flat, &flat, AT).is_err());
    }

    #[test]
    fn adaptconf_is_per_row() {
        assert!(!AdaptConf::new(AdaptConfParams::default()).unwrap().uses_batch_statistics());
    }

    #[test]
    fn adaptconf_invalid_params_are_named() {
        let field = |p: AdaptConfParams| {
            let err = p.validate().unwrap_err();
            assert!(err.to_string().contains('`'), "{err}");
            err.downcast_ref::<CheckFailed>().map(|c| c.field.clone()).unwrap()
        };
        for t in [0.0, -1.0, f64::NAN, f64::INFINITY] {
            assert_eq!(field(AdaptConfParams { temperature: t, ..Default::default() }), "temperature");
            assert_eq!(field(AdaptConfParams { kd_temperature: t, ..Default::default() }), "kd_temperature");
        }
        for w in [-0.1, 1.5, f64::NAN] {
            assert_eq!(field(AdaptConfParams { warmup_frac: w, ..Default::default() }), "warmup_frac");
        }
        assert!(AdaptConfParams::default().validate().is_ok());
        let err = serde_json::from_str::<AdaptConfParams>(r#"{"temprature": 1.0}"#).unwrap_err().to_string();
        assert!(err.contains("temperature"), "unknown fields list the valid ones: {err}");
    }
}
