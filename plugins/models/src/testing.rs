//! Test helpers (this crate's tests, and with the `testing` feature other crates' tests): tiny
//! HF checkpoint folders with random weights, a tiny byte-level BPE vocabulary (Radford et al.
//! 2019), the fetched SmolLM2 GGUF, and this process's peak memory.

use std::{path::Path, sync::OnceLock};

use tch::Tensor;

use crate::{format::gguf::Gguf, tokenize};

/// Write `config` and `tensors` into `dir` as an HF folder: `model.safetensors`, or
/// `shards` files with an index when `shards > 1`.
pub fn write_checkpoint(dir: &Path, config: &serde_json::Value, tensors: &[(String, Tensor)], shards: usize) {
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

/// Random weights for tiny test models: norm weights near 1, the rest N(0, 0.2²). Drawn from
/// w2s's own counter-based generator keyed by the parameter's name (Box–Muller), not from
/// libtorch's global generator, which tests running in parallel threads share: the same name
/// always gets the same weights, whatever other tests do meanwhile.
pub fn random_init(name: &str, dims: &[i64]) -> anyhow::Result<Tensor> {
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
pub fn write_tiny_vocab(dir: &Path) {
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
pub fn write_tiny_tokenizer_json(dir: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    write_tiny_vocab(tmp.path());
    let tok = tokenize::hf::byte_level_bpe(&tmp.path().join("vocab.json"), &tmp.path().join("merges.txt")).unwrap();
    tok.save(dir.join("tokenizer.json"), false).unwrap();
}

/// One row of token ids, `[1, t]`.
pub fn ids(v: &[i64]) -> Tensor {
    Tensor::from_slice(v).unsqueeze(0)
}

/// The largest absolute difference between `a` and `b`.
pub fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// The fetched SmolLM2 GGUF, parsed once per test process.
pub fn smollm2() -> &'static Gguf {
    static G: OnceLock<Gguf> = OnceLock::new();
    G.get_or_init(|| {
        let env = w2s_core::Env::from_env();
        let path = env.asset_dir("smollm2").unwrap().join("SmolLM2-135M-Instruct.Q4_1.gguf");
        Gguf::open(&path).unwrap()
    })
}

/// The peak resident set of this process (VmHWM), in MiB.
pub fn peak_rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok());
    kb.unwrap_or(f64::NAN) / 1024.0
}

/// Tiny random llama-type decoders.
pub mod llama {
    use tch::{nn, Device, Tensor};

    use super::{random_init, write_checkpoint};
    use crate::{arch::llama::Llama, format::safetensors::HfCheckpoint, load::llama_hf::llama_config};

    /// The `config.json` of a tiny llama or qwen2 decoder (2 blocks, width 32).
    pub fn tiny_config(model_type: &str, tied: bool, vocab: i64) -> serde_json::Value {
        serde_json::json!({
            "model_type": model_type, "vocab_size": vocab, "hidden_size": 32, "intermediate_size": 64,
            "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0, "tie_word_embeddings": tied, "hidden_act": "silu", "rope_scaling": null,
            "use_sliding_window": false, "torch_dtype": "float32"
        })
    }

    /// A random decoder of `config` in memory and its tensors under HF names.
    pub fn random_decoder(config: &serde_json::Value) -> (nn::VarStore, Llama, Vec<(String, Tensor)>) {
        tch::manual_seed(1);
        let dir = tempfile::tempdir().unwrap();
        write_checkpoint(dir.path(), config, &[("unused".to_string(), Tensor::zeros([1], tch::kind::FLOAT_CPU))], 1);
        let cfg = llama_config(&HfCheckpoint::open(dir.path(), "test").unwrap()).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Llama::new(vs.root(), &cfg, &mut random_init).unwrap();
        let tensors = vs.variables().into_iter().map(|(n, t)| (n, t.detach())).collect();
        (vs, model, tensors)
    }
}

/// Tiny random GPT-2s.
pub mod gpt2 {
    use tch::{nn, Device, Tensor};

    use super::{random_init, write_checkpoint};
    use crate::{
        arch::gpt2::{Gpt2, Gpt2Config},
        format::safetensors::HfCheckpoint,
    };

    /// The `config.json` of a tiny GPT-2 (2 blocks, width 32, 128 positions).
    pub fn tiny_config(vocab: i64) -> serde_json::Value {
        serde_json::json!({
            "model_type": "gpt2", "vocab_size": vocab, "n_embd": 32, "n_layer": 2, "n_head": 4,
            "n_positions": 128, "n_ctx": 128, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
            "n_inner": null, "architectures": ["GPT2LMHeadModel"]
        })
    }

    /// A random GPT-2 of `config` in memory, and its tensors under HF names (`prefix` + name).
    pub fn random_gpt2(config: &serde_json::Value, prefix: &str) -> (nn::VarStore, Gpt2, Vec<(String, Tensor)>) {
        tch::manual_seed(0);
        let dir = tempfile::tempdir().unwrap();
        write_checkpoint(dir.path(), config, &[("unused".to_string(), Tensor::zeros([1], tch::kind::FLOAT_CPU))], 1);
        let cfg = Gpt2Config::from_hf(&HfCheckpoint::open(dir.path(), "test").unwrap()).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Gpt2::new(vs.root(), &cfg, &mut random_init).unwrap();
        let tensors = vs.variables().into_iter().map(|(n, t)| (format!("{prefix}{n}"), t.detach())).collect();
        (vs, model, tensors)
    }
}
