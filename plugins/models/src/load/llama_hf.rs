//! A llama-type decoder ([`Llama`]) read from an HF folder (`format::safetensors`): `model_type`
//! `llama` (e.g. SmolLM2, TinyLlama, Llama 2 and 3.x; HF's `LlamaForCausalLM`), `qwen3` (Qwen3,
//! `Qwen3ForCausalLM`: QK-norm, a head width of its own, no biases) or `qwen2` (Qwen2 /
//! Qwen2.5, `Qwen2ForCausalLM`, whose Q/K/V projections have biases). HF checkpoints store Q/K in
//! HF's rotate-half layout, so they load as they are (no GGUF un-permutation).
//!
//! `config.json`: `model_type` or `architectures`; `hidden_size`, `num_hidden_layers`,
//! `num_attention_heads`, `num_key_value_heads`, `intermediate_size`, `rms_norm_eps`,
//! `rope_theta` or transformers 5's `rope_parameters.rope_theta`, `tie_word_embeddings`,
//! `vocab_size`, llama's `attention_bias`, `max_position_embeddings`. Weights F32, F16 or BF16
//! (computed in f32). RoPE scaling (`rope_scaling`, or `rope_parameters.rope_type`): `default`,
//! `linear` and Llama 3.x's `llama3` (see `rope`). Not supported (a clear error): other RoPE
//! types (`yarn`, `dynamic`, ...), sliding-window attention, MLP biases, a
//! `head_dim` other than `hidden_size / num_attention_heads`, activations other than SiLU.
//! Checked against HF transformers 5.24.0 by `tests/hf_reference.rs`.

use anyhow::{bail, ensure, Context};
use tch::nn;

use crate::{
    arch::llama::{Llama, LlamaConfig},
    format::safetensors::HfCheckpoint,
    rope::RopeScaling,
};

/// The `model_type`s read here, and their HF model classes.
pub const SUPPORTED: [(&str, &str); 3] =
    [("llama", "LlamaForCausalLM"), ("qwen2", "Qwen2ForCausalLM"), ("qwen3", "Qwen3ForCausalLM")];

/// The decoder's shape from the folder's `config.json`.
pub fn llama_config(ck: &HfCheckpoint) -> anyhow::Result<LlamaConfig> {
    let file = ck.config_path();
    let file = file.display();
    let model_type = match ck.get::<String>("model_type")? {
        Some(m) => m,
        None => {
            let archs: Vec<String> = ck.get("architectures")?.unwrap_or_default();
            let known = SUPPORTED.iter().find(|(_, class)| archs.iter().any(|a| a == class));
            match known {
                Some((m, _)) => m.to_string(),
                None => bail!(
                    "{file} has no model_type, and its architectures {archs:?} are not supported (supported: {})",
                    supported()
                ),
            }
        }
    };
    let (qwen2, qwen3) = match model_type.as_str() {
        "llama" => (false, false),
        "qwen2" => (true, false),
        "qwen3" => (false, true),
        other => bail!(
            "{file}: model_type `{other}` is not supported by hf-decoder (supported: {}; GPT-2 loads with the gpt2 backbone)",
            supported()
        ),
    };
    let unsupported = |what: &str| format!("{file}: {what} is not supported by hf-decoder");
    // transformers ≥ 5 writes `rope_parameters` (`rope_type`, `rope_theta`, scaling fields)
    // instead of top-level `rope_theta` and `rope_scaling`; older files have those.
    let rope = ck.config.get("rope_parameters").or_else(|| ck.config.get("rope_scaling")).filter(|v| !v.is_null());
    let rope_theta = match rope.and_then(|rp| rp.get("rope_theta")) {
        Some(t) => Some(t.as_f64().with_context(|| format!("{file}: bad rope_parameters.rope_theta {t}"))?),
        None => ck.get("rope_theta")?,
    };
    let rope_scaling = match rope {
        Some(rp) => rope_scaling(rp).map_err(|e| anyhow::anyhow!(unsupported(&format!("rope scaling {rp}: {e}"))))?,
        None => RopeScaling::None,
    };
    ensure!(ck.get::<bool>("use_sliding_window")? != Some(true), unsupported("use_sliding_window = true"));
    ensure!(ck.get::<bool>("mlp_bias")? != Some(true), unsupported("mlp_bias = true"));
    if let Some(act) = ck.get::<String>("hidden_act")? {
        ensure!(act == "silu", unsupported(&format!("hidden_act `{act}` (only silu)")));
    }
    let heads: i64 = ck.need("num_attention_heads")?;
    let hidden_size: i64 = ck.need("hidden_size")?;
    // Llama and Qwen2 heads split the hidden size; Qwen3's have a width of their own.
    let head_dim = ck.get::<i64>("head_dim")?;
    if let (Some(hd), false) = (head_dim, qwen3) {
        ensure!(
            heads > 0 && hd * heads == hidden_size,
            unsupported(&format!("head_dim {hd} with {heads} heads and hidden_size {hidden_size}"))
        );
    }
    let llama_bias = !qwen2 && ck.get("attention_bias")?.unwrap_or(false);
    let cfg = LlamaConfig {
        vocab_size: ck.need("vocab_size")?,
        hidden_size,
        intermediate_size: ck.need("intermediate_size")?,
        num_hidden_layers: ck.need("num_hidden_layers")?,
        num_attention_heads: heads,
        num_key_value_heads: ck.get("num_key_value_heads")?.unwrap_or(heads),
        rope_theta: rope_theta.unwrap_or(10_000.0),
        rms_norm_eps: ck.get("rms_norm_eps")?.unwrap_or(1e-6),
        tie_word_embeddings: ck.get("tie_word_embeddings")?.unwrap_or(false),
        // Qwen2: biases on q/k/v only; llama's `attention_bias`: on q/k/v and o_proj.
        attention_bias: qwen2 || llama_bias,
        o_proj_bias: llama_bias,
        context_length: ck.get("max_position_embeddings")?,
        rope_scaling,
        head_dim: if qwen3 { head_dim } else { None },
        qk_norm: qwen3,
    };
    cfg.check(&ck.config_path())?;
    Ok(cfg)
}

