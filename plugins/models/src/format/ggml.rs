//! ggml's tensor types (ids from ggml's `ggml_type`, layouts from `ggml-quants.c` and ggml's
//! `docs/gguf.md`) and their dequantization to f32, on all cores: F32, F16, Q8_0 (blocks of 32
//! int8 with an f16 scale), Q4_1 (blocks of 32 nibbles with an f16 scale and minimum), and the
//! kernels of [`super::quants`]: Q4_0, Q5_0, Q5_1 and the k-quants Q2_K .. Q6_K, Q8_K.

use anyhow::{bail, ensure};

use super::quants::{self, QK_K};

/// The ggml tensor types this reader dequantizes (ids from ggml's `ggml_type`).
pub const GGML_F32: u32 = 0;
pub const GGML_F16: u32 = 1;
pub const GGML_Q4_0: u32 = 2;
pub const GGML_Q4_1: u32 = 3;
pub const GGML_Q5_0: u32 = 6;
pub const GGML_Q5_1: u32 = 7;
pub const GGML_Q8_0: u32 = 8;
pub const GGML_Q2_K: u32 = 10;
pub const GGML_Q3_K: u32 = 11;
pub const GGML_Q4_K: u32 = 12;
pub const GGML_Q5_K: u32 = 13;
pub const GGML_Q6_K: u32 = 14;
pub const GGML_Q8_K: u32 = 15;

/// The types [`dequantize`] reads, for messages.
pub const SUPPORTED: &str = "F32, F16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0, Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K";

/// Elements per block of the quantized types.
const QK: usize = 32;

/// A name for a ggml type id, for messages.
pub fn type_name(kind: u32) -> String {
    const NAMES: [&str; 31] = [
        "F32", "F16", "Q4_0", "Q4_1", "Q4_2", "Q4_3", "Q5_0", "Q5_1", "Q8_0", "Q8_1", "Q2_K", "Q3_K", "Q4_K", "Q5_K",
        "Q6_K", "Q8_K", "IQ2_XXS", "IQ2_XS", "IQ3_XXS", "IQ1_S", "IQ4_NL", "IQ3_S", "IQ2_S", "IQ4_XS", "I8", "I16",
        "I32", "I64", "F64", "IQ1_M", "BF16",
    ];
    NAMES.get(kind as usize).map_or_else(|| format!("type {kind}"), |n| n.to_string())
}

/// Where a tensor lies and how it is stored.
#[derive(Debug, Clone, PartialEq)]
pub struct TensorInfo {
    pub name: String,
    /// Fastest-varying first, as in the file.
    pub dims: Vec<u64>,
    /// A ggml type id.
    pub kind: u32,
    /// Byte offset in the data section.
    pub offset: u64,
}

impl TensorInfo {
    pub fn n_elements(&self) -> usize {
        self.dims.iter().product::<u64>() as usize
    }

    /// The shape as a row-major tch shape (the dims reversed).
    pub fn shape(&self) -> Vec<i64> {
        self.dims.iter().rev().map(|&d| d as i64).collect()
    }

    /// Elements and bytes per block of its type, or an error for a type this reader does not
    /// dequantize.
    pub fn block(&self) -> anyhow::Result<(usize, usize)> {
        match self.kind {
            GGML_F32 => Ok((1, 4)),
            GGML_F16 => Ok((1, 2)),
            GGML_Q8_0 => Ok((QK, 2 + QK)),
            GGML_Q4_1 => Ok((QK, 4 + QK / 2)),
            GGML_Q4_0 => Ok((QK, 18)),
            GGML_Q5_0 => Ok((QK, 22)),
            GGML_Q5_1 => Ok((QK, 24)),
            GGML_Q2_K => Ok((QK_K, 84)),
            GGML_Q3_K => Ok((QK_K, 110)),
            GGML_Q4_K => Ok((QK_K, 144)),
            GGML_Q5_K => Ok((QK_K, 176)),
            GGML_Q6_K => Ok((QK_K, 210)),
            GGML_Q8_K => Ok((QK_K, 292)),
            k => bail!(
                "tensor {} has ggml type {} ({k}), which this reader does not dequantize (supported: {SUPPORTED})",
                self.name,
                type_name(k)
            ),
        }
    }

    /// Bytes of data, or an error for a type this reader does not dequantize.
    pub fn n_bytes(&self) -> anyhow::Result<usize> {
        let n = self.n_elements();
        let (per_block, bytes) = self.block()?;
        ensure!(n.is_multiple_of(per_block), "tensor {}: {n} elements are not whole blocks of {per_block}", self.name);
        Ok(n / per_block * bytes)
    }
}

/// IEEE half to f32.
pub fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h as u32) & 0x8000) << 16;
    let exp = ((h >> 10) & 0x1f) as u32;
    let man = (h & 0x3ff) as u32;
    let bits = match (exp, man) {
        (0, 0) => sign,
        (0, _) => {
            // Subnormal: normalise the mantissa.
            let shift = man.leading_zeros() - 21;
            sign | ((113 - shift) << 23) | ((man << shift) & 0x3ff) << 13
        }
        (0x1f, _) => sign | 0x7f80_0000 | (man << 13),
        _ => sign | ((exp + 112) << 23) | (man << 13),
    };
    f32::from_bits(bits)
}

fn f16_at(b: &[u8], i: usize) -> f32 {
    f16_to_f32(u16::from_le_bytes([b[i], b[i + 1]]))
}

/// The f32 values of the tensor `info` whose data is `bytes` (exactly [`TensorInfo::n_bytes`]).
pub fn dequantize(info: &TensorInfo, bytes: &[u8]) -> anyhow::Result<Vec<f32>> {
    let mut out = vec![0f32; info.n_elements()];
    dequantize_into(info, bytes, &mut out)?;
    Ok(out)
}

