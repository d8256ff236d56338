//! `chess-net`: a from-scratch board model that scores moves, in four sizes.
//!
//! Architecture: a residual MLP tower over the one-hot position of [`crate::board::encoding`]
//! (781 features → width `d`, then `blocks` pre-LayerNorm blocks `x + W2 relu(W1 LN(x))` with
//! hidden width `4d`, then a final LayerNorm) gives a position vector `h` (`[b, d]`). Every move
//! of the fixed vocabulary (4168 from–to/under-promotion entries) has a learned output embedding
//! `W[m]` (`d`) and bias `c[m]`, and so has each of its three move features (piece moved, piece
//! captured, check: `F[·]`, `e[·]`); the logit of a move is `h · (W[m] + Σ F[f]) + c[m] + Σ e[f]`.
//! The shared move features let a small data set teach "captures and checks matter" once for
//! every square instead of per from–to entry. A next-move example's
//! logits are those of its legal moves in [`crate::board::moves::legal_moves`] order, then
//! [`crate::board::moves::PAD_LOGIT`] up to `n_classes`; in move-scoring mode (text `"<FEN> <uci>"`,
//! typically `n_classes == 1` for a reward model on move pairs) the logit is the same score of
//! that one move, so a reward model and a policy with the same weights agree.
//!
//! Why an MLP tower rather than a per-square transformer: on the CPUs this project trains on,
//! a transformer's 64-token attention, softmaxes and per-token LayerNorms are many small,
//! memory-bound ops, while the tower is a handful of large `[b, d] × [d, 4d]` matmuls per block
//! (the one-hot input layer is a matmul too), so training runs close to the matmul peak (see
//! [`crate::bench`]). Scoring is batched: the move embeddings of the whole batch are gathered
//! into `[b, n_classes, d]` and scored with one `bmm`; the feature scores are one `[b, d] × [d, 14]`
//! matmul and a gather. Output embeddings and biases start at
//! zero (the reference code's zero head), so an untrained model is uniform over legal moves.
//!
//! | size  | d    | blocks | parameters | forward MFLOP/position |
//! |-------|------|--------|------------|------------------------|
//! | tiny  | 64   | 1      | 0.36 M     | 0.17                   |
//! | small | 128  | 2      | 0.90 M     | 0.74                   |
//! | base  | 256  | 4      | 3.4 M      | 4.6                    |
//! | large | 512  | 8      | 19.4 M     | 34                     |
//!
//! (Forward FLOPs count the input layer, the blocks' matmuls and the scoring of ~40 moves; see
//! [`ChessNetConfig::forward_flops`]. Exact counts: [`ChessNetConfig::parameters`].)

use serde::{Deserialize, Serialize};
use tch::{nn, nn::Module, Device, Kind, Tensor};
use w2s_core::{Backbone, Env, Inputs, Model, Params};

use crate::{
    board::encoding::{encode_text, MOVE_GROUP, N_FEATURES, N_MOVES, N_MOVE_FEATURES},
    board::moves::PAD_LOGIT,
};

/// The sizes of `chess-net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChessSize {
    Tiny,
    #[default]
    Small,
    Base,
    Large,
}

impl ChessSize {
    pub const ALL: [ChessSize; 4] = [ChessSize::Tiny, ChessSize::Small, ChessSize::Base, ChessSize::Large];

    pub fn name(self) -> &'static str {
        match self {
            ChessSize::Tiny => "tiny",
            ChessSize::Small => "small",
            ChessSize::Base => "base",
            ChessSize::Large => "large",
        }
    }

    pub fn config(self) -> ChessNetConfig {
        let (width, blocks) = match self {
            ChessSize::Tiny => (64, 1),
            ChessSize::Small => (128, 2),
            ChessSize::Base => (256, 4),
            ChessSize::Large => (512, 8),
        };
        ChessNetConfig { width, blocks, hidden: 4 * width }
    }
}

/// Widths and depth of a `chess-net`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChessNetConfig {
    pub width: i64,
    pub blocks: i64,
    /// Hidden width of each block's MLP.
    pub hidden: i64,
}

impl ChessNetConfig {
    /// Number of trainable parameters.
    pub fn parameters(&self) -> i64 {
        let (d, h, f, m) = (self.width, self.hidden, N_FEATURES as i64, N_MOVES as i64);
        let input = f * d + d;
        let block = 2 * d + d * h + h + h * d + d;
        let feats = N_MOVE_FEATURES as i64;
        input + self.blocks * block + 2 * d + m * d + m + feats * d + feats
    }

