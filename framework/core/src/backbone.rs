//! Backbones: model families that build a classifier of a named size.

use tch::{nn::VarStore, Device, Kind, Tensor};

use crate::Env;

/// A model's view of a list of texts: token ids, or features of a frozen trunk.
pub enum Inputs {
    Tokens(Vec<Vec<i64>>),
    /// `[n, d]` features on the CPU.
    Features(Tensor),
}

impl Inputs {
    pub fn len(&self) -> usize {
        match self {
            Inputs::Tokens(t) => t.len(),
            Inputs::Features(f) => f.size()[0] as usize,
        }
    }
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// Cost of each row (its token count), used to batch rows of similar length for inference.
    pub fn row_cost(&self, i: usize) -> usize {
        match self {
            Inputs::Tokens(t) => t[i].len(),
            Inputs::Features(_) => 1,
        }
    }
}

/// A classifier with trainable parameters.
pub trait Model {
    /// Turn texts into this model's inputs (tokenize; run a frozen trunk).
    fn encode(&mut self, texts: &[&str], env: &Env) -> anyhow::Result<Inputs>;
    /// Logits `[rows.len(), classes]` for the given rows of `inputs`.
    fn logits(&self, inputs: &Inputs, rows: &[usize], train: bool) -> anyhow::Result<Tensor>;
    /// The store whose trainable variables the optimizer updates.
    fn var_store(&self) -> &VarStore;
    /// Which texts this model will not train on because they exceed its context (a backbone's
    /// `too_long: "drop"`); by default none (longer texts are truncated).
    fn over_length(&self, texts: &[&str]) -> anyhow::Result<Vec<bool>> {
        Ok(vec![false; texts.len()])
    }
}

/// A model family: builds a fresh classifier for `n_classes` classes.
pub trait Backbone {
    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>>;
    /// The user checkpoint files or folders this backbone reads (a `path` parameter), whose
    /// contents are part of every run's identity, as [`crate::Task::data_files`].
    fn data_files(&self) -> Vec<std::path::PathBuf> {
        Vec::new()
    }
    /// The pretrained causal language model behind this backbone, for prompting baselines
    /// (`None`: not a language model).
    fn language_model(&self, _env: &Env) -> anyhow::Result<Option<Box<dyn crate::prompting::LanguageModel>>> {
        Ok(None)
    }
    /// This backbone adapted to a task's unlabeled `texts` (e.g. generative fine-tuning on them)
    /// before it is trained on labels; `None`: nothing to adapt (the default).
    fn adapt_to_texts(&self, _env: &Env, _texts: &[&str]) -> anyhow::Result<Option<Box<dyn Backbone>>> {
        Ok(None)
    }
    /// Fixed features `[texts.len(), d]` (float, on the CPU) of `texts`, for probes outside
    /// training (e.g. the denoising labelers): for a pretrained backbone, the frozen-trunk
    /// features its linear-probe mode trains on (cached the same way). `None` (the default): this
    /// backbone cannot give features (e.g. one trained from scratch).
    fn features(&self, _env: &Env, _texts: &[&str]) -> anyhow::Result<Option<Tensor>> {
        Ok(None)
    }
    /// The number of parameters of the pretrained model this backbone builds (cut to its
    /// `layers`, without a task head), read from the checkpoint's header; `None` (the default):
    /// not known without building it. Shown on the x axis of ladder figures.
    fn parameters(&self, _env: &Env) -> anyhow::Result<Option<u64>> {
        Ok(None)
    }
}

/// Pad the token lists of `rows` to a `[b, max_len]` id tensor and a 0/1 mask of the same shape.
pub fn pad_batch(tokens: &[Vec<i64>], rows: &[usize], pad_id: i64, device: Device) -> (Tensor, Tensor) {
    let max_len = rows.iter().map(|&r| tokens[r].len()).max().unwrap_or(1).max(1);
    let mut ids = Vec::with_capacity(rows.len() * max_len);
    let mut mask = Vec::with_capacity(rows.len() * max_len);
    for &r in rows {
        let t = &tokens[r];
        ids.extend_from_slice(t);
        mask.extend(std::iter::repeat_n(1i64, t.len()));
        ids.extend(std::iter::repeat_n(pad_id, max_len - t.len()));
        mask.extend(std::iter::repeat_n(0i64, max_len - t.len()));
    }
    let shape = [rows.len() as i64, max_len as i64];
    (Tensor::from_slice(&ids).view(shape).to_device(device), Tensor::from_slice(&mask).view(shape).to_device(device))
}

/// Mean of `hidden` `[b, t, d]` over the positions where `mask` `[b, t]` is 1.
pub fn masked_mean(hidden: &Tensor, mask: &Tensor) -> Tensor {
    let m = mask.to_kind(Kind::Float).unsqueeze(-1);
    let summed = (hidden * &m).sum_dim_intlist(1, false, Kind::Float);
    summed / m.sum_dim_intlist(1, false, Kind::Float).clamp_min(1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pad_and_mean() {
        let toks = vec![vec![5, 6, 7], vec![8]];
        let (ids, mask) = pad_batch(&toks, &[1, 0], 0, Device::Cpu);
        assert_eq!(Vec::<i64>::try_from(ids.flatten(0, -1)).unwrap(), vec![8, 0, 0, 5, 6, 7]);
        assert_eq!(Vec::<i64>::try_from(mask.flatten(0, -1)).unwrap(), vec![1, 0, 0, 1, 1, 1]);
        let h = ids.to_kind(Kind::Float).unsqueeze(-1);
        let m = masked_mean(&h, &mask);
        assert_eq!(Vec::<f32>::try_from(m.flatten(0, -1)).unwrap(), vec![8.0, 6.0]);
    }
}
