//! `logconf`: the auxiliary confidence loss of Burns et al. (2023).
//!
//! coef = aux_coef · min(1, step_frac / warmup_frac) (the *correct* linear warm-up; the reference
//! code's jump from 0.05·α to α is offered only as `logconf-openai`). The batch threshold
//! t = quantile(p[:,0], mean(y[:,1])) hardens the student's own predictions into class-balanced
//! labels ĥ = [p0 ≥ t, p0 < t]; the target is (1 − coef)·y + coef·ĥ (detached) and the loss is the
//! cross-entropy of the student against it. With more than two classes, ĥ is the one-hot argmax.
//!
//! The warm-up ([`Warmup`]) and the hardened loss ([`hardened_loss`]) are shared with `entropy`,
//! `logconf-buffered` and `logconf-openai`.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use w2s_core::{objective::soft_cross_entropy, params::check, Objective, Params, StepInfo};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfParams {
    /// Final weight α of the student's own hardened predictions.
    pub aux_coef: f64,
    /// Fraction of training over which the weight rises linearly from 0 to α.
    pub warmup_frac: f64,
}

impl Default for LogConfParams {
    fn default() -> Self {
        LogConfParams { aux_coef: 0.5, warmup_frac: 0.1 }
    }
}

impl Params for LogConfParams {
    fn validate(&self) -> anyhow::Result<()> {
        check((0.0..=1.0).contains(&self.aux_coef), "aux_coef", "a number in [0, 1]")?;
        check((0.0..=1.0).contains(&self.warmup_frac), "warmup_frac", "a number in [0, 1]")
    }
}

/// How the weight of the student's own predictions rises from 0 to `aux_coef`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Warmup {
    /// aux_coef · min(1, step_frac / warmup_frac): the correct linear warm-up.
    #[default]
    Linear,
    /// aux_coef · (step_frac if step_frac ≤ warmup_frac else 1): openai/weak-to-strong's HEAD, which
    /// rises to warmup_frac·aux_coef and then jumps to aux_coef (their open PR #33).
    OpenAi,
}

impl Warmup {
    /// The weight of the student's own predictions at a point of training.
    pub fn coef(self, aux_coef: f64, warmup_frac: f64, at: StepInfo) -> f64 {
        let f = at.frac();
        let ramp = match self {
            Warmup::Linear if warmup_frac <= 0.0 => 1.0,
            Warmup::Linear => (f / warmup_frac).min(1.0),
            Warmup::OpenAi if f <= warmup_frac => f,
            Warmup::OpenAi => 1.0,
        };
        aux_coef * ramp
    }
}

/// The auxiliary confidence loss.
#[derive(Debug, Clone)]
pub struct LogConf {
    pub params: LogConfParams,
    pub warmup: Warmup,
}

impl LogConf {
    /// With the correct linear warm-up.
    pub fn new(params: LogConfParams) -> anyhow::Result<Self> {
        Ok(LogConf { params, warmup: Warmup::Linear })
    }

    /// With the reference code's warm-up (`logconf-openai`).
    pub fn openai(params: LogConfParams) -> anyhow::Result<Self> {
        Ok(LogConf { params, warmup: Warmup::OpenAi })
    }

    /// The weight of the student's own predictions at a point of training.
    pub fn coef(&self, at: StepInfo) -> f64 {
        self.warmup.coef(self.params.aux_coef, self.params.warmup_frac, at)
    }
}

/// The q-quantile of the values of `v` with linear interpolation (`torch.quantile`), on `v`'s
/// device, with no host read: `q` is a 0-dim tensor, clamped to [0, 1] (NaN read as 0.5) so that
/// it is always valid. A NaN among the values gives a NaN quantile (as in torch), not an error.
pub fn quantile(v: &Tensor, q: &Tensor) -> anyhow::Result<Tensor> {
    let q = q.f_to_kind(v.kind())?.f_nan_to_num(0.5, None, None)?.f_clamp(0.0, 1.0)?;
    Ok(v.f_flatten(0, -1)?.f_quantile(&q, None, false, "linear")?)
}

