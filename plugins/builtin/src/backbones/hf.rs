//! HF checkpoint folders: `config.json`, and weights in `model.safetensors` or sharded
//! (`model.safetensors.index.json` naming its shard files). Tensors are read one at a time from
//! their file (only the safetensors headers are kept in memory), and converted from F32, F16,
//! BF16 or F64. Also the parameters shared by the backbones that load such folders.

use std::{
    collections::HashMap,
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
    sync::Arc,
};

use anyhow::{bail, ensure, Context};
use serde::{Deserialize, Serialize};
use tch::{nn, Kind, Tensor};
use tokenizers::Tokenizer;
use w2s_core::{params::check, Env, Params};

use super::{
    classifier::{Mode, Precision, TooLong},
    decoder_classifier::{DecoderClassifier, Loader, Tokens, Trunk},
    tokenizer,
};

/// What an HF folder must hold, for error messages.
pub const EXPECTED_FILES: &str =
    "config.json, and model.safetensors or model.safetensors.index.json with the shard files it names";

/// One tensor's place in a safetensors file.
#[derive(Debug, Clone, Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<i64>,
    data_offsets: (u64, u64),
}

/// The header of one safetensors file.
struct SafeTensorsFile {
    path: PathBuf,
    /// Where the data starts (8 + header length).
    data_start: u64,
    entries: HashMap<String, Entry>,
}

impl SafeTensorsFile {
    fn open(path: &Path) -> anyhow::Result<Self> {
        let mut f = File::open(path).with_context(|| format!("opening {}", path.display()))?;
        let mut len = [0u8; 8];
        f.read_exact(&mut len).with_context(|| format!("{}: not a safetensors file", path.display()))?;
        let len = u64::from_le_bytes(len);
        let size = f.metadata()?.len();
        ensure!(
            len + 8 <= size,
            "{}: not a safetensors file (header of {len} bytes in a {size}-byte file)",
            path.display()
        );
        let mut header = vec![0u8; len as usize];
        f.read_exact(&mut header)?;
        let mut raw: HashMap<String, serde_json::Value> =
            serde_json::from_slice(&header).with_context(|| format!("{}: bad safetensors header", path.display()))?;
        raw.remove("__metadata__");
        let entries = raw
            .into_iter()
            .map(|(name, v)| {
                let e: Entry = serde_json::from_value(v)
                    .with_context(|| format!("{}: bad header entry for tensor `{name}`", path.display()))?;
                ensure!(
                    e.data_offsets.0 <= e.data_offsets.1 && len + 8 + e.data_offsets.1 <= size,
                    "{}: tensor `{name}` lies outside the file (truncated download?)",
                    path.display()
                );
                Ok((name, e))
            })
            .collect::<anyhow::Result<_>>()?;
        Ok(SafeTensorsFile { path: path.to_path_buf(), data_start: 8 + len, entries })
    }

    fn read(&self, name: &str, e: &Entry) -> anyhow::Result<Tensor> {
        let kind = match e.dtype.as_str() {
            "F32" => Kind::Float,
            "F16" => Kind::Half,
            "BF16" => Kind::BFloat16,
            "F64" => Kind::Double,
            other => {
                bail!("{}: tensor `{name}` has dtype {other}; supported: F32, F16, BF16, F64", self.path.display())
            }
        };
        let (start, end) = e.data_offsets;
        let numel: i64 = e.shape.iter().product();
        ensure!(
            (end - start) as usize == numel as usize * kind.elt_size_in_bytes(),
            "{}: tensor `{name}` has {} bytes for shape {:?} of {}",
            self.path.display(),
            end - start,
            e.shape,
            e.dtype
        );
        let mut f = File::open(&self.path)?;
        f.seek(SeekFrom::Start(self.data_start + start))?;
        let mut bytes = vec![0u8; (end - start) as usize];
        f.read_exact(&mut bytes).with_context(|| format!("reading tensor `{name}` from {}", self.path.display()))?;
        Ok(Tensor::f_from_data_size(&bytes, &e.shape, kind)?)
    }
}

