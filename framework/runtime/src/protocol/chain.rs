//! Bootstrapping chains (Burns et al. 2023 §4.3.1, "bootstrapping with intermediate model
//! sizes"; EleutherAI/w2s's strong-to-strong `--s2s_iters`): between the weak supervisor and the
//! strong student sit intermediate links `m1 … mL` (the run's `chain`). Each link is trained
//! exactly as the student is (the run's objective, `strong_train`, a fresh model initialised and
//! batched with the student's seeds) on the previous link's labels, then labels data for the
//! next; the student learns from `mL`. With `chain` = the strong backbone N times this is
//! strong-to-strong iteration: the same model, from the same initialisation, retrained N times on
//! its predecessor's predictions (so link 1 of the chain `[strong]` on `same` data *is* the
//! direct run's student, which a test checks). Curves of link j are named `link{j}`.
//!
//! Which examples of half B (its kept examples, in B's order) each link trains on and labels
//! (`chain_data`):
//! - `same`: all of them, every link: link j trains on B with link j − 1's labels of B (link 1:
//!   the weak labels) and labels B for link j + 1 (as Burns et al., who reuse one split, and
//!   EleutherAI's s2s, which relabels its own training set);
//! - `disjoint`: B is shuffled (seeded) and cut into L + 1 slices of near-equal size: link j
//!   trains on slice j and labels slice j + 1; the student trains on slice L + 1. No link labels
//!   an example it trained on, at the price of a smaller training set per link (the direct run
//!   of the same preset still trains on all of B).
//!
//! Every link is reported in `chain.csv` (link 0 the weak supervisor, the last the student):
//! its test accuracy, PGR against the chain's ends (the run's weak accuracy and strong ceiling),
//! the accuracy of the labels it trained on, and its test agreement with its supervisor.

use serde::{Deserialize, Serialize};
use w2s_core::{curves::CurveRow, metrics, preset::ChainData, preset::RunConfig, rng, Env, Example, Registry};

use crate::train;

use super::{session::adapted_backbone, stages::preds};

/// One link's figures (a row of `chain.csv`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LinkRow {
    pub run_id: String,
    /// 0: the weak supervisor; 1..=L: the intermediate links; L + 1: the student.
    pub link: usize,
    pub backbone: String,
    /// How many examples of B it trained on (0 for the weak supervisor, which trains on A).
    pub train_examples: usize,
    /// Accuracy of the labels it trained on, against ground truth (NaN for the supervisor).
    pub label_acc: f64,
    pub test_acc: f64,
    /// PGR of its test accuracy against the run's weak accuracy and strong ceiling.
    pub pgr: f64,
    /// Test agreement (hard labels) with the link that labelled its data (NaN for link 0).
    pub agreement_with_supervisor: f64,
}

/// What the student of a chained run learns from: positions in B and their labels, with the
/// links' figures and curves.
pub(super) struct ChainOutcome {
    pub(super) student_pos: Vec<usize>,
    /// Labels of B by position (filled where a link labelled).
    pub(super) labels_b: Vec<Vec<f32>>,
    /// Test predictions of the student's supervisor (the last link, or the weak labeler).
    pub(super) supervisor_test: Vec<Vec<f32>>,
    pub(super) links: Vec<LinkRow>,
    pub(super) curves: Vec<CurveRow>,
}

/// The slices of `kept` each trained link (L intermediate ones, then the student) learns on.
pub(super) fn slices(kept: &[usize], links: usize, how: ChainData, seed: u64) -> Vec<Vec<usize>> {
    match how {
        ChainData::Same => vec![kept.to_vec(); links + 1],
        ChainData::Disjoint => {
            let order = rng::permutation(kept.len(), seed, "chain-slices");
            let parts = links + 1;
            let mut out = vec![Vec::new(); parts];
            for (r, &j) in order.iter().enumerate() {
                out[r * parts / kept.len().max(1)].push(kept[j]);
            }
            for s in &mut out {
                s.sort_unstable();
            }
            out
        }
    }
}

/// The inputs of a chain: the run, its data and the weak stage's labels.
pub(super) struct ChainInput<'a> {
    pub(super) env: &'a Env,
    pub(super) registry: &'a Registry,
    pub(super) rc: &'a RunConfig,
    pub(super) train: &'a [Example],
    /// Indices into `train` of half B.
    pub(super) b: &'a [usize],
    pub(super) kept: &'a [usize],
    pub(super) weak_b: &'a [Vec<f32>],
    pub(super) weak_test: &'a [Vec<f32>],
    pub(super) test: &'a [&'a Example],
    pub(super) test_labels: &'a [usize],
    pub(super) n_classes: usize,
    /// The run's weak accuracy and strong ceiling on test, for the links' PGR.
    pub(super) ends: (f64, f64),
}