    /// Forward FLOPs of one position scoring `moves` moves: matmuls (input layer, blocks) and
    /// the scoring dot products, 2 FLOPs per multiply-add. Training ≈ 3 × this.
    pub fn forward_flops(&self, moves: i64) -> f64 {
        let (d, h, f) = (self.width, self.hidden, N_FEATURES as i64);
        2.0 * (f * d + self.blocks * 2 * d * h + moves * d + N_MOVE_FEATURES as i64 * d) as f64
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChessNetParams {
    /// tiny (d 64, 1 block), small (d 128, 2), base (d 256, 4), large (d 512, 8); hidden 4d.
    pub size: ChessSize,
}
impl Params for ChessNetParams {}

/// The `chess-net` backbone.
pub struct ChessNet {
    pub params: ChessNetParams,
}

impl ChessNet {
    pub fn new(params: ChessNetParams) -> anyhow::Result<Self> {
        Ok(ChessNet { params })
    }
}

impl Backbone for ChessNet {
    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        Ok(Box::new(ChessModel::new(env.device, self.params.size.config(), n_classes)?))
    }
}

w2s_core::register!(Backbone {
    name: "chess-net",
    description: "from-scratch residual MLP over the board that scores every legal move (sizes tiny/small/base/large)",
    params: ChessNetParams,
    build: ChessNet::new,
});

struct Block {
    ln: nn::LayerNorm,
    up: nn::Linear,
    down: nn::Linear,
}

impl Block {
    fn new(p: nn::Path<'_>, d: i64, h: i64) -> Self {
        Block {
            ln: nn::layer_norm(&p / "ln", vec![d], Default::default()),
            up: nn::linear(&p / "up", d, h, Default::default()),
            down: nn::linear(&p / "down", h, d, Default::default()),
        }
    }
    fn forward(&self, x: &Tensor) -> Tensor {
        x + self.down.forward(&self.up.forward(&self.ln.forward(x)).relu())
    }
}

/// A built `chess-net`: trunk, move embeddings and the number of output slots.
pub struct ChessModel {
    vs: nn::VarStore,
    input: nn::Linear,
    blocks: Vec<Block>,
    ln_f: nn::LayerNorm,
    move_emb: Tensor,
    move_bias: Tensor,
    feat_emb: Tensor,
    feat_bias: Tensor,
    pub config: ChessNetConfig,
    pub n_classes: usize,
}

impl ChessModel {
    pub fn new(device: Device, config: ChessNetConfig, n_classes: usize) -> anyhow::Result<Self> {
        anyhow::ensure!(n_classes >= 1, "chess-net needs at least one output slot");
        let vs = nn::VarStore::new(device);
        let root = vs.root();
        let d = config.width;
        let input = nn::linear(&root / "input", N_FEATURES as i64, d, Default::default());
        let blocks = (0..config.blocks).map(|i| Block::new(&root / "blocks" / i, d, config.hidden)).collect();
        let ln_f = nn::layer_norm(&root / "ln_f", vec![d], Default::default());
        let move_emb = root.var("move_emb", &[N_MOVES as i64, d], nn::Init::Const(0.0));
        let move_bias = root.var("move_bias", &[N_MOVES as i64], nn::Init::Const(0.0));
        let feat_emb = root.var("move_feat_emb", &[N_MOVE_FEATURES as i64, d], nn::Init::Const(0.0));
        let feat_bias = root.var("move_feat_bias", &[N_MOVE_FEATURES as i64], nn::Init::Const(0.0));
        Ok(ChessModel { vs, input, blocks, ln_f, move_emb, move_bias, feat_emb, feat_bias, config, n_classes })
    }

    /// Position vectors `h` `[b, d]` from dense one-hot features `[b, N_FEATURES]`.
    pub fn trunk(&self, x: &Tensor) -> Tensor {
        let mut h = self.input.forward(x);
        for b in &self.blocks {
            h = b.forward(&h);
        }
        self.ln_f.forward(&h)
    }

