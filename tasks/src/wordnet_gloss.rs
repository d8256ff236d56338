//! `wordnet-gloss`: does this definition match this word? `{word}: {definition}` from WordNet's
//! nouns, verbs, adjectives and adverbs. The word is one of a synset's words and the definition
//! is, for "match", that synset's gloss and, for "mismatch", the gloss of another synset of the
//! same part of speech and lexicographer file (`noun.animal`, `verb.motion`, ...), so a plausible
//! distractor, never the gloss of any synset, of any part of speech, that the word belongs to.
//! Example sentences (from the first `; "` on) are stripped. Every word and synset is used once,
//! so the test set and the training pool share neither; each is half match and half mismatch.

use std::collections::{HashMap, HashSet};

use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng::Rng, Dataset, Env, Params, Task};

use crate::pairs::{self, Split};
use crate::wordnet::{show, Pos, Synset, SynsetId, WordNet};

/// How many distractor synsets are drawn for a word before the word is passed over.
const TRIES: usize = 20;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WordnetGlossParams {
    /// Size of the training pool (split into halves A and B per seed).
    pub n_train: usize,
    pub n_test: usize,
    /// Seed of the choice of words and distractors (fixed across run seeds).
    pub data_seed: u64,
}

impl Default for WordnetGlossParams {
    fn default() -> Self {
        WordnetGlossParams { n_train: 4000, n_test: 1000, data_seed: 0 }
    }
}

impl Params for WordnetGlossParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(self.n_train >= 4, "n_train", "at least 4")?;
        check(self.n_test >= 2, "n_test", "at least 2")
    }
}

/// A word of synset `sense`, shown with the definition of synset `gloss_of`.
#[derive(Debug, Clone, PartialEq)]
pub struct Pairing {
    pub word: String,
    pub sense: SynsetId,
    pub gloss_of: SynsetId,
    pub definition: String,
}

impl Pairing {
    pub fn text(&self) -> String {
        format!("{}: {}", show(&self.word), self.definition)
    }
}

/// The synsets of `word` in every part of speech.
pub fn senses_of(wn: &WordNet, word: &str) -> Vec<SynsetId> {
    Pos::ALL.iter().flat_map(|&pos| wn.senses(word, pos).iter().copied()).collect()
}

pub struct WordnetGloss {
    pub params: WordnetGlossParams,
}

impl WordnetGloss {
    pub fn new(params: WordnetGlossParams) -> anyhow::Result<Self> {
        Ok(WordnetGloss { params })
    }

    /// The pairings of the test set and the training pool.
    pub fn pairings(&self, wn: &WordNet) -> anyhow::Result<Split<Pairing>> {
        let p = &self.params;
        let all = wn.synsets();
        let candidates: Vec<usize> = (0..all.len()).filter(|&i| !all[i].definition().is_empty()).collect();
        let mut groups: HashMap<(Pos, u8), Vec<usize>> = HashMap::new();
        for &i in &candidates {
            groups.entry((all[i].id.0, all[i].lex_filenum)).or_default().push(i);
        }
        let mut used: HashSet<String> = HashSet::new();
        pairs::balanced(candidates.len(), p.n_train, p.n_test, p.data_seed, "wordnet-gloss", |item, rng| {
            let s = &all[candidates[item]];
            let start = rng.below(s.words.len());
            let word = (0..s.words.len())
                .map(|k| &s.words[(start + k) % s.words.len()])
                .find(|w| !used.contains(&w.to_lowercase()))?;
            let group = &groups[&(s.id.0, s.lex_filenum)];
            let offer = Self::offer(wn, s, word, group, rng)?;
            used.insert(word.to_lowercase());
            Some(offer)
        })
    }

