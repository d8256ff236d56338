//! A BERT encoder (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers")
//! in tch, with HF parameter names (`embeddings.*`, `encoder.layer.N.*`), so that a
//! `model.safetensors` of a BERT-type checkpoint (e.g. all-MiniLM-L6-v2) loads as it is.
//! Dropout is off, as in the reference code. Checked against HF transformers 5.24.0's
//! `modeling_bert.py` (`BertModel`) by `tests/hf_reference.rs`.

use serde::Deserialize;
use tch::{nn, nn::Module, Kind, Tensor};

/// The fields of an HF BERT `config.json` that the encoder needs.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct BertConfig {
    pub vocab_size: i64,
    pub hidden_size: i64,
    pub num_hidden_layers: i64,
    pub num_attention_heads: i64,
    pub intermediate_size: i64,
    pub max_position_embeddings: i64,
    pub type_vocab_size: i64,
    pub layer_norm_eps: f64,
    pub pad_token_id: i64,
    /// Only `gelu` (erf) is implemented; [`BertConfig::check`] refuses others.
    pub hidden_act: String,
    /// Only `absolute` is implemented; [`BertConfig::check`] refuses others.
    pub position_embedding_type: String,
}

impl Default for BertConfig {
    fn default() -> Self {
        BertConfig {
            vocab_size: 30522,
            hidden_size: 384,
            num_hidden_layers: 6,
            num_attention_heads: 12,
            intermediate_size: 1536,
            max_position_embeddings: 512,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            hidden_act: "gelu".into(),
            position_embedding_type: "absolute".into(),
        }
    }
}

impl BertConfig {
    /// Refuse what the encoder does not implement (`source` names the config in messages).
    pub fn check(&self, source: &std::path::Path) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.hidden_act == "gelu",
            "{}: hidden_act `{}` is not supported (only gelu)",
            source.display(),
            self.hidden_act
        );
        anyhow::ensure!(
            self.position_embedding_type == "absolute",
            "{}: position_embedding_type `{}` is not supported (only absolute)",
            source.display(),
            self.position_embedding_type
        );
        anyhow::ensure!(
            self.num_attention_heads > 0 && self.hidden_size % self.num_attention_heads == 0,
            "{}: {} heads do not divide hidden size {}",
            source.display(),
            self.num_attention_heads,
            self.hidden_size
        );
        Ok(())
    }
}

fn layer_norm(p: nn::Path<'_>, cfg: &BertConfig) -> nn::LayerNorm {
    nn::layer_norm(p, vec![cfg.hidden_size], nn::LayerNormConfig { eps: cfg.layer_norm_eps, ..Default::default() })
}

struct Layer {
    query: nn::Linear,
    key: nn::Linear,
    value: nn::Linear,
    attn_out: nn::Linear,
    attn_norm: nn::LayerNorm,
    intermediate: nn::Linear,
    output: nn::Linear,
    out_norm: nn::LayerNorm,
    heads: i64,
}

impl Layer {
    fn new(p: nn::Path<'_>, cfg: &BertConfig) -> Self {
        let (h, i) = (cfg.hidden_size, cfg.intermediate_size);
        let att = &p / "attention";
        Layer {
            query: nn::linear(&att / "self" / "query", h, h, Default::default()),
            key: nn::linear(&att / "self" / "key", h, h, Default::default()),
            value: nn::linear(&att / "self" / "value", h, h, Default::default()),
            attn_out: nn::linear(&att / "output" / "dense", h, h, Default::default()),
            attn_norm: layer_norm(&att / "output" / "LayerNorm", cfg),
            intermediate: nn::linear(&p / "intermediate" / "dense", h, i, Default::default()),
            output: nn::linear(&p / "output" / "dense", i, h, Default::default()),
            out_norm: layer_norm(&p / "output" / "LayerNorm", cfg),
            heads: cfg.num_attention_heads,
        }
    }

    /// `x` `[b, t, d]`; `attend` `[b, 1, 1, t]` boolean (true: may be attended to).
    fn forward(&self, x: &Tensor, attend: &Tensor) -> Tensor {
        let (b, t, d) = x.size3().expect("[batch, tokens, hidden]");
        let split = |y: Tensor| y.view([b, t, self.heads, d / self.heads]).transpose(1, 2);
        let q = split(self.query.forward(x));
        let k = split(self.key.forward(x));
        let v = split(self.value.forward(x));
        let ctx = Tensor::scaled_dot_product_attention(&q, &k, &v, Some(attend), 0.0, false, None, false);
        let ctx = ctx.transpose(1, 2).contiguous().view([b, t, d]);
        let x = self.attn_norm.forward(&(self.attn_out.forward(&ctx) + x));
        let hidden = self.intermediate.forward(&x).gelu("none");
        self.out_norm.forward(&(self.output.forward(&hidden) + x))
    }
}

/// The encoder: embeddings and layers (no pooler).
pub struct Bert {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    norm: nn::LayerNorm,
    layers: Vec<Layer>,
    pub config: BertConfig,
}

impl Bert {
    /// Create the parameters under `p` (use the store's root for HF names).
    pub fn new(p: nn::Path<'_>, cfg: &BertConfig) -> Self {
        let emb = &p / "embeddings";
        let h = cfg.hidden_size;
        Bert {
            word: nn::embedding(&emb / "word_embeddings", cfg.vocab_size, h, Default::default()),
            position: nn::embedding(&emb / "position_embeddings", cfg.max_position_embeddings, h, Default::default()),
            token_type: nn::embedding(&emb / "token_type_embeddings", cfg.type_vocab_size, h, Default::default()),
            norm: layer_norm(&emb / "LayerNorm", cfg),
            layers: (0..cfg.num_hidden_layers).map(|i| Layer::new(&p / "encoder" / "layer" / i, cfg)).collect(),
            config: cfg.clone(),
        }
    }

    /// Hidden states `[b, t, d]` of ids `[b, t]` with 0/1 `mask` `[b, t]`.
    pub fn forward(&self, ids: &Tensor, mask: &Tensor) -> Tensor {
        let t = ids.size()[1];
        let positions = Tensor::arange(t, (Kind::Int64, ids.device())).unsqueeze(0);
        let x = self.word.forward(ids) + self.position.forward(&positions) + self.token_type.forward(&ids.zeros_like());
        let mut x = self.norm.forward(&x);
        let attend = mask.to_kind(Kind::Bool).view([ids.size()[0], 1, 1, t]);
        for layer in &self.layers {
            x = layer.forward(&x, &attend);
        }
        x
    }
}

impl BertConfig {
    /// Multiply-accumulates per token of a forward pass (matmuls, attention included) for a
    /// sequence of `seq_len` tokens: for FLOP accounting.
    pub fn macs_per_token(&self, seq_len: i64) -> i64 {
        let per_layer = 4 * self.hidden_size * self.hidden_size
            + 2 * self.hidden_size * self.intermediate_size
            + 2 * seq_len * self.hidden_size;
        per_layer * self.num_hidden_layers
    }
}
