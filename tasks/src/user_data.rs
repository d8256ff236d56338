//! `user-data`: classification on the user's own labelled file(s), binary or k-class: JSON lines
//! such as the reference code's `{"txt": ..., "hard_label": 0}` or CSV with a header row (the
//! format follows the extension unless `format` says). Labels are class indices (classes 0 to
//! the largest index in the training file) or class names (classes in sorted order). Give a
//! `test` file, or a `test_fraction` of the training file is split off (seeded by `data_seed`).
//! The training pool keeps the file's order; the protocol splits it into halves per seed.

use std::path::{Path, PathBuf};

use anyhow::{bail, ensure};
use serde::{Deserialize, Serialize};
use w2s_core::{params::check, rng, Dataset, Env, Example, Params, Task};

use crate::records::{self, Fields, Format, RawLabel, Record};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct UserDataParams {
    /// The training file (`.jsonl` or `.csv`).
    pub train: PathBuf,
    /// The test file; without it, `test_fraction` of the training file is the test set.
    pub test: Option<PathBuf>,
    /// Share of the training file held out as the test set when no `test` file is given.
    pub test_fraction: f64,
    /// `jsonl` or `csv`; by default from the file extension.
    pub format: Option<Format>,
    /// The JSON key or CSV column of the text.
    pub text_field: String,
    /// The JSON key or CSV column of the label.
    pub label_field: String,
    /// Seed of the train/test split (fixed across run seeds).
    pub data_seed: u64,
    /// Skip malformed lines (each logged, then counted) instead of failing on the first one.
    pub skip_bad_lines: bool,
}

impl Default for UserDataParams {
    fn default() -> Self {
        UserDataParams {
            train: PathBuf::new(),
            test: None,
            test_fraction: 0.2,
            format: None,
            text_field: "txt".into(),
            label_field: "hard_label".into(),
            data_seed: 0,
            skip_bad_lines: false,
        }
    }
}

impl Params for UserDataParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(!self.train.as_os_str().is_empty(), "train", "the path of a .jsonl or .csv file")?;
        check(self.test_fraction > 0.0 && self.test_fraction < 1.0, "test_fraction", "a number in (0, 1)")?;
        check(!self.text_field.is_empty(), "text_field", "a field name")?;
        check(!self.label_field.is_empty(), "label_field", "a field name")?;
        check(self.text_field != self.label_field, "label_field", "a field other than `text_field`")?;
        if self.format.is_none() {
            for path in std::iter::once(&self.train).chain(&self.test) {
                check(
                    Format::from_path(path).is_some(),
                    "format",
                    &format!("`jsonl` or `csv`: the extension of {} names neither", path.display()),
                )?;
            }
        }
        Ok(())
    }
}

/// The classes of a dataset, as the training file's labels define them.
#[derive(Debug, Clone, PartialEq)]
pub enum Classes {
    /// Labels are indices 0..k.
    Indices(usize),
    /// Labels are names; class i is the i-th in sorted order.
    Names(Vec<String>),
}

impl Classes {
    /// The classes of the training records (`origin` names their file in errors).
    pub fn of(train: &[Record], origin: &str) -> anyhow::Result<Self> {
        let mut seen: Vec<&RawLabel> = Vec::new();
        for r in train {
            same_kind(r, &train[0], origin)?;
            if !seen.contains(&&r.label) {
                seen.push(&r.label);
            }
        }
        if seen.len() < 2 {
            bail!("{origin}: every label is {}: classification needs at least two classes", show(seen[0]));
        }
        Ok(match train[0].label {
            RawLabel::Index(_) => Classes::Indices(
                1 + seen.iter().map(|l| if let RawLabel::Index(i) = l { *i } else { 0 }).max().unwrap_or(0),
            ),
            RawLabel::Name(_) => {
                let mut names: Vec<String> = seen.iter().map(|l| show(l)).collect();
                names.sort();
                Classes::Names(names)
            }
        })
    }

    pub fn names(&self) -> Vec<String> {
        match self {
            Classes::Indices(k) => (0..*k).map(|i| i.to_string()).collect(),
            Classes::Names(names) => names.clone(),
        }
    }

    /// The class of a record (`origin` names its file in errors; `first` is the training file's
    /// first record, which fixes whether labels are indices or names).
    pub fn class_of(&self, r: &Record, first: &Record, origin: &str) -> anyhow::Result<usize> {
        same_kind(r, first, origin)?;
        match (self, &r.label) {
            (Classes::Indices(k), RawLabel::Index(i)) => {
                ensure!(
                    i < k,
                    "{origin} line {}: label {i} is out of range: the training data has classes 0 to {}",
                    r.line,
                    k - 1
                );
                Ok(*i)
            }
            (Classes::Names(names), RawLabel::Name(n)) => names.binary_search(n).map_err(|_| {
                anyhow::anyhow!(
                    "{origin} line {}: label \"{n}\" is not a class of the training data ({})",
                    r.line,
                    names.join(", ")
                )
            }),
            _ => unreachable!("same_kind checked"),
        }
    }
}

