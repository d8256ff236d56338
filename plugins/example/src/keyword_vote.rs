//! `keyword-vote`: a hand-written labelling function. Class 1 when the text contains at least
//! `min_hits` of `words` (case-insensitive, whole words), else class 0; `confidence` of the mass
//! on the chosen class.

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, LabelerCtx, Params, WeakLabeler, WeakLabels};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct KeywordVoteParams {
    pub words: Vec<String>,
    pub min_hits: usize,
    pub confidence: f64,
}

impl Default for KeywordVoteParams {
    fn default() -> Self {
        KeywordVoteParams {
            words: ["and", "but", "that", "which", "with", "who", "while"].map(String::from).to_vec(),
            min_hits: 2,
            confidence: 0.9,
        }
    }
}

impl Params for KeywordVoteParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(!self.words.is_empty(), "words", "at least one word")?;
        check((0.5..=1.0).contains(&self.confidence), "confidence", "a number in [0.5, 1]")
    }
}

pub struct KeywordVote(KeywordVoteParams);

impl KeywordVote {
    fn vote(&self, text: &str) -> Vec<f32> {
        let lower = text.to_lowercase();
        let hits: usize =
            lower.split(|c: char| !c.is_alphanumeric()).filter(|w| self.0.words.iter().any(|k| k == w)).count();
        let c = self.0.confidence as f32;
        if hits >= self.0.min_hits {
            vec![1.0 - c, c]
        } else {
            vec![c, 1.0 - c]
        }
    }
}

impl WeakLabeler for KeywordVote {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        anyhow::ensure!(ctx.data.n_classes == 2, "keyword-vote labels binary tasks only");
        tracing::debug!(words = ?self.0.words, "keyword-vote labelling");
        Ok(WeakLabels {
            b: ctx.b.iter().map(|&i| self.vote(&ctx.data.train[i].text)).collect(),
            test: ctx.data.test.iter().map(|e| self.vote(&e.text)).collect(),
            keep: vec![true; ctx.b.len()],
        })
    }
}

w2s_core::register!(WeakLabeler {
    name: "keyword-vote",
    description: "hand-written rule: class 1 when the text has at least `min_hits` of `words` (example plugin)",
    params: KeywordVoteParams,
    build: |p| Ok::<_, anyhow::Error>(KeywordVote(p)),
});
