//! `flip`: ground truth with systematic errors, easy for a student to imitate (the opposite of
//! `noise`): every example that a simple rule selects gets the wrong class, the other class of a
//! binary task and label + 1 mod k otherwise, in half B and in the test set alike. Rules (`rule`):
//! - `all`: every example;
//! - `longer_than`: texts of more than `threshold` characters; or give `target_accuracy`
//!   instead, and the threshold is chosen on half B so that the flipped fraction of B is as close
//!   as possible to 1 − target_accuracy (the same threshold then applies to the test set); or
//!   `matched_to`, a labeler spec whose accuracy on B becomes the target accuracy;
//! - `contains`: texts whose lowercased form contains `token` (lowercased);
//! - `words`: texts that contain one of `words` (whole words, lowercased); or give
//!   `target_accuracy` or `matched_to` instead, and the words are chosen on half B, the most
//!   frequent content words first, so that the flipped share of B is within `tolerance` of
//!   1 − target (`flip_words`): an error a student reads (a topic), at a matched accuracy;
//! - `class`: every example of class `class`.
//!
//! Labels are hard (one-hot). No randomness: the label of an example depends on it alone.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, Example, LabelerCtx, Params, WeakLabeler, WeakLabels};

use rayon::prelude::*;

use super::soft_one_hot;

/// Which examples `flip` gets wrong.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Rule {
    #[default]
    All,
    LongerThan,
    Contains,
    Class,
    Words,
}

