//! `sentiment`: binary sentiment of human-rated sentences. Sentences with a mean rating of exactly
//! zero are dropped; classes are balanced by down-sampling the larger one (seeded); the test set
//! and the training pool are disjoint and balanced.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use w2s_core::{
    env::{verify_file, Expected},
    params::check,
    rng, Dataset, Env, Example, Params, Task,
};

use crate::rated;

/// One rated set: its name, the stem of its files, and the size and sha256 of its ground-truth
/// file (`<stem>_GroundTruth.txt`) and of its per-rater ratings file (`<stem>_anonDataRatings.txt`).
struct RatedSet {
    name: &'static str,
    stem: &'static str,
    ground_truth: (u64, &'static str),
    ratings: (u64, &'static str),
}

const SETS: [RatedSet; 4] = [
    RatedSet {
        name: "movies",
        stem: "movieReviewSnippets",
        ground_truth: (1_383_098, "c8293b0d942e90e223ea2c0955d969040d1a1be514a978b9af0698940bd13350"),
        ratings: (954_033, "658a086bc7239b98b750baa232cab80e6447789020f96a6c847cc1248d7c82f4"),
    },
    RatedSet {
        name: "amazon",
        stem: "amazonReviewSnippets",
        ground_truth: (373_157, "11a9807a0974a2506a2d3b4851eaf69b3d6d20688ce4923adda2312a4f6dd6c2"),
        ratings: (322_811, "d7d909adab91e0b4d5084251fc825f15baff66277c52eaa705b40fc464fa274b"),
    },
    RatedSet {
        name: "nyt",
        stem: "nytEditorialSnippets",
        ground_truth: (607_629, "7d8fbcce7dde5d716da53e78f4ef4be6b706e9ef1e1d51887e6d0ad4b69cc27e"),
        ratings: (450_054, "803c87c5bb529334bb5ed5fca244aa935e5f342bc0a930d91a0f22e978ee39f2"),
    },
    RatedSet {
        name: "tweets",
        stem: "tweets",
        ground_truth: (389_886, "dfbe7102e2f92579ed8b19df9a3822491880697c67adf712fb66e520cc05102f"),
        ratings: (616_147, "390d6f8f1b5c7e6f9f94ad7fea1e461ed718312d1856ae71c5812ab8ae943fa6"),
    },
];

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentimentParams {
    /// Which rated set: movies (10,605 sentences), amazon, nyt or tweets.
    pub source: String,
    /// Size of the training pool (split into halves A and B per seed).
    pub n_train: usize,
    pub n_test: usize,
    /// Seed of the class balancing and of the train/test split (fixed across run seeds).
    pub data_seed: u64,
}

impl Default for SentimentParams {
    fn default() -> Self {
        SentimentParams { source: "movies".into(), n_train: 4000, n_test: 1000, data_seed: 0 }
    }
}

impl Params for SentimentParams {
    fn validate(&self) -> anyhow::Result<()> {
        let names: Vec<&str> = SETS.iter().map(|s| s.name).collect();
        check(names.contains(&self.source.as_str()), "source", &format!("one of {}", names.join(", ")))?;
        check(self.n_train >= 4, "n_train", "at least 4")?;
        check(self.n_test >= 2, "n_test", "at least 2")
    }
}

pub struct Sentiment {
    pub params: SentimentParams,
}

impl Sentiment {
    pub fn new(params: SentimentParams) -> anyhow::Result<Self> {
        Ok(Sentiment { params })
    }

    /// Balance and split rated sentences into a dataset.
    pub fn build(&self, all: Vec<rated::Rated>) -> anyhow::Result<Dataset> {
        let p = &self.params;
        let seed = p.data_seed;
        let mut by_class: [Vec<String>; 2] = [Vec::new(), Vec::new()];
        for r in all.into_iter().filter(|r| r.mean != 0.0) {
            by_class[usize::from(r.mean > 0.0)].push(r.text);
        }
        let per_class = by_class[0].len().min(by_class[1].len());
        let need = p.n_train.div_ceil(2) + p.n_test.div_ceil(2);
        anyhow::ensure!(
            need <= per_class,
            "sentiment ({}): n_train + n_test = {} but only {} balanced examples exist ({} per class)",
            p.source,
            p.n_train + p.n_test,
            2 * per_class,
            per_class
        );
        let mut test = Vec::new();
        let mut train = Vec::new();
        for (label, texts) in by_class.iter().enumerate() {
            let order = rng::permutation(texts.len(), seed, &format!("sentiment-class-{label}"));
            let (n_te, n_tr) = (p.n_test.div_ceil(2), p.n_train.div_ceil(2));
            test.extend(order[..n_te].iter().map(|&i| Example::new(texts[i].clone(), label)));
            train.extend(order[n_te..n_te + n_tr].iter().map(|&i| Example::new(texts[i].clone(), label)));
        }
        for (v, n, stream) in [(&mut train, p.n_train, "sentiment-train"), (&mut test, p.n_test, "sentiment-test")] {
            rng::Rng::new(seed, stream).shuffle(v);
            v.truncate(n);
        }
        Ok(Dataset { n_classes: 2, class_names: vec!["negative".into(), "positive".into()], train, test })
    }
}

impl Sentiment {
    /// The rated sentences of the chosen source, from the verified asset file.
    pub fn read_verified(&self, env: &Env) -> anyhow::Result<Vec<rated::Rated>> {
        rated::read(&self.verified_file(env, "GroundTruth", |s| s.ground_truth)?)
    }

    /// Every rater's rating of each sentence of the chosen source, from the verified asset file.
    pub fn read_ratings_verified(&self, env: &Env) -> anyhow::Result<rated::Ratings> {
        rated::read_ratings(&self.verified_file(env, "anonDataRatings", |s| s.ratings)?)
    }

    /// The chosen source's `<stem>_<kind>.txt`, checked against its pinned size and sha256.
    fn verified_file(
        &self,
        env: &Env,
        kind: &str,
        expected: fn(&RatedSet) -> (u64, &'static str),
    ) -> anyhow::Result<PathBuf> {
        let set = SETS.iter().find(|s| s.name == self.params.source).expect("validated source");
        let (size, sha) = expected(set);
        let path = env.asset_dir("vader")?.join(format!("{}_{kind}.txt", set.stem));
        verify_file(&path, Expected { size, sha256: Some(sha) })?;
        Ok(path)
    }
}

impl Task for Sentiment {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        self.build(self.read_verified(env)?)
    }
}

w2s_core::register!(Task {
    name: "sentiment",
    description: "positive vs negative human-rated sentences (movie reviews by default; amazon, nyt, tweets)",
    params: SentimentParams,
    build: Sentiment::new,
});

#[cfg(test)]
mod tests {
    use super::*;

    fn rated(n: usize) -> Vec<rated::Rated> {
        (0..n)
            .map(|i| rated::Rated { id: i.to_string(), mean: [1.5, -2.0, 0.0][i % 3], text: format!("sentence {i}") })
            .collect()
    }

    #[test]
    fn balanced_disjoint_and_deterministic() {
        let t = Sentiment::new(SentimentParams { n_train: 40, n_test: 20, ..Default::default() }).unwrap();
        let d = t.build(rated(300)).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (40, 20));
        assert_eq!(d.class_balance(&d.train), vec![0.5, 0.5]);
        assert_eq!(d.class_balance(&d.test), vec![0.5, 0.5]);
        assert!(d.test.iter().all(|e| !d.train.contains(e)));
        assert!(d.train.iter().all(|e| e.text != "sentence 2"), "zero-rated sentences are dropped");
        assert_eq!(t.build(rated(300)).unwrap().train, d.train);
    }

    #[test]
    fn too_few_examples_is_explained() {
        let t = Sentiment::new(SentimentParams { n_train: 400, n_test: 20, ..Default::default() }).unwrap();
        let err = t.build(rated(30)).unwrap_err().to_string();
        assert!(err.contains("only 20 balanced examples"), "{err}");
    }
}
