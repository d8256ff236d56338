//! What a decoder architecture (llama-type, GPT-2, ...) offers the heads over it: embeddings, a
//! stack of blocks that can be run in ranges (so that the hidden states after several depths come
//! from one pass, and a frozen bottom can be cached under trainable top blocks), a final norm
//! and an output layer, as in HF transformers' decoder models (`*Model` + `lm_head`).

use std::ops::Range;

use anyhow::ensure;
use tch::{nn, Tensor};

/// A decoder: embeddings, a stack of blocks, a final norm and an output layer, run on right-padded
/// token ids. `mask` `[b, t]` (1: real token) for right-padded batches, `None` when every
/// position is real.
pub trait Trunk {
    /// Input embeddings `[b, t, d]` of ids `[b, t]` (positions `0..t`).
    fn embed(&self, ids: &Tensor) -> Tensor;
    /// Blocks `range` applied to hidden states `x` `[b, t, d]`.
    fn blocks(&self, x: Tensor, mask: Option<&Tensor>, range: Range<usize>) -> Tensor;
    fn final_norm(&self, x: &Tensor) -> Tensor;
    /// Vocabulary logits of final-norm hidden states `[.., d]`.
    fn lm_logits(&self, hidden: &Tensor) -> Tensor;
    /// The number of blocks.
    fn depth(&self) -> usize;
    fn hidden_size(&self) -> i64;
    /// Rows of the embedding matrix: every token id must be below it.
    fn vocab_size(&self) -> i64;
    /// The longest sequence the model was trained on, if known.
    fn context_length(&self) -> Option<i64>;
    /// Name prefixes (in its store) of the parameters of blocks `from..` and the final norm.
    fn top_params(&self, from: usize) -> Vec<String>;

    /// Final (normed) hidden states `[b, t, d]` of ids `[b, t]` after every block.
    fn hidden_states(&self, ids: &Tensor, mask: Option<&Tensor>) -> Tensor {
        self.hidden_at(ids, mask, &[self.depth()]).remove(0)
    }

    /// Final-norm hidden states after the first `depths[i]` blocks (in any order, each at most
    /// `depth()`), from one pass through the blocks.
    fn hidden_at(&self, ids: &Tensor, mask: Option<&Tensor>, depths: &[usize]) -> Vec<Tensor> {
        let mut order: Vec<usize> = (0..depths.len()).collect();
        order.sort_by_key(|&i| depths[i]);
        let mut out: Vec<Option<Tensor>> = depths.iter().map(|_| None).collect();
        let (mut x, mut at) = (self.embed(ids), 0);
        for i in order {
            x = self.blocks(x, mask, at..depths[i]);
            at = depths[i];
            out[i] = Some(self.final_norm(&x));
        }
        out.into_iter().map(|h| h.expect("every depth computed")).collect()
    }
}

/// [`Trunk::top_params`] of a decoder with HF's names: `model.layers.{i}.` for blocks `from..depth`
/// and `model.norm.`.
pub fn hf_top_params(from: usize, depth: usize) -> Vec<String> {
    (from..depth).map(|i| format!("model.layers.{i}.")).chain(["model.norm.".to_string()]).collect()
}

/// Add the parameters of the top `k` blocks and the final norm of `trunk`, whose store is
/// `frozen` (frozen already), to `trainable` as trainable variables (shared, not copied).
pub fn share_top(frozen: &nn::VarStore, trunk: &dyn Trunk, k: usize, trainable: &nn::VarStore) -> anyhow::Result<()> {
    let depth = trunk.depth();
    ensure!(k >= 1 && k <= depth, "top_k = {k}, but the model has {depth} blocks");
    let prefixes = trunk.top_params(depth - k);
    for (name, t) in frozen.variables() {
        if prefixes.iter().any(|p| name.starts_with(p)) {
            let mut parts: Vec<&str> = name.split('.').collect();
            let last = parts.pop().expect("a variable name");
            let path = parts.iter().fold(trainable.root(), |p, part| p / *part);
            let _ = path.add(last, t, true);
        }
    }
    Ok(())
}
