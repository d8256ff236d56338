//! Frozen-trunk features for linear probes (the probes of Burns et al. 2023, "Weak-to-Strong
//! Generalization", on frozen pretrained models): computed once (no gradient, batches of similar
//! length) and cached on disk, per text (`feature_bank`) or, for whole inputs whose shape depends
//! on the list (`top` mode's padded states), keyed by the trunk, its settings and the texts; and
//! the `Model::encode` / pooled input of a trunk + head classifier built on them.
//!
//! A cache file `<key>.pt` is written atomically with a sidecar `<key>.pt.sha256` of its bytes.
//! On reading, a missing or mismatched checksum, an unreadable file, or a tensor of the wrong
//! shape (rows ≠ texts, columns ≠ the trunk's width) is logged as stale and rebuilt, never used.

use anyhow::Context;
use sha2::{Digest, Sha256};
use tch::{Device, Kind, Tensor};
use w2s_core::{progress, Env, Inputs};

/// A trunk that pools tokenized texts into one vector each.
pub trait Pooler {
    /// Token ids of texts.
    fn tokenize(&self, texts: &[&str]) -> anyhow::Result<Vec<Vec<i64>>>;
    /// Pooled trunk output `[rows, dim]` for rows of tokenized texts.
    fn pooled(&self, tokens: &[Vec<i64>], rows: &[usize]) -> anyhow::Result<Tensor>;
    fn dim(&self) -> i64;
    /// `None` when the trunk trains (inputs are tokens); for a frozen trunk (a probe), the
    /// settings that change its features, for the cache.
    fn probe_settings(&self) -> Option<String>;
    /// Identifies the trunk's weights for the cache (`None`: do not cache).
    fn cache_key(&self) -> Option<&str>;
}

/// Pooled features `[n, dim]` of every text (no gradient), in batches, on the CPU.
pub fn features(p: &impl Pooler, texts: &[&str], env: &Env) -> anyhow::Result<Tensor> {
    let tokens = p.tokenize(texts)?;
    batched(&tokens, &[p.dim()], env, |rows| p.pooled(&tokens, rows))
}

/// `Model::encode`: tokens for a training trunk, features for a frozen one, cached per text
/// (`feature_bank`).
pub fn encode(p: &impl Pooler, texts: &[&str], env: &Env) -> anyhow::Result<Inputs> {
    let Some(settings) = p.probe_settings() else { return Ok(Inputs::Tokens(p.tokenize(texts)?)) };
    let f = crate::feature_bank::cached_rows(p.cache_key(), &settings, texts, &[p.dim()], env, |sub| {
        features(p, sub, env)
    })?;
    Ok(Inputs::Features(f))
}

/// The pooled vectors `[rows, dim]` on `device` of rows of `inputs` from [`encode`].
pub fn pooled(p: &impl Pooler, inputs: &Inputs, rows: &[usize], device: Device) -> anyhow::Result<Tensor> {
    match inputs {
        Inputs::Tokens(t) => p.pooled(t, rows),
        // Uploaded without waiting for the device's queue (a plain copy from host memory would).
        Inputs::Features(f) => {
            Ok(f.f_index_select(0, &row_index(rows))?.f_to_device_(device, f.kind(), true, false)?)
        }
    }
}

/// Features `[n, row_shape..]` on the CPU of every tokenized text, from `pooled` (rows →
/// `[rows, row_shape..]`) run on batches of rows sorted by length. Each batch is copied in place
/// into one preallocated output (no copy of the whole output per batch).
pub fn batched(
    tokens: &[Vec<i64>],
    row_shape: &[i64],
    env: &Env,
    pooled: impl Fn(&[usize]) -> anyhow::Result<Tensor>,
) -> anyhow::Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let mut order: Vec<usize> = (0..tokens.len()).collect();
    order.sort_by_key(|&i| tokens[i].len());
    let bar = progress::bar(env, tokens.len() as u64, "encoding features");
    let shape: Vec<i64> = std::iter::once(tokens.len() as i64).chain(row_shape.iter().copied()).collect();
    let mut out = Tensor::f_zeros(shape.as_slice(), (Kind::Float, Device::Cpu))?;
    for rows in order.chunks(64) {
        let f = pooled(rows)?.f_to_device(Device::Cpu)?.f_to_kind(Kind::Float)?;
        let _ = out.f_index_copy_(0, &row_index(rows), &f).with_context(|| {
            format!("batch features of shape {:?}, expected [{}, {row_shape:?}..]", f.size(), rows.len())
        })?;
        bar.inc(rows.len() as u64);
    }
    bar.finish_and_clear();
    Ok(out)
}

/// The cache file of the features of `texts` under (`key`, `settings`).
pub fn path(key: &str, settings: &str, texts: &[&str], env: &Env) -> anyhow::Result<std::path::PathBuf> {
    Ok(env.derived_dir("features")?.join(format!("{}.pt", texts_hash(&format!("{key}|{settings}|"), texts))))
}

