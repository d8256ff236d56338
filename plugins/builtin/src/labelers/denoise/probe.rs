//! The cross-fitted probes of the denoising labelers: fitted on a backbone's features of half B
//! and the weak labels, they predict each example from a probe that never saw its label.
//!
//! Follows EleutherAI/w2s `w2s/probe.py` (`KnnProbe`, `LogisticProbe`) and `w2s/logistic.py`
//! (`Classifier.fit`), with these deviations:
//! - **cross-fitting**: EleutherAI fit the probe on the whole training set and predict the same
//!   examples in-sample (a kNN point is then its own nearest neighbour). Here B is split into
//!   `folds` (seeded, a pure function of seed and example index), and each fold is predicted by
//!   a probe fitted on the kept examples of the other folds.
//! - **kNN distance**: EleutherAI's comment says cosine similarity but the code ranks by
//!   Euclidean `torch.cdist`; here by cosine similarity, as the comment (the two agree on
//!   unit-length features). The prediction is, as theirs, the mean of the `k` neighbours' labels
//!   (here the whole soft distributions, not only P(class 1), so any number of classes).
//! - **logistic regression**: EleutherAI fit a binary logistic regression (one logit, sigmoid,
//!   BCE on soft targets) with L-BFGS from zero weights on raw activations, loss
//!   `mean BCE + l2p · ‖W‖²` (bias unpenalised). Here it is multinomial (softmax, soft
//!   cross-entropy on the weak distributions, `mean CE + l2p · ‖W‖²`), on features standardised
//!   with the training fold's mean and standard deviation, fitted from zero by full-batch
//!   accelerated gradient descent (Nesterov, step 1 / the Lipschitz bound of the gradient) until
//!   the gradient's norm is below 1e-5 or after 5000 steps.

use anyhow::Context;
use serde::{Deserialize, Serialize};
use tch::{Device, Kind, Tensor};
use w2s_core::rng;

/// Which probe.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeKind {
    /// Mean of the soft labels of the `k` most cosine-similar examples.
    #[default]
    Knn,
    /// Multinomial logistic regression with L2 penalty `l2p`.
    Logreg,
}

/// A probe and its settings.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Probe {
    pub kind: ProbeKind,
    /// Neighbours (`knn`).
    pub k: usize,
    /// L2 penalty on the weights (`logreg`).
    pub l2p: f64,
}

/// The fold of each example of B: ranked by a seeded hash of its index in the training pool
/// (`items`), dealt round-robin, so that folds have sizes within one and do not depend on B's order.
pub fn assign_folds(items: &[usize], folds: usize, seed: u64) -> Vec<usize> {
    let mut order: Vec<usize> = (0..items.len()).collect();
    order.sort_by_key(|&i| (rng::key(seed, "denoise-folds", items[i] as u64), i));
    let mut fold = vec![0; items.len()];
    for (rank, &i) in order.iter().enumerate() {
        fold[i] = rank % folds;
    }
    fold
}

/// Out-of-fold predicted distributions `[n][classes]`: for each fold, the probe fitted on the
/// `fit_on` examples outside it (features rows of `x` `[n, d]`, targets `labels`) predicts it.
pub fn cross_fit(
    probe: &Probe,
    x: &Tensor,
    labels: &[Vec<f32>],
    fit_on: &[bool],
    fold: &[usize],
) -> anyhow::Result<Vec<Vec<f32>>> {
    let n = labels.len();
    let classes = labels.first().map_or(0, Vec::len);
    anyhow::ensure!(x.size().first() == Some(&(n as i64)), "features of shape {:?} for {n} examples", x.size());
    let x = x.f_to_kind(Kind::Float)?.f_to_device(Device::Cpu)?;
    let folds = fold.iter().max().map_or(0, |f| f + 1);
    let mut out = vec![Vec::new(); n];
    for f in 0..folds {
        let train: Vec<usize> = (0..n).filter(|&i| fold[i] != f && fit_on[i]).collect();
        let test: Vec<usize> = (0..n).filter(|&i| fold[i] == f).collect();
        if test.is_empty() {
            continue;
        }
        anyhow::ensure!(!train.is_empty(), "fold {f}: no kept example outside it to fit the probe on");
        let xs = |rows: &[usize]| x.f_index_select(0, &index(rows));
        let y: Vec<f32> = train.iter().flat_map(|&i| labels[i].iter().copied()).collect();
        let y = Tensor::f_from_slice(&y)?.f_view([train.len() as i64, classes as i64])?;
        let pred = match probe.kind {
            ProbeKind::Knn => knn(&xs(&train)?, &y, &xs(&test)?, probe.k),
            ProbeKind::Logreg => logreg(&xs(&train)?, &y, &xs(&test)?, probe.l2p),
        }
        .with_context(|| format!("the {:?} probe of fold {f}", probe.kind))?;
        let pred: Vec<f32> = Vec::<f32>::try_from(pred.f_contiguous()?.f_view([-1])?)?;
        for (r, &i) in test.iter().enumerate() {
            out[i] = pred[r * classes..(r + 1) * classes].to_vec();
        }
    }
    Ok(out)
}