/// [`dequantize`] into `out` (exactly the tensor's element count), on all cores.
pub fn dequantize_into(info: &TensorInfo, bytes: &[u8], out: &mut [f32]) -> anyhow::Result<()> {
    let need = info.n_bytes()?;
    ensure!(bytes.len() == need, "tensor {}: {} bytes of data, expected {need}", info.name, bytes.len());
    ensure!(
        out.len() == info.n_elements(),
        "tensor {}: output of {} elements, expected {}",
        info.name,
        out.len(),
        info.n_elements()
    );
    let (per_block, block_bytes) = info.block()?;
    let n_blocks = out.len() / per_block;
    if n_blocks == 0 {
        return Ok(());
    }
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).min(n_blocks / 4096).max(1);
    let chunk = n_blocks.div_ceil(threads);
    std::thread::scope(|s| {
        for (b, o) in bytes.chunks(chunk * block_bytes).zip(out.chunks_mut(chunk * per_block)) {
            s.spawn(move || dequantize_blocks(info.kind, b, o));
        }
    });
    Ok(())
}

/// The kernel: whole blocks of a supported type.
fn dequantize_blocks(kind: u32, bytes: &[u8], out: &mut [f32]) {
    match kind {
        GGML_F32 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(4)) {
                *o = f32::from_le_bytes([c[0], c[1], c[2], c[3]]);
            }
        }
        GGML_F16 => {
            for (o, c) in out.iter_mut().zip(bytes.chunks_exact(2)) {
                *o = f16_to_f32(u16::from_le_bytes([c[0], c[1]]));
            }
        }
        GGML_Q8_0 => {
            for (o, block) in out.chunks_exact_mut(QK).zip(bytes.chunks_exact(2 + QK)) {
                let d = f16_at(block, 0);
                for (o, &q) in o.iter_mut().zip(&block[2..]) {
                    *o = d * (q as i8) as f32;
                }
            }
        }
        GGML_Q4_1 => {
            for (o, block) in out.chunks_exact_mut(QK).zip(bytes.chunks_exact(4 + QK / 2)) {
                let (d, m) = (f16_at(block, 0), f16_at(block, 2));
                let (lo, hi) = o.split_at_mut(QK / 2);
                for ((l, h), &q) in lo.iter_mut().zip(hi).zip(&block[4..]) {
                    *l = d * (q & 0x0f) as f32 + m;
                    *h = d * (q >> 4) as f32 + m;
                }
            }
        }
        GGML_Q4_0 => quants::q4_0(bytes, out),
        GGML_Q5_0 => quants::q5_0(bytes, out),
        GGML_Q5_1 => quants::q5_1(bytes, out),
        GGML_Q2_K => quants::q2_k(bytes, out),
        GGML_Q3_K => quants::q3_k(bytes, out),
        GGML_Q4_K => quants::q4_k(bytes, out),
        GGML_Q5_K => quants::q5_k(bytes, out),
        GGML_Q6_K => quants::q6_k(bytes, out),
        GGML_Q8_K => quants::q8_k(bytes, out),
        _ => unreachable!("TensorInfo::block rejects other types"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(kind: u32, n: u64) -> TensorInfo {
        TensorInfo { name: "blk.0.fake".into(), dims: vec![n], kind, offset: 0 }
    }

    #[test]
    fn half_floats() {
        for (h, f) in
            [(0x3c00, 1.0), (0xc000, -2.0), (0x3555, 0.333_251_95), (0x0001, 5.960_464_5e-8), (0x7bff, 65504.0)]
        {
            assert_eq!(f16_to_f32(h), f, "{h:#x}");
        }
        assert_eq!(f16_to_f32(0x0200), 3.051_757_8e-5);
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
    }

    #[test]
    fn q8_0_block() {
        // d = 0.5 (f16 0x3800), q = 0, 1, -1, 2, -2, ... : values 0.5 * q.
        let mut b = vec![0x00, 0x38];
        let qs: Vec<i8> = (0..32).map(|i: i8| if i % 2 == 1 { (i + 1) / 2 } else { -(i / 2) }).collect();
        b.extend(qs.iter().map(|&q| q as u8));
        let v = dequantize(&info(GGML_Q8_0, 32), &b).unwrap();
        assert_eq!(&v[..5], &[0.0, 0.5, -0.5, 1.0, -1.0]);
        assert_eq!(v[31], 8.0);
        assert_eq!(v[30], -7.5);
    }

    #[test]
    fn q4_1_block() {
        // d = 2 (0x4000), m = -1 (0xbc00); byte j holds element j (low nibble) and j + 16 (high).
        let mut b = vec![0x00, 0x40, 0x00, 0xbc];
        b.extend((0..16u8).map(|j| (15 - j) << 4 | j));
        let v = dequantize(&info(GGML_Q4_1, 32), &b).unwrap();
        let want: Vec<f32> = (0..16).chain((0..16).rev()).map(|q| 2.0 * q as f32 - 1.0).collect();
        assert_eq!(v, want);
        assert_eq!((v[0], v[15], v[16], v[31]), (-1.0, 29.0, 29.0, -1.0));
    }

    #[test]
    fn unsupported_type_names_tensor_and_type() {
        let err = dequantize(&info(16, 256), &[0; 66]).unwrap_err().to_string();
        assert!(err.contains("blk.0.fake") && err.contains("IQ2_XXS") && err.contains("Q6_K"), "{err}");
        let err = dequantize(&info(GGML_Q8_0, 32), &[0; 10]).unwrap_err().to_string();
        assert!(err.contains("10 bytes") && err.contains("34"), "{err}");
    }
}
