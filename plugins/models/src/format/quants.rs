//! Dequantization kernels of ggml's block-quantized types beyond Q8_0 and Q4_1: the legacy
//! Q4_0, Q5_0, Q5_1 (blocks of 32) and the k-quants Q2_K, Q3_K, Q4_K, Q5_K, Q6_K, Q8_K (super
//! blocks of 256). Layouts follow ggml's `ggml-quants.c` (`dequantize_row_*`) and llama.cpp's
//! `gguf-py` (`gguf/quants.py`, `dequantize_blocks`), which the tests check these kernels
//! against on random blocks (`tests/fixtures/quants.json`, made by
//! `scripts/make-quant-fixtures.py`). Q8_K has no Python reference (gguf-py does not dequantize
//! it; it is ggml's intermediate type for dot products): it is `d · q` with an f32 `d`, as
//! `dequantize_row_q8_K`, and is tested by hand.
//!
//! Each function takes whole blocks (`bytes` a multiple of the block size, `out` the matching
//! number of values); [`super::ggml::dequantize_into`] checks the sizes and splits the work.

/// Elements of a k-quant super block.
pub const QK_K: usize = 256;

fn f16_at(b: &[u8], i: usize) -> f32 {
    super::ggml::f16_to_f32(u16::from_le_bytes([b[i], b[i + 1]]))
}

/// Q4_0: f16 `d`, 16 bytes of nibbles; element `j` is the low nibble of byte `j`, element
/// `j + 16` its high nibble; value `d · (q − 8)`.
pub fn q4_0(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.chunks_exact_mut(32).zip(bytes.chunks_exact(18)) {
        let d = f16_at(b, 0);
        for j in 0..16 {
            o[j] = d * ((b[2 + j] & 0x0f) as i32 - 8) as f32;
            o[j + 16] = d * ((b[2 + j] >> 4) as i32 - 8) as f32;
        }
    }
}

/// Q5_0 and Q5_1: f16 `d` (and f16 `m` for Q5_1), a u32 of fifth bits (bit `j` for element
/// `j`), 16 bytes of nibbles as Q4_0; value `d · (q − 16)` (Q5_0) or `d · q + m` (Q5_1).
fn q5(bytes: &[u8], out: &mut [f32], with_min: bool) {
    let block = if with_min { 24 } else { 22 };
    let head = if with_min { 4 } else { 2 };
    for (o, b) in out.chunks_exact_mut(32).zip(bytes.chunks_exact(block)) {
        let d = f16_at(b, 0);
        let (offset, m) = if with_min { (0.0, f16_at(b, 2)) } else { (16.0, 0.0) };
        let qh = u32::from_le_bytes([b[head], b[head + 1], b[head + 2], b[head + 3]]);
        let qs = &b[head + 4..];
        for j in 0..16 {
            let lo = (qs[j] & 0x0f) as u32 | ((qh >> j) & 1) << 4;
            let hi = (qs[j] >> 4) as u32 | ((qh >> (j + 16)) & 1) << 4;
            o[j] = d * (lo as f32 - offset) + m;
            o[j + 16] = d * (hi as f32 - offset) + m;
        }
    }
}

pub fn q5_0(bytes: &[u8], out: &mut [f32]) {
    q5(bytes, out, false)
}

pub fn q5_1(bytes: &[u8], out: &mut [f32]) {
    q5(bytes, out, true)
}

/// Q2_K (84 bytes): 16 scale bytes (low nibble: scale, high: min, of each 16 elements), 64
/// bytes of 2-bit values, f16 `d`, f16 `dmin`. Element `128h + 32s + l` is bits `2s..2s+2` of
/// byte `32h + l`; value `d · scale · q − dmin · min`.
pub fn q2_k(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.chunks_exact_mut(QK_K).zip(bytes.chunks_exact(84)) {
        let (scales, qs) = (&b[..16], &b[16..80]);
        let (d, dmin) = (f16_at(b, 80), f16_at(b, 82));
        for (e, v) in o.iter_mut().enumerate() {
            let (h, s, l) = (e / 128, (e / 32) % 4, e % 32);
            let q = (qs[32 * h + l] >> (2 * s)) & 3;
            let sc = scales[e / 16];
            *v = d * (sc & 0x0f) as f32 * q as f32 - dmin * (sc >> 4) as f32;
        }
    }
}