impl Rule {
    pub fn name(self) -> &'static str {
        match self {
            Rule::All => "all",
            Rule::LongerThan => "longer_than",
            Rule::Contains => "contains",
            Rule::Class => "class",
            Rule::Words => "words",
        }
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FlipParams {
    /// all, longer_than, contains or class.
    pub rule: Rule,
    /// `longer_than`: flip texts of more than this many characters.
    pub threshold: Option<usize>,
    /// `longer_than`: choose the threshold on half B so that this fraction of B stays correct.
    pub target_accuracy: Option<f64>,
    /// `longer_than`: take the target accuracy from this labeler's accuracy on half B.
    pub matched_to: Option<w2s_core::Spec>,
    /// `longer_than` with a target: the largest allowed gap between the target accuracy and the
    /// accuracy a length threshold reaches on B (texts of equal length flip together); default 0.01.
    pub tolerance: Option<f64>,
    /// `contains`: flip texts that contain this token (both lowercased).
    pub token: Option<String>,
    /// `class`: flip every example of this class (an index into the task's classes).
    pub class: Option<usize>,
    /// `words`: flip texts that contain one of these words (whole words, lowercased).
    pub words: Option<Vec<String>>,
}

impl Params for FlipParams {
    fn validate(&self) -> anyhow::Result<()> {
        use Rule::{Class, Contains, LongerThan, Words};
        let used_by: [(&str, bool, &[Rule]); 7] = [
            ("threshold", self.threshold.is_some(), &[LongerThan]),
            ("target_accuracy", self.target_accuracy.is_some(), &[LongerThan, Words]),
            ("matched_to", self.matched_to.is_some(), &[LongerThan, Words]),
            ("tolerance", self.tolerance.is_some(), &[LongerThan, Words]),
            ("token", self.token.is_some(), &[Contains]),
            ("class", self.class.is_some(), &[Class]),
            ("words", self.words.is_some(), &[Words]),
        ];
        for (field, given, rules) in used_by {
            if given && !rules.contains(&self.rule) {
                let names: Vec<&str> = rules.iter().map(|r| r.name()).collect();
                anyhow::bail!(
                    "parameter `{field}`: only used with rule `{}`, not with rule `{}`",
                    names.join("` or `"),
                    self.rule.name()
                );
            }
        }
        match self.rule {
            Rule::All => Ok(()),
            Rule::LongerThan => match (self.threshold, self.target_accuracy, &self.matched_to) {
                (Some(_), None, None) | (None, None, Some(_)) => Ok(()),
                (None, Some(a), None) => check((0.0..=1.0).contains(&a), "target_accuracy", "a number in [0, 1]"),
                _ => anyhow::bail!(
                    "parameters `threshold`, `target_accuracy` and `matched_to`: rule `longer_than` needs exactly one of them"
                ),
            },
            Rule::Contains => check(
                self.token.as_deref().is_some_and(|t| !t.is_empty()),
                "token",
                "a non-empty string (rule `contains`)",
            ),
            Rule::Class => check(self.class.is_some(), "class", "a class index (rule `class`)"),
            Rule::Words => match (&self.words, self.target_accuracy, &self.matched_to) {
                (Some(w), None, None) => check(
                    !w.is_empty() && w.iter().all(|w| !w.trim().is_empty()),
                    "words",
                    "a non-empty list of non-empty words (rule `words`)",
                ),
                (None, None, Some(_)) => Ok(()),
                (None, Some(a), None) => check((0.0..=1.0).contains(&a), "target_accuracy", "a number in [0, 1]"),
                _ => anyhow::bail!(
                    "parameters `words`, `target_accuracy` and `matched_to`: rule `words` needs exactly one of them"
                ),
            },
        }
    }
}

/// A rule made concrete for one dataset: which examples are flipped.
#[derive(Debug, Clone, PartialEq)]
pub enum Selector {
    All,
    LongerThan(usize),
    Contains(String),
    Class(usize),
    Words(std::collections::BTreeSet<String>),
}

impl Selector {
    pub fn selects(&self, e: &Example) -> bool {
        match self {
            Selector::All => true,
            Selector::LongerThan(t) => e.text.chars().count() > *t,
            Selector::Contains(token) => e.text.to_lowercase().contains(token.as_str()),
            Selector::Class(c) => e.label == *c,
            Selector::Words(words) => super::flip_words::contains_any(&e.text, words),
        }
    }
}

/// The wrong class that a flipped example gets: the other class of a binary task, label + 1
/// mod k otherwise (a one-class task cannot be wrong).
pub fn flipped(label: usize, k: usize) -> usize {
    (label + 1) % k.max(1)
}

/// The length threshold `t` for which the fraction of `lengths` above `t` is closest to
/// `flip_fraction` (the first such `t`, i.e. the one flipping more, on a tie).
pub fn choose_threshold(lengths: &[usize], flip_fraction: f64) -> usize {
    let mut sorted = lengths.to_vec();
    sorted.sort_unstable();
    let want = flip_fraction * sorted.len() as f64;
    let above = |t: usize| (sorted.len() - sorted.partition_point(|&l| l <= t)) as f64;
    let mut candidates = sorted.clone();
    candidates.dedup();
    if let Some(&shortest) = sorted.first().filter(|&&l| l > 0) {
        candidates.insert(0, shortest - 1);
    }
    candidates.into_iter().min_by(|&s, &t| (above(s) - want).abs().total_cmp(&(above(t) - want).abs())).unwrap_or(0)
}

/// Fraction of `lengths` above the threshold `t`.
pub fn flipped_share(lengths: &[usize], t: usize) -> f64 {
    lengths.iter().filter(|&&l| l > t).count() as f64 / lengths.len().max(1) as f64
}

/// The reachable accuracies (1 − flipped share over all thresholds) nearest to `target` from
/// below and from above.
pub fn nearest_reachable(lengths: &[usize], target: f64) -> (f64, f64) {
    let mut thresholds: Vec<usize> = lengths.to_vec();
    thresholds.push(0);
    let reachable: Vec<f64> = thresholds.iter().map(|&t| 1.0 - flipped_share(lengths, t)).collect();
    let below = reachable.iter().copied().filter(|&a| a <= target).fold(0.0, f64::max);
    let above = reachable.iter().copied().filter(|&a| a >= target).fold(1.0, f64::min);
    (below, above)
}

pub struct Flip {
    pub params: FlipParams,
}

impl Flip {
    pub fn new(params: FlipParams) -> anyhow::Result<Self> {
        Ok(Flip { params })
    }

