//! `sentence-length`: is a movie-review sentence (vaderSentiment's rated set) longer than the
//! median number of words? Balanced by construction.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng, Dataset, Env, Example, Params, Task};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentenceLengthParams {
    pub n_train: usize,
    pub n_test: usize,
    pub data_seed: u64,
}

impl Default for SentenceLengthParams {
    fn default() -> Self {
        SentenceLengthParams { n_train: 2000, n_test: 500, data_seed: 0 }
    }
}

impl Params for SentenceLengthParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.n_train >= 4, "n_train", "at least 4")?;
        check(self.n_train + self.n_test <= 10_000, "n_train + n_test", "at most 10,000")
    }
}

pub struct SentenceLength(SentenceLengthParams);

impl Task for SentenceLength {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        let path = env.asset_dir("vader")?.join("movieReviewSnippets_GroundTruth.txt");
        let text =
            String::from_utf8_lossy(&std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?)
                .into_owned();
        let mut sentences: Vec<String> =
            text.lines().filter_map(|l| l.trim_end_matches('\r').splitn(3, '\t').nth(2)).map(str::to_string).collect();
        let words = |s: &String| s.split_whitespace().count();
        let mut counts: Vec<usize> = sentences.iter().map(words).collect();
        counts.sort_unstable();
        let median = counts[counts.len() / 2];
        // Drop sentences of exactly the median length so that the two classes are well defined.
        sentences.retain(|s| words(s) != median);
        rng::Rng::new(self.0.data_seed, "sentence-length").shuffle(&mut sentences);
        let examples: Vec<Example> = sentences
            .into_iter()
            .map(|s| {
                let label = usize::from(words(&s) > median);
                Example::new(s, label)
            })
            .collect();
        let (test, rest) = examples.split_at(self.0.n_test.min(examples.len()));
        Ok(Dataset {
            n_classes: 2,
            class_names: vec![format!("at most {median} words"), format!("more than {median} words")],
            train: rest[..self.0.n_train.min(rest.len())].to_vec(),
            test: test.to_vec(),
        })
    }
}

w2s_core::register!(Task {
    name: "sentence-length",
    description: "is a movie-review sentence longer than the median? (example plugin)",
    params: SentenceLengthParams,
    build: |p| Ok::<_, anyhow::Error>(SentenceLength(p)),
});
