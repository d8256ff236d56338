//! A reader of GGUF files (versions 2 and 3; the llama.cpp / ggml model format, spec in
//! ggml's `docs/gguf.md`): header, metadata key/values, tensor infos, and tensors dequantized
//! to f32 for F32, F16 and ggml's block-quantized types Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 and the
//! k-quants Q2_K .. Q6_K, Q8_K (see `ggml` and `quants`).
//!
//! Layout: magic `GGUF`, version u32, tensor count u64, metadata count u64, then the metadata
//! (key string, value type u32, value), the tensor infos (name, dims u32 + u64 each, type u32,
//! offset u64 into the data section), and the data section at the next multiple of
//! `general.alignment` (default 32). All little-endian; strings are a u64 length and UTF-8 bytes.
//! Dims are listed fastest-varying first: dims `[ne0, ne1]` are a row-major `[ne1, ne0]` matrix.

use std::{
    collections::BTreeMap,
    path::{Path, PathBuf},
};

use anyhow::{bail, ensure, Context};
use tch::{Device, Kind, Tensor};

use super::ggml::{dequantize_into, TensorInfo};

/// A metadata value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    U8(u8),
    I8(i8),
    U16(u16),
    I16(i16),
    U32(u32),
    I32(i32),
    U64(u64),
    I64(i64),
    F32(f32),
    F64(f64),
    Bool(bool),
    String(String),
    Array(Vec<Value>),
}

impl Value {
    /// A non-negative integer of any width.
    pub fn as_u64(&self) -> Option<u64> {
        match *self {
            Value::U8(v) => Some(v.into()),
            Value::U16(v) => Some(v.into()),
            Value::U32(v) => Some(v.into()),
            Value::U64(v) => Some(v),
            Value::I8(v) => u64::try_from(v).ok(),
            Value::I16(v) => u64::try_from(v).ok(),
            Value::I32(v) => u64::try_from(v).ok(),
            Value::I64(v) => u64::try_from(v).ok(),
            _ => None,
        }
    }

    /// A number of any type, as f64.
    pub fn as_f64(&self) -> Option<f64> {
        match *self {
            Value::F32(v) => Some(v.into()),
            Value::F64(v) => Some(v),
            Value::I8(v) => Some(v.into()),
            Value::I16(v) => Some(v.into()),
            Value::I32(v) => Some(v.into()),
            Value::I64(v) => Some(v as f64),
            _ => self.as_u64().map(|v| v as f64),
        }
    }
}

/// A little-endian cursor over the file's bytes; errors name the byte offset.
struct Cursor<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        let end = self.pos.checked_add(n).filter(|&e| e <= self.bytes.len());
        let Some(end) = end else {
            bail!("truncated: {n} bytes wanted at offset {} of {}", self.pos, self.bytes.len())
        };
        let s = &self.bytes[self.pos..end];
        self.pos = end;
        Ok(s)
    }
    fn array<const N: usize>(&mut self) -> anyhow::Result<[u8; N]> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }
    fn u32(&mut self) -> anyhow::Result<u32> {
        Ok(u32::from_le_bytes(self.array()?))
    }
    fn u64(&mut self) -> anyhow::Result<u64> {
        Ok(u64::from_le_bytes(self.array()?))
    }
    /// A count or length, bounded by the bytes left (every item takes at least one byte).
    fn len(&mut self) -> anyhow::Result<usize> {
        let n = self.u64()?;
        ensure!(n <= (self.bytes.len() - self.pos) as u64, "length {n} at offset {} exceeds the file", self.pos - 8);
        Ok(n as usize)
    }
    fn string(&mut self) -> anyhow::Result<String> {
        let n = self.len()?;
        let at = self.pos;
        String::from_utf8(self.take(n)?.to_vec()).with_context(|| format!("string at offset {at} is not UTF-8"))
    }
    fn value(&mut self, kind: u32) -> anyhow::Result<Value> {
        Ok(match kind {
            0 => Value::U8(self.array::<1>()?[0]),
            1 => Value::I8(self.array::<1>()?[0] as i8),
            2 => Value::U16(u16::from_le_bytes(self.array()?)),
            3 => Value::I16(i16::from_le_bytes(self.array()?)),
            4 => Value::U32(self.u32()?),
            5 => Value::I32(i32::from_le_bytes(self.array()?)),
            6 => Value::F32(f32::from_le_bytes(self.array()?)),
            7 => Value::Bool(self.array::<1>()?[0] != 0),
            8 => Value::String(self.string()?),
            9 => {
                let inner = self.u32()?;
                let n = self.len()?;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(self.value(inner)?);
                }
                Value::Array(items)
            }
            10 => Value::U64(self.u64()?),
            11 => Value::I64(i64::from_le_bytes(self.array()?)),
            12 => Value::F64(f64::from_le_bytes(self.array()?)),
            k => bail!("unknown metadata value type {k} at offset {}", self.pos - 4),
        })
    }
}