/// The RoPE scaling of a `rope_parameters` / `rope_scaling` object: `rope_type` (or `type`)
/// `default`, `linear` (`factor`) or `llama3` (`factor`, `low_freq_factor`, `high_freq_factor`,
/// `original_max_position_embeddings`), as HF's `modeling_rope_utils.py` reads them.
pub fn rope_scaling(rp: &serde_json::Value) -> anyhow::Result<RopeScaling> {
    let num = |k: &str| -> anyhow::Result<f64> {
        rp.get(k).and_then(|v| v.as_f64()).with_context(|| format!("`{k}` must be a number"))
    };
    let kind = rp.get("rope_type").or_else(|| rp.get("type")).and_then(|t| t.as_str()).unwrap_or("default");
    Ok(match kind {
        "default" => RopeScaling::None,
        "linear" => RopeScaling::Linear { factor: num("factor")? },
        "llama3" => RopeScaling::Llama3 {
            factor: num("factor")?,
            low_freq_factor: num("low_freq_factor")?,
            high_freq_factor: num("high_freq_factor")?,
            original_max_position_embeddings: num("original_max_position_embeddings")?,
        },
        other => bail!("rope_type `{other}` (supported: default, linear, llama3)"),
    })
}

fn supported() -> String {
    SUPPORTED.iter().map(|(m, _)| *m).collect::<Vec<_>>().join(", ")
}

/// Build the first `layers` blocks (all when `None`) of the decoder in `ck` in the root of `vs`,
/// with its weights.
pub fn load(vs: &nn::VarStore, ck: &HfCheckpoint, layers: Option<usize>) -> anyhow::Result<Llama> {
    let mut cfg = llama_config(ck)?;
    cfg.num_hidden_layers = super::depth(layers, cfg.num_hidden_layers, &ck.dir)?;
    let mut init = |name: &str, dims: &[i64]| ck.tensor(&[name.to_string()], dims);
    Llama::new(vs.root(), &cfg, &mut init).with_context(|| format!("loading {}", ck.dir.display()))
}

#[cfg(test)]
mod tests {
    use tch::{Device, Tensor};

    use super::*;
    use crate::testing::{
        llama::{random_decoder, tiny_config},
        write_checkpoint,
    };

