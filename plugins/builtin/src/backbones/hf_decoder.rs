//! `hf-decoder`: a pretrained llama-type decoder from an HF folder (`model_type` `llama`, e.g.
//! SmolLM2, TinyLlama, Llama 2; or `qwen2`, e.g. Qwen2 / Qwen2.5, whose Q/K/V projections have
//! biases), as a last-token classifier (see `w2s_models::heads::decoder`). A separate name from
//! `smollm2`, whose `path` is a GGUF file and whose default is the fetched SmolLM2: here `path`
//! is a folder and required. The decoder is `w2s_models::arch::llama::Llama`, read by
//! `w2s_models::load::llama_hf`; HF checkpoints store Q/K in HF's rotate-half layout, so they
//! load as they are (no GGUF un-permutation). The wiring is the decoder backbones' (`decoder`).
//!
//! The folder: `config.json` (`model_type` or `architectures`; `hidden_size`,
//! `num_hidden_layers`, `num_attention_heads`, `num_key_value_heads`, `intermediate_size`,
//! `rms_norm_eps`, `rope_theta` or transformers 5's `rope_parameters.rope_theta`,
//! `tie_word_embeddings`, `vocab_size`, llama's `attention_bias`), weights in
//! `model.safetensors` or `model.safetensors.index.json` + shards (F32, F16 or BF16; computed in
//! f32), and `tokenizer.json` (its special tokens, e.g. llama's BOS, are added).
//! Not supported (a clear error): `rope_scaling` (or a `rope_parameters.rope_type` other than
//! `default`), sliding-window attention, MLP biases, a `head_dim` other than
//! `hidden_size / num_attention_heads`, activations other than SiLU. Checked against HF
//! transformers 5.24.0 by `tests/hf_reference.rs`.
//!
//! Parameters (`HfDecoderParams`): `path` (the folder, required), `layers` (keep the first this
//! many blocks; all when absent), `mode` (`probe`, the default: linear probe on frozen cached
//! features; `full`: fine-tune everything; `top`: fine-tune the top `top_k` blocks, the final
//! norm and the head on the cached hidden states of the frozen bottom), `top_k` (with `top`
//! only), `max_len` (texts are cut to their first this many tokens; default 128). Also a
//! language model (the tied or own `lm_head`) for the `prompt` objective.

use std::path::Path;

use anyhow::ensure;
use tch::nn;
use w2s_core::Env;
use w2s_models::{
    format::safetensors::HfCheckpoint,
    load::llama_hf::{llama_config, load},
    options::Mode,
    tokenize::hf as tokenizer,
    trunk::Trunk,
};

use super::decoder::{decoder_backbone, Decoder, DecoderSettings, HfDecoderParams, HfFolder};

#[derive(Clone)]
pub struct HfDecoder {
    pub params: HfDecoderParams,
}

impl HfDecoder {
    pub fn new(params: HfDecoderParams) -> anyhow::Result<Self> {
        Ok(HfDecoder { params })
    }
}

impl Decoder for HfDecoder {
    type Checkpoint = HfFolder;

    fn settings(&self) -> DecoderSettings<'_> {
        self.params.settings()
    }

    fn in_mode(&self, mode: Mode) -> Self {
        HfDecoder { params: HfDecoderParams { mode, top_k: None, ..self.params.clone() } }
    }

    /// The checkpoint folder and its tokenizer.
    fn open(&self, _env: &Env, _header_only: bool) -> anyhow::Result<HfFolder> {
        let ck = HfCheckpoint::open(Path::new(&self.params.path), "HF llama/qwen2 folder")?;
        llama_config(&ck)?;
        let tok_path = ck.dir.join("tokenizer.json");
        ensure!(tok_path.is_file(), "{} has no tokenizer.json", ck.dir.display());
        let tok = tokenizer::load(&tok_path)?;
        Ok(HfFolder { ck, tok, tok_source: "tokenizer.json".into() })
    }

    fn shape(&self, f: &HfFolder) -> anyhow::Result<(usize, i64)> {
        let cfg = llama_config(&f.ck)?;
        Ok((cfg.num_hidden_layers as usize, cfg.hidden_size))
    }

    fn trunk(&self, vs: &nn::VarStore, f: &HfFolder, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
        Ok(Box::new(load(vs, &f.ck, layers)?))
    }

    fn feature_key(&self, f: &HfFolder, _depth: usize, _total: usize) -> String {
        f.cache_key(self.params.layers)
    }
}

