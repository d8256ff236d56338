//! `transformer`: a small BERT-style encoder (Devlin et al. 2019) trained from scratch (random
//! init), in three sizes, over the MiniLM WordPiece tokenizer.

use serde::{Deserialize, Serialize};
use w2s_core::{Backbone, Env, Model, Params};

use w2s_models::{
    arch::bert::BertConfig,
    heads::encoder::{BertClassifier, Reading},
    options::{Mode, Pooling},
};

use super::Size;

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TransformerParams {
    /// tiny (d 32, 1 layer), small (d 64, 2 layers), base (d 128, 4 layers).
    pub size: Size,
}
impl Params for TransformerParams {}

pub struct Transformer {
    pub params: TransformerParams,
}

impl Transformer {
    pub fn new(params: TransformerParams) -> anyhow::Result<Self> {
        Ok(Transformer { params })
    }
    pub fn config(&self) -> BertConfig {
        let (hidden_size, num_hidden_layers, num_attention_heads) = match self.params.size {
            Size::Tiny => (32, 1, 2),
            Size::Small => (64, 2, 4),
            Size::Base => (128, 4, 4),
        };
        BertConfig {
            hidden_size,
            num_hidden_layers,
            num_attention_heads,
            intermediate_size: 4 * hidden_size,
            max_position_embeddings: 128,
            ..BertConfig::default()
        }
    }
}

impl Backbone for Transformer {
    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        let tok = env.asset_dir("minilm")?.join("tokenizer.json");
        Ok(Box::new(BertClassifier::new(
            env,
            &self.config(),
            None,
            &tok,
            n_classes,
            Reading { mode: Mode::Full, pooling: Pooling::Mean, max_len: 128 },
        )?))
    }
}

w2s_core::register!(Backbone {
    name: "transformer",
    description: "small BERT-style encoder trained from scratch (sizes tiny/small/base)",
    params: TransformerParams,
    build: Transformer::new,
});