    /// The concrete rule for this context (a `target_accuracy` is turned into a threshold on B).
    pub fn selector(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<Selector> {
        let p = &self.params;
        let target = match &p.matched_to {
            Some(spec) => Some(super::accuracy_of(ctx, spec)?),
            None => p.target_accuracy,
        };
        Ok(match p.rule {
            Rule::All => Selector::All,
            Rule::LongerThan => {
                let t = match (p.threshold, target) {
                    (Some(t), _) => t,
                    (None, acc) => {
                        let lengths: Vec<usize> =
                            ctx.b.iter().map(|&i| ctx.data.train[i].text.chars().count()).collect();
                        let target = acc.unwrap_or(1.0);
                        let t = choose_threshold(&lengths, 1.0 - target);
                        let reached = 1.0 - flipped_share(&lengths, t);
                        let tolerance = p.tolerance.unwrap_or(0.01);
                        if (reached - target).abs() > tolerance {
                            let (below, above) = nearest_reachable(&lengths, target);
                            anyhow::bail!(
                                "flip longer_than: accuracy {target:.4} cannot be reached within {tolerance} on half B \
                                 (texts of equal length flip together); the nearest reachable accuracies are \
                                 {below:.4} and {above:.4}. Raise `tolerance` or use another rule"
                            );
                        }
                        tracing::info!("flip: texts longer than {t} characters are flipped (accuracy on B {reached:.4}, target {target:.4})");
                        t
                    }
                };
                Selector::LongerThan(t)
            }
            Rule::Contains => Selector::Contains(p.token.clone().unwrap_or_default().to_lowercase()),
            Rule::Words => match &p.words {
                Some(words) => Selector::Words(words.iter().map(|w| w.trim().to_lowercase()).collect()),
                None => {
                    let texts: Vec<&str> = ctx.b.iter().map(|&i| ctx.data.train[i].text.as_str()).collect();
                    let target = target.unwrap_or(1.0);
                    let tolerance = p.tolerance.unwrap_or(0.01);
                    match super::flip_words::choose_words(&texts, 1.0 - target, tolerance) {
                        Ok((words, share)) => {
                            tracing::info!(
                                "flip: texts with one of {} words are flipped (accuracy on B {:.4}, target {target:.4}): {}",
                                words.len(),
                                1.0 - share,
                                words.join(", ")
                            );
                            Selector::Words(words.into_iter().collect())
                        }
                        Err(share) => anyhow::bail!(
                            "flip words: accuracy {target:.4} cannot be reached within {tolerance} on half B: \
                             the frequent content words reach {:.4} at best. Raise `tolerance`, give `words`, or use another rule",
                            1.0 - share
                        ),
                    }
                }
            },
            Rule::Class => {
                let (c, k) = (p.class.unwrap_or(0), ctx.data.n_classes);
                anyhow::ensure!(
                    c < k,
                    "parameter `class`: {c} is not a class of this task (it has {k}: {})",
                    ctx.data.class_names.join(", ")
                );
                Selector::Class(c)
            }
        })
    }
}

impl WeakLabeler for Flip {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let selector = self.selector(ctx)?;
        let k = ctx.data.n_classes;
        let label = |e: &Example| {
            let l = if selector.selects(e) { flipped(e.label, k) } else { e.label };
            soft_one_hot(l, k, 1.0)
        };
        Ok(WeakLabels {
            b: ctx.b.par_iter().map(|&i| label(&ctx.data.train[i])).collect(),
            test: ctx.data.test.par_iter().map(label).collect(),
            keep: vec![true; ctx.b.len()],
        })
    }
}

w2s_core::register!(WeakLabeler {
    name: "flip",
    description: "ground truth with systematic, imitable errors: flips the labels a rule selects (all, longer_than, contains, class, words: a topic's words, chosen to match a target accuracy)",
    params: FlipParams,
    build: Flip::new,
});

#[cfg(test)]
mod tests {
    use serde_json::json;
    use w2s_core::{metrics::argmax, Spec};

    use super::*;

    #[test]
    fn longer_than_matches_another_labelers_accuracy() {
        use crate::labelers::{label_for_test, test_dataset, test_spec};
        let data = test_dataset(2000, 2);
        let b: Vec<usize> = (0..2000).filter(|i| i % 2 == 0).collect();
        let reference = test_spec("noise", serde_json::json!({"rate": 0.3}));
        let acc = |spec: &w2s_core::Spec| {
            let l = label_for_test(spec, &data, &b, 1).unwrap();
            b.iter().enumerate().filter(|&(j, &i)| w2s_core::metrics::argmax(&l.b[j]) == data.train[i].label).count()
                as f64
                / b.len() as f64
        };
        let matched =
            test_spec("flip", serde_json::json!({"rule": "longer_than", "matched_to": reference, "tolerance": 0.03}));
        let (want, got) = (acc(&reference), acc(&matched));
        // Lengths are discrete: the closest threshold lands near, not exactly on, the target.
        assert!((got - want).abs() < 0.03, "flip {got} vs reference {want}");
    }
    use crate::labelers::{label_for_test, test_dataset, test_spec};