fn index(rows: &[usize]) -> Tensor {
    Tensor::from_slice(&rows.iter().map(|&r| r as i64).collect::<Vec<_>>())
}

/// Rows scaled to unit length (a zero row stays zero).
fn unit_rows(x: &Tensor) -> anyhow::Result<Tensor> {
    let norm = x.f_norm_scalaropt_dim(2, [1i64].as_slice(), true)?.f_clamp_min(1e-12)?;
    Ok(x.f_div(&norm)?)
}

/// kNN: each query's prediction is the mean of the labels `y` of its `k` most cosine-similar
/// fitted rows `x`.
pub fn knn(x: &Tensor, y: &Tensor, query: &Tensor, k: usize) -> anyhow::Result<Tensor> {
    let n = x.size()[0];
    anyhow::ensure!(
        k as i64 <= n,
        "parameter `k`: expected at most the number of examples a fold's probe is fitted on ({n}), got {k}"
    );
    let sim = unit_rows(query)?.f_matmul(&unit_rows(x)?.f_tr()?)?;
    let (_, top) = sim.f_topk(k as i64, 1, true, true)?;
    let classes = y.size()[1];
    let picked = y.f_index_select(0, &top.f_view([-1])?)?.f_view([-1, k as i64, classes])?;
    Ok(picked.f_mean_dim([1i64].as_slice(), false, Kind::Float)?)
}