/// Cross-entropy of the student against (1 − coef)·y + coef·ĥ. For two classes the threshold is
/// `threshold(p[:,0] of this batch, mean(y[:,1]))` (a `[batch]` tensor and a 0-dim one, both on
/// the logits' device and detached; it returns a 0-dim tensor there); with more, ĥ is the one-hot
/// argmax and `threshold` is not called. Everything stays on the device (no host read), and NaN
/// logits give a NaN loss (for the trainer's check), never a panic.
pub fn hardened_loss(
    logits: &Tensor,
    targets: &Tensor,
    coef: f64,
    threshold: impl FnOnce(&Tensor, &Tensor) -> anyhow::Result<Tensor>,
) -> anyhow::Result<Tensor> {
    let probs = logits.f_softmax(-1, Kind::Float)?.detach();
    let (_, k) = probs.size2().context("logits are not a [batch, classes] tensor")?;
    let hard = if k == 2 {
        let p0 = probs.f_select(1, 0)?;
        let prior = targets.f_mean_dim(0, false, Kind::Float)?.f_select(0, 1)?;
        let t = threshold(&p0, &prior)?;
        let first = p0.f_ge_tensor(&t)?.f_to_kind(Kind::Float)?.f_unsqueeze(1)?;
        let second = first.f_neg()?.f_add_scalar(1.0)?;
        Tensor::f_cat(&[&first, &second], 1)?
    } else {
        probs.f_argmax(-1, false)?.f_one_hot(k)?.f_to_kind(Kind::Float)?
    };
    let target = targets.f_mul_scalar(1.0 - coef)?.f_add(&hard.f_mul_scalar(coef)?)?;
    soft_cross_entropy(logits, &target)
}

impl Objective for LogConf {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, at: StepInfo) -> anyhow::Result<Tensor> {
        hardened_loss(logits, targets, self.coef(at), quantile)
    }

    /// The threshold is a quantile of the batch's predictions.
    fn uses_batch_statistics(&self) -> bool {
        true
    }
}

