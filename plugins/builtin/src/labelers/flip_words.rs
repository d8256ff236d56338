//! The word list of `flip`'s `words` rule: a systematic error on a feature that a text model reads
//! (a word, hence a topic), unlike text length, which a mean-pooled encoder barely sees. Given a
//! target share of B to flip, words are taken in order of how many texts of B contain them
//! (content words only: alphabetic, at least 4 letters, not a stop word; ties by the word), each
//! kept only when the flipped share stays within the tolerance above the target, until the share
//! is within the tolerance of it. The same words then select the flipped texts of the test set.
//! Deterministic: the choice depends on the texts of B alone.

use std::collections::{BTreeMap, BTreeSet};

/// English function words that say nothing of a text's topic.
const STOP_WORDS: &[&str] = &[
    "about",
    "above",
    "after",
    "again",
    "against",
    "also",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "cannot",
    "could",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "even",
    "ever",
    "every",
    "from",
    "further",
    "have",
    "having",
    "here",
    "hers",
    "herself",
    "himself",
    "into",
    "itself",
    "just",
    "like",
    "made",
    "make",
    "many",
    "more",
    "most",
    "much",
    "must",
    "myself",
    "never",
    "only",
    "other",
    "ourselves",
    "over",
    "same",
    "shall",
    "should",
    "some",
    "such",
    "than",
    "that",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "under",
    "until",
    "upon",
    "very",
    "was",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "whom",
    "whose",
    "will",
    "with",
    "would",
    "your",
    "yours",
    "yourself",
    "yourselves",
    "it's",
    "don't",
    "isn't",
    "well",
    "still",
    "thing",
    "things",
    "know",
    "think",
    "going",
    "want",
    "really",
    "first",
    "another",
    "said",
    "says",
    "come",
    "comes",
    "take",
    "takes",
    "always",
    "anything",
    "nothing",
    "something",
    "everything",
    "anyone",
    "someone",
    "everyone",
    "people",
    "time",
    "film",
    "movie",
];

/// The lowercased alphabetic words of a text (apostrophes kept inside words).
pub fn words_of(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !(c.is_alphabetic() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
}

/// Whether a text contains one of `words` (lowercased, whole words).
pub fn contains_any(text: &str, words: &BTreeSet<String>) -> bool {
    words_of(text).any(|w| words.contains(&w))
}

fn is_content_word(w: &str) -> bool {
    w.chars().count() >= 4 && w.chars().all(char::is_alphabetic) && !STOP_WORDS.contains(&w)
}

/// The words whose texts make up a share of `texts` within `tolerance` of `flip_share`, chosen
/// greedily by document frequency; `Err` names the share reached when no such set is found.
pub fn choose_words(texts: &[&str], flip_share: f64, tolerance: f64) -> Result<(Vec<String>, f64), f64> {
    let docs: Vec<BTreeSet<String>> =
        texts.iter().map(|t| words_of(t).filter(|w| is_content_word(w)).collect()).collect();
    let mut df: BTreeMap<&str, usize> = BTreeMap::new();
    for d in &docs {
        for w in d {
            *df.entry(w.as_str()).or_default() += 1;
        }
    }
    let mut ranked: Vec<(&str, usize)> = df.into_iter().filter(|&(_, n)| n >= 2).collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let n = texts.len().max(1) as f64;
    let (mut chosen, mut flipped) = (BTreeSet::new(), vec![false; docs.len()]);
    let mut share = 0.0;
    for (w, _) in ranked {
        if (share - flip_share).abs() <= tolerance {
            break;
        }
        let added = docs.iter().zip(&flipped).filter(|(d, &f)| !f && d.contains(w)).count();
        let next = share + added as f64 / n;
        if added == 0 || next > flip_share + tolerance {
            continue;
        }
        chosen.insert(w.to_string());
        for (d, f) in docs.iter().zip(flipped.iter_mut()) {
            *f |= d.contains(w);
        }
        share = next;
    }
    if (share - flip_share).abs() <= tolerance {
        Ok((chosen.into_iter().collect(), share))
    } else {
        Err(share)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_whole_lowercased_and_apostrophes_trimmed() {
        let w: Vec<String> = words_of("The 'Computer' isn't UNIX-like!").collect();
        assert_eq!(w, ["the", "computer", "isn't", "unix", "like"]);
        let set: BTreeSet<String> = ["unix".to_string()].into();
        assert!(contains_any("Unix rules", &set));
        assert!(!contains_any("unixes rule", &set), "whole words only");
    }

    #[test]
    fn chooses_frequent_content_words_up_to_the_share() {
        let texts = [
            "the computer crashed",
            "a computer bug",
            "computer again",
            "vote for the senate",
            "the senate votes",
            "taxes are high",
            "taxes and more taxes",
            "about that",
            "about this",
            "nothing",
        ];
        // 30% of 10 texts: "computer" (3 texts) alone; "about" is a stop word.
        let (words, share) = choose_words(&texts, 0.3, 0.01).unwrap();
        assert_eq!(words, ["computer"]);
        assert!((share - 0.3).abs() < 1e-9);
        // 50%: computer (3), then senate (2) -> 5 of 10.
        let (words, _) = choose_words(&texts, 0.5, 0.01).unwrap();
        assert_eq!(words, ["computer", "senate"]);
        // 100% is out of reach: "about ..." and "nothing" have no content word in 2 texts.
        assert!(choose_words(&texts, 1.0, 0.01).is_err());
    }
}