/// Multinomial logistic regression fitted on `x` with soft targets `y` (see the module header),
/// predicting the distributions of `query`.
pub fn logreg(x: &Tensor, y: &Tensor, query: &Tensor, l2p: f64) -> anyhow::Result<Tensor> {
    let _guard = tch::no_grad_guard();
    let (n, d) = (x.size()[0], x.size()[1]);
    let classes = y.size()[1];
    let dims = [0i64];
    let mean = x.f_mean_dim(dims.as_slice(), true, Kind::Float)?;
    let std = x.f_std_dim(dims.as_slice(), false, true)?.f_clamp_min(1e-6)?;
    let z = x.f_sub(&mean)?.f_div(&std)?;
    let zq = query.f_sub(&mean)?.f_div(&std)?;
    // The softmax cross-entropy's Hessian is at most λ_max(ZᵀZ / n) / 2 (+ 1 / 2 for the bias),
    // with λ_max from power iteration (from above: a few extra percent for safety).
    let gram = z.f_tr()?.f_matmul(&z)?.f_div_scalar(n as f64)?;
    let mut v = Tensor::f_ones([d, 1], (Kind::Float, Device::Cpu))?;
    let mut lambda = 1.0;
    for _ in 0..50 {
        let w = gram.f_matmul(&v)?;
        lambda = w.f_norm()?.double_value(&[]) / v.f_norm()?.double_value(&[]).max(1e-12);
        v = w.f_div_scalar(lambda.max(1e-12))?;
    }
    let lipschitz = 1.1 * 0.5 * (lambda + 1.0) + 2.0 * l2p;
    let step = 1.0 / lipschitz;
    let zeros = |rows| Tensor::f_zeros([rows, classes], (Kind::Float, Device::Cpu));
    let (mut w, mut b) = (zeros(d)?, zeros(1)?);
    let (mut w_prev, mut b_prev) = (w.shallow_clone(), b.shallow_clone());
    for t in 0..5000 {
        let momentum = t as f64 / (t as f64 + 3.0);
        let wy = w.f_add(&w.f_sub(&w_prev)?.f_mul_scalar(momentum)?)?;
        let by = b.f_add(&b.f_sub(&b_prev)?.f_mul_scalar(momentum)?)?;
        let p = z.f_matmul(&wy)?.f_add(&by)?.f_softmax(1, Kind::Float)?;
        let err = p.f_sub(y)?.f_div_scalar(n as f64)?;
        let gw = z.f_tr()?.f_matmul(&err)?.f_add(&wy.f_mul_scalar(2.0 * l2p)?)?;
        let gb = err.f_sum_dim_intlist([0i64].as_slice(), true, Kind::Float)?;
        let gnorm = (gw.f_square()?.f_sum(Kind::Float)?.double_value(&[])
            + gb.f_square()?.f_sum(Kind::Float)?.double_value(&[]))
        .sqrt();
        w_prev = w;
        b_prev = b;
        w = wy.f_sub(&gw.f_mul_scalar(step)?)?;
        b = by.f_sub(&gb.f_mul_scalar(step)?)?;
        if gnorm < 1e-5 {
            break;
        }
    }
    Ok(zq.f_matmul(&w)?.f_add(&b)?.f_softmax(1, Kind::Float)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dist(p1: f32) -> Vec<f32> {
        vec![1.0 - p1, p1]
    }

    fn rows(v: &[Vec<f32>]) -> Tensor {
        let flat: Vec<f32> = v.iter().flatten().copied().collect();
        Tensor::from_slice(&flat).view([v.len() as i64, -1])
    }

    #[test]
    fn folds_are_balanced_seeded_and_independent_of_order() {
        let items: Vec<usize> = (100..203).collect();
        let f = assign_folds(&items, 5, 7);
        let sizes: Vec<usize> = (0..5).map(|k| f.iter().filter(|&&x| x == k).count()).collect();
        assert!(sizes.iter().all(|&s| s == 20 || s == 21), "{sizes:?}");
        let mut rev = items.clone();
        rev.reverse();
        let g = assign_folds(&rev, 5, 7);
        assert!((0..items.len()).all(|i| f[i] == g[items.len() - 1 - i]), "a pure function of the index");
        assert_ne!(f, assign_folds(&items, 5, 8), "seeded");
    }

    /// Six points on the unit circle at 0°, 10°, 30°, 70°, 100° and 150° with P(class 1) =
    /// 0, 0, 0.2, 1, 1, 0.8; leave-one-out (six folds of one), k = 2. By angular distance:
    /// 0° → 10°, 30° → (0 + 0.2) / 2 = 0.1; 10° → 0°, 30° → 0.1; 30° → 10°, 0° → 0;
    /// 70° → 100°, 30° → (1 + 0.2) / 2 = 0.6; 100° → 70°, 150° → 0.9; 150° → 100°, 70° → 1.
    #[test]
    fn knn_out_of_fold_predictions_by_hand() {
        let angles = [0.0f32, 10.0, 30.0, 70.0, 100.0, 150.0];
        // Lengths vary: cosine similarity ignores them.
        let x: Vec<Vec<f32>> = angles
            .iter()
            .enumerate()
            .map(|(i, a)| {
                let r = 1.0 + i as f32;
                vec![r * a.to_radians().cos(), r * a.to_radians().sin()]
            })
            .collect();
        let labels: Vec<Vec<f32>> = [0.0, 0.0, 0.2, 1.0, 1.0, 0.8].iter().map(|&p| dist(p)).collect();
        let probe = Probe { kind: ProbeKind::Knn, k: 2, l2p: 1e-3 };
        let fold: Vec<usize> = (0..6).collect();
        let pred = cross_fit(&probe, &rows(&x), &labels, &[true; 6], &fold).unwrap();
        let want = [0.1f32, 0.1, 0.0, 0.6, 0.9, 1.0];
        for (i, (p, w)) in pred.iter().zip(want).enumerate() {
            assert!((p[1] - w).abs() < 1e-6 && (p[0] - (1.0 - w)).abs() < 1e-6, "point {i}: {p:?}, want {w}");
        }
        // An example not kept is predicted but never a neighbour: without point 2 (30°), 0° → 10°, 70°.
        let fit_on = [true, true, false, true, true, true];
        let pred = cross_fit(&probe, &rows(&x), &labels, &fit_on, &fold).unwrap();
        assert!((pred[0][1] - 0.5).abs() < 1e-6 && (pred[2][1] - 0.0).abs() < 1e-6, "{pred:?}");
        // k larger than a fold's fitted examples: an error naming `k`.
        let err = cross_fit(&Probe { k: 6, ..probe }, &rows(&x), &labels, &[true; 6], &fold).unwrap_err();
        assert!(format!("{err:#}").contains("parameter `k`: expected at most"), "{err:#}");
    }

    /// Three classes in 5 dimensions, separable by the largest of the first three coordinates
    /// (the rest noise): logistic regression predicts almost every held-out example right.
    #[test]
    fn logreg_recovers_a_linearly_separable_rule() {
        let n = 300;
        let mut x = Vec::new();
        let mut labels = Vec::new();
        for i in 0..n {
            let u = |s: &str| rng::uniform(11, s, i as u64) as f32;
            let c = i % 3;
            let mut row: Vec<f32> = (0..5).map(|j| u(&format!("x{j}")) * 2.0 - 1.0).collect();
            row[c] += 2.5;
            x.push(row);
            labels.push(crate::labelers::soft_one_hot(c, 3, 0.9));
        }
        let fold = assign_folds(&(0..n).collect::<Vec<_>>(), 5, 3);
        let probe = Probe { kind: ProbeKind::Logreg, k: 1, l2p: 1e-3 };
        let pred = cross_fit(&probe, &rows(&x), &labels, &vec![true; n], &fold).unwrap();
        let right = (0..n).filter(|&i| w2s_core::metrics::argmax(&pred[i]) == i % 3).count();
        assert!(right as f64 / n as f64 >= 0.97, "out-of-fold accuracy {right}/{n}");
        assert!(pred.iter().all(|p| (p.iter().sum::<f32>() - 1.0).abs() < 1e-4), "distributions");
    }
}
