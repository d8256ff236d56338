//! `confident`: easy-to-hard by the supervisor's confidence. Runs an inner labeler (`inner`, the
//! weak model by default) and lets the student train only on the examples of half B whose inner
//! label is most confident (largest probability): give `fraction` (keep that share, rounded,
//! of the examples the inner labeler keeps) or `threshold` (keep those whose largest probability
//! is at least this), exactly one. Ties in confidence are broken by a seeded hash of the example
//! index. The labels themselves, and the test labels, are the inner labeler's.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, LabelerCtx, Params, Spec, WeakLabeler, WeakLabels};

use super::{default_inner, keep_top, label_with, tie_keys};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConfidentParams {
    /// The labeler whose labels are filtered.
    pub inner: Spec,
    /// Keep this share of B, the most confident first.
    pub fraction: Option<f64>,
    /// Keep the examples whose largest label probability is at least this.
    pub threshold: Option<f64>,
}

impl Default for ConfidentParams {
    fn default() -> Self {
        ConfidentParams { inner: default_inner(), fraction: None, threshold: None }
    }
}

impl Params for ConfidentParams {
    fn validate(&self) -> anyhow::Result<()> {
        match (self.fraction, self.threshold) {
            (Some(f), None) => check(f > 0.0 && f <= 1.0, "fraction", "a number in (0, 1]"),
            (None, Some(t)) => check((0.0..=1.0).contains(&t), "threshold", "a probability in [0, 1]"),
            _ => anyhow::bail!("parameters `fraction` and `threshold`: give exactly one of them"),
        }
    }
}

pub struct Confident {
    pub params: ConfidentParams,
}

impl Confident {
    pub fn new(params: ConfidentParams) -> anyhow::Result<Self> {
        Ok(Confident { params })
    }
}

/// The largest probability of a distribution.
pub fn confidence(p: &[f32]) -> f32 {
    p.iter().copied().fold(0.0, f32::max)
}

impl WeakLabeler for Confident {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let mut wl = label_with(ctx, &self.params.inner)?;
        let conf: Vec<f32> = wl.b.iter().map(|p| confidence(p)).collect();
        let chosen = match (self.params.fraction, self.params.threshold) {
            (Some(f), _) => {
                let scores: Vec<f64> = conf.iter().map(|&c| f64::from(c)).collect();
                keep_top(&scores, &wl.keep, f, &tie_keys(ctx, "confident-ties"))
            }
            (None, t) => {
                let t = t.unwrap_or(0.0) as f32;
                let chosen: Vec<bool> = conf.iter().map(|&c| c >= t).collect();
                let best = conf.iter().zip(&wl.keep).filter(|(_, &k)| k).map(|(&c, _)| c).fold(0.0, f32::max);
                anyhow::ensure!(
                    chosen.iter().zip(&wl.keep).any(|(&c, &k)| c && k),
                    "parameter `threshold`: no example of B has a label probability of at least {t} \
                     (the most confident has {best:.3}); lower it or give `fraction`"
                );
                chosen
            }
        };
        wl.keep = wl.keep.iter().zip(chosen).map(|(&k, c)| k && c).collect();
        Ok(wl)
    }
}