/// Train the chain's intermediate links in turn; the student's data and labels come out.
pub(super) fn run_chain(x: &ChainInput<'_>) -> anyhow::Result<ChainOutcome> {
    let rc = x.rc;
    let parts = slices(x.kept, rc.chain.len(), rc.chain_data, rc.seed);
    let mut labels_b = x.weak_b.to_vec();
    let mut supervisor_test = x.weak_test.to_vec();
    let weak_acc = metrics::accuracy(&preds(x.weak_test), x.test_labels).0;
    let mut links = vec![LinkRow {
        run_id: rc.id(),
        link: 0,
        backbone: format!("{} ({})", rc.weak.label(), rc.labeler.label()),
        train_examples: 0,
        label_acc: f64::NAN,
        test_acc: weak_acc,
        pgr: metrics::pgr(x.ends.0, x.ends.1, weak_acc).0,
        agreement_with_supervisor: f64::NAN,
    }];
    let mut curves = Vec::new();
    for (j, spec) in rc.chain.iter().enumerate() {
        let (on, next) = (&parts[j], &parts[j + 1]);
        anyhow::ensure!(
            !on.is_empty() && !next.is_empty(),
            "chain link {} ({}): no examples of B left to train on or to label ({} kept examples for {} slices); \
             use chain_data = same or more data",
            j + 1,
            spec.label(),
            x.kept.len(),
            parts.len()
        );
        // Seeded as the student (see the module header); the curves are renamed below.
        let role = "student";
        let backbone = adapted_backbone(x.registry, x.env, spec, x.train)?;
        let mut objective = x.registry.objective(&rc.objective)?;
        let train_set: Vec<&Example> = on.iter().map(|&i| &x.train[x.b[i]]).collect();
        let targets: Vec<Vec<f32>> = on.iter().map(|&i| labels_b[i].clone()).collect();
        let label_set: Vec<&Example> = next.iter().map(|&i| &x.train[x.b[i]]).collect();
        let trained = train::train_and_predict(
            x.env,
            &train::Job {
                role,
                backbone: backbone.as_ref(),
                n_classes: x.n_classes,
                train: &train_set,
                targets: &targets,
                test: x.test,
                also_predict: Some(&label_set),
                record: None,
                cfg: &rc.strong_train,
                seed: rc.seed,
            },
            objective.as_mut(),
        )
        .map_err(|e| e.context(format!("chain link {} ({})", j + 1, spec.label())))?;
        let row = link_row(x, (j + 1, spec.label()), (on, &labels_b), &trained.test, &supervisor_test);
        tracing::info!("chain link {} ({}): test accuracy {:.4}", j + 1, spec.label(), row.test_acc);
        links.push(row);
        let next_labels = trained.extra.unwrap_or_default();
        for (&i, p) in next.iter().zip(next_labels) {
            labels_b[i] = p;
        }
        supervisor_test = trained.test;
        curves.extend(trained.curves.into_iter().map(|mut c| {
            c.role = format!("link{}", j + 1);
            c
        }));
    }
    let student_pos = parts.last().cloned().unwrap_or_default();
    Ok(ChainOutcome { student_pos, labels_b, supervisor_test, links, curves })
}

/// The row of a trained link (`number`, backbone label) that learned on positions `on` of B
/// with `labels` (by position), whose test predictions are `test` and its supervisor's
/// `supervisor_test`.
fn link_row(
    x: &ChainInput<'_>,
    (number, backbone): (usize, String),
    (on, labels): (&[usize], &[Vec<f32>]),
    test: &[Vec<f32>],
    supervisor_test: &[Vec<f32>],
) -> LinkRow {
    let hard: Vec<usize> = on.iter().map(|&i| metrics::argmax(&labels[i])).collect();
    let truth: Vec<usize> = on.iter().map(|&i| x.train[x.b[i]].label).collect();
    let test_acc = metrics::accuracy(&preds(test), x.test_labels).0;
    LinkRow {
        run_id: x.rc.id(),
        link: number,
        backbone,
        train_examples: on.len(),
        label_acc: metrics::accuracy(&hard, &truth).0,
        test_acc,
        pgr: metrics::pgr(x.ends.0, x.ends.1, test_acc).0,
        agreement_with_supervisor: metrics::agreement(&preds(test), &preds(supervisor_test), x.test_labels).all,
    }
}

/// The student's own row of `chain.csv`.
pub(super) fn student_link(out: &ChainOutcome, x: &ChainInput<'_>, student_test: &[Vec<f32>]) -> LinkRow {
    let number = (x.rc.chain.len() + 1, x.rc.strong.label());
    link_row(x, number, (&out.student_pos, &out.labels_b), student_test, &out.supervisor_test)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn disjoint_slices_partition_the_kept_examples() {
        let kept: Vec<usize> = (0..103).filter(|i| i % 7 != 0).collect();
        let parts = slices(&kept, 2, ChainData::Disjoint, 5);
        assert_eq!(parts.len(), 3);
        let mut all: Vec<usize> = parts.iter().flatten().copied().collect();
        all.sort_unstable();
        assert_eq!(all, kept, "every kept example in exactly one slice");
        let sizes: Vec<usize> = parts.iter().map(|p| p.len()).collect();
        assert!(sizes.iter().max().unwrap() - sizes.iter().min().unwrap() <= 1, "{sizes:?}");
        assert_eq!(parts, slices(&kept, 2, ChainData::Disjoint, 5), "seeded");
        assert_ne!(parts, slices(&kept, 2, ChainData::Disjoint, 6));
        assert_eq!(slices(&kept, 2, ChainData::Same, 5), vec![kept.clone(); 3]);
    }
}
