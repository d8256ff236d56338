//! The batches of one epoch: grouped by length (little padding), or plain random batches for
//! objectives whose loss uses statistics over the batch.

use tch::Tensor;
use w2s_core::{rng, Objective};

pub(crate) fn row_index(rows: &[usize]) -> Tensor {
    Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>())
}

/// The batches of one epoch for `objective`: plain seeded random batches
/// ([`random_batches`]) when its loss uses statistics over the batch
/// ([`Objective::uses_batch_statistics`]), else batches of rows of similar length
/// ([`epoch_batches`]).
pub fn batches_for(
    objective: &dyn Objective,
    n: usize,
    cost: impl Fn(usize) -> usize,
    batch_size: usize,
    seed: u64,
) -> Vec<Vec<usize>> {
    if objective.uses_batch_statistics() {
        random_batches(n, batch_size, seed)
    } else {
        epoch_batches(n, cost, batch_size, seed)
    }
}

/// The batches of one epoch, nothing grouped: a seeded shuffle cut into batches (the reference
/// code's random batches).
pub fn random_batches(n: usize, batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    rng::permutation(n, seed, "batches").chunks(batch_size.max(1)).map(<[usize]>::to_vec).collect()
}

/// The batches of one epoch: a seeded shuffle, then, within windows of 16 batches, rows grouped
/// by length so that little compute goes to padding; the batch order is shuffled again.
pub fn epoch_batches(n: usize, cost: impl Fn(usize) -> usize, batch_size: usize, seed: u64) -> Vec<Vec<usize>> {
    let mut order = rng::permutation(n, seed, "batches");
    for window in order.chunks_mut(batch_size.max(1) * 16) {
        window.sort_by_key(|&i| cost(i));
    }
    let mut batches: Vec<Vec<usize>> = order.chunks(batch_size.max(1)).map(|c| c.to_vec()).collect();
    rng::Rng::new(seed, "batch-order").shuffle(&mut batches);
    batches
}