/// A GGUF file read into memory.
pub struct Gguf {
    pub path: PathBuf,
    pub version: u32,
    pub metadata: BTreeMap<String, Value>,
    pub tensors: Vec<TensorInfo>,
    bytes: Vec<u8>,
    data_start: usize,
    /// Read by [`Gguf::open_header`]: no tensor data.
    header_only: bool,
}

/// The parsed header of a GGUF file: version, metadata, tensor infos, where the data starts.
type Header = (u32, BTreeMap<String, Value>, Vec<TensorInfo>, usize);

impl Gguf {
    /// Read and parse `path` (one read of the whole file).
    pub fn open(path: &Path) -> anyhow::Result<Gguf> {
        let bytes = std::fs::read(path).with_context(|| format!("reading GGUF file {}", path.display()))?;
        Gguf::parse(path, bytes).with_context(|| format!("parsing GGUF file {}", path.display()))
    }

    /// The metadata and tensor infos of `path` without its tensor data (for a model's settings
    /// when its weights may not be needed): the file is read in growing prefixes until the header
    /// fits. [`Gguf::tensor`] of the result is an error.
    pub fn open_header(path: &Path) -> anyhow::Result<Gguf> {
        use std::io::Read;
        let what = || format!("reading the header of GGUF file {}", path.display());
        let size = std::fs::metadata(path).with_context(what)?.len();
        let mut f = std::fs::File::open(path).with_context(what)?;
        let (mut bytes, mut want) = (Vec::new(), size.min(4 << 20));
        loop {
            (&mut f).take(want - bytes.len() as u64).read_to_end(&mut bytes).with_context(what)?;
            match Gguf::parse_header(&bytes) {
                Ok((version, metadata, tensors, data_start)) => {
                    let path = path.to_path_buf();
                    return Ok(Gguf {
                        path,
                        version,
                        metadata,
                        tensors,
                        bytes: Vec::new(),
                        data_start,
                        header_only: true,
                    });
                }
                Err(e) if bytes.len() as u64 >= size => {
                    return Err(e).with_context(|| format!("parsing GGUF file {}", path.display()))
                }
                Err(_) => want = size.min(want * 4),
            }
        }
    }

    /// Parse the bytes of a GGUF file (`path` only names it).
    pub fn parse(path: &Path, bytes: Vec<u8>) -> anyhow::Result<Gguf> {
        let (version, metadata, tensors, data_start) = Gguf::parse_header(&bytes)?;
        let g = Gguf { path: path.to_path_buf(), version, metadata, tensors, bytes, data_start, header_only: false };
        for t in &g.tensors {
            if t.n_bytes().is_ok() {
                g.data(t)?;
            }
        }
        Ok(g)
    }

    /// The header at the start of `bytes` (which may end anywhere after it).
    fn parse_header(bytes: &[u8]) -> anyhow::Result<Header> {
        let mut c = Cursor { bytes, pos: 0 };
        ensure!(c.take(4).ok() == Some(b"GGUF".as_slice()), "not a GGUF file (no `GGUF` magic)");
        let version = c.u32()?;
        ensure!(version == 2 || version == 3, "GGUF version {version}, expected 2 or 3");
        let n_tensors = c.len()?;
        let n_kv = c.len()?;
        let mut metadata = BTreeMap::new();
        for i in 0..n_kv {
            let key = c.string().with_context(|| format!("metadata key {i}"))?;
            let kind = c.u32().with_context(|| format!("type of metadata {key}"))?;
            let value = c.value(kind).with_context(|| format!("value of metadata {key}"))?;
            metadata.insert(key, value);
        }
        let mut tensors = Vec::with_capacity(n_tensors);
        for i in 0..n_tensors {
            let name = c.string().with_context(|| format!("name of tensor {i}"))?;
            let info = (|| {
                let n_dims = c.u32()?;
                ensure!(n_dims <= 8, "{n_dims} dims");
                let dims = (0..n_dims).map(|_| c.u64()).collect::<anyhow::Result<Vec<_>>>()?;
                Ok(TensorInfo { name: name.clone(), dims, kind: c.u32()?, offset: c.u64()? })
            })()
            .with_context(|| format!("info of tensor {name}"))?;
            tensors.push(info);
        }
        let align = match metadata.get("general.alignment") {
            None => 32,
            Some(v) => v.as_u64().filter(|&a| a > 0).context("general.alignment is not a positive integer")? as usize,
        };
        let data_start = c.pos.div_ceil(align) * align;
        Ok((version, metadata, tensors, data_start))
    }

