//! Few-shot prompting baselines (the paper's §5.1.3): instead of fine-tuning, the strong model is
//! *prompted* with `k` labelled examples and scored by the log-probabilities of the label words
//! after the query. Three numbers sit in the standard summary row of a `prompt` objective:
//! - `strong_acc`: k-shot with **gold** labels on the shots (the prompting ceiling);
//! - `w2s_acc`: k-shot with the **weak** supervisor's labels on the same shots;
//! - `weak_acc`: the weak supervisor itself, on the same test examples.
//!
//! With `k = 0` (zero-shot) both prompted accuracies are the same zero-shot accuracy. PGR is then
//! the prompting analogue of the fine-tuning PGR, so prompting and fine-tuning results line up in
//! one table.
//!
//! Prompt layout (the shots and the query share one template):
//! `instruction` + for each shot `template(text) + " " + label_word + "\n\n"` + `template(query)`,
//! and the model's next-token distribution is read at the end: each class scores the
//! log-probability of the first token of `" " + label_word`.

use anyhow::{bail, ensure};
use serde::{Deserialize, Serialize};

use crate::{params::check, rng, Example, Params};

/// A causal language model that can score what comes next after a prompt.
pub trait LanguageModel {
    /// Token ids of `text` (no special tokens added).
    fn tokenize(&self, text: &str) -> anyhow::Result<Vec<i64>>;
    /// Log-probabilities over the vocabulary of the token after each prompt: `[prompts][vocab]`
    /// restricted to `candidates` (token ids), i.e. `[prompts][candidates.len()]`.
    fn next_token_logprobs(&self, prompts: &[String], candidates: &[i64]) -> anyhow::Result<Vec<Vec<f32>>>;
}

/// Settings of a prompting baseline (the parameters of the `prompt` objective).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PromptSpec {
    /// Number of labelled examples in the prompt (0: zero-shot).
    pub k: usize,
    /// The word of each class (default: the task's class names).
    pub label_words: Vec<String>,
    /// Template of one text; `{text}` is replaced by the example.
    pub template: String,
    /// Text before the shots.
    pub instruction: String,
    /// Score only the first this many test examples (0: all): prompts are long and slow on a CPU.
    pub n_test: usize,
    /// Prompts scored at once.
    pub batch: usize,
}

impl Default for PromptSpec {
    fn default() -> Self {
        PromptSpec {
            k: 4,
            label_words: Vec::new(),
            template: "Text: {text}\nAnswer:".into(),
            instruction: String::new(),
            n_test: 200,
            batch: 8,
        }
    }
}

impl Params for PromptSpec {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.template.contains("{text}"), "template", "a template containing {text}")?;
        check(self.batch >= 1, "batch", "at least 1")?;
        check(self.k <= 64, "k", "at most 64 shots")
    }
    fn result_neutral_fields() -> &'static [&'static str] {
        &["batch"]
    }
}

/// The shots of a run: `k` examples of half B in a seeded order (the same examples whether they
/// carry gold or weak labels, so that only the labels differ).
pub fn choose_shots(b: &[usize], k: usize, seed: u64) -> Vec<usize> {
    rng::permutation(b.len(), seed, "prompt-shots").into_iter().take(k).collect()
}

impl PromptSpec {
    /// The label words for a task's classes.
    pub fn words(&self, class_names: &[String]) -> anyhow::Result<Vec<String>> {
        let words = if self.label_words.is_empty() { class_names.to_vec() } else { self.label_words.clone() };
        ensure!(
            words.len() == class_names.len(),
            "prompt.label_words has {} words but the task has {} classes ({})",
            words.len(),
            class_names.len(),
            class_names.join(", ")
        );
        Ok(words)
    }

    /// The prompt for `query` after `shots` (text, class) pairs.
    pub fn prompt(&self, shots: &[(&str, usize)], words: &[String], query: &str) -> String {
        let mut p = self.instruction.clone();
        for (text, class) in shots {
            p.push_str(&self.template.replace("{text}", text));
            p.push(' ');
            p.push_str(&words[*class]);
            p.push_str("\n\n");
        }
        p.push_str(&self.template.replace("{text}", query));
        p
    }
}

/// The candidate token of each class: the first token of `" " + word`; they must differ.
pub fn candidate_tokens(lm: &dyn LanguageModel, words: &[String]) -> anyhow::Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(words.len());
    for w in words {
        let t = lm.tokenize(&format!(" {w}"))?;
        let Some(&first) = t.first() else { bail!("label word {w:?} has no tokens") };
        if let Some(j) = ids.iter().position(|&x| x == first) {
            bail!("label words {:?} and {w:?} start with the same token ({first}): choose words that differ at their first token", words[j]);
        }
        ids.push(first);
    }
    Ok(ids)
}

