//! Reward-modelling tasks: pairs of texts, class 0 when the first is better, 1 when the second is
//! (models score each text with one reward; Bradley–Terry). Order within a pair is a seeded coin
//! flip, so the classes are balanced.
//! - `sentiment-pairs`: which of two human-rated sentences did the raters find more positive?
//!   Pairs whose mean ratings differ by at least `min_gap` (on the −4..4 scale). With
//!   `soft_labels`, each pair also carries the raters' soft preference: the probability that a
//!   random rating of one sentence is above a random rating of the other (ties count one half),
//!   from the per-rater ratings file; gold-label training then targets it.
//! - `preference-pairs`: the user's HH-style JSONL, one `{"prompt"?, "chosen", "rejected"}` per line.

use std::path::Path;

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng, Dataset, Env, Example, Params, Task};

use crate::rated;

const CLASSES: [&str; 2] = ["first is better", "second is better"];

/// A (better, worse) pair as an example with a seeded order.
fn ordered(better: String, worse: String, seed: u64, item: usize) -> Example {
    if rng::uniform(seed, "pair-order", item as u64) < 0.5 {
        Example::pair(better, worse, 0)
    } else {
        Example::pair(worse, better, 1)
    }
}

fn dataset(mut examples: Vec<Example>, n_test: usize, n_train: usize, what: &str) -> anyhow::Result<Dataset> {
    anyhow::ensure!(
        n_test + n_train <= examples.len(),
        "{what}: n_train + n_test = {} but only {} pairs exist",
        n_train + n_test,
        examples.len()
    );
    let train = examples.split_off(n_test);
    Ok(Dataset {
        n_classes: 2,
        class_names: CLASSES.map(String::from).to_vec(),
        train: train.into_iter().take(n_train).collect(),
        test: examples,
    })
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentimentPairsParams {
    /// movies, amazon, nyt or tweets.
    pub source: String,
    /// Smallest difference of mean ratings in a pair.
    pub min_gap: f64,
    pub n_train: usize,
    pub n_test: usize,
    pub data_seed: u64,
    /// Attach the raters' soft preferences (from every rater's rating) as gold distributions.
    pub soft_labels: bool,
}

impl Default for SentimentPairsParams {
    fn default() -> Self {
        SentimentPairsParams {
            source: "movies".into(),
            min_gap: 1.0,
            n_train: 2000,
            n_test: 500,
            data_seed: 0,
            soft_labels: false,
        }
    }
}

impl Params for SentimentPairsParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(
            ["movies", "amazon", "nyt", "tweets"].contains(&self.source.as_str()),
            "source",
            "movies, amazon, nyt or tweets",
        )?;
        check(self.min_gap >= 0.0 && self.min_gap < 8.0, "min_gap", "a number in [0, 8)")?;
        check(self.n_train >= 4 && self.n_test >= 2, "n_train / n_test", "at least 4 / 2")
    }
}

pub struct SentimentPairs(pub SentimentPairsParams);

impl SentimentPairs {
    /// Pair sentences at random (each used at most once per pair draw) and keep pairs with a gap.
    /// With `ratings`, each pair carries the raters' soft preference between its two texts.
    pub fn build(&self, all: Vec<rated::Rated>, ratings: Option<&rated::Ratings>) -> anyhow::Result<Dataset> {
        let p = &self.0;
        let order = rng::permutation(all.len(), p.data_seed, "sentiment-pairs");
        let mut examples = Vec::new();
        for (item, two) in order.chunks_exact(2).enumerate() {
            let (a, b) = (&all[two[0]], &all[two[1]]);
            if (a.mean - b.mean).abs() >= p.min_gap {
                let (better, worse) = if a.mean > b.mean { (a, b) } else { (b, a) };
                let mut e = ordered(better.text.clone(), worse.text.clone(), p.data_seed, item);
                if let Some(r) = ratings {
                    let of = |s: &rated::Rated| {
                        r.get(&s.id).ok_or_else(|| {
                            anyhow::anyhow!("sentiment-pairs: sentence {} has no per-rater ratings", s.id)
                        })
                    };
                    let (first, second) = if e.label == 0 { (better, worse) } else { (worse, better) };
                    let p_first = rated::preference(of(first)?, of(second)?);
                    e = e.with_soft(vec![p_first, 1.0 - p_first]);
                }
                examples.push(e);
            }
        }
        dataset(examples, p.n_test, p.n_train, "sentiment-pairs")
    }
}