/// An HF checkpoint folder: its config and the headers of its weight files.
pub struct HfCheckpoint {
    pub dir: PathBuf,
    /// `config.json`, parsed.
    pub config: serde_json::Value,
    files: Vec<SafeTensorsFile>,
    /// Tensor name → index in `files`.
    index: HashMap<String, usize>,
    /// `model.safetensors` or `model.safetensors.index.json`, for messages.
    weights: PathBuf,
}

impl HfCheckpoint {
    /// Open the folder `dir`; `what` names the expected model in messages ("GPT-2 folder").
    pub fn open(dir: &Path, what: &str) -> anyhow::Result<Self> {
        ensure!(dir.is_dir(), "{what} {} does not exist; expected a folder with {EXPECTED_FILES}", dir.display());
        let cfg_path = dir.join("config.json");
        ensure!(cfg_path.is_file(), "{what} {} has no config.json; expected {EXPECTED_FILES}", dir.display());
        let text = std::fs::read_to_string(&cfg_path).with_context(|| format!("reading {}", cfg_path.display()))?;
        let config = serde_json::from_str(&text).with_context(|| format!("parsing {}", cfg_path.display()))?;
        let single = dir.join("model.safetensors");
        let index_path = dir.join("model.safetensors.index.json");
        let (weights, shard_names) = if single.is_file() {
            (single, vec!["model.safetensors".to_string()])
        } else if index_path.is_file() {
            let text = std::fs::read_to_string(&index_path)?;
            let index: serde_json::Value =
                serde_json::from_str(&text).with_context(|| format!("parsing {}", index_path.display()))?;
            let map = index
                .get("weight_map")
                .and_then(|m| m.as_object())
                .with_context(|| format!("{}: no weight_map object", index_path.display()))?;
            let mut names: Vec<String> = map.values().filter_map(|v| v.as_str().map(str::to_string)).collect();
            names.sort();
            names.dedup();
            (index_path, names)
        } else {
            bail!(
                "{what} {} has no model.safetensors nor model.safetensors.index.json; expected {EXPECTED_FILES}",
                dir.display()
            );
        };
        let mut files = Vec::new();
        let mut index = HashMap::new();
        for name in shard_names {
            let path = dir.join(&name);
            ensure!(path.is_file(), "{} names shard {name}, which is missing", weights.display());
            let file = SafeTensorsFile::open(&path)?;
            for t in file.entries.keys() {
                index.insert(t.clone(), files.len());
            }
            files.push(file);
        }
        Ok(HfCheckpoint { dir: dir.to_path_buf(), config, files, index, weights })
    }

    /// Whether the checkpoint has tensor `name`.
    pub fn has(&self, name: &str) -> bool {
        self.index.contains_key(name)
    }

    /// The first of `names` that the checkpoint has (alternative layouts of one tensor), checked
    /// to have shape `dims`.
    pub fn tensor(&self, names: &[String], dims: &[i64]) -> anyhow::Result<Tensor> {
        let Some((name, &i)) = names.iter().find_map(|n| self.index.get_key_value(n.as_str())) else {
            let alts: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
            bail!("tensor {} not found in {}", alts.join(" or "), self.weights.display());
        };
        let file = &self.files[i];
        let e = &file.entries[name];
        ensure!(
            e.shape == dims,
            "tensor `{name}` in {} has shape {:?}, expected {dims:?}",
            file.path.display(),
            e.shape
        );
        file.read(name, e)
    }

    /// A key for the feature cache: the folder, the weights' total size, and `extra`.
    pub fn cache_key(&self, extra: &str) -> String {
        let size: u64 = self.files.iter().filter_map(|f| std::fs::metadata(&f.path).ok()).map(|m| m.len()).sum();
        let dir = std::fs::canonicalize(&self.dir).unwrap_or_else(|_| self.dir.clone());
        format!("hf|{}|{size}|{extra}", dir.display())
    }

    /// The path of `config.json`, for messages.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("config.json")
    }

    /// Field `key` of the config.
    pub fn get<T: serde::de::DeserializeOwned>(&self, key: &str) -> anyhow::Result<Option<T>> {
        match self.config.get(key) {
            None | Some(serde_json::Value::Null) => Ok(None),
            Some(v) => serde_json::from_value(v.clone())
                .map(Some)
                .with_context(|| format!("{}: bad value of `{key}`: {v}", self.config_path().display())),
        }
    }

    /// Field `key` of the config, which must be there.
    pub fn need<T: serde::de::DeserializeOwned>(&self, key: &str) -> anyhow::Result<T> {
        self.get(key)?.with_context(|| format!("{} has no `{key}`", self.config_path().display()))
    }
}