/// A file name (24 hex digits of sha256) for what is derived from `texts` under `key`.
pub fn texts_hash(key: &str, texts: &[&str]) -> String {
    let mut h = Sha256::new();
    h.update(key);
    for t in texts {
        h.update(t.as_bytes());
        h.update([0u8]);
    }
    h.finalize().iter().take(12).map(|b| format!("{b:02x}")).collect()
}

/// The features `[texts, ..]` of `texts`, of `shape` (`-1`: any size; the first entry is the
/// number of texts): read from the cache file of (`key`, `settings`, texts) if it is intact, or
/// computed by `compute` and written there. No `key`: computed, not cached.
pub fn cached(
    key: Option<&str>,
    settings: &str,
    texts: &[&str],
    shape: &[i64],
    env: &Env,
    compute: impl FnOnce() -> anyhow::Result<Tensor>,
) -> anyhow::Result<Tensor> {
    let Some(key) = key else { return compute() };
    let path = path(key, settings, texts, env)?;
    if path.exists() {
        match read_checked(&path, shape) {
            Ok(t) => return Ok(t),
            Err(why) => tracing::warn!("feature cache {} is stale ({why:#}); recomputing", path.display()),
        }
    }
    let feats = compute()?;
    anyhow::ensure!(fits(&feats, shape), "features have shape {:?}, expected {shape:?}", feats.size());
    store(&path, &feats)?;
    Ok(feats)
}

/// Write `feats` to the cache file `path` (atomically, with its checksum).
pub fn store(path: &std::path::Path, feats: &Tensor) -> anyhow::Result<()> {
    let mut bytes = Vec::new();
    feats.save_to_stream(&mut bytes).with_context(|| format!("serialising feature cache {}", path.display()))?;
    // The checksum first: a cache file is only ever complete and next to its checksum.
    w2s_core::atomic_file::write_atomic(&checksum_path(path), sha256_hex(&bytes).as_bytes())
        .with_context(|| format!("writing the checksum of {}", path.display()))?;
    w2s_core::atomic_file::write_atomic(path, &bytes)
        .with_context(|| format!("writing feature cache {}", path.display()))
}

/// Whether `t` has `shape` (`-1`: any size).
fn fits(t: &Tensor, shape: &[i64]) -> bool {
    let size = t.size();
    size.len() == shape.len() && size.iter().zip(shape).all(|(&a, &b)| b < 0 || a == b)
}

fn checksum_path(path: &std::path::Path) -> std::path::PathBuf {
    path.with_extension("pt.sha256")
}

fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes).iter().map(|b| format!("{b:02x}")).collect()
}

/// A cache file, if its checksum matches and it holds a tensor of `shape` (`-1`: any size). The
/// file is read once: the checksum and the tensor come from the same bytes.
pub(crate) fn read_checked(path: &std::path::Path, shape: &[i64]) -> anyhow::Result<Tensor> {
    let want = std::fs::read_to_string(checksum_path(path)).context("no checksum file")?;
    let bytes = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let got = sha256_hex(&bytes);
    anyhow::ensure!(want.trim() == got, "checksum {got} does not match the recorded {}", want.trim());
    let t = Tensor::load_from_stream(std::io::Cursor::new(bytes)).context("unreadable tensor")?;
    anyhow::ensure!(fits(&t, shape), "shape {:?}, expected {shape:?}", t.size());
    Ok(t)
}

/// `impl Model` for a [`Pooler`] type with fields `trainable` (the store that trains) and
/// `head` (an `nn::Linear` on the pooled vectors): `pooled_head_model!([generics] Type)`.
macro_rules! pooled_head_model {
    ([$($generics:tt)*] $t:ty) => {
        impl<$($generics)*> w2s_core::Model for $t {
            fn encode(&mut self, texts: &[&str], env: &w2s_core::Env) -> anyhow::Result<w2s_core::Inputs> {
                $crate::feature_cache::encode(self, texts, env)
            }

            fn logits(&self, inputs: &w2s_core::Inputs, rows: &[usize], _train: bool) -> anyhow::Result<tch::Tensor> {
                let pooled = $crate::feature_cache::pooled(self, inputs, rows, self.trainable.device())?;
                Ok(tch::nn::Module::forward(&self.head, &pooled))
            }

            fn var_store(&self) -> &tch::nn::VarStore {
                &self.trainable
            }
        }
    };
}
pub(crate) use pooled_head_model;

