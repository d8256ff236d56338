//! HF checkpoint folders (HF transformers' `save_pretrained` layout): `config.json`, and weights
//! in `model.safetensors` or sharded (`model.safetensors.index.json` naming its shard files), in
//! HF's safetensors format (an 8-byte header length, a JSON header of dtypes, shapes and offsets,
//! then the raw data). Tensors are read one at a time from their file (only the safetensors
//! headers are kept in memory), and converted from F32, F16, BF16 or F64.

use std::{
    collections::HashMap,
    fs::File,
    io::{Read, Seek, SeekFrom},
    path::{Path, PathBuf},
};

use anyhow::{bail, ensure, Context};
use serde::Deserialize;
use tch::{Kind, Tensor};

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

    /// The number of elements of all its tensors (from the headers).
    pub fn parameters(&self) -> u64 {
        self.files
            .iter()
            .flat_map(|f| f.entries.values())
            .map(|e| e.shape.iter().map(|&d| d as u64).product::<u64>())
            .sum()
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::write_checkpoint;

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
    }
}
