//! `fortunes-topic`: which fortune file (`computers`, `politics`, ...) a quote comes from; or,
//! with `one_vs_rest`, whether it comes from one file rather than any of the others. A fortune
//! file is quotes separated by lines holding only `%`; no line is malformed: bytes that are not
//! UTF-8 (some files are latin-1) are read as U+FFFD, runs of white space become one space, and
//! quotes shorter than 10 or longer than 400 characters are dropped (and counted in the log), as
//! are quotes found in more than one of the chosen files. Every category is down-sampled (seeded)
//! to the smallest; one-vs-rest negatives take equal shares of the other categories. The test
//! set and the training pool are disjoint and balanced; asking for more quotes than exist is an
//! error that says how many do.

use std::collections::{HashMap, HashSet};
use std::path::Path;

use anyhow::{ensure, Context};
use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng, Dataset, Env, Example, Params, Task};

use crate::pairs;

/// Quotes with fewer or more characters are dropped.
const LENGTHS: std::ops::RangeInclusive<usize> = 10..=400;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FortunesTopicParams {
    /// Fortune files, two or more; the classes, in this order (computers: 868 quotes of 10 to
    /// 400 characters, people 1201, science 536, politics 656, food 174, ...).
    pub categories: Vec<String>,
    /// If set, one of `categories`: the task is binary, this category against the others.
    pub one_vs_rest: Option<String>,
    /// Size of the training pool (split into halves A and B per seed).
    pub n_train: usize,
    pub n_test: usize,
    /// Seed of the down-sampling and of the train/test split (fixed across run seeds).
    pub data_seed: u64,
}

impl Default for FortunesTopicParams {
    fn default() -> Self {
        FortunesTopicParams {
            categories: vec!["computers".into(), "politics".into()],
            one_vs_rest: None,
            n_train: 1000,
            n_test: 200,
            data_seed: 0,
        }
    }
}

impl Params for FortunesTopicParams {
    fn validate(&self) -> anyhow::Result<()> {
        let c = &self.categories;
        check(c.len() >= 2, "categories", "two or more fortune file names, such as [\"computers\", \"politics\"]")?;
        for (i, name) in c.iter().enumerate() {
            let plain = !name.is_empty() && name.chars().all(|ch| ch.is_ascii_alphanumeric() || ch == '-');
            check(plain, "categories", &format!("fortune file names (letters, digits, `-`), not {name:?}"))?;
            check(!c[..i].contains(name), "categories", &format!("distinct names, but {name:?} is given twice"))?;
        }
        if let Some(x) = &self.one_vs_rest {
            check(c.contains(x), "one_vs_rest", &format!("one of `categories` ({}), not {x:?}", c.join(", ")))?;
        }
        check(self.n_train >= 4, "n_train", "at least 4")?;
        check(self.n_test >= 2, "n_test", "at least 2")
    }
}

/// The quotes of a fortune file's text, white space collapsed, of any length.
pub fn parse(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut quote = Vec::new();
    for line in text.lines().chain(std::iter::once("%")) {
        if line.trim_end() == "%" {
            let q = quote.join(" ").split_whitespace().collect::<Vec<_>>().join(" ");
            if !q.is_empty() {
                out.push(q);
            }
            quote.clear();
        } else {
            quote.push(line);
        }
    }
    out
}

/// The quotes of a category, with lengths in [`LENGTHS`]; a missing file names the categories
/// that exist.
pub fn read(dir: &Path, name: &str) -> anyhow::Result<Vec<String>> {
    let path = dir.join(name);
    if !path.is_file() {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .with_context(|| format!("reading {}", dir.display()))?
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| !n.contains('.'))
            .collect();
        names.sort();
        anyhow::bail!(
            "fortunes-topic: no fortune file {name:?} in {}; the categories are {}",
            dir.display(),
            names.join(", ")
        );
    }
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    Ok(parse(&String::from_utf8_lossy(&bytes)).into_iter().filter(|q| LENGTHS.contains(&q.chars().count())).collect())
}

pub struct FortunesTopic {
    pub params: FortunesTopicParams,
}

impl FortunesTopic {
    pub fn new(params: FortunesTopicParams) -> anyhow::Result<Self> {
        Ok(FortunesTopic { params })
    }

