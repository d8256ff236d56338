//! `wordnet-isa`: yes/no questions "Is a beagle a kind of hound?" from WordNet's noun hypernyms.
//! A question is about one word (lower case, of a synset that has a class hypernym; proper names
//! and instances are left out) and asks about a category: for "yes" an ancestor of the word's
//! synset at most `max_depth` hypernym steps up; for "no" a sibling of such an ancestor (another
//! hyponym of the ancestor's hypernym) that no lemma of any ancestor, at any depth and of any
//! sense of the word, names. Every word is asked about once, so the test set and the training pool
//! share no word; each is half yes and half no. Categories are named by their synset's first word.

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng::Rng, Dataset, Env, Params, Task};

use crate::pairs::{self, Split};
use crate::wordnet::{show, Pos, SynsetId, WordNet, HYPERNYM};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WordnetIsaParams {
    /// Size of the training pool (split into halves A and B per seed).
    pub n_train: usize,
    pub n_test: usize,
    /// Seed of the choice of words, categories and distractors (fixed across run seeds).
    pub data_seed: u64,
    /// How many hypernym steps up a "yes" category may be (1: only direct hypernyms).
    pub max_depth: usize,
}

impl Default for WordnetIsaParams {
    fn default() -> Self {
        WordnetIsaParams { n_train: 4000, n_test: 1000, data_seed: 0, max_depth: 2 }
    }
}

impl Params for WordnetIsaParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.n_train >= 4, "n_train", "at least 4")?;
        check(self.n_test >= 2, "n_test", "at least 2")?;
        check((1..=10).contains(&self.max_depth), "max_depth", "a number of hypernym steps from 1 to 10")
    }
}

/// One question: is a `word` a kind of `category`? (Both as written in WordNet.)
#[derive(Debug, Clone, PartialEq)]
pub struct Question {
    pub word: String,
    pub category: String,
}

impl Question {
    pub fn text(&self) -> String {
        format!("Is {} a kind of {}?", with_article(&self.word), show(&self.category))
    }
}

/// "a beagle", "an eagle owl": the word with spaces for underscores and its indefinite article.
fn with_article(word: &str) -> String {
    let vowel = word.chars().next().is_some_and(|c| "aeiouAEIOU".contains(c));
    format!("{} {}", if vowel { "an" } else { "a" }, show(word))
}

/// The name of a synset: its first word.
fn name(wn: &WordNet, id: SynsetId) -> String {
    wn.get(id).map(|s| s.words[0].clone()).unwrap_or_default()
}

pub struct WordnetIsa {
    pub params: WordnetIsaParams,
}

impl WordnetIsa {
    pub fn new(params: WordnetIsaParams) -> anyhow::Result<Self> {
        Ok(WordnetIsa { params })
    }

    /// Every lemma (lower case) of every ancestor, at any depth, of any noun sense of `word`,
    /// and the word itself: the names a "no" category must avoid.
    pub fn true_names(wn: &WordNet, word: &str) -> HashSet<String> {
        let mut names = HashSet::from([word.to_lowercase()]);
        for &sense in wn.senses(word, Pos::Noun) {
            for (a, _) in wn.ancestors(sense, &HYPERNYM, usize::MAX) {
                names.extend(wn.get(a).into_iter().flat_map(|s| s.words.iter().map(|w| w.to_lowercase())));
            }
        }
        names
    }

    /// The questions of the test set and the training pool.
    pub fn questions(&self, wn: &WordNet) -> anyhow::Result<Split<Question>> {
        let p = &self.params;
        let plain = |w: &str| w.chars().all(|c| c.is_ascii_lowercase() || c == '_' || c == '-');
        let candidates: Vec<(SynsetId, &str)> = wn
            .synsets()
            .iter()
            .filter(|s| s.id.0 == Pos::Noun && s.targets(&["@"]).next().is_some())
            .flat_map(|s| s.words.iter().filter(|w| plain(w)).map(move |w| (s.id, w.as_str())))
            .collect();
        let mut used = HashSet::new();
        pairs::balanced(candidates.len(), p.n_train, p.n_test, p.data_seed, "wordnet-isa", |item, rng| {
            let (synset, word) = candidates[item];
            let offer = if used.contains(word) { None } else { self.offer(wn, synset, word, rng) };
            offer.inspect(|_| {
                used.insert(word);
            })
        })
    }