    #[test]
    fn llama_and_qwen2_checkpoints_reload_with_identical_logits() {
        let _guard = tch::no_grad_guard();
        let x = Tensor::from_slice(&[1i64, 250, 7, 7, 42]).unsqueeze(0);
        for (model_type, tied, shards, bf16) in
            [("llama", false, 1, false), ("qwen2", true, 3, false), ("llama", true, 2, true)]
        {
            let config = tiny_config(model_type, tied, 300);
            let (vs, model, tensors) = random_decoder(&config);
            let names = vs.variables();
            assert_eq!(names.contains_key("model.layers.0.self_attn.q_proj.bias"), model_type == "qwen2");
            assert_eq!(names.contains_key("lm_head.weight"), !tied);
            let tensors: Vec<_> = match bf16 {
                false => tensors,
                true => tensors.into_iter().map(|(n, t)| (n, t.to_kind(tch::Kind::BFloat16))).collect(),
            };
            let dir = tempfile::tempdir().unwrap();
            write_checkpoint(dir.path(), &config, &tensors, shards);
            let ck = HfCheckpoint::open(dir.path(), "test").unwrap();
            let loaded = load(&nn::VarStore::new(Device::Cpu), &ck, None).unwrap();
            let got = loaded.logits(&loaded.forward(&x, None));
            let want = match bf16 {
                false => model.logits(&model.forward(&x, None)),
                true => {
                    // The reference: the same model with its weights rounded to bf16.
                    let vs2 = nn::VarStore::new(Device::Cpu);
                    let mut rounded =
                        |name: &str, _: &[i64]| Ok(names[name].to_kind(tch::Kind::BFloat16).to_kind(tch::Kind::Float));
                    let m = Llama::new(vs2.root(), &loaded.config, &mut rounded).unwrap();
                    m.logits(&m.forward(&x, None))
                }
            };
            assert!(got.equal(&want), "{model_type} tied={tied} shards={shards} bf16={bf16}");
        }
    }

    #[test]
    fn model_type_from_architectures_and_unsupported_ones() {
        let dir = tempfile::tempdir().unwrap();
        let write = |config: &serde_json::Value| {
            write_checkpoint(dir.path(), config, &[("x".to_string(), Tensor::zeros([1], tch::kind::FLOAT_CPU))], 1);
            llama_config(&HfCheckpoint::open(dir.path(), "test").unwrap())
        };
        let mut c = tiny_config("qwen2", true, 300);
        c.as_object_mut().unwrap().remove("model_type");
        c["architectures"] = serde_json::json!(["Qwen2ForCausalLM"]);
        assert!(write(&c).unwrap().attention_bias);
        c["architectures"] = serde_json::json!(["MistralForCausalLM"]);
        let err = write(&c).unwrap_err().to_string();
        assert!(err.contains("MistralForCausalLM") && err.contains("llama, qwen2"), "{err}");
        let err = write(&tiny_config("gemma", true, 300)).unwrap_err().to_string();
        assert!(err.contains("model_type `gemma`") && err.contains("llama, qwen2"), "{err}");
        let mut c = tiny_config("llama", true, 300);
        c["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 32.0});
        let err = write(&c).unwrap_err().to_string();
        assert!(err.contains("rope scaling") && err.contains("low_freq_factor"), "{err}");
        c["rope_scaling"] = serde_json::json!({"rope_type": "yarn", "factor": 4.0});
        let err = write(&c).unwrap_err().to_string();
        assert!(err.contains("`yarn`") && err.contains("default, linear, llama3"), "{err}");
        // Llama 3.2's scaling, in the old layout (`rope_theta` beside `rope_scaling`).
        c["rope_scaling"] = serde_json::json!({"rope_type": "llama3", "factor": 32.0, "low_freq_factor": 1.0,
            "high_freq_factor": 4.0, "original_max_position_embeddings": 8192});
        assert!(matches!(write(&c).unwrap().rope_scaling, RopeScaling::Llama3 { factor: 32.0, .. }));
        // transformers 5's `rope_parameters`: its theta is read, other rope types refused.
        let mut c = tiny_config("llama", true, 300);
        c.as_object_mut().unwrap().remove("rope_theta");
        c["rope_parameters"] = serde_json::json!({"rope_type": "default", "rope_theta": 500000.0});
        assert_eq!(write(&c).unwrap().rope_theta, 500000.0);
        c["rope_parameters"] = serde_json::json!({"rope_type": "linear", "rope_theta": 500000.0, "factor": 8.0});
        let cfg = write(&c).unwrap();
        assert_eq!((cfg.rope_theta, cfg.rope_scaling), (500000.0, RopeScaling::Linear { factor: 8.0 }));
        // llama's attention_bias puts a bias on o_proj too; Qwen2's q/k/v biases do not.
        let mut c = tiny_config("llama", true, 300);
        c["attention_bias"] = true.into();
        let cfg = write(&c).unwrap();
        assert!(cfg.attention_bias && cfg.o_proj_bias);
        let cfg = write(&tiny_config("qwen2", true, 300)).unwrap();
        assert!(cfg.attention_bias && !cfg.o_proj_bias);
        let mut c = tiny_config("llama", true, 300);
        c["num_key_value_heads"] = 3.into();
        assert!(write(&c).unwrap_err().to_string().contains("3 KV heads"));
    }
}