fn show(l: &RawLabel) -> String {
    match l {
        RawLabel::Index(i) => i.to_string(),
        RawLabel::Name(n) => n.clone(),
    }
}

/// Labels must all be indices or all names, like the first label of the training file.
fn same_kind(r: &Record, first: &Record, origin: &str) -> anyhow::Result<()> {
    let kind = |l: &RawLabel| if matches!(l, RawLabel::Index(_)) { "a class index" } else { "a class name" };
    ensure!(
        kind(&r.label) == kind(&first.label),
        "{origin} line {}: label {:?} is {} but the first label of the training data ({:?}) is {}",
        r.line,
        show(&r.label),
        kind(&r.label),
        show(&first.label),
        kind(&first.label)
    );
    Ok(())
}

pub struct UserData {
    pub params: UserDataParams,
}

impl UserData {
    pub fn new(params: UserDataParams) -> anyhow::Result<Self> {
        Ok(UserData { params })
    }

    fn read(&self, path: &Path) -> anyhow::Result<Vec<Record>> {
        let p = &self.params;
        let format = p.format.or_else(|| Format::from_path(path)).unwrap_or(Format::Jsonl);
        records::read(
            path,
            format,
            Fields { text: &p.text_field, label: &p.label_field, skip_bad_lines: p.skip_bad_lines },
        )
    }

    /// Map records to classes and split off the test set; `*_origin` name the files in errors.
    pub fn build(
        &self,
        train: Vec<Record>,
        train_origin: &str,
        test: Option<(Vec<Record>, &str)>,
    ) -> anyhow::Result<Dataset> {
        let classes = Classes::of(&train, train_origin)?;
        let first = &train[0];
        let examples = |records: &[Record], origin: &str| -> anyhow::Result<Vec<Example>> {
            records.iter().map(|r| Ok(Example::new(r.text.clone(), classes.class_of(r, first, origin)?))).collect()
        };
        let all = examples(&train, train_origin)?;
        let (train, test) = match test {
            Some((records, origin)) => (all, examples(&records, origin)?),
            None => {
                let n = all.len();
                ensure!(
                    n >= 3,
                    "{train_origin}: {n} examples are too few to split off a test set (give a `test` file)"
                );
                let n_test = ((self.params.test_fraction * n as f64).round() as usize).clamp(1, n - 2);
                let order = rng::permutation(n, self.params.data_seed, "user-data-test");
                let mut is_test = vec![false; n];
                order[..n_test].iter().for_each(|&i| is_test[i] = true);
                let (test, train): (Vec<_>, Vec<_>) = all.into_iter().zip(is_test).partition(|(_, t)| *t);
                (train.into_iter().map(|(e, _)| e).collect(), test.into_iter().map(|(e, _)| e).collect())
            }
        };
        let names = classes.names();
        Ok(Dataset { n_classes: names.len(), class_names: names, train, test })
    }
}

impl Task for UserData {
    fn data_files(&self) -> Vec<PathBuf> {
        std::iter::once(&self.params.train).chain(&self.params.test).cloned().collect()
    }
    fn load(&self, _env: &Env) -> anyhow::Result<Dataset> {
        let p = &self.params;
        let train = self.read(&p.train)?;
        let test = match &p.test {
            Some(path) => Some((self.read(path)?, path.display().to_string())),
            None => None,
        };
        self.build(train, &p.train.display().to_string(), test.as_ref().map(|(r, o)| (r.clone(), o.as_str())))
    }
}

w2s_core::register!(Task {
    name: "user-data",
    description:
        "your own labelled texts: a .jsonl ({\"txt\": ..., \"hard_label\": 0}) or .csv file, binary or k-class",
    params: UserDataParams,
    build: UserData::new,
});

#[cfg(test)]
mod tests {
    use std::path::Path;

    use serde_json::json;

    use super::*;

    fn env() -> Env {
        Env { cache_dir: std::env::temp_dir(), ..Env::from_env() }
    }

    fn task(params: serde_json::Value) -> anyhow::Result<UserData> {
        let p: UserDataParams = serde_json::from_value(params)?;
        p.validate()?;
        UserData::new(p)
    }

