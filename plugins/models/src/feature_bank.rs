//! Probe features cached per text: a bank per (trunk, settings) under
//! `derived/features/bank-<hash>/`, made of chunks (`<hash>.pt`, its `.pt.sha256`, and
//! `<hash>.index`, the sha256 of each row's text, written last). A request is served from
//! whichever chunks hold its texts, and only the texts no chunk holds are computed (and become a
//! new chunk). So the seeded halves of a task, its test set, every seed, weak and strong role and
//! objective share one extraction per (model, text), as a researcher expects of a cache keyed by
//! text; a cache keyed by the whole list (as `feature_cache::cached` is, for `top` mode's
//! padded states) would extract again for every new split. A chunk whose tensor is unreadable,
//! fails its checksum or does not match its index is logged as stale and dropped, never used.

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use anyhow::Context;
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};
use w2s_core::Env;

use crate::feature_cache::{read_checked, store, texts_hash};

/// The bank folder of (`key`, `settings`).
fn bank_dir(key: &str, settings: &str, env: &Env) -> anyhow::Result<PathBuf> {
    let dir = env.derived_dir("features")?.join(format!("bank-{}", texts_hash(&format!("{key}|{settings}|"), &[])));
    std::fs::create_dir_all(&dir).with_context(|| format!("creating feature bank {}", dir.display()))?;
    Ok(dir)
}

/// A text's id in the bank: 32 hex digits of its sha256.
fn text_id(text: &str) -> String {
    Sha256::digest(text.as_bytes()).iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// A bank's chunks, from their index files: where each text id is (its chunk's tensor file and
/// row), and how many texts each chunk lists.
#[derive(Default)]
struct Index {
    at: HashMap<String, (PathBuf, usize)>,
    listed: HashMap<PathBuf, usize>,
}

fn read_index(dir: &Path) -> anyhow::Result<Index> {
    let mut index = Index::default();
    let mut chunks: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading feature bank {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "index"))
        .collect();
    chunks.sort();
    for idx in chunks {
        let Ok(text) = std::fs::read_to_string(&idx) else { continue };
        let tensor = idx.with_extension("pt");
        let mut n = 0;
        for (row, id) in text.lines().enumerate() {
            index.at.insert(id.to_string(), (tensor.clone(), row));
            n = row + 1;
        }
        index.listed.insert(tensor, n);
    }
    Ok(index)
}

/// Write `feats` (row `i`: `texts[i]`) as a new chunk of the bank in `dir`.
fn store_chunk(dir: &Path, texts: &[&str], feats: &Tensor) -> anyhow::Result<()> {
    let ids: Vec<String> = texts.iter().map(|t| text_id(t)).collect();
    let name = texts_hash("chunk|", &ids.iter().map(String::as_str).collect::<Vec<_>>());
    let tensor = dir.join(format!("{name}.pt"));
    store(&tensor, feats)?;
    // The index last: a chunk is only ever listed once its tensor is complete.
    w2s_core::atomic_file::write_atomic(&tensor.with_extension("index"), ids.join("\n").as_bytes())
        .with_context(|| format!("writing the index of {}", tensor.display()))
}

/// The rows of the texts of `ids` from the chunks of `index`, of row shape `row_shape`; or
/// every chunk that failed, with why.
fn assemble(index: &Index, ids: &[String], row_shape: &[i64]) -> Result<Tensor, Vec<(PathBuf, anyhow::Error)>> {
    let mut by_chunk: HashMap<&Path, (Vec<i64>, Vec<i64>)> = HashMap::new();
    for (i, id) in ids.iter().enumerate() {
        let Some((chunk, row)) = index.at.get(id) else {
            return Err(vec![(PathBuf::new(), anyhow::anyhow!("text {i} is in no chunk"))]);
        };
        let e = by_chunk.entry(chunk.as_path()).or_default();
        e.0.push(i as i64);
        e.1.push(*row as i64);
    }
    let shape: Vec<i64> = std::iter::once(ids.len() as i64).chain(row_shape.iter().copied()).collect();
    let chunk_shape: Vec<i64> = std::iter::once(-1).chain(row_shape.iter().copied()).collect();
    let mut out =
        Tensor::f_zeros(shape.as_slice(), (Kind::Float, Device::Cpu)).map_err(|e| vec![(PathBuf::new(), e.into())])?;
    let mut failed = Vec::new();
    for (chunk, (dest, rows)) in by_chunk {
        let copied = (|| -> anyhow::Result<()> {
            let t = read_checked(chunk, &chunk_shape)?;
            let listed = index.listed.get(chunk).copied().unwrap_or(0);
            anyhow::ensure!(t.size()[0] as usize == listed, "{} rows for {listed} indexed texts", t.size()[0]);
            let picked = t.f_index_select(0, &Tensor::from_slice(&rows))?;
            let _ = out.f_index_copy_(0, &Tensor::from_slice(&dest), &picked)?;
            Ok(())
        })();
        if let Err(e) = copied {
            failed.push((chunk.to_path_buf(), e));
        }
    }
    if failed.is_empty() {
        Ok(out)
    } else {
        Err(failed)
    }
}

/// The number of chunks in every bank of `env`'s cache (for tests and reports).
pub fn chunks(env: &Env) -> anyhow::Result<usize> {
    let mut n = 0;
    for bank in std::fs::read_dir(env.derived_dir("features")?)? {
        let bank = bank?.path();
        if bank.is_dir() && bank.file_name().and_then(|n| n.to_str()).is_some_and(|n| n.starts_with("bank-")) {
            n += std::fs::read_dir(&bank)?
                .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "index")))
                .count();
        }
    }
    Ok(n)
}