w2s_core::register!(WeakLabeler {
    name: "confident",
    description:
        "easy-to-hard: keeps the examples of B on which an inner labeler is most confident (`fraction` or `threshold`)",
    params: ConfidentParams,
    build: Confident::new,
});

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::labelers::{label_for_test, test_dataset, test_spec};

    fn spec(params: serde_json::Value) -> Spec {
        test_spec("confident", params)
    }

    fn kept(wl: &WeakLabels) -> usize {
        wl.keep.iter().filter(|&&k| k).count()
    }

    #[test]
    fn keeps_the_stated_fraction_and_the_inner_labels() {
        let data = test_dataset(100, 2);
        let b: Vec<usize> = (0..100).filter(|i| i % 4 != 0).collect();
        let truth = label_for_test(&Spec::new("ground-truth"), &data, &b, 3).unwrap();
        for f in [0.1, 0.33, 0.5, 1.0] {
            let wl = label_for_test(&spec(json!({"inner": "ground-truth", "fraction": f})), &data, &b, 3).unwrap();
            let want = f * b.len() as f64;
            assert!((kept(&wl) as f64 - want).abs() <= 1.0, "fraction {f}: kept {} of {}", kept(&wl), b.len());
            assert_eq!((&wl.b, &wl.test), (&truth.b, &truth.test), "labels are the inner ones");
        }
    }

    #[test]
    fn keeps_the_most_confident_and_respects_inner_abstentions() {
        // Inner: the 60% shortest of B (by `easy`); then the most confident half of those.
        let data = test_dataset(100, 2);
        let b: Vec<usize> = (0..100).collect();
        let easy = json!({"kind": "easy", "inner": "ground-truth", "fraction": 0.6});
        let inner = label_for_test(&test_spec("easy", easy.clone()), &data, &b, 0).unwrap();
        let wl = label_for_test(&spec(json!({"inner": easy, "fraction": 0.5})), &data, &b, 0).unwrap();
        assert_eq!(kept(&wl), 30);
        assert!(wl.keep.iter().zip(&inner.keep).all(|(&k, &i)| i || !k), "a subset of the inner keep");
        // Soft inner labels of equal confidence 0.8: a threshold above keeps none, with a reason.
        let noisy = json!({"kind": "noise", "rate": 0.2, "confidence": 0.8});
        let ok = label_for_test(&spec(json!({"inner": noisy, "threshold": 0.8})), &data, &b, 0).unwrap();
        assert_eq!(kept(&ok), 100);
        let err = label_for_test(&spec(json!({"inner": noisy, "threshold": 0.9})), &data, &b, 0).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("`threshold`") && err.contains("0.800"), "{err}");
    }

    #[test]
    fn ties_are_deterministic_and_independent_of_order() {
        let data = test_dataset(80, 2);
        let b: Vec<usize> = (0..80).filter(|i| i % 3 != 0).collect();
        let s = spec(json!({"inner": "ground-truth", "fraction": 0.4}));
        let kept_ids = |b: &[usize], seed| -> Vec<usize> {
            let wl = label_for_test(&s, &data, b, seed).unwrap();
            let mut ids: Vec<usize> = b.iter().zip(&wl.keep).filter(|(_, &k)| k).map(|(&i, _)| i).collect();
            ids.sort_unstable();
            ids
        };
        let once = kept_ids(&b, 5);
        assert_eq!(once, kept_ids(&b, 5));
        let reversed: Vec<usize> = b.iter().rev().copied().collect();
        assert_eq!(once, kept_ids(&reversed, 5), "the order of B does not matter");
        assert_ne!(once, kept_ids(&b, 6), "ties follow the seed");
        assert_ne!(once, b[..once.len()].to_vec(), "ties do not favour the first examples");
    }

    #[test]
    fn parameters_are_checked() {
        let err = |p: ConfidentParams| p.validate().unwrap_err().to_string();
        assert!(err(ConfidentParams::default()).contains("exactly one"));
        assert!(err(ConfidentParams { fraction: Some(0.5), threshold: Some(0.9), ..Default::default() })
            .contains("exactly one"));
        assert!(err(ConfidentParams { fraction: Some(0.0), ..Default::default() }).contains("`fraction`"));
        assert!(err(ConfidentParams { threshold: Some(1.2), ..Default::default() }).contains("`threshold`"));
        let p: ConfidentParams = serde_json::from_value(json!({"fraction": 0.5})).unwrap();
        assert_eq!(p.inner, Spec::new("model"), "the weak model by default");
        let data = test_dataset(10, 2);
        let err = label_for_test(&spec(json!({"inner": "noize", "fraction": 0.5})), &data, &[1, 2], 0).unwrap_err();
        let err = format!("{err:#}");
        assert!(err.contains("unknown labeler `noize`") && err.contains("inner"), "{err}");
    }
}