    fn write(dir: &Path, name: &str, text: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    fn load(params: serde_json::Value) -> anyhow::Result<Dataset> {
        task(params)?.load(&env())
    }

    #[test]
    fn loads_jsonl_with_a_split_off_test_set() {
        let dir = tempfile::tempdir().unwrap();
        let lines: String =
            (0..50).map(|i| format!("{{\"txt\": \"text {i}\", \"hard_label\": {}}}\n", i % 2)).collect();
        let train = write(dir.path(), "data.jsonl", &lines);
        let d = load(json!({"train": train})).unwrap();
        assert_eq!((d.n_classes, d.class_names.clone()), (2, vec!["0".to_string(), "1".to_string()]));
        assert_eq!((d.train.len(), d.test.len()), (40, 10));
        assert!(d.test.iter().all(|e| !d.train.contains(e)));
        let e3 = d.train.iter().chain(&d.test).find(|e| e.text == "text 3").unwrap();
        assert_eq!(e3.label, 1);
        let again = load(json!({"train": train})).unwrap();
        assert_eq!((again.train, again.test), (d.train.clone(), d.test.clone()), "deterministic");
        let other = load(json!({"train": train, "data_seed": 1})).unwrap();
        assert_ne!(other.test, d.test, "the split follows data_seed");
    }

    #[test]
    fn loads_csv_with_named_classes_and_a_test_file() {
        let dir = tempfile::tempdir().unwrap();
        let train = write(
            dir.path(),
            "train.csv",
            "label,text\nneutral,meh\npositive,great\nnegative,\"awful, truly\"\npositive,nice\n",
        );
        let test = write(dir.path(), "test.csv", "text,label\nok,neutral\nbad,negative\n");
        let d = load(json!({"train": train, "test": test, "text_field": "text", "label_field": "label"})).unwrap();
        assert_eq!(d.class_names, ["negative", "neutral", "positive"]);
        assert_eq!(d.n_classes, 3);
        let labels: Vec<(&str, usize)> = d.train.iter().map(|e| (e.text.as_str(), e.label)).collect();
        assert_eq!(labels, [("meh", 1), ("great", 2), ("awful, truly", 0), ("nice", 2)], "file order kept");
        assert_eq!(d.test.iter().map(|e| e.label).collect::<Vec<_>>(), [1, 0]);
        // `format` overrides the extension.
        let txt = write(dir.path(), "train.txt", "txt,hard_label\na,0\nb,2\nc,1\n");
        let d = load(json!({"train": txt, "format": "csv"})).unwrap();
        assert_eq!((d.n_classes, d.train.len() + d.test.len()), (3, 3));
    }

    #[test]
    fn bad_input_is_explained() {
        let dir = tempfile::tempdir().unwrap();
        let ok = "{\"txt\": \"a\", \"hard_label\": 0}\n{\"txt\": \"b\", \"hard_label\": 1}\n";
        let err = |train: &str, test: Option<&str>| {
            let train = write(dir.path(), "data.jsonl", train);
            let mut params = json!({"train": train});
            if let Some(t) = test {
                params["test"] = json!(write(dir.path(), "test.jsonl", t));
            }
            format!("{:#}", load(params).unwrap_err())
        };
        let e = err(&format!("{ok}{ok}{ok}{{\"text\": \"c\", \"hard_label\": 1}}\n"), None);
        assert!(e.contains("data.jsonl line 7: field \"txt\" is missing"), "{e}");
        let e = err("", None);
        assert!(e.contains("data.jsonl: the file is empty"), "{e}");
        let e = err(ok, Some("{\"txt\": \"c\", \"hard_label\": 2}\n"));
        assert!(e.contains("test.jsonl line 1: label 2 is out of range") && e.contains("classes 0 to 1"), "{e}");
        let e = err(
            "{\"txt\": \"a\", \"hard_label\": \"x\"}\n{\"txt\": \"b\", \"hard_label\": \"y\"}\n",
            Some("{\"txt\": \"c\", \"hard_label\": \"z\"}\n"),
        );
        assert!(e.contains("test.jsonl line 1: label \"z\" is not a class") && e.contains("(x, y)"), "{e}");
        let e = err(&format!("{ok}{{\"txt\": \"c\", \"hard_label\": \"pos\"}}\n"), None);
        assert!(e.contains("data.jsonl line 3") && e.contains("class name") && e.contains("class index"), "{e}");
        let e = err("{\"txt\": \"a\", \"hard_label\": 1}\n{\"txt\": \"b\", \"hard_label\": 1}\n", Some(ok));
        assert!(e.contains("every label is 1") && e.contains("at least two classes"), "{e}");
        let e = err(ok, None);
        assert!(e.contains("too few") && e.contains("`test`"), "{e}");
        let e = format!("{:#}", load(json!({"train": dir.path().join("missing.jsonl")})).unwrap_err());
        assert!(e.contains("missing.jsonl"), "{e}");
    }

    #[test]
    fn parameters_are_checked() {
        let e = |p: serde_json::Value| task(p).err().unwrap().to_string();
        assert!(e(json!({})).contains("`train`"));
        assert!(e(json!({"train": "d.tsv"})).contains("`format`"));
        assert!(e(json!({"train": "d.jsonl", "test": "t.txt"})).contains("t.txt"));
        assert!(e(json!({"train": "d.csv", "test_fraction": 1.0})).contains("`test_fraction`"));
        assert!(e(json!({"train": "d.csv", "label_field": "txt"})).contains("`label_field`"));
        assert!(e(json!({"train": "d.csv", "format": "xml"})).contains("jsonl"));
        assert!(task(json!({"train": "d.tsv", "format": "csv"})).is_ok());
    }
}