    /// A "no" and a "yes" question about `word`, a word of `synset`, if it has a category and a
    /// distractor.
    pub fn offer(&self, wn: &WordNet, synset: SynsetId, word: &str, rng: &mut Rng) -> Option<[Question; 2]> {
        let ups: Vec<SynsetId> = wn
            .ancestors(synset, &["@"], self.params.max_depth)
            .into_iter()
            .map(|a| a.0)
            .filter(|&a| name(wn, a).to_lowercase() != word)
            .collect();
        if ups.is_empty() {
            return None;
        }
        let ancestor = ups[rng.below(ups.len())];
        let avoid = Self::true_names(wn, word);
        let mut siblings: Vec<SynsetId> = wn
            .related(ancestor, &["@"])
            .into_iter()
            .flat_map(|parent| wn.related(parent, &["~"]))
            .filter(|&s| s != ancestor && !avoid.contains(&name(wn, s).to_lowercase()))
            .collect();
        siblings.sort();
        siblings.dedup();
        if siblings.is_empty() {
            return None;
        }
        let distractor = siblings[rng.below(siblings.len())];
        let ask = |category| Question { word: word.to_string(), category: name(wn, category) };
        Some([ask(distractor), ask(ancestor)])
    }

    pub fn build(&self, wn: &WordNet) -> anyhow::Result<Dataset> {
        Ok(pairs::dataset(self.questions(wn)?, ["no", "yes"], Question::text))
    }
}

impl Task for WordnetIsa {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        let wn = WordNet::load(&env.asset_dir("wordnet")?, &[Pos::Noun])?;
        let d = self.build(&wn)?;
        pairs::log_loaded("wordnet-isa", &d);
        Ok(d)
    }
}

w2s_core::register!(Task {
    name: "wordnet-isa",
    description:
        "yes/no: \"Is a beagle a kind of hound?\" from WordNet noun hypernyms; distractors are sibling categories",
    params: WordnetIsaParams,
    build: WordnetIsa::new,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wordnet::tests::wordnet;

    fn task(n_train: usize, n_test: usize, data_seed: u64, max_depth: usize) -> WordnetIsa {
        WordnetIsa::new(WordnetIsaParams { n_train, n_test, data_seed, max_depth }).unwrap()
    }

    #[test]
    fn questions_are_true_or_never_true() {
        let wn = wordnet();
        let t = task(4000, 1000, 0, 2);
        let s = t.questions(wn).unwrap();
        for (q, label) in s.train.iter().chain(&s.test) {
            let up: Vec<String> = wn
                .senses(&q.word, Pos::Noun)
                .iter()
                .flat_map(|&sense| wn.ancestors(sense, &["@"], 2))
                .map(|a| name(wn, a.0))
                .collect();
            match label {
                1 => assert!(up.contains(&q.category), "{q:?} is not within 2 steps"),
                _ => {
                    assert!(!WordnetIsa::true_names(wn, &q.word).contains(&q.category.to_lowercase()), "{q:?} is true")
                }
            }
        }
        let words: HashSet<&str> = s.test.iter().map(|q| q.0.word.as_str()).collect();
        assert!(s.train.iter().all(|q| !words.contains(q.0.word.as_str())), "no word in both sets");
        let d = t.build(wn).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (4000, 1000));
        assert_eq!(d.class_balance(&d.train), [0.5, 0.5]);
        assert_eq!(d.class_balance(&d.test), [0.5, 0.5]);
        assert_eq!(d.class_names, ["no", "yes"]);
    }

    #[test]
    fn known_answers_and_wording() {
        let wn = wordnet();
        assert!(WordnetIsa::true_names(wn, "beagle").contains("dog"));
        assert!(!WordnetIsa::true_names(wn, "beagle").contains("cat"));
        let q = Question { word: "beagle".into(), category: "dog".into() };
        assert_eq!(q.text(), "Is a beagle a kind of dog?");
        let q = Question { word: "eagle_owl".into(), category: "owl".into() };
        assert_eq!(q.text(), "Is an eagle owl a kind of owl?");
        // beagle → hound → hunting dog → dog: within three steps "dog" is a "yes" category.
        let beagle = wn.senses("beagle", Pos::Noun)[0];
        let t = task(4, 2, 0, 3);
        let offers: Vec<[Question; 2]> =
            (0..50).filter_map(|i| t.offer(wn, beagle, "beagle", &mut Rng::new(i, "beagle"))).collect();
        assert_eq!(offers.len(), 50);
        let yes: HashSet<&str> = offers.iter().map(|[_, y]| y.category.as_str()).collect();
        assert_eq!(yes, HashSet::from(["hound", "hunting_dog", "dog"]));
        assert!(offers.iter().any(|[_, y]| y.text() == "Is a beagle a kind of dog?"));
        assert!(offers.iter().all(|[n, _]| !WordnetIsa::true_names(wn, "beagle").contains(&n.category.to_lowercase())));
    }

    #[test]
    fn deterministic_per_data_seed() {
        let wn = wordnet();
        let a = task(200, 100, 5, 2).build(wn).unwrap();
        let b = task(200, 100, 5, 2).build(wn).unwrap();
        assert_eq!((&a.train, &a.test), (&b.train, &b.test));
        assert_ne!(task(200, 100, 6, 2).build(wn).unwrap().test, a.test);
        let e = WordnetIsaParams { max_depth: 0, ..Default::default() }.validate().unwrap_err().to_string();
        assert!(e.contains("`max_depth`"), "{e}");
    }
}