/// The rows of `texts` that the bank of (`key`, `settings`) does not hold.
pub fn missing(key: &str, settings: &str, texts: &[&str], env: &Env) -> anyhow::Result<Vec<usize>> {
    let index = read_index(&bank_dir(key, settings, env)?)?;
    Ok((0..texts.len()).filter(|&i| !index.at.contains_key(&text_id(texts[i]))).collect())
}

/// Add the features `feats` of `texts` to the bank of (`key`, `settings`).
pub fn store_rows(key: &str, settings: &str, texts: &[&str], feats: &Tensor, env: &Env) -> anyhow::Result<()> {
    store_chunk(&bank_dir(key, settings, env)?, texts, feats)
}

/// The features `[texts, row_shape..]` of `texts`: the rows the bank of (`key`, `settings`)
/// holds, and `compute` (features of the texts given to it, in that order) for the others,
/// which are added to the bank. No `key`: all computed, nothing cached.
pub fn cached_rows(
    key: Option<&str>,
    settings: &str,
    texts: &[&str],
    row_shape: &[i64],
    env: &Env,
    mut compute: impl FnMut(&[&str]) -> anyhow::Result<Tensor>,
) -> anyhow::Result<Tensor> {
    let Some(key) = key else { return compute(texts) };
    let dir = bank_dir(key, settings, env)?;
    let ids: Vec<String> = texts.iter().map(|t| text_id(t)).collect();
    // Held while this process computes missing texts, so that workers sharing the cache (`w2s run
    // --jobs`, a Slurm array) compute each text once: the others wait, then find it banked.
    let mut computing: Option<w2s_core::file_lock::FileLock> = None;
    for attempt in 0..6 {
        let index = read_index(&dir)?;
        let mut seen = std::collections::HashSet::new();
        let todo: Vec<&str> = texts
            .iter()
            .zip(&ids)
            .filter(|(_, id)| !index.at.contains_key(*id) && seen.insert(id.as_str()))
            .map(|(t, _)| *t)
            .collect();
        if !todo.is_empty() && computing.is_none() {
            computing = Some(w2s_core::file_lock::lock(&dir.join(".lock"))?);
            continue; // read the index again: the holder before us may have banked these texts
        }
        if !todo.is_empty() {
            let f = compute(&todo)?.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?;
            let want: Vec<i64> = std::iter::once(todo.len() as i64).chain(row_shape.iter().copied()).collect();
            anyhow::ensure!(f.size() == want, "features have shape {:?}, expected {want:?}", f.size());
            store_chunk(&dir, &todo, &f)?;
            continue;
        }
        match assemble(&index, &ids, row_shape) {
            Ok(t) => return Ok(t),
            Err(stale) if attempt < 5 => {
                for (chunk, why) in stale {
                    tracing::warn!("feature bank chunk {} is stale ({why:#}); recomputing its texts", chunk.display());
                    let _ = std::fs::remove_file(chunk.with_extension("index"));
                }
            }
            Err(mut stale) => {
                let (chunk, why) = stale.remove(0);
                return Err(why.context(format!("feature bank chunk {}", chunk.display())));
            }
        }
    }
    anyhow::bail!("feature bank {}: the features could not be assembled", dir.display())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::RefCell;

    fn feats(texts: &[&str]) -> Tensor {
        let v: Vec<f32> =
            texts.iter().flat_map(|t| [t.len() as f32, t.chars().next().map_or(0.0, |c| c as u32 as f32)]).collect();
        Tensor::from_slice(&v).view([texts.len() as i64, 2])
    }

    #[test]
    fn only_texts_not_banked_are_computed_and_rows_come_back_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().to_path_buf(), show_progress: false, ..Env::from_env() };
        let asked = RefCell::new(Vec::<Vec<String>>::new());
        let get = |texts: &[&str]| {
            cached_rows(Some("k"), "s", texts, &[2], &env, |sub| {
                asked.borrow_mut().push(sub.iter().map(|s| s.to_string()).collect());
                Ok(feats(sub))
            })
            .unwrap()
        };
        assert!(get(&["a", "bb", "ccc"]).equal(&feats(&["a", "bb", "ccc"])));
        // A new split: overlapping texts are read, one new text computed, duplicates once.
        let got = get(&["ccc", "dddd", "a", "dddd"]);
        assert!(got.equal(&feats(&["ccc", "dddd", "a", "dddd"])));
        assert_eq!(*asked.borrow(), [vec!["a", "bb", "ccc"], vec!["dddd"]]);
        assert!(get(&["bb", "a"]).equal(&feats(&["bb", "a"])));
        assert_eq!(asked.borrow().len(), 2, "all banked: nothing computed");
        assert_eq!(missing("k", "s", &["a", "zz"], &env).unwrap(), [1]);
        // Another setting is another bank.
        assert_eq!(missing("k", "other", &["a"], &env).unwrap(), [0]);
        // A damaged chunk is dropped and its texts computed again.
        let bank = bank_dir("k", "s", &env).unwrap();
        for e in std::fs::read_dir(&bank).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|e| e == "pt") {
                let b = std::fs::read(&p).unwrap();
                std::fs::write(&p, &b[..b.len() / 2]).unwrap();
            }
        }
        assert!(get(&["a", "dddd"]).equal(&feats(&["a", "dddd"])));
        assert_eq!(asked.borrow().len(), 3);
        // Features of the wrong shape are an error, not a chunk.
        let err = cached_rows(Some("k2"), "s", &["x"], &[3], &env, |sub| Ok(feats(sub))).unwrap_err().to_string();
        assert!(err.contains("expected [1, 3]"), "{err}");
    }
}