    fn spec(params: serde_json::Value) -> Spec {
        test_spec("flip", params)
    }

    /// Label with `params` and check that exactly the examples `expect` selects are wrong, in B
    /// and in the test set, with the class the flip prescribes and hard labels.
    fn flips_exactly(params: serde_json::Value, k: usize, expect: impl Fn(&Example) -> bool) {
        let data = test_dataset(60, k);
        let b: Vec<usize> = (0..60).filter(|i| i % 2 == 1).collect();
        let wl = label_for_test(&spec(params.clone()), &data, &b, 0).unwrap();
        let examples = b.iter().map(|&i| &data.train[i]).chain(&data.test);
        let (mut n_flipped, mut total) = (0, 0);
        for (e, p) in examples.zip(wl.b.iter().chain(&wl.test)) {
            let want = if expect(e) { flipped(e.label, k) } else { e.label };
            assert_eq!(argmax(p), want, "{params}: {e:?}");
            assert_eq!(p[want], 1.0, "hard labels");
            n_flipped += usize::from(expect(e));
            total += 1;
        }
        assert!(n_flipped > 0 && n_flipped < total, "{params}: the test must flip some but not all ({n_flipped})");
        assert!(wl.keep.iter().all(|&k| k));
    }

    #[test]
    fn flips_exactly_the_selected_examples() {
        flips_exactly(json!({"rule": "longer_than", "threshold": 20}), 2, |e| e.text.chars().count() > 20);
        flips_exactly(json!({"rule": "contains", "token": "GREAT"}), 2, |e| e.text.contains("Great"));
        flips_exactly(json!({"rule": "class", "class": 1}), 3, |e| e.label == 1);
        flips_exactly(json!({"rule": "words", "words": ["Great"]}), 2, |e| {
            e.text.split(|c: char| !c.is_alphanumeric()).any(|t| t.eq_ignore_ascii_case("great"))
        });
        let data = test_dataset(10, 3);
        let wl = label_for_test(&spec(json!({"rule": "all"})), &data, &[1, 2, 3], 0).unwrap();
        let got: Vec<usize> = wl.b.iter().map(|p| argmax(p)).collect();
        assert_eq!(got, [2, 0, 1], "k > 2: label + 1 mod k");
        assert_eq!(flipped(0, 2), 1);
        assert_eq!(flipped(1, 2), 0);
    }

    #[test]
    fn target_accuracy_chooses_the_length_threshold_on_b() {
        let lengths: Vec<usize> = (1..=100).collect();
        assert_eq!(choose_threshold(&lengths, 0.3), 70);
        assert_eq!(choose_threshold(&lengths, 1.0), 0, "flip all");
        assert_eq!(choose_threshold(&lengths, 0.0), 100, "flip none");
        assert_eq!(choose_threshold(&[5, 5, 5, 9], 0.5), 5, "ties in length: closest achievable fraction");
        let data = test_dataset(200, 2);
        let b: Vec<usize> = (0..200).step_by(2).collect();
        let wl = label_for_test(
            &spec(json!({"rule": "longer_than", "target_accuracy": 0.75, "tolerance": 0.05})),
            &data,
            &b,
            0,
        )
        .unwrap();
        let correct = b.iter().zip(&wl.b).filter(|(&i, p)| argmax(p) == data.train[i].label).count();
        let acc = correct as f64 / b.len() as f64;
        assert!((acc - 0.75).abs() <= 0.05, "accuracy on B {acc}");
    }

