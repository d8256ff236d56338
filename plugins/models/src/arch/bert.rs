//! A BERT encoder (Devlin et al. 2019, "BERT: Pre-training of Deep Bidirectional Transformers")
//! in tch, with HF parameter names (`embeddings.*`, `encoder.layer.N.*`), so that a
//! `model.safetensors` of a BERT-type checkpoint (e.g. all-MiniLM-L6-v2) loads as it is. Its
//! layer is `encoder::Layer`. Dropout is off, as in the reference code. Checked against HF
//! transformers 5.24.0's `modeling_bert.py` (`BertModel`) by `tests/hf_reference.rs`.

use std::path::Path;

use serde::Deserialize;
use tch::{nn, nn::Module, Kind, Tensor};

use super::encoder::{check_layer, embed, layer_norm, AttentionNames, Dims, Encoder, EncoderConfig, Layer};

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
    /// Only `gelu` (erf) is implemented; [`EncoderConfig::check`] refuses others.
    pub hidden_act: String,
    /// Only `absolute` is implemented; [`EncoderConfig::check`] refuses others.
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

impl EncoderConfig for BertConfig {
    fn check(&self, source: &Path) -> anyhow::Result<()> {
        check_layer(source, &self.hidden_act, self.num_attention_heads, self.hidden_size)?;
        anyhow::ensure!(
            self.position_embedding_type == "absolute",
            "{}: position_embedding_type `{}` is not supported (only absolute)",
            source.display(),
            self.position_embedding_type
        );
        Ok(())
    }

    fn max_tokens(&self) -> i64 {
        self.max_position_embeddings
    }

    fn hidden_size(&self) -> i64 {
        self.hidden_size
    }

    fn pad_token_id(&self) -> i64 {
        self.pad_token_id
    }
}

impl BertConfig {
    fn dims(&self) -> Dims {
        Dims {
            hidden: self.hidden_size,
            intermediate: self.intermediate_size,
            heads: self.num_attention_heads,
            layer_norm_eps: self.layer_norm_eps,
        }
    }
}

/// BERT's names of a layer's attention parameters.
const ATTENTION: AttentionNames = AttentionNames {
    query: "attention.self.query",
    key: "attention.self.key",
    value: "attention.self.value",
    out: "attention.output.dense",
    norm: "attention.output.LayerNorm",
};

/// The encoder: embeddings and layers (no pooler); built and run as an [`Encoder`].
pub struct Bert {
    word: nn::Embedding,
    position: nn::Embedding,
    token_type: nn::Embedding,
    norm: nn::LayerNorm,
    layers: Vec<Layer>,
    pub config: BertConfig,
}

impl Encoder for Bert {
    type Config = BertConfig;

    fn build(p: nn::Path<'_>, cfg: &BertConfig) -> Self {
        let emb = &p / "embeddings";
        let h = cfg.hidden_size;
        Bert {
            word: nn::embedding(&emb / "word_embeddings", cfg.vocab_size, h, Default::default()),
            position: nn::embedding(&emb / "position_embeddings", cfg.max_position_embeddings, h, Default::default()),
            token_type: nn::embedding(&emb / "token_type_embeddings", cfg.type_vocab_size, h, Default::default()),
            norm: layer_norm(&emb / "LayerNorm", cfg.dims()),
            layers: (0..cfg.num_hidden_layers)
                .map(|i| Layer::new(&p / "encoder" / "layer" / i, cfg.dims(), &ATTENTION))
                .collect(),
            config: cfg.clone(),
        }
    }

    /// Absolute positions from 0; token type 0 throughout.
    fn hidden_states(&self, ids: &Tensor, mask: &Tensor) -> anyhow::Result<Tensor> {
        let (b, t) = ids.size2()?;
        let positions = Tensor::arange(t, (Kind::Int64, ids.device())).unsqueeze(0);
        let x = embed(&self.word, &self.position, ids, &positions, self.config.max_tokens())?
            + self.token_type.forward(&ids.zeros_like());
        let mut x = self.norm.forward(&x);
        let attend = mask.to_kind(Kind::Bool).f_view([b, 1, 1, t])?;
        for layer in &self.layers {
            x = layer.forward(&x, &attend)?;
        }
        Ok(x)
    }

    fn config(&self) -> &BertConfig {
        &self.config
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