impl Task for SentimentPairs {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        let sentiment = crate::sentiment::Sentiment::new(crate::sentiment::SentimentParams {
            source: self.0.source.clone(),
            ..Default::default()
        })?;
        let ratings = if self.0.soft_labels { Some(sentiment.read_ratings_verified(env)?) } else { None };
        self.build(sentiment.read_verified(env)?, ratings.as_ref())
    }
}

w2s_core::register!(Task {
    name: "sentiment-pairs",
    description: "reward modelling: which of two human-rated sentences is more positive? (pairs, Bradley-Terry)",
    params: SentimentPairsParams,
    build: |p| Ok::<_, anyhow::Error>(SentimentPairs(p)),
});

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PreferencePairsParams {
    /// JSONL file, one `{"prompt"?, "chosen", "rejected"}` object per line.
    pub path: String,
    pub n_test: usize,
    /// At most this many training pairs (0: all the rest).
    pub n_train: usize,
    pub data_seed: u64,
}

impl Default for PreferencePairsParams {
    fn default() -> Self {
        PreferencePairsParams { path: String::new(), n_test: 200, n_train: 0, data_seed: 0 }
    }
}

impl Params for PreferencePairsParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(!self.path.is_empty(), "path", "the path of a JSONL file of {\"chosen\", \"rejected\"} pairs")
    }
}

/// One line of an HH-style file.
#[derive(Debug, Deserialize)]
struct PreferenceLine {
    #[serde(default)]
    prompt: Option<String>,
    chosen: String,
    rejected: String,
}

/// Read an HH-style JSONL file into ordered pair examples; errors name the file and line.
pub fn read_preferences(path: &Path, seed: u64) -> anyhow::Result<Vec<Example>> {
    let text = crate::text_file::read_user_text(path)?;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        let l: PreferenceLine = serde_json::from_str(line).map_err(|e| {
            anyhow::anyhow!(
                "{} line {}: expected {{\"prompt\"?, \"chosen\", \"rejected\"}} strings: {e}",
                path.display(),
                i + 1
            )
        })?;
        let with_prompt = |c: &str| match &l.prompt {
            Some(p) => format!("{p}\n\n{c}"),
            None => c.to_string(),
        };
        out.push(ordered(with_prompt(&l.chosen), with_prompt(&l.rejected), seed, i));
    }
    anyhow::ensure!(!out.is_empty(), "{} holds no preference pairs", path.display());
    Ok(out)
}

pub struct PreferencePairs(pub PreferencePairsParams);

impl Task for PreferencePairs {
    fn data_files(&self) -> Vec<std::path::PathBuf> {
        vec![std::path::PathBuf::from(&self.0.path)]
    }
    fn load(&self, _env: &Env) -> anyhow::Result<Dataset> {
        let p = &self.0;
        let mut examples = read_preferences(Path::new(&p.path), p.data_seed)?;
        rng::Rng::new(p.data_seed, "preference-split").shuffle(&mut examples);
        let n_train = if p.n_train == 0 { examples.len().saturating_sub(p.n_test) } else { p.n_train };
        dataset(examples, p.n_test, n_train, &p.path)
    }
}

