//! Reader of the Princeton WordNet 3.0 database: the `data.*` files (one synset a line: offset,
//! lexicographer file, type, words, pointers, gloss) and the `index.*` files (one lemma a line,
//! with its synsets in sense order), as `man 5 wndb` describes them. Lines that start with two
//! spaces (the licence header) are skipped. Any other line that does not parse fails the load with
//! the file and line: the database is a fixed asset checked by size, so a bad line means a corrupt
//! or wrong file, and skipping it would silently change every task built on it.

use std::collections::{HashMap, HashSet, VecDeque};
use std::path::Path;

use anyhow::{bail, Context};
use w2s_core::env::{verify_file, Expected};

/// A part of speech: one `data.*` and one `index.*` file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Pos {
    Noun,
    Verb,
    Adj,
    Adv,
}

impl Pos {
    pub const ALL: [Pos; 4] = [Pos::Noun, Pos::Verb, Pos::Adj, Pos::Adv];

    /// The suffix of its files (`data.noun`, ...).
    pub fn file(self) -> &'static str {
        ["noun", "verb", "adj", "adv"][self as usize]
    }

    /// From a `ss_type` or pointer `pos` letter; adjective satellites (`s`) are adjectives.
    pub fn from_letter(s: &str) -> Option<Pos> {
        match s {
            "n" => Some(Pos::Noun),
            "v" => Some(Pos::Verb),
            "a" | "s" => Some(Pos::Adj),
            "r" => Some(Pos::Adv),
            _ => None,
        }
    }

    /// Sizes of WordNet 3.0's `data.*` and `index.*` files, in bytes.
    fn sizes(self) -> (u64, u64) {
        [(15_300_280, 4_786_655), (2_772_517, 523_980), (3_155_427, 824_127), (516_696, 162_816)][self as usize]
    }
}

/// A synset: its part of speech and byte offset in its data file.
pub type SynsetId = (Pos, u32);

/// A pointer from a synset to another: `@` hypernym, `@i` instance hypernym, `~` hyponym, ...
#[derive(Debug, Clone, PartialEq)]
pub struct Pointer {
    pub symbol: String,
    pub target: SynsetId,
}

/// One line of a data file.
#[derive(Debug, Clone, PartialEq)]
pub struct Synset {
    pub id: SynsetId,
    /// The lexicographer file (`noun.animal` is 5, ...).
    pub lex_filenum: u8,
    /// Its words as written (underscores for spaces), adjective markers such as `(p)` removed.
    pub words: Vec<String>,
    pub pointers: Vec<Pointer>,
    /// The gloss: a definition, often followed by example sentences in quotes.
    pub gloss: String,
}

impl Synset {
    /// The gloss without its example sentences (all from the first `; "` on).
    pub fn definition(&self) -> &str {
        let g = self.gloss.split("; \"").next().unwrap_or_default().trim();
        if g.starts_with('"') {
            ""
        } else {
            g
        }
    }

    /// The synsets that pointers with one of `symbols` lead to.
    pub fn targets<'a>(&'a self, symbols: &'a [&str]) -> impl Iterator<Item = SynsetId> + 'a {
        self.pointers.iter().filter(|p| symbols.contains(&p.symbol.as_str())).map(|p| p.target)
    }
}

/// A word as shown in text: underscores become spaces.
pub fn show(word: &str) -> String {
    word.replace('_', " ")
}

/// Pointer symbols of hypernyms, class and instance.
pub const HYPERNYM: [&str; 2] = ["@", "@i"];
/// Pointer symbols of hyponyms, class and instance.
pub const HYPONYM: [&str; 2] = ["~", "~i"];

/// Parse the text of a data file; `origin` names it in errors.
pub fn parse_data(text: &str, origin: &str) -> anyhow::Result<Vec<Synset>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("  ") || line.trim().is_empty() {
            continue;
        }
        out.push(
            parse_synset(line).with_context(|| format!("{origin} line {}: expected a synset (man 5 wndb)", i + 1))?,
        );
    }
    Ok(out)
}