    /// A mismatched and a matched definition for `word`, one of the words of `synset`, with the
    /// distractor drawn from `group` (the synsets of its part of speech and lexicographer file),
    /// if one turns up within [`TRIES`] draws.
    pub fn offer(wn: &WordNet, synset: &Synset, word: &str, group: &[usize], rng: &mut Rng) -> Option<[Pairing; 2]> {
        let own = senses_of(wn, word);
        let own_definitions: Vec<&str> = own.iter().filter_map(|&id| wn.get(id)).map(|s| s.definition()).collect();
        let distractor = (0..TRIES)
            .map(|_| &wn.synsets()[group[rng.below(group.len())]])
            .find(|d| d.id != synset.id && !own.contains(&d.id) && !own_definitions.contains(&d.definition()))?;
        let pair = |s: &Synset| Pairing {
            word: word.to_string(),
            sense: synset.id,
            gloss_of: s.id,
            definition: s.definition().to_string(),
        };
        Some([pair(distractor), pair(synset)])
    }

    pub fn build(&self, wn: &WordNet) -> anyhow::Result<Dataset> {
        Ok(pairs::dataset(self.pairings(wn)?, ["mismatch", "match"], Pairing::text))
    }
}

impl Task for WordnetGloss {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        let wn = WordNet::load(&env.asset_dir("wordnet")?, &Pos::ALL)?;
        let d = self.build(&wn)?;
        pairs::log_loaded("wordnet-gloss", &d);
        Ok(d)
    }
}

w2s_core::register!(Task {
    name: "wordnet-gloss",
    description: "match vs mismatch: \"{word}: {definition}\" from WordNet; distractors are glosses of the same lexicographer file",
    params: WordnetGlossParams,
    build: WordnetGloss::new,
});

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wordnet::tests::wordnet;

    fn task(n_train: usize, n_test: usize, data_seed: u64) -> WordnetGloss {
        WordnetGloss::new(WordnetGlossParams { n_train, n_test, data_seed }).unwrap()
    }

    #[test]
    fn matches_are_own_glosses_and_mismatches_never() {
        let wn = wordnet();
        let s = task(4000, 1000, 0).pairings(wn).unwrap();
        for (p, label) in s.train.iter().chain(&s.test) {
            let own = senses_of(wn, &p.word);
            let glossed = wn.get(p.gloss_of).unwrap();
            assert_eq!(p.definition, glossed.definition());
            assert!(!p.definition.is_empty() && !p.definition.contains("; \""), "{p:?}");
            match label {
                1 => {
                    assert!(p.gloss_of == p.sense && own.contains(&p.sense) && glossed.words.contains(&p.word), "{p:?}")
                }
                _ => {
                    assert!(
                        own.iter().all(|&o| o != p.gloss_of && wn.get(o).unwrap().definition() != p.definition),
                        "{p:?}"
                    );
                    let sense = wn.get(p.sense).unwrap();
                    assert_eq!((glossed.id.0, glossed.lex_filenum), (sense.id.0, sense.lex_filenum), "{p:?}");
                }
            }
        }
        let words: HashSet<&str> = s.test.iter().map(|p| p.0.word.as_str()).collect();
        assert!(s.train.iter().all(|p| !words.contains(p.0.word.as_str())), "no word in both sets");
    }

    #[test]
    fn balanced_deterministic_with_known_gloss() {
        let wn = wordnet();
        let d = task(4000, 1000, 0).build(wn).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (4000, 1000));
        assert_eq!(d.class_balance(&d.train), [0.5, 0.5]);
        assert_eq!(d.class_balance(&d.test), [0.5, 0.5]);
        assert_eq!(d.class_names, ["mismatch", "match"]);
        assert_eq!(task(4000, 1000, 0).build(wn).unwrap().train, d.train);
        assert_ne!(task(4000, 1000, 1).build(wn).unwrap().test, d.test);
        let dog = wn.get(wn.senses("dog", Pos::Noun)[0]).unwrap();
        let group: Vec<usize> = (0..wn.synsets().len()).filter(|&i| wn.synsets()[i].lex_filenum == 5).collect();
        let [no, yes] = WordnetGloss::offer(wn, dog, "dog", &group, &mut Rng::new(0, "dog")).unwrap();
        assert!(yes.text().starts_with("dog: a member of the genus Canis (probably descended from the common wolf)"));
        assert!(yes.text().ends_with("occurs in many breeds"), "{}", yes.text());
        assert_eq!(wn.get(no.gloss_of).unwrap().lex_filenum, 5, "noun.animal");
        assert!(!senses_of(wn, "dog").contains(&no.gloss_of));
    }
}