/// The number of blocks to build: `layers` (checked against the `total` of `source`) or all.
pub fn depth(layers: Option<usize>, total: i64, source: &Path) -> anyhow::Result<i64> {
    match layers {
        None => Ok(total),
        Some(k) => {
            ensure!(k >= 1 && k as i64 <= total, "layers = {k}, but {} has {total} blocks", source.display());
            Ok(k as i64)
        }
    }
}

/// Parameters of a backbone that loads a pretrained decoder from an HF folder.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct HfDecoderParams {
    /// The HF checkpoint folder (required).
    pub path: String,
    /// Keep only the first this many blocks (all when absent).
    pub layers: Option<usize>,
    /// Linear `probe` on frozen (cached) features, `full` fine-tuning, or `top`: the top
    /// `top_k` blocks only.
    pub mode: Mode,
    /// The number of trained blocks of mode `top` (only with it).
    pub top_k: Option<usize>,
    /// Longer texts are cut to their first this many tokens.
    pub max_len: usize,
    /// `f32` or `bf16`: the number format of a probe's frozen trunk.
    pub precision: Precision,
    /// Texts longer than `max_len`: `truncate` (keep the first tokens) or `drop` (do not train on
    /// them); either way they are counted in the log.
    pub too_long: TooLong,
}

impl Default for HfDecoderParams {
    fn default() -> Self {
        HfDecoderParams {
            path: String::new(),
            layers: None,
            mode: Mode::Probe,
            top_k: None,
            max_len: 128,
            precision: Precision::F32,
            too_long: TooLong::Truncate,
        }
    }
}

/// Check `top_k` against `mode` and `layers` (the number of blocks, when given).
pub fn check_top_k(mode: Mode, top_k: Option<usize>, layers: Option<usize>) -> anyhow::Result<()> {
    match (mode, top_k) {
        (Mode::Top, Some(k)) => check(
            k >= 1 && layers.is_none_or(|l| k <= l),
            "top_k",
            "a number of blocks from 1 to `layers` (the blocks trained in mode `top`)",
        ),
        (Mode::Top, None) => check(false, "top_k", "the number of top blocks to train (mode `top`)"),
        (_, Some(_)) => check(false, "top_k", "absent unless `mode` is `top`"),
        _ => Ok(()),
    }
}

impl Params for HfDecoderParams {
    fn validate(&self) -> anyhow::Result<()> {
        check(!self.path.is_empty(), "path", &format!("an HF checkpoint folder ({EXPECTED_FILES})"))?;
        check(self.max_len >= 1 && self.max_len <= 8192, "max_len", "a number in [1, 8192]")?;
        check(self.layers != Some(0), "layers", "at least 1 (or absent for all)")?;
        check(
            self.precision == Precision::F32 || self.mode == Mode::Probe,
            "precision",
            "`f32` unless `mode` is `probe` (bf16 is for a frozen trunk)",
        )?;
        check_top_k(self.mode, self.top_k, self.layers)
    }
}

/// The tokenization of decoder checkpoint folders: the tokenizer's special tokens added, texts cut
/// to their first tokens.
pub fn tokens(tok: Arc<Tokenizer>) -> Tokens {
    Tokens { tok, encode: tokenizer::encode_prefix, pad_id: 0 }
}