fn parse_synset(line: &str) -> anyhow::Result<Synset> {
    let Some((fields, gloss)) = line.split_once('|') else { bail!("no `|` before the gloss") };
    let mut f = fields.split_whitespace();
    let mut next = |what: &str| f.next().ok_or_else(|| anyhow::anyhow!("the line ends before the {what}"));
    let offset: u32 = next("offset")?.parse().context("the offset is not a number")?;
    let lex_filenum: u8 = next("lexicographer file")?.parse().context("the lexicographer file is not a number")?;
    let ss_type = next("synset type")?;
    let pos = Pos::from_letter(ss_type)
        .ok_or_else(|| anyhow::anyhow!("synset type {ss_type:?} is not one of n, v, a, s, r"))?;
    let w_cnt = usize::from_str_radix(next("word count")?, 16).context("the word count is not hexadecimal")?;
    let mut words = Vec::with_capacity(w_cnt);
    for _ in 0..w_cnt {
        let word = next("words")?;
        next("lex_id of a word")?;
        let word = ["(a)", "(p)", "(ip)"].iter().find_map(|m| word.strip_suffix(m)).unwrap_or(word);
        words.push(word.to_string());
    }
    let p_cnt: usize = next("pointer count")?.parse().context("the pointer count is not a number")?;
    let mut pointers = Vec::with_capacity(p_cnt);
    for _ in 0..p_cnt {
        let symbol = next("pointers")?.to_string();
        let target: u32 = next("pointer target")?.parse().context("a pointer's target is not a number")?;
        let letter = next("pointer's part of speech")?;
        let pos = Pos::from_letter(letter)
            .ok_or_else(|| anyhow::anyhow!("a pointer's part of speech {letter:?} is unknown"))?;
        next("pointer's source/target")?;
        pointers.push(Pointer { symbol, target: (pos, target) });
    }
    Ok(Synset { id: (pos, offset), lex_filenum, words, pointers, gloss: gloss.trim().to_string() })
}

/// Parse the text of an index file into (lemma, its synset offsets in sense order).
pub fn parse_index(text: &str, origin: &str) -> anyhow::Result<Vec<(String, Vec<u32>)>> {
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with("  ") || line.trim().is_empty() {
            continue;
        }
        let entry = (|| -> anyhow::Result<(String, Vec<u32>)> {
            let f: Vec<&str> = line.split_whitespace().collect();
            let count = |k: usize| -> anyhow::Result<usize> {
                f.get(k)
                    .ok_or_else(|| anyhow::anyhow!("the line ends early"))?
                    .parse()
                    .context("a count is not a number")
            };
            let (synset_cnt, p_cnt) = (count(2)?, count(3)?);
            let start = 4 + p_cnt + 2;
            let offsets =
                f.get(start..start + synset_cnt).ok_or_else(|| anyhow::anyhow!("fewer synsets than {synset_cnt}"))?;
            let offsets = offsets
                .iter()
                .map(|o| o.parse().context("a synset offset is not a number"))
                .collect::<anyhow::Result<_>>()?;
            Ok((f[0].to_string(), offsets))
        })()
        .with_context(|| {
            format!(
                "{origin} line {}: expected `lemma pos synset_cnt p_cnt [ptr...] sense_cnt tagsense_cnt offsets`",
                i + 1
            )
        })?;
        out.push(entry);
    }
    Ok(out)
}

fn read(path: &Path, size: u64) -> anyhow::Result<String> {
    verify_file(path, Expected { size, sha256: None })?;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(String::from_utf8_lossy(&bytes).into_owned())
}

/// The synsets of some parts of speech, with lookups by id and by lemma.
#[derive(Debug, Default)]
pub struct WordNet {
    synsets: Vec<Synset>,
    by_id: HashMap<SynsetId, usize>,
    /// Lemma (lower case, underscores) and part of speech → synsets in sense order.
    senses: HashMap<(String, Pos), Vec<SynsetId>>,
}

impl WordNet {
    /// Read the data and index files of `parts` from WordNet's folder.
    pub fn load(dir: &Path, parts: &[Pos]) -> anyhow::Result<Self> {
        let mut wn = WordNet::default();
        for &pos in parts {
            let (data_size, index_size) = pos.sizes();
            let data = dir.join(format!("data.{}", pos.file()));
            let index = dir.join(format!("index.{}", pos.file()));
            let synsets = parse_data(&read(&data, data_size)?, &data.display().to_string())?;
            let entries = parse_index(&read(&index, index_size)?, &index.display().to_string())?;
            wn.add(pos, synsets, entries);
        }
        Ok(wn)
    }

    /// Add the parsed files of one part of speech.
    pub fn add(&mut self, pos: Pos, synsets: Vec<Synset>, index: Vec<(String, Vec<u32>)>) {
        for s in synsets {
            self.by_id.insert(s.id, self.synsets.len());
            self.synsets.push(s);
        }
        for (lemma, offsets) in index {
            self.senses.insert((lemma, pos), offsets.into_iter().map(|o| (pos, o)).collect());
        }
    }

    pub fn synsets(&self) -> &[Synset] {
        &self.synsets
    }

    pub fn get(&self, id: SynsetId) -> Option<&Synset> {
        self.by_id.get(&id).map(|&i| &self.synsets[i])
    }

    /// The synsets of a word (any case, spaces or underscores) in sense order.
    pub fn senses(&self, word: &str, pos: Pos) -> &[SynsetId] {
        self.senses.get(&(word.to_lowercase().replace(' ', "_"), pos)).map_or(&[], Vec::as_slice)
    }