    /// Balance and split the quotes of each category (in the order of `categories`).
    pub fn build(&self, mut quotes: Vec<Vec<String>>) -> anyhow::Result<Dataset> {
        let p = &self.params;
        let seed = p.data_seed;
        // The category of each quote, or `None` for a quote in several.
        let mut owner: HashMap<String, Option<usize>> = HashMap::new();
        for (c, qs) in quotes.iter().enumerate() {
            for q in qs {
                owner.entry(q.clone()).and_modify(|o| *o = o.filter(|&o| o == c)).or_insert(Some(c));
            }
        }
        for (c, qs) in quotes.iter_mut().enumerate() {
            let mut kept = HashSet::new();
            qs.retain(|q| owner[q] == Some(c) && kept.insert(q.clone()));
        }
        let counts: Vec<String> = p.categories.iter().zip(&quotes).map(|(c, q)| format!("{c} {}", q.len())).collect();
        let per_class = quotes.iter().map(Vec::len).min().unwrap_or(0);
        for (c, qs) in quotes.iter_mut().enumerate() {
            let order = rng::permutation(qs.len(), seed, &format!("fortunes-topic-{}", p.categories[c]));
            *qs = order[..per_class].iter().map(|&i| qs[i].clone()).collect();
        }
        let (class_names, by_class) = match &p.one_vs_rest {
            None => (p.categories.clone(), quotes),
            Some(x) => {
                let pos = p.categories.iter().position(|c| c == x).expect("validated one_vs_rest");
                let positives = quotes[pos].clone();
                let others: Vec<&Vec<String>> =
                    quotes.iter().enumerate().filter(|(c, _)| *c != pos).map(|(_, q)| q).collect();
                let negatives =
                    (0..per_class).flat_map(|i| others.iter().map(move |q| q[i].clone())).take(per_class).collect();
                (vec![format!("not {x}"), x.clone()], vec![negatives, positives])
            }
        };
        let k = by_class.len();
        let (n_te, n_tr) = (p.n_test.div_ceil(k), p.n_train.div_ceil(k));
        ensure!(
            n_te + n_tr <= per_class,
            "fortunes-topic: n_train + n_test = {} needs {} quotes per class but only {per_class} per class exist \
             (quotes of {} to {} characters: {})",
            p.n_train + p.n_test,
            n_te + n_tr,
            LENGTHS.start(),
            LENGTHS.end(),
            counts.join(", ")
        );
        tracing::info!(
            "fortunes-topic: quotes of {} to {} characters: {}",
            LENGTHS.start(),
            LENGTHS.end(),
            counts.join(", ")
        );
        let (mut train, mut test) = (Vec::new(), Vec::new());
        for (label, qs) in by_class.into_iter().enumerate() {
            let example = |text: &String| Example::new(text.clone(), label);
            test.extend(qs[..n_te].iter().map(example));
            train.extend(qs[n_te..n_te + n_tr].iter().map(example));
        }
        for (v, n, stream) in
            [(&mut train, p.n_train, "fortunes-topic-train"), (&mut test, p.n_test, "fortunes-topic-test")]
        {
            rng::Rng::new(seed, stream).shuffle(v);
            v.truncate(n);
        }
        Ok(Dataset { n_classes: k, class_names, train, test })
    }
}

impl Task for FortunesTopic {
    fn load(&self, env: &Env) -> anyhow::Result<Dataset> {
        let dir = env.asset_dir("fortunes")?;
        let quotes = self.params.categories.iter().map(|c| read(&dir, c)).collect::<anyhow::Result<_>>()?;
        let d = self.build(quotes)?;
        pairs::log_loaded("fortunes-topic", &d);
        Ok(d)
    }
}