    /// The dense inputs of a batch: one-hot features `[b, N_FEATURES]`, move indices
    /// `[b, n_classes]` (padded with 0), move features `[b, 3 n_classes]` and the padding mask
    /// `[b, n_classes]`.
    fn batch(&self, tokens: &[Vec<i64>], rows: &[usize]) -> anyhow::Result<(Tensor, Tensor, Tensor, Tensor)> {
        let (b, n) = (rows.len(), self.n_classes);
        let g = MOVE_GROUP - 1;
        let mut x = vec![0f32; b * N_FEATURES];
        let mut idx = vec![0i64; b * n];
        let mut feats = vec![0i64; b * n * g];
        let mut pad = vec![true; b * n];
        for (i, &r) in rows.iter().enumerate() {
            let row = tokens.get(r).ok_or_else(|| anyhow::anyhow!("row {r} out of range ({} rows)", tokens.len()))?;
            let (features, moves) = split_row(row)?;
            for &f in features {
                x[i * N_FEATURES + f as usize] = 1.0;
            }
            let k = moves.len() / MOVE_GROUP;
            anyhow::ensure!(k <= n, "row {r} scores {k} moves but the model has {n} output slots");
            for (j, group) in moves.chunks(MOVE_GROUP).enumerate() {
                idx[i * n + j] = group[0];
                feats[(i * n + j) * g..(i * n + j + 1) * g].copy_from_slice(&group[1..]);
                pad[i * n + j] = false;
            }
        }
        let dev = self.vs.device();
        let (bi, ni) = (b as i64, n as i64);
        Ok((
            Tensor::from_slice(&x).view([bi, N_FEATURES as i64]).to_device(dev),
            Tensor::from_slice(&idx).view([bi, ni]).to_device(dev),
            Tensor::from_slice(&feats).view([bi, ni * g as i64]).to_device(dev),
            Tensor::from_slice(&pad).view([bi, ni]).to_device(dev),
        ))
    }
}

/// A row of [`Inputs::Tokens`]: `[n_features, features..., moves...]`.
fn split_row(row: &[i64]) -> anyhow::Result<(&[i64], &[i64])> {
    let k = *row.first().ok_or_else(|| anyhow::anyhow!("empty chess-net input row"))? as usize;
    anyhow::ensure!(row.len() > k, "malformed chess-net input row");
    Ok((&row[1..1 + k], &row[1 + k..]))
}

impl Model for ChessModel {
    fn encode(&mut self, texts: &[&str], _env: &Env) -> anyhow::Result<Inputs> {
        use rayon::prelude::*;
        let n = self.n_classes;
        let rows: anyhow::Result<Vec<Vec<i64>>> = texts
            .par_iter()
            .map(|t| {
                let e = encode_text(t)?;
                anyhow::ensure!(
                    e.n_moves() <= n,
                    "position {t:?} has {} moves to score but the model has {n} output slots",
                    e.n_moves()
                );
                let mut row = Vec::with_capacity(1 + e.features.len() + e.moves.len());
                row.push(e.features.len() as i64);
                row.extend(e.features);
                row.extend(e.moves);
                Ok(row)
            })
            .collect();
        Ok(Inputs::Tokens(rows?))
    }

    fn logits(&self, inputs: &Inputs, rows: &[usize], _train: bool) -> anyhow::Result<Tensor> {
        let Inputs::Tokens(tokens) = inputs else { anyhow::bail!("chess-net expects the inputs of its own encode") };
        let (x, idx, feats, pad) = self.batch(tokens, rows)?;
        let (b, n, d) = (rows.len() as i64, self.n_classes as i64, self.config.width);
        let h = self.trunk(&x);
        let flat = idx.view([-1]);
        let w = self.move_emb.index_select(0, &flat).view([b, n, d]);
        let scores = w.bmm(&h.unsqueeze(2)).squeeze_dim(2) + self.move_bias.index_select(0, &flat).view([b, n]);
        // Move features: score every feature once per position, then pick each move's three.
        let per_feature = h.matmul(&self.feat_emb.tr()) + &self.feat_bias;
        let g = (MOVE_GROUP - 1) as i64;
        let feature_scores =
            per_feature.gather(1, &feats, false).view([b, n, g]).sum_dim_intlist(2, false, Kind::Float);
        let scores = scores + feature_scores;
        Ok(scores.masked_fill(&pad, PAD_LOGIT).to_kind(Kind::Float))
    }

    fn var_store(&self) -> &nn::VarStore {
        &self.vs
    }
}

#[cfg(test)]
mod tests;