    /// The synsets that pointers with one of `symbols` lead to from `id`.
    pub fn related(&self, id: SynsetId, symbols: &[&str]) -> Vec<SynsetId> {
        self.get(id).map(|s| s.targets(symbols).collect()).unwrap_or_default()
    }

    /// The ancestors of `id` along pointers with one of `symbols` (such as [`HYPERNYM`]), at most
    /// `max_depth` steps away, each with its smallest distance, nearest first.
    pub fn ancestors(&self, id: SynsetId, symbols: &[&str], max_depth: usize) -> Vec<(SynsetId, usize)> {
        let mut seen = HashSet::from([id]);
        let mut queue = VecDeque::from([(id, 0)]);
        let mut out = Vec::new();
        while let Some((s, d)) = queue.pop_front() {
            if d == max_depth {
                continue;
            }
            for t in self.related(s, symbols) {
                if seen.insert(t) {
                    out.push((t, d + 1));
                    queue.push_back((t, d + 1));
                }
            }
        }
        out
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::OnceLock;

    use super::*;

    /// The real nouns, verbs, adjectives and adverbs, read once for all tests.
    pub(crate) fn wordnet() -> &'static WordNet {
        static WN: OnceLock<WordNet> = OnceLock::new();
        WN.get_or_init(|| {
            let dir = w2s_core::Env::from_env().asset_dir("wordnet").unwrap();
            WordNet::load(&dir, &Pos::ALL).unwrap()
        })
    }

    #[test]
    fn reads_hypernyms_senses_and_glosses() {
        let wn = wordnet();
        let dog = (Pos::Noun, 2_084_071);
        assert_eq!(wn.senses("dog", Pos::Noun)[0], dog);
        assert_eq!(wn.get(dog).unwrap().words, ["dog", "domestic_dog", "Canis_familiaris"]);
        assert!(wn.related(dog, &["@"]).contains(&(Pos::Noun, 2_083_346)), "dog.n.01 is a canine");
        assert_eq!(wn.get((Pos::Noun, 2_083_346)).unwrap().words[0], "canine");
        let first = wn.get(wn.senses("Dog", Pos::Noun)[0]).unwrap();
        assert!(first.definition().starts_with("a member of the genus Canis"), "{}", first.definition());
        assert!(!first.definition().contains("barked"), "examples are stripped");
        let beagle = wn.senses("beagle", Pos::Noun)[0];
        let up = wn.ancestors(beagle, &HYPERNYM, 3);
        assert!(up.contains(&(dog, 3)), "beagle → hound → hunting dog → dog: {up:?}");
        assert!(!wn.ancestors(beagle, &HYPERNYM, 2).iter().any(|a| a.0 == dog));
        assert_eq!(
            wn.get((Pos::Adj, 14_358)).unwrap().words,
            ["abounding", "galore"],
            "markers such as (ip) are removed"
        );
        assert_eq!(wn.synsets().len(), 117_659);
    }

    #[test]
    fn bad_lines_fail_with_file_and_line() {
        let dir = tempfile::tempdir().unwrap();
        let ok = "00001740 03 n 01 entity 0 001 ~ 00001930 n 0000 | that which is perceived\n";
        let cases = [
            ("00001740 03 n 01 entity 0 001 ~ 00001930 n 0000 that which is\n", "no `|`"),
            ("00001740 03 n 02 entity 0 001 ~ 00001930 n 0000 | x\n", "the line ends before"),
            ("00001740 03 q 01 entity 0 000 | x\n", "synset type \"q\""),
            ("0000x740 03 n 01 entity 0 000 | x\n", "offset is not a number"),
        ];
        for (bad, why) in cases {
            let path = dir.path().join("data.noun");
            std::fs::write(&path, format!("  1 licence header\n{ok}{bad}")).unwrap();
            let text = std::fs::read_to_string(&path).unwrap();
            let e = format!("{:#}", parse_data(&text, &path.display().to_string()).unwrap_err());
            assert!(e.contains("data.noun line 3") && e.contains(why), "{bad:?}: {e}");
        }
        let synsets = parse_data(&format!("  1 licence header\n{ok}"), "d").unwrap();
        assert_eq!(synsets[0].pointers, [Pointer { symbol: "~".into(), target: (Pos::Noun, 1930) }]);
        let e = parse_index("dog n 2 1 @ 2 1 02084071\n", "index.noun").unwrap_err().to_string();
        assert!(e.contains("index.noun line 1"), "{e}");
        assert_eq!(parse_index("dog n 1 1 @ 1 1 02084071  \n", "i").unwrap(), [("dog".into(), vec![2_084_071])]);
    }
}