    #[test]
    fn words_rule_chooses_words_on_b_to_match_a_target() {
        // One text in five contains "great": flipping them is accuracy 0.8 on B and on the test set.
        let data = test_dataset(200, 2);
        let b: Vec<usize> = (0..200).step_by(2).collect();
        let wl = label_for_test(&spec(json!({"rule": "words", "target_accuracy": 0.8})), &data, &b, 0).unwrap();
        let acc_b = b.iter().zip(&wl.b).filter(|(&i, p)| argmax(p) == data.train[i].label).count() as f64 / 100.0;
        assert!((acc_b - 0.8).abs() <= 0.01, "accuracy on B {acc_b}");
        for (e, p) in data.test.iter().zip(&wl.test) {
            assert_eq!(argmax(p) != e.label, e.text.contains("Great"), "{e:?}");
        }
        let e = label_for_test(&spec(json!({"rule": "words", "target_accuracy": 0.0})), &data, &b, 0).unwrap_err();
        assert!(format!("{e:#}").contains("cannot be reached"), "{e:#}");
    }

    #[test]
    fn unreachable_target_names_the_reachable_accuracies() {
        // Lengths 5, 5, 5, 9: flipping reaches accuracy 1, 0.75 (the 9) or 0 (all), never 0.5.
        assert_eq!(nearest_reachable(&[5, 5, 5, 9], 0.5), (0.0, 0.75));
        let data = w2s_core::Dataset {
            n_classes: 2,
            class_names: vec!["a".into(), "b".into()],
            train: ["xxxxx", "yyyyy", "zzzzz", "wwwwwwwww"].iter().map(|t| w2s_core::Example::new(*t, 0)).collect(),
            test: vec![],
        };
        let err =
            label_for_test(&spec(json!({"rule": "longer_than", "target_accuracy": 0.5})), &data, &[0, 1, 2, 3], 0)
                .unwrap_err();
        let msg = format!("{err:#}");
        assert!(msg.contains("cannot be reached") && msg.contains("0.0000 and 0.7500"), "{msg}");
    }

    #[test]
    fn deterministic_and_independent_of_order() {
        let data = test_dataset(40, 2);
        let s = spec(json!({"rule": "longer_than", "target_accuracy": 0.6, "tolerance": 0.2}));
        let b: Vec<usize> = (0..40).filter(|i| i % 3 != 0).collect();
        let once = label_for_test(&s, &data, &b, 1).unwrap();
        assert_eq!(once, label_for_test(&s, &data, &b, 2).unwrap(), "no randomness: seed-free");
        let reversed: Vec<usize> = b.iter().rev().copied().collect();
        let mut back = label_for_test(&s, &data, &reversed, 1).unwrap().b;
        back.reverse();
        assert_eq!(back, once.b);
    }

    #[test]
    fn parameters_are_checked() {
        let err = |p: FlipParams| p.validate().unwrap_err().to_string();
        assert!(FlipParams::default().validate().is_ok(), "rule all");
        let lt = FlipParams { rule: Rule::LongerThan, ..Default::default() };
        assert!(err(lt.clone()).contains("exactly one"));
        let both = FlipParams { threshold: Some(3), target_accuracy: Some(0.8), ..lt.clone() };
        assert!(err(both).contains("exactly one"));
        let bad = FlipParams { target_accuracy: Some(1.5), ..lt };
        assert!(err(bad).contains("`target_accuracy`"));
        let e = err(FlipParams { token: Some("x".into()), ..Default::default() });
        assert!(e.contains("`token`") && e.contains("contains"), "{e}");
        let e = err(FlipParams { rule: Rule::Contains, token: Some(String::new()), ..Default::default() });
        assert!(e.contains("`token`"), "{e}");
        assert!(err(FlipParams { rule: Rule::Class, ..Default::default() }).contains("`class`"));
        let words = FlipParams { rule: Rule::Words, ..Default::default() };
        assert!(err(words.clone()).contains("exactly one"));
        assert!(err(FlipParams { words: Some(vec![" ".into()]), ..words.clone() }).contains("`words`"));
        let e = err(FlipParams { threshold: Some(3), ..words });
        assert!(e.contains("`threshold`") && e.contains("longer_than"), "{e}");
        let data = test_dataset(10, 2);
        let e = label_for_test(&spec(json!({"rule": "class", "class": 2})), &data, &[1], 0).unwrap_err();
        let e = format!("{e:#}");
        assert!(e.contains("`class`") && e.contains("c0, c1"), "{e}");
    }
}