/// A last-token classifier (see `decoder_classifier`) over the trunk that `build` loads from
/// `ck`, with `tok` (the tokenizer and where it came from, for the feature cache key). The trunk
/// has `blocks` blocks (`layers` applied) of width `hidden`. A probe loads it only on a
/// feature-cache miss (`ck` is then opened again: only its headers are read).
pub fn classifier(
    env: &Env,
    p: &HfDecoderParams,
    n_classes: usize,
    ck: &HfCheckpoint,
    (tok, tok_source): (Arc<Tokenizer>, String),
    (blocks, hidden): (usize, i64),
    build: impl Fn(&nn::VarStore, &HfCheckpoint) -> anyhow::Result<Box<dyn Trunk>> + 'static,
) -> anyhow::Result<DecoderClassifier> {
    let mut c = match p.mode {
        Mode::Probe => {
            let (dir, tok) = (ck.dir.clone(), tok.clone());
            let load: Loader = Box::new(move |vs: &nn::VarStore| {
                let ck = HfCheckpoint::open(&dir, "HF checkpoint folder")?;
                let trunk = build(vs, &ck).with_context(|| format!("building a classifier on {}", dir.display()))?;
                Ok((tokens(tok.clone()), trunk))
            });
            DecoderClassifier::lazy_probe(env, n_classes, p.max_len, (blocks, hidden), load)?
        }
        Mode::Full | Mode::Top => {
            let build = |vs: &nn::VarStore| build(vs, ck);
            DecoderClassifier::with_trunk(env, tokens(tok), n_classes, (p.mode, p.top_k), p.max_len, build)
                .with_context(|| format!("building a classifier on {}", ck.dir.display()))?
        }
    };
    c.set_precision(p.precision)?;
    c.too_long = p.too_long;
    c.cache_key = Some(ck.cache_key(&format!("layers={:?}|tokenizer={tok_source}", p.layers)));
    Ok(c)
}