w2s_core::register!(Task {
    name: "preference-pairs",
    description:
        "reward modelling on your HH-style JSONL of {\"prompt\"?, \"chosen\", \"rejected\"} (pairs, Bradley-Terry)",
    params: PreferencePairsParams,
    build: |p| Ok::<_, anyhow::Error>(PreferencePairs(p)),
});

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sentiment_pairs_are_gapped_balanced_and_ordered_by_rating() {
        let all: Vec<rated::Rated> = (0..400)
            .map(|i| rated::Rated { id: i.to_string(), mean: (i % 9) as f64 - 4.0, text: format!("s{i}") })
            .collect();
        let t = SentimentPairs(SentimentPairsParams { n_train: 60, n_test: 20, min_gap: 2.0, ..Default::default() });
        let d = t.build(all.clone(), None).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (60, 20));
        let mean = |s: &str| all.iter().find(|r| r.text == s).unwrap().mean;
        for e in d.train.iter().chain(&d.test) {
            let (a, b) = (mean(&e.text), mean(e.pair.as_deref().unwrap()));
            assert!((a - b).abs() >= 2.0);
            assert_eq!(e.label, usize::from(b > a), "label 1 exactly when the second is more positive");
        }
        let ones = d.train.iter().filter(|e| e.label == 1).count();
        assert!((20..=40).contains(&ones), "seeded order balances the classes: {ones}");
    }

    #[test]
    fn soft_labels_are_rater_preferences_of_the_first_text() {
        let all: Vec<rated::Rated> = (0..40)
            .map(|i| rated::Rated { id: i.to_string(), mean: (i % 5) as f64 - 2.0, text: format!("s{i}") })
            .collect();
        // Sentence i's raters all gave (i % 5) - 2, except one rater who gave 4.
        let ratings: rated::Ratings =
            all.iter().map(|r| (r.id.clone(), vec![r.mean as f32, r.mean as f32, 4.0])).collect();
        let t = SentimentPairs(SentimentPairsParams {
            n_train: 8,
            n_test: 4,
            min_gap: 1.0,
            soft_labels: true,
            ..Default::default()
        });
        let d = t.build(all.clone(), Some(&ratings)).unwrap();
        for e in d.train.iter().chain(&d.test) {
            let soft = e.soft.as_ref().expect("soft labels attached");
            assert!((soft[0] + soft[1] - 1.0).abs() < 1e-6);
            let id = |s: &str| s.trim_start_matches('s').to_string();
            let expect = rated::preference(&ratings[&id(&e.text)], &ratings[&id(e.pair.as_deref().unwrap())]);
            assert_eq!(soft[0], expect);
            assert!(soft[e.label] > 0.5, "the better text is preferred by the raters: {soft:?} label {}", e.label);
            assert_eq!(e.gold(2), *soft, "gold training targets are the soft preferences");
        }
        let mut missing = ratings.clone();
        missing.clear();
        let err = t.build(all, Some(&missing)).unwrap_err().to_string();
        assert!(err.contains("no per-rater ratings"), "{err}");
    }

    #[test]
    fn real_movie_pairs_get_soft_preferences() {
        let t =
            SentimentPairs(SentimentPairsParams { n_train: 200, n_test: 100, soft_labels: true, ..Default::default() });
        let d = t.load(&Env::from_env()).unwrap();
        let softs: Vec<f32> = d.train.iter().map(|e| e.soft.as_ref().unwrap()[e.label]).collect();
        let mean = softs.iter().sum::<f32>() / softs.len() as f32;
        // Pairs at least one mean-rating point apart: raters mostly, not always, agree.
        assert!(mean > 0.7 && mean < 0.99, "mean rater preference for the better text {mean}");
        assert!(softs.iter().any(|&p| p < 0.95), "some pairs are contested");
    }

    #[test]
    fn hh_jsonl_loads_and_names_bad_lines() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("hh.jsonl");
        std::fs::write(&f, "{\"prompt\": \"Q?\", \"chosen\": \"good\", \"rejected\": \"bad\"}\n{\"chosen\": \"yes\", \"rejected\": \"no\"}\n").unwrap();
        let ex = read_preferences(&f, 0).unwrap();
        assert_eq!(ex.len(), 2);
        let better = |e: &Example| if e.label == 0 { e.text.clone() } else { e.pair.clone().unwrap() };
        assert_eq!(better(&ex[0]), "Q?\n\ngood");
        assert_eq!(better(&ex[1]), "yes");
        std::fs::write(&f, "{\"chosen\": \"yes\", \"rejected\": \"no\"}\n{\"chosen\": \"only\"}\n").unwrap();
        let err = read_preferences(&f, 0).unwrap_err().to_string();
        assert!(err.contains("hh.jsonl line 2") && err.contains("rejected"), "{err}");
    }
}
