//! Rotary position embeddings (Su et al. 2021, "RoFormer"), applied as HF transformers' rotate-half
//! (`apply_rotary_pos_emb` of `modeling_llama.py`), with the frequency scalings a loader meets:
//! linear position interpolation (Chen et al. 2023; Gemma 3's global layers), Llama 3.x's
//! `rope_type: llama3` (HF's `_compute_llama3_parameters` in `modeling_rope_utils.py`, followed
//! exactly), and llama.cpp's per-frequency divisors (the `rope_freqs.weight` tensor that its
//! converter writes for Llama 3.x, the same scaling precomputed).

use tch::{Device, Kind, Tensor};

/// How the base frequencies `theta^(-2i/d)` are scaled.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum RopeScaling {
    #[default]
    None,
    /// Positions divided by `factor` (every frequency divided by it).
    Linear { factor: f64 },
    /// Llama 3.x: low frequencies divided by `factor`, high ones kept, a smooth blend between.
    Llama3 { factor: f64, low_freq_factor: f64, high_freq_factor: f64, original_max_position_embeddings: f64 },
    /// Frequency `i` divided by `divisors[i]` (llama.cpp's `rope_freqs.weight`).
    Divisors(Vec<f64>),
}

/// The `head_dim / 2` inverse frequencies of base `theta`, scaled.
pub fn inv_freq(theta: f64, head_dim: i64, scaling: &RopeScaling) -> Vec<f64> {
    let base: Vec<f64> = (0..head_dim / 2).map(|i| 1.0 / theta.powf(2.0 * i as f64 / head_dim as f64)).collect();
    match scaling {
        RopeScaling::None => base,
        RopeScaling::Linear { factor } => base.iter().map(|f| f / factor).collect(),
        RopeScaling::Divisors(d) => base.iter().zip(d).map(|(f, d)| f / d).collect(),
        RopeScaling::Llama3 { factor, low_freq_factor, high_freq_factor, original_max_position_embeddings: old } => {
            let low_wavelen = old / low_freq_factor;
            let high_wavelen = old / high_freq_factor;
            base.iter()
                .map(|&f| {
                    let wavelen = 2.0 * std::f64::consts::PI / f;
                    if wavelen > low_wavelen {
                        f / factor
                    } else if wavelen < high_wavelen {
                        f
                    } else {
                        let smooth = (old / wavelen - low_freq_factor) / (high_freq_factor - low_freq_factor);
                        (1.0 - smooth) * f / factor + smooth * f
                    }
                })
                .collect()
        }
    }
}

/// `cos`, `sin` `[t, head_dim]` (the half-size angles repeated) for positions `0..t`, in f32.
pub fn tables(inv_freq: &[f64], t: i64, device: Device) -> (Tensor, Tensor) {
    let freq = Tensor::from_slice(inv_freq).to_device(device);
    let angles = Tensor::arange(t, (Kind::Double, device)).outer(&freq);
    let angles = Tensor::cat(&[&angles, &angles], -1);
    (angles.cos().to_kind(Kind::Float), angles.sin().to_kind(Kind::Float))
}

/// HF's rotate-half RoPE of `x` `[.., t, head_dim]` with tables from [`tables`].
pub fn rotate_half(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
    let halves = x.chunk(2, -1);
    let rotated = Tensor::cat(&[halves[1].neg(), halves[0].shallow_clone()], -1);
    x * cos.to_kind(x.kind()) + rotated * sin.to_kind(x.kind())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn llama3_scaling_keeps_high_frequencies_and_divides_low_ones() {
        // Llama 3.1's values: factor 8, low 1, high 4, original context 8192, theta 500000.
        let s = RopeScaling::Llama3 {
            factor: 8.0,
            low_freq_factor: 1.0,
            high_freq_factor: 4.0,
            original_max_position_embeddings: 8192.0,
        };
        let (plain, scaled) = (inv_freq(500_000.0, 128, &RopeScaling::None), inv_freq(500_000.0, 128, &s));
        assert_eq!(plain[0], scaled[0], "the highest frequency is kept");
        assert!((scaled[63] - plain[63] / 8.0).abs() < 1e-15, "the lowest is divided by the factor");
        // In between, the blend lies between the two.
        let mid = (0..64).find(|&i| scaled[i] != plain[i] && (scaled[i] - plain[i] / 8.0).abs() > 1e-15).unwrap();
        assert!(scaled[mid] < plain[mid] && scaled[mid] > plain[mid] / 8.0);
    }
}