/// Test helpers: write a checkpoint folder.
#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Write `config` and `tensors` into `dir` as an HF folder: `model.safetensors`, or
    /// `shards` files with an index when `shards > 1`.
    pub(crate) fn write_checkpoint(
        dir: &Path,
        config: &serde_json::Value,
        tensors: &[(String, Tensor)],
        shards: usize,
    ) {
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("config.json"), serde_json::to_string_pretty(config).unwrap()).unwrap();
        let tensors: Vec<(String, Tensor)> = tensors.iter().map(|(n, t)| (n.clone(), t.contiguous())).collect();
        if shards <= 1 {
            Tensor::write_safetensors(&tensors, dir.join("model.safetensors")).unwrap();
            return;
        }
        let per = tensors.len().div_ceil(shards);
        let mut map = serde_json::Map::new();
        for (i, chunk) in tensors.chunks(per).enumerate() {
            let file = format!("model-{:05}-of-{shards:05}.safetensors", i + 1);
            Tensor::write_safetensors(chunk, dir.join(&file)).unwrap();
            for (n, _) in chunk {
                map.insert(n.clone(), file.clone().into());
            }
        }
        let index = serde_json::json!({ "metadata": {}, "weight_map": map });
        std::fs::write(dir.join("model.safetensors.index.json"), index.to_string()).unwrap();
    }

    /// The error of building a classifier and encoding a text with it (a probe loads its trunk,
    /// and so finds a bad checkpoint, only then), with its causes.
    pub(crate) fn first_use_error(built: anyhow::Result<Box<dyn w2s_core::Model>>, env: &Env) -> String {
        let err = match built {
            Err(e) => e,
            Ok(mut model) => model.encode(&["the the"], env).err().expect("an error on first use"),
        };
        format!("{err:#}")
    }

    /// Random weights for tiny test models: norm weights near 1, the rest N(0, 0.2²). Drawn from
    /// w2s's own counter-based generator keyed by the parameter's name (Box–Muller), not from
    /// libtorch's global generator, which tests running in parallel threads share: the same name
    /// always gets the same weights, whatever other tests do meanwhile.
    pub(crate) fn random_init(name: &str, dims: &[i64]) -> anyhow::Result<Tensor> {
        let n: i64 = dims.iter().product();
        let normal: Vec<f32> = (0..n as u64)
            .map(|i| {
                let u1 = w2s_core::rng::uniform(0, name, 2 * i).max(1e-12);
                let u2 = w2s_core::rng::uniform(0, name, 2 * i + 1);
                ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()) as f32
            })
            .collect();
        let r = Tensor::from_slice(&normal).view(dims);
        let norm = name.contains("norm.") || name.contains("ln_");
        Ok(if norm && name.ends_with("weight") { r * 0.1 + 1.0 } else { r * 0.2 })
    }

    /// A tiny byte-level BPE vocabulary in `dir` (`vocab.json`, `merges.txt`): the 256 byte
    /// symbols (ids in code point order), then `Ġt`, `he`, `Ġthe` (256–258) and `<|endoftext|>`.
    pub(crate) fn write_tiny_vocab(dir: &Path) {
        use tokenizers::pre_tokenizers::byte_level::ByteLevel;
        let mut chars: Vec<char> = ByteLevel::alphabet().into_iter().collect();
        chars.sort();
        let mut vocab: serde_json::Map<String, serde_json::Value> =
            chars.iter().enumerate().map(|(i, c)| (c.to_string(), i.into())).collect();
        for (i, t) in ["Ġt", "he", "Ġthe", "<|endoftext|>"].iter().enumerate() {
            vocab.insert(t.to_string(), (256 + i).into());
        }
        std::fs::create_dir_all(dir).unwrap();
        std::fs::write(dir.join("vocab.json"), serde_json::Value::Object(vocab).to_string()).unwrap();
        std::fs::write(dir.join("merges.txt"), "#version: 0.2\nĠ t\nh e\nĠt he\n").unwrap();
    }

    /// The tiny vocabulary as a `tokenizer.json` in `dir` (and no other tokenizer files).
    pub(crate) fn write_tiny_tokenizer_json(dir: &Path) {
        let tmp = tempfile::tempdir().unwrap();
        write_tiny_vocab(tmp.path());
        let tok = tokenizer::byte_level_bpe(&tmp.path().join("vocab.json"), &tmp.path().join("merges.txt")).unwrap();
        tok.save(dir.join("tokenizer.json"), false).unwrap();
    }

    #[test]
    fn reads_dtypes_and_names_missing_and_misshapen_tensors() {
        let dir = tempfile::tempdir().unwrap();
        let a = Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6.]).view([2, 3]);
        let tensors = vec![
            ("a".to_string(), a.shallow_clone()),
            ("b".to_string(), a.to_kind(Kind::BFloat16)),
            ("c".to_string(), a.to_kind(Kind::Half)),
        ];
        write_checkpoint(dir.path(), &serde_json::json!({"x": 1}), &tensors, 2);
        let ck = HfCheckpoint::open(dir.path(), "test folder").unwrap();
        assert_eq!(ck.need::<i64>("x").unwrap(), 1);
        assert!(ck.need::<i64>("y").unwrap_err().to_string().contains("`y`"));
        for n in ["a", "b", "c"] {
            let t = ck.tensor(&[n.to_string()], &[2, 3]).unwrap();
            assert!(t.to_kind(Kind::Float).equal(&a), "{n}");
        }
        let alt = ck.tensor(&["nope".to_string(), "c".to_string()], &[2, 3]).unwrap();
        assert_eq!(alt.kind(), Kind::Half);
        let err = ck.tensor(&["h.0.w".to_string(), "transformer.h.0.w".to_string()], &[2, 3]).unwrap_err().to_string();
        assert!(err.contains("`h.0.w`") && err.contains("`transformer.h.0.w`"), "{err}");
        assert!(err.contains("model.safetensors.index.json"), "{err}");
        let err = ck.tensor(&["a".to_string()], &[3, 2]).unwrap_err().to_string();
        assert!(
            err.contains("`a`") && err.contains("[2, 3]") && err.contains("[3, 2]") && err.contains("model-0000"),
            "{err}"
        );
    }

    #[test]
    fn missing_files_say_what_is_expected() {
        let dir = tempfile::tempdir().unwrap();
        let err = HfCheckpoint::open(&dir.path().join("nope"), "GPT-2 folder").err().unwrap().to_string();
        assert!(err.contains("does not exist") && err.contains("config.json"), "{err}");
        let err = HfCheckpoint::open(dir.path(), "GPT-2 folder").err().unwrap().to_string();
        assert!(err.contains("no config.json") && err.contains("model.safetensors"), "{err}");
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        let err = HfCheckpoint::open(dir.path(), "GPT-2 folder").err().unwrap().to_string();
        assert!(err.contains("no model.safetensors nor model.safetensors.index.json"), "{err}");
        std::fs::write(dir.path().join("model.safetensors"), [1u8, 2, 3]).unwrap();
        let err = format!("{:#}", HfCheckpoint::open(dir.path(), "GPT-2 folder").err().unwrap());
        assert!(err.contains("not a safetensors file"), "{err}");
        assert!(HfDecoderParams::default().validate().unwrap_err().to_string().contains("path"));
    }
}
