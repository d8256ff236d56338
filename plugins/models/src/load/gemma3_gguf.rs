//! Gemma 3 ([`Gemma3`]) read from a GGUF file of architecture `gemma3`, as llama.cpp's
//! `convert_hf_to_gguf.py` writes it and its `llama-model.cpp` reads it: the shape from the
//! `gemma3.*` metadata (`attention.key_length` is the head dim, `attention.sliding_window` the
//! window); what the metadata leaves out, as llama.cpp hard-codes it for `gemma3` — every 6th
//! layer global (`sliding_window_pattern`, read when a file has it), the sliding layers' RoPE base
//! 10000, queries scaled by `head_dim^-1/2` (llama.cpp's rule for all sizes but 27B, whose
//! `query_pre_attn_scalar` is `hidden / heads`); the global layers' linear RoPE scaling from
//! `gemma3.rope.scaling.*` (Gemma 3 4B and up). The converter stores each RMSNorm's scale as
//! `1 + w`; loading subtracts the 1 again (as transformers' GGUF loader does), since [`Gemma3`]
//! has HF's parameters. Q and K are not permuted (llama.cpp runs Gemma with NEOX RoPE, which is
//! HF's rotate-half). Checked against HF on a GGUF copy of a tiny random Gemma 3
//! (`scripts/make-gemma3-fixtures.py`) and on the real 270M file (`tests/gemma3.rs`).

use anyhow::{ensure, Context};
use tch::nn;

use crate::{
    arch::gemma3::{Gemma3, Gemma3Config},
    format::gguf::Gguf,
    load::llama_gguf::{gguf_rope_scaling, gguf_vocab_size},
};

/// llama.cpp's fixed values for `gemma3` (`llama-model.cpp`, `LLM_ARCH_GEMMA3`).
const SLIDING_PATTERN: u64 = 6;
const LOCAL_ROPE_BASE: f64 = 10_000.0;

impl Gemma3Config {
    /// From the `gemma3.*` metadata of a GGUF file.
    pub fn from_gguf(g: &Gguf) -> anyhow::Result<Self> {
        let arch = g.get_str("general.architecture")?;
        ensure!(arch == "gemma3", "{}: general.architecture is {arch:?}, not gemma3", g.path.display());
        let int = |k: &str| g.get_u64(&format!("gemma3.{k}")).map(|v| v as i64);
        ensure!(
            g.info("output.weight").is_none(),
            "{}: has its own output.weight; Gemma 3 ties its output layer to token_embd",
            g.path.display()
        );
        let layers = int("block_count")?;
        let heads = int("attention.head_count")?;
        let hidden = int("embedding_length")?;
        let head_dim = int("attention.key_length")?;
        ensure!(
            int("attention.value_length").unwrap_or(head_dim) == head_dim,
            "{}: key and value lengths differ",
            g.path.display()
        );
        let pattern = g.get_u64("gemma3.attention.sliding_window_pattern").unwrap_or(SLIDING_PATTERN) as i64;
        ensure!(pattern >= 1, "{}: gemma3.attention.sliding_window_pattern is 0", g.path.display());
        let is_27b = layers == 62 && hidden == 5376;
        let cfg = Gemma3Config {
            vocab_size: gguf_vocab_size(g, arch)?,
            hidden_size: hidden,
            intermediate_size: int("feed_forward_length")?,
            num_hidden_layers: layers,
            num_attention_heads: heads,
            num_key_value_heads: int("attention.head_count_kv")?,
            head_dim,
            rms_norm_eps: g.get_f64("gemma3.attention.layer_norm_rms_epsilon")?,
            query_pre_attn_scalar: if is_27b { (hidden / heads) as f64 } else { head_dim as f64 },
            rope_theta: g.get_f64("gemma3.rope.freq_base").unwrap_or(1_000_000.0),
            rope_scaling: gguf_rope_scaling(g, arch)?,
            rope_local_theta: LOCAL_ROPE_BASE,
            sliding_window: int("attention.sliding_window")?,
            sliding: Gemma3Config::pattern(layers, pattern),
            context_length: int("context_length").ok(),
        };
        cfg.check(&g.path)?;
        Ok(cfg)
    }
}

impl Gemma3 {
    /// Build the first `layers` blocks (all when `None`) of the Gemma 3 in `g` in the root of
    /// `vs`, with its weights.
    pub fn from_gguf(vs: &nn::VarStore, g: &Gguf, layers: Option<usize>) -> anyhow::Result<Self> {
        let mut cfg = Gemma3Config::from_gguf(g)?;
        cfg.num_hidden_layers = super::depth(layers, cfg.num_hidden_layers, &g.path)?;
        cfg.sliding.truncate(cfg.num_hidden_layers as usize);
        let mut init = |name: &str, _: &[i64]| {
            let tensor = gguf_name(name).with_context(|| format!("no GGUF tensor for {name}"))?;
            let w = g.tensor(&tensor)?;
            Ok(if name.ends_with("norm.weight") { w - 1.0 } else { w })
        };
        Gemma3::new(vs.root(), &cfg, &mut init).with_context(|| format!("loading {}", g.path.display()))
    }
}

/// The GGUF tensor of an HF parameter name (llama.cpp's names for `gemma3`).
fn gguf_name(name: &str) -> Option<String> {
    match name {
        "model.embed_tokens.weight" => return Some("token_embd.weight".into()),
        "model.norm.weight" => return Some("output_norm.weight".into()),
        _ => {}
    }
    let rest = name.strip_prefix("model.layers.")?;
    let (n, param) = rest.split_once('.')?;
    let module = param.strip_suffix(".weight")?;
    let g = match module {
        "self_attn.q_proj" => "attn_q",
        "self_attn.k_proj" => "attn_k",
        "self_attn.v_proj" => "attn_v",
        "self_attn.o_proj" => "attn_output",
        "self_attn.q_norm" => "attn_q_norm",
        "self_attn.k_norm" => "attn_k_norm",
        "mlp.gate_proj" => "ffn_gate",
        "mlp.up_proj" => "ffn_up",
        "mlp.down_proj" => "ffn_down",
        "input_layernorm" => "attn_norm",
        "post_attention_layernorm" => "post_attention_norm",
        "pre_feedforward_layernorm" => "ffn_norm",
        "post_feedforward_layernorm" => "post_ffw_norm",
        _ => return None,
    };
    Some(format!("blk.{n}.{g}.weight"))
}