w2s_core::register!(Objective {
    name: "logconf",
    description:
        "auxiliary confidence loss: blend weak labels with the student's own hardened predictions (linear warm-up)",
    params: LogConfParams,
    build: LogConf::new,
});

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A point `frac` of the way through 1000 steps (shared by the logconf family's tests).
    pub(crate) fn at(frac: f64) -> StepInfo {
        StepInfo { step: (frac * 1000.0).round() as usize, total: 1000 }
    }

    /// The two-example batch of `loss_known_answer`: logits with p = [[0.8, 0.2], [0.3, 0.7]] and
    /// weak labels y = [[0.6, 0.4], [0.4, 0.6]].
    pub(crate) fn example() -> (Tensor, Tensor) {
        let logits = Tensor::from_slice(&[0.8f32.ln(), 0.2f32.ln(), 0.3f32.ln(), 0.7f32.ln()]).view([2, 2]);
        (logits, Tensor::from_slice(&[0.6f32, 0.4, 0.4, 0.6]).view([2, 2]))
    }

    /// A linear probe `[dim features -> 2 classes]` on fixed features (row i of `features` is
    /// example i's), whose logits are multiplied by `scale` (NaN: NaN logits); for trainer-level
    /// tests and the training micro-benchmark.
    pub(crate) struct Probe {
        pub features: Tensor,
        pub scale: f64,
    }

    struct ProbeModel {
        vs: tch::nn::VarStore,
        head: tch::nn::Linear,
        features: Tensor,
        scale: f64,
    }

    impl w2s_core::Backbone for Probe {
        fn build(&self, env: &w2s_core::Env, n_classes: usize) -> anyhow::Result<Box<dyn w2s_core::Model>> {
            let vs = tch::nn::VarStore::new(env.device);
            let dim = self.features.size()[1];
            let head = tch::nn::linear(vs.root() / "head", dim, n_classes as i64, Default::default());
            Ok(Box::new(ProbeModel { vs, head, features: self.features.shallow_clone(), scale: self.scale }))
        }
    }

    impl w2s_core::Model for ProbeModel {
        fn encode(&mut self, texts: &[&str], _env: &w2s_core::Env) -> anyhow::Result<w2s_core::Inputs> {
            let rows: Vec<i64> = texts.iter().map(|t| t.parse::<i64>()).collect::<Result<_, _>>()?;
            Ok(w2s_core::Inputs::Features(self.features.index_select(0, &Tensor::from_slice(&rows))))
        }
        fn logits(&self, inputs: &w2s_core::Inputs, rows: &[usize], _train: bool) -> anyhow::Result<Tensor> {
            let w2s_core::Inputs::Features(f) = inputs else { anyhow::bail!("features expected") };
            let idx = Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>());
            let x = f.index_select(0, &idx).to_device(self.vs.device());
            Ok(tch::nn::Module::forward(&self.head, &x) * self.scale)
        }
        fn var_store(&self) -> &tch::nn::VarStore {
            &self.vs
        }
    }

    /// Train a [`Probe`] on `n` random examples (texts are their row numbers) with `objective`:
    /// batch 32, one epoch, evaluation only at the end.
    pub(crate) fn train_probe(
        n: usize,
        scale: f64,
        objective: &mut dyn Objective,
    ) -> anyhow::Result<w2s_runtime::train::Trained> {
        use w2s_core::{Env, Example, TrainConfig};
        use w2s_runtime::train;
        tch::manual_seed(0);
        let features = Tensor::randn([n as i64, 32], (Kind::Float, tch::Device::Cpu));
        let examples: Vec<Example> = (0..n).map(|i| Example::new(i.to_string(), i % 2)).collect();
        let refs: Vec<&Example> = examples.iter().collect();
        let targets = train::one_hot(refs.iter().map(|e| e.label), 2);
        let cfg = TrainConfig { epochs: 1, batch_size: 32, lr: 1e-3, eval_every: 0, ..Default::default() };
        let backbone = Probe { features, scale };
        let job = train::Job {
            role: "student",
            backbone: &backbone,
            n_classes: 2,
            train: &refs,
            targets: &targets,
            test: &refs[..64.min(n)],
            also_predict: None,
            record: None,
            cfg: &cfg,
            seed: 0,
        };
        let env = Env { show_progress: false, ..Env::from_env() };
        train::train_and_predict(&env, &job, objective)
    }

    /// Micro-benchmark (issue #10 item 16): 200 training steps of `logconf` on a `[32, 2]` linear
    /// probe on the CPU. `cargo test --release -p w2s-builtin bench_logconf -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_logconf_200_steps() {
        tch::set_num_threads(1);
        let mut times = Vec::new();
        for _ in 0..7 {
            let mut l = LogConf::new(LogConfParams::default()).unwrap();
            let t = std::time::Instant::now();
            train_probe(200 * 32, 1.0, &mut l).unwrap();
            times.push(t.elapsed().as_secs_f64());
        }
        times.sort_by(|a, b| a.total_cmp(b));
        println!(
            "logconf, 200 steps of batch 32 on a [32, 2] probe, 1 thread: median {:.1} ms (min {:.1} ms) of 7",
            times[3] * 1e3,
            times[0] * 1e3
        );
    }

    #[test]
    fn warmup_schedule_known_answers() {
        let l = LogConf::new(LogConfParams::default()).unwrap();
        assert_eq!(l.coef(at(0.0)), 0.0);
        assert!((l.coef(at(0.05)) - 0.25).abs() < 1e-12, "half-way through warm-up: α/2");
        assert!((l.coef(at(0.1)) - 0.5).abs() < 1e-12);
        assert!((l.coef(at(0.5)) - 0.5).abs() < 1e-12);
    }

    #[test]
    fn quantile_matches_torch() {
        let v = Tensor::from_slice(&[0.1f32, 0.4, 0.2, 0.9]);
        let q = |q: f32| quantile(&v, &Tensor::from(q)).unwrap().double_value(&[]);
        // torch.quantile([0.1, 0.4, 0.2, 0.9], 0.5) = 0.3; 0.25: position 0.75 -> 0.1 + 0.75·0.1 = 0.175
        assert!((q(0.5) - 0.3).abs() < 1e-6);
        assert!((q(0.0) - 0.1).abs() < 1e-6);
        assert!((q(0.25) - 0.175).abs() < 1e-6);
        // Out of range (a rounding error in a prior) or NaN q: clamped / read as 0.5, no error.
        assert!((q(1.0 + 1e-6) - 0.9).abs() < 1e-6);
        assert!((q(f32::NAN) - 0.3).abs() < 1e-6);
        // A NaN value: a NaN quantile, no panic.
        let nan = Tensor::from_slice(&[0.1f32, f32::NAN, 0.2]);
        assert!(quantile(&nan, &Tensor::from(0.5f32)).unwrap().double_value(&[]).is_nan());
    }

    #[test]
    fn nan_logits_give_a_nan_loss_not_a_panic() {
        // The old host-side quantile sorted with partial_cmp(..).unwrap() and panicked here.
        let logits = Tensor::from_slice(&[0.1f32, 0.2, f32::NAN, 0.3, 0.5, 0.1]).view([3, 2]);
        let y = Tensor::from_slice(&[0.6f32, 0.4, 0.4, 0.6, 0.5, 0.5]).view([3, 2]);
        for mut l in
            [LogConf::new(LogConfParams::default()).unwrap(), LogConf::openai(LogConfParams::default()).unwrap()]
        {
            let loss = l.loss(&logits, &y, at(0.5)).unwrap();
            assert!(loss.double_value(&[]).is_nan());
        }
        // Three classes (the argmax branch) too.
        let logits3 = Tensor::from_slice(&[0.1f32, f32::NAN, 0.3, 0.5, 0.1, 0.2]).view([2, 3]);
        let y3 = Tensor::from_slice(&[0.2f32, 0.3, 0.5, 0.5, 0.3, 0.2]).view([2, 3]);
        let loss = LogConf::new(LogConfParams::default()).unwrap().loss(&logits3, &y3, at(0.5)).unwrap();
        assert!(loss.double_value(&[]).is_nan());
    }

    #[test]
    fn nan_logits_stop_training_with_the_trainers_error() {
        let err = train_probe(256, f64::NAN, &mut LogConf::new(LogConfParams::default()).unwrap()).err().unwrap();
        let err = err.to_string();
        assert!(err.contains("student: training loss became NaN by step 8 of 8"), "{err}");
    }

    #[test]
    fn the_logconf_family_uses_batch_statistics() {
        assert!(LogConf::new(LogConfParams::default()).unwrap().uses_batch_statistics());
        assert!(LogConf::openai(LogConfParams::default()).unwrap().uses_batch_statistics());
        assert!(!w2s_core::objective::SoftXent.uses_batch_statistics(), "per-row losses keep length grouping");
    }

    #[test]
    fn loss_known_answer() {
        // Two examples, p = softmax(logits): ex0 p0=0.8, ex1 p0=0.3. Weak labels y = [[0.6,0.4],[0.4,0.6]]
        // -> prior mean(y[:,1]) = 0.5, t = quantile([0.8, 0.3], 0.5) = 0.55,
        // ĥ = [[1,0],[0,1]]. At step_frac 0.5: coef 0.5, target = [[0.8,0.2],[0.2,0.8]].
        // loss = mean(-(0.8 ln 0.8 + 0.2 ln 0.2), -(0.2 ln 0.3 + 0.8 ln 0.7))
        let (logits, y) = example();
        let mut l = LogConf::new(LogConfParams::default()).unwrap();
        let got = l.loss(&logits, &y, at(0.5)).unwrap().double_value(&[]);
        let e0 = -(0.8 * 0.8f64.ln() + 0.2 * 0.2f64.ln());
        let e1 = -(0.2 * 0.3f64.ln() + 0.8 * 0.7f64.ln());
        assert!((got - (e0 + e1) / 2.0).abs() < 1e-5, "{got}");
        // At step 0 it is plain cross-entropy against y.
        let got0 = l.loss(&logits, &y, at(0.0)).unwrap().double_value(&[]);
        let x0 = -(0.6 * 0.8f64.ln() + 0.4 * 0.2f64.ln());
        let x1 = -(0.4 * 0.3f64.ln() + 0.6 * 0.7f64.ln());
        assert!((got0 - (x0 + x1) / 2.0).abs() < 1e-5, "{got0}");
    }

    #[test]
    fn invalid_params_are_named() {
        let err = LogConfParams { aux_coef: 2.0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("aux_coef"), "{err}");
    }
}
