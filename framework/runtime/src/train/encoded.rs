//! A model's encoded inputs for a list of examples (single texts or pairs), and batched
//! prediction into class probabilities.

use anyhow::{bail, Context};
use tch::{Kind, Tensor};
use w2s_core::{Env, Example, Inputs, Model};

pub(crate) fn to_tensor(rows: &[Vec<f32>]) -> anyhow::Result<Tensor> {
    let k = rows.first().map_or(0, |r| r.len());
    anyhow::ensure!(rows.iter().all(|r| r.len() == k), "training targets of different lengths (expected {k} each)");
    let flat: Vec<f32> = rows.iter().flatten().copied().collect();
    Ok(Tensor::from_slice(&flat).f_view([rows.len() as i64, k as i64])?)
}

pub(crate) fn from_tensor(t: &Tensor) -> anyhow::Result<Vec<Vec<f32>>> {
    let (_, k) = t.size2().context("predictions are not a [rows, classes] tensor")?;
    let k = k as usize;
    let flat = Vec::<f32>::try_from(t.f_to_kind(Kind::Float)?.f_contiguous()?.f_view(-1)?)?;
    Ok(flat.chunks(k.max(1)).map(|c| c.to_vec()).collect())
}

/// A model's inputs for a list of examples: one text each, or two for pairwise examples.
pub struct Encoded {
    pub first: Inputs,
    pub second: Option<Inputs>,
}

impl Encoded {
    /// Encode examples with `model`; pairwise examples encode both texts.
    pub fn new(model: &mut dyn Model, examples: &[&Example], env: &Env) -> anyhow::Result<Self> {
        let firsts: Vec<&str> = examples.iter().map(|e| e.text.as_str()).collect();
        let pairwise = is_pairwise(examples)?;
        let second = if pairwise {
            let seconds: Vec<&str> = examples.iter().map(|e| e.pair.as_deref().unwrap_or_default()).collect();
            Some(model.encode(&seconds, env)?)
        } else {
            None
        };
        Ok(Encoded { first: model.encode(&firsts, env)?, second })
    }
    pub fn len(&self) -> usize {
        self.first.len()
    }
    pub fn is_empty(&self) -> bool {
        self.first.is_empty()
    }
    /// Cost of row `i` (its token count, both texts for a pair).
    pub fn row_cost(&self, i: usize) -> usize {
        self.first.row_cost(i) + self.second.as_ref().map_or(0, |s| s.row_cost(i))
    }
    /// Logits of `rows`: the model's own, or for pairs `[reward(first), reward(second)]`, so that a
    /// softmax over them is the Bradley–Terry probability that each text is the better one.
    pub fn logits(&self, model: &dyn Model, rows: &[usize], train: bool) -> anyhow::Result<Tensor> {
        let first = model.logits(&self.first, rows, train)?;
        match &self.second {
            None => Ok(first),
            Some(second) => Ok(Tensor::f_cat(&[first, model.logits(second, rows, train)?], 1)?),
        }
    }
}

/// Whether the examples are pairwise (all of them) or single texts (all of them).
pub fn is_pairwise(examples: &[&Example]) -> anyhow::Result<bool> {
    let pairs = examples.iter().filter(|e| e.pair.is_some()).count();
    if pairs != 0 && pairs != examples.len() {
        bail!(
            "{pairs} of {} examples are pairs: a task's examples must be all pairs or all single texts",
            examples.len()
        );
    }
    Ok(pairs > 0)
}

/// Class probabilities `[n, classes]` (CPU) for every row of `inputs`, in batches of rows of
/// similar length.
pub fn predict(model: &dyn Model, inputs: &Encoded, batch: usize) -> anyhow::Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let n = inputs.len();
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by_key(|&i| inputs.row_cost(i));
    let mut parts = Vec::new();
    for rows in order.chunks(batch.max(1)) {
        parts.push(inputs.logits(model, rows, false)?.f_softmax(-1, Kind::Float)?.f_to_device(tch::Device::Cpu)?);
    }
    anyhow::ensure!(!parts.is_empty(), "nothing to predict: no examples");
    let sorted = Tensor::f_cat(&parts, 0)?;
    let mut inverse = vec![0i64; n];
    for (pos, &i) in order.iter().enumerate() {
        inverse[i] = pos as i64;
    }
    Ok(sorted.f_index_select(0, &Tensor::from_slice(&inverse))?)
}
