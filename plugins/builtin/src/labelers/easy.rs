//! `easy`: easy-to-hard by the difficulty of the examples themselves. Runs an inner labeler
//! (`inner`, the weak model by default) and lets the student train only on the easiest
//! `fraction` (rounded) of the examples of half B that the inner labeler keeps, by a difficulty
//! score (`by`): `length`, shorter texts (in characters) being easier. Ties are broken by a
//! seeded hash of the example index. The labels themselves, and the test labels, are the inner
//! labeler's.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, LabelerCtx, Params, Spec, WeakLabeler, WeakLabels};

use super::{default_inner, keep_top, label_with, tie_keys};

/// The difficulty score of an example.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum By {
    /// Text length in characters: shorter is easier.
    #[default]
    Length,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EasyParams {
    /// The labeler whose labels are filtered.
    pub inner: Spec,
    /// The difficulty score: length.
    pub by: By,
    /// Keep this share of B, the easiest first.
    pub fraction: f64,
}

impl Default for EasyParams {
    fn default() -> Self {
        EasyParams { inner: default_inner(), by: By::Length, fraction: 0.5 }
    }
}

impl Params for EasyParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.fraction > 0.0 && self.fraction <= 1.0, "fraction", "a number in (0, 1]")
    }
}

pub struct Easy {
    pub params: EasyParams,
}

impl Easy {
    pub fn new(params: EasyParams) -> anyhow::Result<Self> {
        Ok(Easy { params })
    }
}

impl WeakLabeler for Easy {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let mut wl = label_with(ctx, &self.params.inner)?;
        // Higher score = easier.
        let ease: Vec<f64> = match self.params.by {
            By::Length => ctx.b.iter().map(|&i| -(ctx.data.train[i].text.chars().count() as f64)).collect(),
        };
        wl.keep = keep_top(&ease, &wl.keep, self.params.fraction, &tie_keys(ctx, "easy-ties"));
        Ok(wl)
    }
}

w2s_core::register!(WeakLabeler {
    name: "easy",
    description: "easy-to-hard: keeps the easiest `fraction` of B (by text length) with an inner labeler's labels",
    params: EasyParams,
    build: Easy::new,
});

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::labelers::{label_for_test, test_dataset, test_spec};

    #[test]
    fn keeps_the_shortest_fraction() {
        let data = test_dataset(100, 2);
        let b: Vec<usize> = (0..100).filter(|i| i % 4 != 1).collect();
        let spec = test_spec("easy", json!({"inner": "ground-truth", "fraction": 0.4}));
        let wl = label_for_test(&spec, &data, &b, 0).unwrap();
        let truth = label_for_test(&Spec::new("ground-truth"), &data, &b, 0).unwrap();
        assert_eq!((&wl.b, &wl.test), (&truth.b, &truth.test), "labels are the inner ones");
        let len = |i: usize| data.train[i].text.chars().count();
        let kept: Vec<usize> = b.iter().zip(&wl.keep).filter(|(_, &k)| k).map(|(&i, _)| i).collect();
        assert!((kept.len() as f64 - 0.4 * b.len() as f64).abs() <= 1.0, "kept {}", kept.len());
        let longest_kept = kept.iter().map(|&i| len(i)).max().unwrap();
        let dropped = b.iter().zip(&wl.keep).filter(|(_, &k)| !k).map(|(&i, _)| i);
        assert!(dropped.into_iter().all(|i| len(i) >= longest_kept), "only longer (or equal) texts are dropped");
        assert_eq!(wl, label_for_test(&spec, &data, &b, 0).unwrap(), "deterministic");
    }

    #[test]
    fn parameters_are_checked() {
        assert!(EasyParams::default().validate().is_ok());
        let err = EasyParams { fraction: 1.5, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(err.contains("`fraction`"), "{err}");
        let err = serde_json::from_value::<EasyParams>(json!({"by": "loss"})).unwrap_err().to_string();
        assert!(err.contains("length"), "{err}");
    }
}