w2s_core::register!(Task {
    name: "fortunes-topic",
    description: "which fortune file a quote is from (computers vs politics by default), or one file against the rest",
    params: FortunesTopicParams,
    build: FortunesTopic::new,
});

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn task(params: serde_json::Value) -> anyhow::Result<FortunesTopic> {
        let p: FortunesTopicParams = serde_json::from_value(params)?;
        p.validate()?;
        FortunesTopic::new(p)
    }

    fn load(params: serde_json::Value) -> anyhow::Result<Dataset> {
        task(params)?.load(&Env::from_env())
    }

    #[test]
    fn defaults_are_balanced_disjoint_and_deterministic() {
        let d = load(json!({})).unwrap();
        assert_eq!((d.train.len(), d.test.len()), (1000, 200));
        assert_eq!(d.class_names, ["computers", "politics"]);
        assert_eq!(d.class_balance(&d.train), [0.5, 0.5]);
        assert_eq!(d.class_balance(&d.test), [0.5, 0.5]);
        assert!(d.test.iter().all(|e| !d.train.iter().any(|t| t.text == e.text)));
        assert!(d.train.iter().all(|e| LENGTHS.contains(&e.text.chars().count())));
        assert_eq!(load(json!({})).unwrap().train, d.train);
        assert_ne!(load(json!({"data_seed": 1})).unwrap().train, d.train);
        let quotes = read(&Env::from_env().asset_dir("fortunes").unwrap(), "computers").unwrap();
        assert_eq!(quotes.len(), 868);
        assert!(quotes
            .contains(&"Any sufficiently advanced bug is indistinguishable from a feature. -- Rich Kulawiec".into()));
    }

    #[test]
    fn three_classes_and_one_vs_rest() {
        let cats = json!(["computers", "science", "food"]);
        let d = load(json!({"categories": cats, "n_train": 240, "n_test": 60})).unwrap();
        assert_eq!(d.n_classes, 3);
        assert_eq!(d.class_balance(&d.test), [1.0 / 3.0; 3]);
        let d = load(json!({"categories": cats, "one_vs_rest": "food", "n_train": 200, "n_test": 100})).unwrap();
        assert_eq!(d.class_names, ["not food", "food"]);
        assert_eq!(d.class_balance(&d.train), [0.5, 0.5]);
        assert_eq!(d.class_balance(&d.test), [0.5, 0.5]);
        let e = format!("{:#}", load(json!({"categories": cats, "n_train": 1000, "n_test": 100})).unwrap_err());
        assert!(
            e.contains("n_train + n_test = 1100 needs 368 quotes per class but only 175") && e.contains("food 175"),
            "{e}"
        );
    }

    #[test]
    fn odd_bytes_separators_lengths_and_duplicates() {
        let dir = tempfile::tempdir().unwrap();
        let fortunes = dir.path().join("assets").join("fortunes");
        std::fs::create_dir_all(&fortunes).unwrap();
        std::fs::write(fortunes.join(".complete"), "").unwrap();
        let long = "x".repeat(401);
        let a: Vec<u8> =
            [&b"Caf\xe9 au lait,\n\tsaid he.\n%\nshort\n% \r\nshared quote here\n%\n"[..], long.as_bytes(), b"\n%\n"]
                .concat();
        std::fs::write(fortunes.join("a"), a).unwrap();
        std::fs::write(fortunes.join("b"), "shared quote here\n%\nanother quote\n%\nanother quote\n%\n").unwrap();
        std::fs::write(fortunes.join("b.dat"), "").unwrap();
        assert_eq!(read(&fortunes, "a").unwrap(), ["Caf\u{fffd} au lait, said he.", "shared quote here"]);
        let env = Env { cache_dir: dir.path().to_path_buf(), ..Env::from_env() };
        let t = task(json!({"categories": ["a", "b"], "n_train": 0, "n_test": 2})).err().unwrap().to_string();
        assert!(t.contains("`n_train`"), "{t}");
        let e = task(json!({"categories": ["a", "b"], "n_train": 4, "n_test": 2}))
            .unwrap()
            .load(&env)
            .unwrap_err()
            .to_string();
        assert!(e.contains("a 1, b 1"), "the shared quote is dropped from both and duplicates counted once: {e}");
        let e = task(json!({"categories": ["a", "c"]})).unwrap().load(&env).unwrap_err().to_string();
        assert!(e.contains("no fortune file \"c\"") && e.contains("categories are a, b"), "{e}");
    }

    #[test]
    fn parameters_are_checked() {
        let e = |p: serde_json::Value| task(p).err().unwrap().to_string();
        assert!(e(json!({"categories": ["computers"]})).contains("`categories`"));
        assert!(e(json!({"categories": ["computers", "computers"]})).contains("given twice"));
        assert!(e(json!({"categories": ["computers", "food.dat"]})).contains("food.dat"));
        assert!(e(json!({"one_vs_rest": "law"})).contains("`one_vs_rest`"));
        assert!(e(json!({"categorys": []})).contains("categories"));
    }
}
