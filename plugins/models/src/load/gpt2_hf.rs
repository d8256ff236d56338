//! GPT-2 ([`Gpt2`]) read from an HF folder (`format::safetensors`): `config.json` (`n_embd`,
//! `n_layer`, `n_head`, `n_positions`, `vocab_size`, `layer_norm_epsilon`, optional `n_inner`,
//! `activation_function`), weights with tensor names `h.0.…` or `transformer.h.0.…` (both occur
//! among the `gpt2` … `gpt2-xl` repositories of HF transformers' `GPT2LMHeadModel`).

use anyhow::{bail, ensure, Context};
use tch::nn;

use crate::{
    arch::gpt2::{Gpt2, Gpt2Config},
    format::safetensors::HfCheckpoint,
};

impl Gpt2Config {
    /// From the folder's `config.json`.
    pub fn from_hf(ck: &HfCheckpoint) -> anyhow::Result<Self> {
        let file = ck.config_path();
        if let Some(mt) = ck.get::<String>("model_type")? {
            ensure!(
                mt == "gpt2",
                "{}: model_type `{mt}` is not supported by the gpt2 backbone (supported: gpt2; llama and qwen2 load with hf-decoder)",
                file.display()
            );
        }
        let act = ck.get::<String>("activation_function")?.unwrap_or_else(|| "gelu_new".into());
        let exact_gelu = match act.as_str() {
            "gelu_new" | "gelu_pytorch_tanh" => false,
            "gelu" => true,
            other => bail!(
                "{}: activation_function `{other}` is not supported (supported: gelu_new, gelu_pytorch_tanh, gelu)",
                file.display()
            ),
        };
        // Attention scaled by 1/sqrt(head_dim) only (HF's defaults; other scalings are refused).
        ensure!(
            ck.get::<bool>("scale_attn_weights")? != Some(false),
            "{}: scale_attn_weights = false is not supported by the gpt2 backbone",
            file.display()
        );
        ensure!(
            ck.get::<bool>("scale_attn_by_inverse_layer_idx")? != Some(true),
            "{}: scale_attn_by_inverse_layer_idx = true is not supported by the gpt2 backbone",
            file.display()
        );
        let n_embd: i64 = ck.need("n_embd")?;
        let n_positions = match ck.get("n_positions")? {
            Some(n) => n,
            None => ck.need("n_ctx")?,
        };
        let cfg = Gpt2Config {
            vocab_size: ck.need("vocab_size")?,
            n_embd,
            n_layer: ck.need("n_layer")?,
            n_head: ck.need("n_head")?,
            n_positions,
            n_inner: ck.get("n_inner")?.unwrap_or(4 * n_embd),
            layer_norm_epsilon: ck.get("layer_norm_epsilon")?.unwrap_or(1e-5),
            exact_gelu,
        };
        ensure!(
            cfg.n_head > 0 && cfg.n_embd % cfg.n_head == 0,
            "{}: n_head {} does not divide n_embd {}",
            file.display(),
            cfg.n_head,
            cfg.n_embd
        );
        Ok(cfg)
    }
}

impl Gpt2 {
    /// Build the first `layers` blocks (all when `None`) of the GPT-2 in `ck` in the root of
    /// `vs`, with its weights (either tensor name layout).
    pub fn from_hf(vs: &nn::VarStore, ck: &HfCheckpoint, layers: Option<usize>) -> anyhow::Result<Self> {
        let mut cfg = Gpt2Config::from_hf(ck)?;
        cfg.n_layer = super::depth(layers, cfg.n_layer, &ck.dir)?;
        let mut init = |name: &str, dims: &[i64]| ck.tensor(&[name.to_string(), format!("transformer.{name}")], dims);
        Gpt2::new(vs.root(), &cfg, &mut init).with_context(|| format!("loading GPT-2 from {}", ck.dir.display()))
    }
}

#[cfg(test)]
mod tests {
    use tch::Device;

    use super::*;
    use crate::testing::{
        gpt2::{random_gpt2, tiny_config},
        ids, write_checkpoint,
    };

    #[test]
    fn reloads_both_name_layouts_with_identical_logits() {
        let _guard = tch::no_grad_guard();
        let config = tiny_config(300);
        let x = ids(&[5, 17, 299, 0, 42, 7]);
        for (prefix, shards) in [("", 1), ("transformer.", 3)] {
            let (_vs, model, tensors) = random_gpt2(&config, prefix);
            let want = model.logits(&model.forward(&x, None));
            let dir = tempfile::tempdir().unwrap();
            write_checkpoint(dir.path(), &config, &tensors, shards);
            let ck = HfCheckpoint::open(dir.path(), "GPT-2 folder").unwrap();
            let vs = nn::VarStore::new(Device::Cpu);
            let loaded = Gpt2::from_hf(&vs, &ck, None).unwrap();
            assert!(loaded.logits(&loaded.forward(&x, None)).equal(&want), "layout {prefix:?}");
            // Cut to one block: only that block's variables.
            let vs = nn::VarStore::new(Device::Cpu);
            let one = Gpt2::from_hf(&vs, &ck, Some(1)).unwrap();
            assert_eq!(one.blocks.len(), 1);
            assert!(!vs.variables().keys().any(|k| k.starts_with("h.1.")));
            let err = Gpt2::from_hf(&nn::VarStore::new(Device::Cpu), &ck, Some(3)).err().unwrap().to_string();
            assert!(err.contains("layers = 3") && err.contains("2 blocks"), "{err}");
        }
    }
}