/// Q3_K (110 bytes): 32 bytes of high-bit masks, 64 bytes of 2-bit values, 12 bytes of 16
/// packed 6-bit signed scales, f16 `d`. Element `e = 128h + 32s + l` has low bits `2s..2s+2` of
/// byte `32h + l` and high bit `e / 32` of mask byte `l`; `q = low − 4` when that bit is clear
/// (`low` when set); value `d · (scale − 32) · q`.
pub fn q3_k(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.chunks_exact_mut(QK_K).zip(bytes.chunks_exact(110)) {
        let (hmask, qs, packed) = (&b[..32], &b[32..96], &b[96..108]);
        let d = f16_at(b, 108);
        let scale = |i: usize| -> f32 {
            let low = (packed[i % 8] >> (4 * (i / 8))) & 0x0f;
            let high = (packed[8 + i % 4] >> (2 * (i / 4))) & 0x03;
            ((low | high << 4) as i32 - 32) as f32
        };
        let scales: [f32; 16] = std::array::from_fn(scale);
        for (e, v) in o.iter_mut().enumerate() {
            let (h, s, l) = (e / 128, (e / 32) % 4, e % 32);
            let low = ((qs[32 * h + l] >> (2 * s)) & 3) as i32;
            let set = (hmask[l] >> (e / 32)) & 1 == 1;
            let q = if set { low } else { low - 4 };
            *v = d * scales[e / 16] * q as f32;
        }
    }
}

/// The 8 six-bit scales and mins of a Q4_K / Q5_K super block from its 12 packed bytes
/// (`get_scale_min_k4` in ggml).
fn scale_min_k4(p: &[u8]) -> ([f32; 8], [f32; 8]) {
    let mut sc = [0f32; 8];
    let mut mn = [0f32; 8];
    for j in 0..4 {
        sc[j] = (p[j] & 0x3f) as f32;
        mn[j] = (p[4 + j] & 0x3f) as f32;
        sc[4 + j] = ((p[8 + j] & 0x0f) | ((p[j] >> 2) & 0x30)) as f32;
        mn[4 + j] = ((p[8 + j] >> 4) | ((p[4 + j] >> 2) & 0x30)) as f32;
    }
    (sc, mn)
}

/// Q4_K (144 bytes) and Q5_K (176 bytes): f16 `d`, f16 `dmin`, 12 bytes of packed scales and
/// mins (one of each per 32 elements), for Q5_K 32 bytes of fifth bits, then 128 bytes of
/// nibbles. Element `e = 64c + 32s + l` is nibble `s` of byte `32c + l` (and for Q5_K has
/// fifth bit `e / 32` of byte `l`); value `d · scale · q − dmin · min`.
fn q45_k(bytes: &[u8], out: &mut [f32], fifth_bit: bool) {
    let block = if fifth_bit { 176 } else { 144 };
    for (o, b) in out.chunks_exact_mut(QK_K).zip(bytes.chunks_exact(block)) {
        let (d, dmin) = (f16_at(b, 0), f16_at(b, 2));
        let (sc, mn) = scale_min_k4(&b[4..16]);
        let (qh, qs) = if fifth_bit { (&b[16..48], &b[48..176]) } else { (&b[..0], &b[16..144]) };
        for (e, v) in o.iter_mut().enumerate() {
            let (c, s, l) = (e / 64, (e / 32) % 2, e % 32);
            let mut q = (qs[32 * c + l] >> (4 * s)) & 0x0f;
            if fifth_bit {
                q |= ((qh[l] >> (e / 32)) & 1) << 4;
            }
            let sub = e / 32;
            *v = d * sc[sub] * q as f32 - dmin * mn[sub];
        }
    }
}

pub fn q4_k(bytes: &[u8], out: &mut [f32]) {
    q45_k(bytes, out, false)
}

pub fn q5_k(bytes: &[u8], out: &mut [f32]) {
    q45_k(bytes, out, true)
}

/// Q6_K (210 bytes): 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed 8-bit
/// scales (one per 16 elements), f16 `d`. Element `e = 128h + 64s + l` (`l < 64`) is nibble `s`
/// of byte `64h + l`; its high part is bits `2t..2t+2` of byte `32h + (e mod 32)` with
/// `t = (e mod 128) / 32`; value `d · scale · (q − 32)`.
pub fn q6_k(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.chunks_exact_mut(QK_K).zip(bytes.chunks_exact(210)) {
        let (ql, qh, scales) = (&b[..128], &b[128..192], &b[192..208]);
        let d = f16_at(b, 208);
        for (e, v) in o.iter_mut().enumerate() {
            let h = e / 128;
            let (s, l) = ((e % 128) / 64, e % 64);
            let (t, m) = ((e % 128) / 32, e % 32);
            let low = (ql[64 * h + l] >> (4 * s)) & 0x0f;
            let high = (qh[32 * h + m] >> (2 * t)) & 0x03;
            let q = (low | high << 4) as i32 - 32;
            *v = d * scales[e / 16] as i8 as f32 * q as f32;
        }
    }
}

/// Q8_K (292 bytes): f32 `d`, 256 signed bytes, then 16 i16 block sums (unused here); value
/// `d · q`.
pub fn q8_k(bytes: &[u8], out: &mut [f32]) {
    for (o, b) in out.chunks_exact_mut(QK_K).zip(bytes.chunks_exact(292)) {
        let d = f32::from_le_bytes([b[0], b[1], b[2], b[3]]);
        for (v, &q) in o.iter_mut().zip(&b[4..260]) {
            *v = d * q as i8 as f32;
        }
    }
}
