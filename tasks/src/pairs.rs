//! Balanced yes/no datasets made from candidate items in a seeded order. Each usable item offers
//! both a negative and a positive example (an item that cannot offer both is skipped, so that no
//! kind of item shows up under one label only) and gives one of them: labels alternate, so the
//! test set (made first) and the training pool are each half and half (one more negative when the
//! size is odd). Each item is used at most once, so the two sets share no item.

use anyhow::ensure;
use w2s_core::{rng, Dataset, Example};

/// The labelled items of a test set and a training pool.
pub struct Split<T> {
    pub train: Vec<(T, usize)>,
    pub test: Vec<(T, usize)>,
}

/// Make `n_test` + `n_train` examples from items `0..n_items`, visited in an order seeded by
/// (`seed`, `stream`). `make(item, rng)` offers `[negative, positive]` or `None`; its `rng` is
/// keyed by the item, so an item's offer does not depend on the order.
pub fn balanced<T>(
    n_items: usize,
    n_train: usize,
    n_test: usize,
    seed: u64,
    stream: &str,
    mut make: impl FnMut(usize, &mut rng::Rng) -> Option<[T; 2]>,
) -> anyhow::Result<Split<T>> {
    let need = n_train + n_test;
    let mut made: Vec<(T, usize)> = Vec::with_capacity(need);
    for item in rng::permutation(n_items, seed, stream) {
        if made.len() == need {
            break;
        }
        let mut r = rng::Rng::new(rng::key(seed, stream, item as u64), "item");
        if let Some([negative, positive]) = make(item, &mut r) {
            let k = made.len();
            let label = if k < n_test { k % 2 } else { (k - n_test) % 2 };
            made.push((if label == 0 { negative } else { positive }, label));
        }
    }
    ensure!(
        made.len() == need,
        "{stream}: n_train + n_test = {need} but only {} examples can be made from {n_items} candidates",
        made.len()
    );
    let mut train = made.split_off(n_test);
    let mut test = made;
    rng::Rng::new(seed, &format!("{stream}-train")).shuffle(&mut train);
    rng::Rng::new(seed, &format!("{stream}-test")).shuffle(&mut test);
    Ok(Split { train, test })
}

/// A binary dataset from labelled items, each shown as text by `render`.
pub fn dataset<T>(split: Split<T>, class_names: [&str; 2], render: impl Fn(&T) -> String) -> Dataset {
    let examples = |v: Vec<(T, usize)>| v.iter().map(|(t, label)| Example::new(render(t), *label)).collect();
    Dataset {
        n_classes: 2,
        class_names: class_names.iter().map(|c| c.to_string()).collect(),
        train: examples(split.train),
        test: examples(split.test),
    }
}

/// Log a loaded dataset: its sizes, class balance and one example.
pub fn log_loaded(task: &str, d: &Dataset) {
    tracing::info!("{}", summary(task, d));
}

/// One line on a dataset: its sizes, class balance and one example.
pub fn summary(task: &str, d: &Dataset) -> String {
    let balance = |v: &[Example]| {
        let shares: Vec<String> =
            d.class_balance(v).iter().zip(&d.class_names).map(|(b, c)| format!("{c} {:.1}%", 100.0 * b)).collect();
        shares.join(", ")
    };
    let example =
        d.train.first().map(|e| format!("; e.g. [{}] {:?}", d.class_names[e.label], e.text)).unwrap_or_default();
    format!(
        "{task}: {} train ({}), {} test ({}){example}",
        d.train.len(),
        balance(&d.train),
        d.test.len(),
        balance(&d.test)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_deterministic_and_explained() {
        let make = |i: usize, _: &mut rng::Rng| (!i.is_multiple_of(3)).then(|| [format!("no {i}"), format!("yes {i}")]);
        let s = balanced(100, 20, 10, 7, "t", make).unwrap();
        let d = dataset(s, ["no", "yes"], |t| t.clone());
        assert_eq!((d.train.len(), d.test.len()), (20, 10));
        assert_eq!(d.class_balance(&d.train), [0.5, 0.5]);
        assert_eq!(d.class_balance(&d.test), [0.5, 0.5]);
        assert!(d.train.iter().chain(&d.test).all(|e| e.text.starts_with(["no", "yes"][e.label])));
        let items = |v: &[Example]| v.iter().map(|e| e.text.split(' ').nth(1).unwrap().to_string()).collect::<Vec<_>>();
        assert!(items(&d.test).iter().all(|i| !items(&d.train).contains(i)), "no item in both sets");
        assert_eq!(dataset(balanced(100, 20, 10, 7, "t", make).unwrap(), ["no", "yes"], |t| t.clone()).train, d.train);
        let line = summary("t", &d);
        assert!(line.starts_with("t: 20 train (no 50.0%, yes 50.0%), 10 test (no 50.0%, yes 50.0%); e.g. ["), "{line}");
        let e = balanced(30, 20, 10, 7, "t", make).err().unwrap().to_string();
        assert!(e.contains("only 20 examples can be made from 30 candidates"), "{e}");
    }
}