    fn data(&self, t: &TensorInfo) -> anyhow::Result<&[u8]> {
        ensure!(!self.header_only, "only the header of {} was read, not tensor {}", self.path.display(), t.name);
        let n = t.n_bytes()?;
        let start = self.data_start as u64 + t.offset;
        let end = start + n as u64;
        ensure!(
            end <= self.bytes.len() as u64,
            "tensor {} ({n} bytes at data offset {}) lies beyond the end of the file ({} bytes)",
            t.name,
            t.offset,
            self.bytes.len()
        );
        Ok(&self.bytes[start as usize..end as usize])
    }

    pub fn info(&self, name: &str) -> Option<&TensorInfo> {
        self.tensors.iter().find(|t| t.name == name)
    }

    /// The tensor `name` dequantized to a row-major f32 tensor on the CPU.
    pub fn tensor(&self, name: &str) -> anyhow::Result<Tensor> {
        let t = self.info(name).with_context(|| format!("{} has no tensor {name}", self.path.display()))?;
        let out = Tensor::f_empty(t.shape().as_slice(), (Kind::Float, Device::Cpu))?;
        // SAFETY: `out` is a fresh contiguous f32 CPU tensor of exactly `n_elements` values that
        // nothing else references while the slice lives.
        let dst = unsafe { std::slice::from_raw_parts_mut(out.data_ptr() as *mut f32, t.n_elements()) };
        dequantize_into(t, self.data(t)?, dst).with_context(|| format!("in {}", self.path.display()))?;
        Ok(out)
    }

    /// The metadata value `key`, or an error naming the file.
    pub fn get(&self, key: &str) -> anyhow::Result<&Value> {
        self.metadata.get(key).with_context(|| format!("{} has no metadata {key}", self.path.display()))
    }

    /// An integer metadata value.
    pub fn get_u64(&self, key: &str) -> anyhow::Result<u64> {
        self.get(key)?.as_u64().with_context(|| format!("metadata {key} of {} is not an integer", self.path.display()))
    }

    /// A numeric metadata value.
    pub fn get_f64(&self, key: &str) -> anyhow::Result<f64> {
        self.get(key)?.as_f64().with_context(|| format!("metadata {key} of {} is not a number", self.path.display()))
    }

    /// A boolean metadata value.
    pub fn get_bool(&self, key: &str) -> anyhow::Result<bool> {
        match self.get(key)? {
            Value::Bool(b) => Ok(*b),
            v => bail!("metadata {key} of {} is {v:?}, not a boolean", self.path.display()),
        }
    }

    /// A string metadata value.
    pub fn get_str(&self, key: &str) -> anyhow::Result<&str> {
        match self.get(key)? {
            Value::String(s) => Ok(s),
            v => bail!("metadata {key} of {} is {v:?}, not a string", self.path.display()),
        }
    }

    /// An array metadata value.
    pub fn get_array(&self, key: &str) -> anyhow::Result<&[Value]> {
        match self.get(key)? {
            Value::Array(a) => Ok(a),
            _ => bail!("metadata {key} of {} is not an array", self.path.display()),
        }
    }