decoder_backbone!(HfDecoder);

w2s_core::register!(Backbone {
    name: "hf-decoder",
    description:
        "pretrained llama or qwen2 decoder from an HF folder (safetensors + tokenizer.json), optionally cut to \
                  its first layers; last-token features; linear probe (default), top-k blocks or full fine-tuning; \
                  prompting language model",
    params: HfDecoderParams,
    build: HfDecoder::new,
});

#[cfg(test)]
mod tests {
    use tch::{Device, Tensor};
    use w2s_core::{Backbone, Inputs, Params};

    use w2s_models::{
        arch::llama::Llama,
        feature_cache,
        options::Mode,
        testing::{
            llama::{random_decoder, tiny_config},
            write_checkpoint, write_tiny_tokenizer_json,
        },
    };

    use super::*;
    use crate::backbones::decoder::tests::first_use_error;

    #[test]
    fn backbone_over_a_tiny_checkpoint_and_bad_inputs() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().join("cache"), device: Device::Cpu, show_progress: false };
        let (_vs, model, tensors) = random_decoder(&tiny_config("qwen2", false, 300));
        let folder = dir.path().join("tiny-qwen2");
        write_checkpoint(&folder, &tiny_config("qwen2", false, 300), &tensors, 2);
        let params = HfDecoderParams { path: folder.display().to_string(), ..Default::default() };
        params.validate().unwrap();
        let build = |p: &HfDecoderParams| HfDecoder::new(p.clone()).unwrap().build(&env, 2);
        let err = format!("{:#}", build(&params).err().unwrap());
        assert!(err.contains("no tokenizer.json"), "{err}");
        write_tiny_tokenizer_json(&folder);
        let mut probe = build(&params).unwrap();
        let texts = ["the the", "a longer text than the first one", "the the"];
        let Inputs::Features(f) = probe.encode(&texts, &env).unwrap() else { panic!("probe gives features") };
        assert_eq!(f.size(), [3, 32]);
        assert!((f.get(0) - f.get(2)).abs().max().double_value(&[]) < 1e-4);
        let tok = tokenizer::load(&folder.join("tokenizer.json")).unwrap();
        let first = tokenizer::encode_prefix(&tok, &texts[..1], 128).unwrap().remove(0);
        let alone = model.forward(&Tensor::from_slice(&first).unsqueeze(0), None).get(0).get(-1);
        assert!((f.get(0) - alone).abs().max().double_value(&[]) < 1e-4);
        let full = HfDecoderParams { mode: Mode::Full, layers: Some(1), ..params.clone() };
        let mut full = build(&full).unwrap();
        let inputs = full.encode(&texts, &env).unwrap();
        assert_eq!(full.logits(&inputs, &[0, 1], true).unwrap().size(), [2, 2]);
        // embed, 12 per qwen2 block (9 + 3 biases), norm, lm_head, head.
        assert_eq!(full.var_store().trainable_variables().len(), 1 + 12 + 1 + 1 + 1);
        // The tokenizer's 260 ids on a 200-token model.
        let small = dir.path().join("small-vocab");
        let (_vs, _m, tensors) = random_decoder(&tiny_config("llama", true, 200));
        write_checkpoint(&small, &tiny_config("llama", true, 200), &tensors, 1);
        write_tiny_tokenizer_json(&small);
        let err =
            first_use_error(build(&HfDecoderParams { path: small.display().to_string(), ..Default::default() }), &env);
        assert!(err.contains("260 token ids") && err.contains("vocab_size is 200"), "{err}");
        // A missing tensor and a wrong shape, named with their file.
        let broken = dir.path().join("broken");
        let (_vs, _m, tensors) = random_decoder(&tiny_config("llama", true, 300));
        let edit = |skip: &str, reshape: &str| -> Vec<(String, Tensor)> {
            tensors
                .iter()
                .filter(|(n, _)| n != skip)
                .map(|(n, t)| (n.clone(), if n == reshape { t.narrow(0, 0, 16) } else { t.shallow_clone() }))
                .collect()
        };
        write_checkpoint(&broken, &tiny_config("llama", true, 300), &edit("model.layers.1.mlp.up_proj.weight", ""), 2);
        write_tiny_tokenizer_json(&broken);
        let p = HfDecoderParams { path: broken.display().to_string(), ..Default::default() };
        let err = first_use_error(build(&p), &env);
        assert!(
            err.contains("`model.layers.1.mlp.up_proj.weight`") && err.contains("broken/model.safetensors.index.json"),
            "{err}"
        );
        std::fs::remove_file(broken.join("model.safetensors.index.json")).unwrap();
        write_checkpoint(
            &broken,
            &tiny_config("llama", true, 300),
            &edit("", "model.layers.0.self_attn.q_proj.weight"),
            1,
        );
        let err = first_use_error(build(&p), &env);
        let want = "`model.layers.0.self_attn.q_proj.weight` in ";
        assert!(err.contains(want) && err.contains("broken/model.safetensors"), "{err}");
        assert!(err.contains("has shape [16, 32], expected [32, 32]"), "{err}");
    }

    /// A tiny llama folder (tokenizer included) in `dir`, and the model it holds.
    fn tiny_folder(dir: &Path, config: &serde_json::Value) -> (std::path::PathBuf, Llama) {
        let (_vs, model, tensors) = random_decoder(config);
        let folder = dir.join("tiny");
        write_checkpoint(&folder, config, &tensors, 1);
        write_tiny_tokenizer_json(&folder);
        (folder, model)
    }

    #[test]
    fn a_fully_cached_probe_loads_no_weights() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().join("cache"), device: Device::Cpu, show_progress: false };
        let (folder, _) = tiny_folder(dir.path(), &tiny_config("llama", true, 300));
        let params = HfDecoderParams { path: folder.display().to_string(), ..Default::default() };
        let texts = ["the the", "a longer text than the first one"];
        let features = |texts: &[&str]| -> anyhow::Result<Tensor> {
            match HfDecoder::new(params.clone())?.build(&env, 2)?.encode(texts, &env)? {
                Inputs::Features(f) => Ok(f),
                Inputs::Tokens(_) => anyhow::bail!("a probe gives features"),
            }
        };
        let first = features(&texts).unwrap();
        // Reshape one weight in the safetensors header, keeping every byte count: the same files
        // and sizes (so the same cache key), but weights that no longer load.
        let file = folder.join("model.safetensors");
        let mut bytes = std::fs::read(&file).unwrap();
        let find = |hay: &[u8], needle: &[u8], from: usize| {
            hay[from..].windows(needle.len()).position(|w| w == needle).map(|i| i + from).unwrap()
        };
        let at = find(&bytes, b"model.layers.0.self_attn.q_proj.weight", 0);
        let shape = find(&bytes, b"[32,32]", at);
        bytes[shape..shape + 7].copy_from_slice(b"[16,64]");
        std::fs::write(&file, &bytes).unwrap();
        let again = features(&texts).unwrap();
        assert!(again.equal(&first), "the cached features, without loading the weights");
        let err = format!("{:#}", features(&["a text not cached"]).unwrap_err());
        assert!(err.contains("model.layers.0.self_attn.q_proj.weight") && err.contains("[16, 64]"), "{err}");
    }

    #[test]
    fn top_mode_trains_the_top_blocks_on_cached_bottom_states() {
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().join("cache"), device: Device::Cpu, show_progress: false };
        let (folder, _) = tiny_folder(dir.path(), &tiny_config("llama", false, 300));
        let base = HfDecoderParams { path: folder.display().to_string(), ..Default::default() };
        let top = HfDecoderParams { mode: Mode::Top, top_k: Some(1), ..base.clone() };
        top.validate().unwrap();
        for bad in [
            HfDecoderParams { mode: Mode::Top, ..base.clone() },
            HfDecoderParams { top_k: Some(1), ..base.clone() },
            HfDecoderParams { layers: Some(1), top_k: Some(2), ..top.clone() },
        ] {
            assert!(bad.validate().unwrap_err().to_string().contains("top_k"), "{bad:?}");
        }
        let err =
            HfDecoder::new(HfDecoderParams { top_k: Some(3), ..top.clone() }).unwrap().build(&env, 2).err().unwrap();
        assert!(format!("{err:#}").contains("top_k = 3, but the model has 2 blocks"), "{err:#}");

        let mut full = HfDecoder::new(HfDecoderParams { mode: Mode::Full, ..base }).unwrap().build(&env, 3).unwrap();
        let mut model = HfDecoder::new(top).unwrap().build(&env, 3).unwrap();
        // Only the top block (9 tensors), the final norm and the head train.
        let names: Vec<String> = model.var_store().variables().into_keys().collect();
        assert_eq!(model.var_store().trainable_variables().len(), 9 + 1 + 1, "{names:?}");
        assert!(names
            .iter()
            .all(|n| n.starts_with("model.layers.1.") || n == "model.norm.weight" || n == "head.weight"));
        // The same head on both: the same logits as the full model.
        let head = Tensor::randn([3, 32], tch::kind::FLOAT_CPU);
        tch::no_grad(|| {
            for m in [&full, &model] {
                m.var_store().variables()["head.weight"].shallow_clone().copy_(&head);
            }
        });
        let texts = ["the the", "a longer text than the first one", "the", "another text"];
        let tokens = full.encode(&texts, &env).unwrap();
        let states = model.encode(&texts, &env).unwrap();
        let Inputs::Features(f) = &states else { panic!("top mode gives cached states") };
        assert_eq!(f.size()[0], 4);
        let rows = [3, 0, 2];
        let want = full.logits(&tokens, &rows, false).unwrap();
        let got = model.logits(&states, &rows, true).unwrap();
        assert!((&got - &want).abs().max().double_value(&[]) < 1e-4, "{got} vs {want}");
        // Gradients reach the top block only.
        got.sum(tch::Kind::Float).backward();
        let vars = model.var_store().variables();
        assert!(vars["model.layers.1.mlp.up_proj.weight"].grad().defined());
        // The second encode reads the cache: a tampered (but intact) cache file is what it returns.
        let features = env.derived_dir("features").unwrap();
        let files: Vec<_> = std::fs::read_dir(&features)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pt"))
            .collect();
        assert_eq!(files.len(), 1);
        feature_cache::store(&files[0], &(f * 2.0)).unwrap();
        let Inputs::Features(again) = model.encode(&texts, &env).unwrap() else { panic!() };
        assert!(again.equal(&(f * 2.0)));
    }

    #[test]
    fn language_model_scores_the_last_tokens_of_long_prompts() {
        let _guard = tch::no_grad_guard();
        let dir = tempfile::tempdir().unwrap();
        let env = Env { cache_dir: dir.path().join("cache"), device: Device::Cpu, show_progress: false };
        let mut config = tiny_config("llama", false, 300);
        config["max_position_embeddings"] = 16.into();
        let (folder, model) = tiny_folder(dir.path(), &config);
        let params = HfDecoderParams { path: folder.display().to_string(), ..Default::default() };
        let lm = HfDecoder::new(params).unwrap().language_model(&env).unwrap().unwrap();
        let long = "the the the a b c d e f g h i j k l m n o p q r s t u v w x y z".to_string();
        let ids = lm.tokenize(&long).unwrap();
        assert!(ids.len() > 16);
        let prompts = [long, "the end".to_string()];
        let cands = [5i64, 258, 299];
        let got = lm.next_token_logprobs(&prompts, &cands).unwrap();
        let lp = |row: &[i64]| {
            let logits = model.next_token_logits(&Tensor::from_slice(row).unsqueeze(0), None);
            let lp = logits.log_softmax(-1, tch::Kind::Float).get(0);
            cands.iter().map(|&c| lp.double_value(&[c]) as f32).collect::<Vec<_>>()
        };
        let want = [lp(&ids[ids.len() - 16..]), lp(&lm.tokenize(&prompts[1]).unwrap())];
        for (g, w) in got.iter().zip(&want) {
            assert!(g.iter().zip(w).all(|(a, b)| (a - b).abs() < 1e-4), "{got:?} vs {want:?}");
        }
    }
}