/// Class distributions of `queries` prompted with `shots`: a softmax over the classes' candidate
/// log-probabilities.
pub fn classify(
    lm: &dyn LanguageModel,
    spec: &PromptSpec,
    words: &[String],
    shots: &[(&str, usize)],
    queries: &[&Example],
    progress: &dyn Fn(usize),
) -> anyhow::Result<Vec<Vec<f32>>> {
    if queries.iter().any(|e| e.pair.is_some()) {
        bail!("prompting baselines score single texts; this task's examples are pairs");
    }
    let candidates = candidate_tokens(lm, words)?;
    let mut out = Vec::with_capacity(queries.len());
    for chunk in queries.chunks(spec.batch) {
        let prompts: Vec<String> = chunk.iter().map(|e| spec.prompt(shots, words, &e.text)).collect();
        for lp in lm.next_token_logprobs(&prompts, &candidates)? {
            ensure!(
                lp.len() == candidates.len(),
                "language model returned {} scores for {} candidates",
                lp.len(),
                candidates.len()
            );
            let max = lp.iter().cloned().fold(f32::NEG_INFINITY, f32::max);
            let exp: Vec<f32> = lp.iter().map(|x| (x - max).exp()).collect();
            let sum: f32 = exp.iter().sum();
            out.push(exp.iter().map(|x| x / sum).collect());
        }
        progress(chunk.len());
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A "language model" over a 4-word vocabulary that prefers the word its prompt ends with a
    /// cue for: "good" → " positive", else " negative"; ids: 0 " negative", 1 " positive".
    struct Toy;

    impl LanguageModel for Toy {
        fn tokenize(&self, text: &str) -> anyhow::Result<Vec<i64>> {
            Ok(match text {
                " negative" => vec![0],
                " positive" => vec![1],
                " neg" | " negation" => vec![0, 3],
                _ => vec![2],
            })
        }
        fn next_token_logprobs(&self, prompts: &[String], candidates: &[i64]) -> anyhow::Result<Vec<Vec<f32>>> {
            Ok(prompts
                .iter()
                .map(|p| {
                    let query = p.rsplit("\n\n").next().unwrap();
                    let positive = query.contains("good");
                    candidates.iter().map(|&c| if (c == 1) == positive { -0.1 } else { -2.4 }).collect()
                })
                .collect())
        }
    }

    #[test]
    fn prompts_are_laid_out_and_classified() {
        let spec = PromptSpec { instruction: "Classify.\n".into(), ..Default::default() };
        let words = spec.words(&["negative".into(), "positive".into()]).unwrap();
        let p = spec.prompt(&[("bad film", 0), ("good film", 1)], &words, "a good one");
        assert_eq!(p, "Classify.\nText: bad film\nAnswer: negative\n\nText: good film\nAnswer: positive\n\nText: a good one\nAnswer:");
        let q = [Example::new("good", 1), Example::new("awful", 0)];
        let refs: Vec<&Example> = q.iter().collect();
        let probs = classify(&Toy, &spec, &words, &[("bad film", 0)], &refs, &|_| {}).unwrap();
        assert!(probs[0][1] > 0.85 && probs[1][0] > 0.85, "{probs:?}");
        assert!((probs[0].iter().sum::<f32>() - 1.0).abs() < 1e-6);
    }

    #[test]
    fn label_words_must_fit_the_task_and_differ_at_the_first_token() {
        let spec = PromptSpec { label_words: vec!["neg".into(), "negation".into()], ..Default::default() };
        let words = spec.words(&["a".into(), "b".into()]).unwrap();
        let err = candidate_tokens(&Toy, &words).unwrap_err().to_string();
        assert!(err.contains("same token"), "{err}");
        let err = spec.words(&["a".into(), "b".into(), "c".into()]).unwrap_err().to_string();
        assert!(err.contains("2 words but the task has 3 classes"), "{err}");
        assert!(PromptSpec { template: "no slot".into(), ..Default::default() }.validate().is_err());
    }

    #[test]
    fn shots_are_seeded_and_drawn_from_b() {
        let b: Vec<usize> = (100..150).collect();
        let s = choose_shots(&b, 4, 7);
        assert_eq!(s.len(), 4);
        assert_eq!(s, choose_shots(&b, 4, 7));
        assert!(s.iter().all(|&i| i < b.len()));
    }
}