    /// An array-of-strings metadata value.
    pub fn get_strings(&self, key: &str) -> anyhow::Result<Vec<&str>> {
        self.get_array(key)?
            .iter()
            .map(|v| match v {
                Value::String(s) => Ok(s.as_str()),
                v => bail!("metadata {key} of {} holds {v:?}, not strings", self.path.display()),
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::format::ggml::{GGML_F16, GGML_Q4_1, GGML_Q8_0};

    /// A small valid file: one metadata array, one string, an alignment, and one F16 tensor.
    fn tiny_file() -> Vec<u8> {
        let mut b = b"GGUF".to_vec();
        let s = |b: &mut Vec<u8>, s: &str| {
            b.extend((s.len() as u64).to_le_bytes());
            b.extend(s.as_bytes());
        };
        b.extend(3u32.to_le_bytes());
        b.extend(1u64.to_le_bytes());
        b.extend(3u64.to_le_bytes());
        s(&mut b, "general.alignment");
        b.extend(4u32.to_le_bytes());
        b.extend(64u32.to_le_bytes());
        s(&mut b, "names");
        b.extend(9u32.to_le_bytes());
        b.extend(8u32.to_le_bytes());
        b.extend(2u64.to_le_bytes());
        s(&mut b, "a");
        s(&mut b, "é");
        s(&mut b, "eps");
        b.extend(6u32.to_le_bytes());
        b.extend(0.25f32.to_le_bytes());
        s(&mut b, "w");
        b.extend(2u32.to_le_bytes());
        b.extend(3u64.to_le_bytes());
        b.extend(2u64.to_le_bytes());
        b.extend(GGML_F16.to_le_bytes());
        b.extend(0u64.to_le_bytes());
        b.resize(b.len().div_ceil(64) * 64, 0);
        for h in [0x3c00u16, 0x4000, 0x4200, 0x4400, 0x4500, 0x4600] {
            b.extend(h.to_le_bytes());
        }
        b
    }

    #[test]
    fn parses_a_tiny_file() {
        let g = Gguf::parse(Path::new("tiny.gguf"), tiny_file()).unwrap();
        assert_eq!(g.version, 3);
        assert_eq!(g.get_strings("names").unwrap(), ["a", "é"]);
        assert_eq!(g.get_f64("eps").unwrap(), 0.25);
        assert_eq!(g.get_u64("general.alignment").unwrap(), 64);
        let w = g.tensor("w").unwrap();
        assert_eq!(w.size(), [2, 3]);
        assert_eq!(Vec::<f32>::try_from(w.get(1)).unwrap(), [4.0, 5.0, 6.0]);
        let err = format!("{:#}", g.tensor("nope").unwrap_err());
        assert!(err.contains("tiny.gguf") && err.contains("nope"), "{err}");
    }

    #[test]
    fn the_header_alone_is_read_without_the_data() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = tiny_file();
        let full = Gguf::parse(Path::new("tiny.gguf"), bytes.clone()).unwrap();
        // The header without the tensor data (the tiny file's data is its last 12 bytes).
        let cut = dir.path().join("cut.gguf");
        std::fs::write(&cut, &bytes[..bytes.len() - 12]).unwrap();
        assert!(Gguf::open(&cut).is_err(), "the data is missing");
        let h = Gguf::open_header(&cut).unwrap();
        assert_eq!((h.version, &h.metadata, h.tensors.len()), (full.version, &full.metadata, full.tensors.len()));
        let err = format!("{:#}", h.tensor("w").unwrap_err());
        assert!(err.contains("only the header of") && err.contains("cut.gguf"), "{err}");
        // Not a GGUF file: an error naming it.
        std::fs::write(&cut, b"GGUF").unwrap();
        let err = format!("{:#}", Gguf::open_header(&cut).err().unwrap());
        assert!(err.contains("cut.gguf"), "{err}");
    }

    /// Values from the `gguf` Python package's `dequantize` (0.19) on the same file.
    #[test]
    fn smollm2_tensors_match_the_reference_reader() {
        let g = crate::testing::smollm2();
        assert_eq!((g.version, g.tensors.len()), (3, 272));
        for (name, kind, shape, head, tail, sum) in [
            (
                "token_embd.weight",
                GGML_Q8_0,
                [49152, 576],
                [-0.10654449462890625, 0.032978057861328125, 0.048198699951171875, -0.022830963134765625],
                [0.12858200073242188, -0.11989402770996094, -0.0417022705078125],
                -15353.04449415207,
            ),
            (
                "blk.0.attn_q.weight",
                GGML_Q4_1,
                [576, 576],
                [-0.0963134765625, 0.1573486328125, -0.0963134765625, -0.73046875],
                [-0.096832275390625, -0.14984130859375, -0.255859375],
                59.22322082519531,
            ),
            (
                "blk.29.ffn_down.weight",
                GGML_Q4_1,
                [576, 1536],
                [-0.2733154296875, 0.186279296875, 0.186279296875, 0.04840087890625],
                [0.203125, -0.08984375, 0.056640625],
                49.83570861816406,
            ),
        ] {
            assert_eq!(g.info(name).unwrap().kind, kind, "{name}");
            let t = g.tensor(name).unwrap();
            assert_eq!(t.size(), shape, "{name}");
            let flat = Vec::<f32>::try_from(t.flatten(0, -1)).unwrap();
            assert_eq!(flat[..4], head.map(|v| v as f32), "{name}");
            assert_eq!(flat[flat.len() - 3..], tail.map(|v| v as f32), "{name}");
            let s = t.to_kind(Kind::Double).sum(Kind::Double).double_value(&[]);
            assert!((s - sum).abs() < 1e-6 * sum.abs().max(1.0), "{name}: sum {s}, expected {sum}");
        }
    }

    #[test]
    fn truncated_or_invalid_files_are_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = tiny_file();
        for (name, b) in [
            ("cut-data.gguf", &bytes[..bytes.len() - 2]),
            ("cut-meta.gguf", &bytes[..40]),
            ("empty.gguf", &bytes[..0]),
            ("not.gguf", b"GGML\x03\0\0\0".as_slice()),
        ] {
            let p = dir.path().join(name);
            std::fs::write(&p, b).unwrap();
            let err = format!("{:#}", Gguf::open(&p).err().expect(name));
            assert!(err.contains(name), "{err}");
        }
        let err = format!("{:#}", Gguf::open(&dir.path().join("absent.gguf")).err().unwrap());
        assert!(err.contains("absent.gguf"), "{err}");
    }
}