pub(crate) fn row_index(rows: &[usize]) -> Tensor {
    Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::peak_rss_mib;
    use std::cell::Cell;

    /// Micro-benchmark (issue #10 item 14): assembling 20,000 rows × 576 features in chunks of 64.
    /// `cargo test --release -p w2s-models bench_assembling -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn bench_assembling_20k_rows() {
        let env = Env { show_progress: false, ..Env::from_env() };
        let tokens: Vec<Vec<i64>> = (0..20_000).map(|i| vec![0; 1 + i % 7]).collect();
        let before = peak_rss_mib();
        let t = std::time::Instant::now();
        let out = batched(&tokens, &[576], &env, |rows| {
            Ok(Tensor::ones([rows.len() as i64, 576], (Kind::Float, Device::Cpu)))
        })
        .unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert_eq!(out.size(), [20_000, 576]);
        println!("assembling 20000 x 576 features: {:.3} s, peak RSS {:.0} MiB (before: {before:.0} MiB; the output is {:.0} MiB)", secs, peak_rss_mib(), 20_000.0 * 576.0 * 4.0 / 1048576.0);
    }

    #[test]
    fn batches_land_in_their_rows_and_bad_batches_are_errors() {
        let env = Env { show_progress: false, ..Env::from_env() };
        // 150 texts (three chunks of up to 64), row i of length (i · 7) % 11: sorted order ≠ row order.
        let tokens: Vec<Vec<i64>> = (0..150).map(|i| vec![0; (i * 7) % 11]).collect();
        let out = batched(&tokens, &[2], &env, |rows| {
            let v: Vec<f32> = rows.iter().flat_map(|&r| [r as f32, -(r as f32)]).collect();
            Ok(Tensor::from_slice(&v).view([rows.len() as i64, 2]))
        })
        .unwrap();
        let want: Vec<f32> = (0..150).flat_map(|r| [r as f32, -(r as f32)]).collect();
        assert_eq!(Vec::<f32>::try_from(out.view([-1])).unwrap(), want);
        let err =
            batched(&tokens, &[2], &env, |rows| Ok(Tensor::zeros([rows.len() as i64, 3], (Kind::Float, Device::Cpu))))
                .unwrap_err();
        assert!(format!("{err:#}").contains("batch features of shape"), "{err:#}");
        let err = batched(&tokens, &[2], &env, |_| anyhow::bail!("trunk failed")).unwrap_err();
        assert_eq!(err.to_string(), "trunk failed");
    }

    #[test]
    fn stale_truncated_or_misshapen_cache_files_are_rebuilt() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().to_path_buf(), show_progress: false, ..Env::from_env() };
        let texts = ["a", "b", "c"];
        let calls = Cell::new(0);
        let compute = |v: f64| {
            calls.set(calls.get() + 1);
            Ok(Tensor::full([3, 4], v, (Kind::Float, Device::Cpu)))
        };
        let first = cached(Some("k"), "s", &texts, &[3, 4], &env, || compute(1.0)).unwrap();
        let again = cached(Some("k"), "s", &texts, &[3, 4], &env, || compute(2.0)).unwrap();
        assert_eq!((calls.get(), first.double_value(&[0, 0]), again.double_value(&[0, 0])), (1, 1.0, 1.0), "reused");
        let file = std::fs::read_dir(env.derived_dir("features").unwrap())
            .unwrap()
            .map(|e| e.unwrap().path())
            .find(|p| p.extension().is_some_and(|e| e == "pt"))
            .unwrap();
        // Truncated (e.g. a crash while copying): detected by the checksum, rebuilt.
        let bytes = std::fs::read(&file).unwrap();
        std::fs::write(&file, &bytes[..bytes.len() / 2]).unwrap();
        let rebuilt = cached(Some("k"), "s", &texts, &[3, 4], &env, || compute(3.0)).unwrap();
        assert_eq!((calls.get(), rebuilt.double_value(&[0, 0])), (2, 3.0));
        // A file of the wrong width (e.g. left by another trunk version) is not used either.
        let wide = cached(Some("k"), "s", &texts, &[3, 5], &env, || {
            calls.set(calls.get() + 1);
            Ok(Tensor::zeros([3, 5], (Kind::Float, Device::Cpu)))
        })
        .unwrap();
        assert_eq!((calls.get(), wide.size()), (3, vec![3, 5]));
        // A file without its checksum is stale too.
        std::fs::remove_file(file.with_extension("pt.sha256")).unwrap();
        let _ = cached(Some("k"), "s", &texts, &[3, 5], &env, || {
            compute(4.0).map(|t| t.narrow(1, 0, 4).pad([0, 1], "constant", None))
        })
        .unwrap();
        assert_eq!(calls.get(), 4);
        // Features of the wrong shape from the trunk are an error, not a cache entry.
        let err = cached(Some("other"), "s", &texts, &[3, 7], &env, || compute(5.0)).unwrap_err().to_string();
        assert!(err.contains("expected [3, 7]"), "{err}");
    }
}
