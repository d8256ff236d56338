//! Tests of the `ensemble` labeler.

use serde_json::json;
use w2s_core::{curves::CurveRow, labeler::Probs, labeler::WeakTrainer, rng};

use super::*;
use crate::labelers::{label_for_test, soft_one_hot, test_dataset, test_spec};

fn spec(params: serde_json::Value) -> Spec {
    test_spec("ensemble", params)
}

/// A member's labels: the same rows on B and on the test set, every example kept.
fn hand(rows: Vec<Vec<f32>>) -> WeakLabels {
    WeakLabels { keep: vec![true; rows.len()], test: rows.clone(), b: rows }
}

fn keys(n: usize) -> Vec<u64> {
    (0..n as u64).map(|i| rng::key(11, "test-ties", i)).collect()
}

fn run(members: &[WeakLabels], k: usize, how: Combine) -> anyhow::Result<Combined> {
    let names: Vec<String> = (0..members.len()).map(|m| format!("hand{m}")).collect();
    let (b, test) = (keys(members[0].b.len()), keys(members[0].test.len()));
    combine(members, &names, k, how, 50, &Ties { b: &b, test: &test })
}

fn close(a: &[Vec<f32>], b: &[Vec<f32>]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.iter().zip(y).all(|(p, q)| (p - q).abs() < 1e-6))
}

fn b_accuracy(wl: &WeakLabels, data: &w2s_core::Dataset, b: &[usize]) -> f64 {
    let right = b.iter().enumerate().filter(|&(j, &i)| argmax(&wl.b[j]) == data.train[i].label).count();
    right as f64 / b.len() as f64
}

#[test]
fn mean_of_two_hand_made_label_sets() {
    let mut a = hand(vec![vec![1.0, 0.0], vec![0.2, 0.8], vec![0.5, 0.5]]);
    let mut b = hand(vec![vec![0.5, 0.5], vec![0.6, 0.4], vec![0.0, 1.0]]);
    a.keep = vec![true, false, true];
    b.keep = vec![true, true, false];
    let out = run(&[a, b], 2, Combine::Mean).unwrap();
    let want = vec![vec![0.75, 0.25], vec![0.4, 0.6], vec![0.25, 0.75]];
    assert!(close(&out.labels.b, &want) && close(&out.labels.test, &want), "{:?}", out.labels);
    assert_eq!(out.labels.keep, [true, false, false], "the examples every member keeps");
    assert_eq!(out.weights, Some(vec![0.5, 0.5]));
}

#[test]
fn majority_vote_of_three_with_ties() {
    let x = |a: f32, b: f32, c: f32| vec![a, b, c];
    // Example 0: two votes for class 0. Example 1: one vote each, class 1 has the largest
    // summed probability (1.1 against 0.9 and 1.0). Examples 2..: one vote each and equal
    // sums: the class with the smallest hash of the example's tie key.
    let n_tied = 40;
    let mut rows: Vec<Vec<Vec<f32>>> = vec![
        vec![x(0.6, 0.3, 0.1), x(0.5, 0.1, 0.4), x(0.2, 0.7, 0.1)],
        vec![x(0.5, 0.3, 0.2), x(0.1, 0.6, 0.3), x(0.3, 0.2, 0.5)],
    ];
    rows.extend((0..n_tied).map(|_| vec![x(1.0, 0.0, 0.0), x(0.0, 1.0, 0.0), x(0.0, 0.0, 1.0)]));
    let members: Vec<WeakLabels> = (0..3).map(|m| hand(rows.iter().map(|r| r[m].clone()).collect())).collect();
    let out = run(&members, 3, Combine::Vote).unwrap();
    let classes: Vec<usize> = out.labels.b.iter().map(|p| argmax(p)).collect();
    assert_eq!(&classes[..2], [0, 1]);
    assert!(out.labels.b.iter().all(|p| p.iter().filter(|&&q| q == 1.0).count() == 1), "hard labels");
    let tie = keys(rows.len());
    for (i, &c) in classes.iter().enumerate().skip(2) {
        let want = (0..3).min_by_key(|&c| rng::key(tie[i], "ensemble-class", c as u64)).unwrap();
        assert_eq!(c, want, "example {i}");
    }
    let mut seen = classes[2..].to_vec();
    seen.sort_unstable();
    seen.dedup();
    assert_eq!(seen, [0, 1, 2], "exact ties favour no class");
    assert_eq!(out, run(&members, 3, Combine::Vote).unwrap(), "deterministic");
    // Two classes: the majority wins even against a confident minority (unlike the mean).
    let two = [vec![0.51, 0.49], vec![0.51, 0.49], vec![0.0, 1.0]].map(|r| hand(vec![r]));
    assert_eq!(run(&two, 2, Combine::Vote).unwrap().labels.b, [[1.0, 0.0]]);
    assert_eq!(argmax(&run(&two, 2, Combine::Mean).unwrap().labels.b[0]), 1);
}

#[test]
fn agreement_gives_a_random_member_a_clearly_lower_weight() {
    let (n, k) = (400, 2);
    let truth: Vec<usize> = (0..n).map(|i| (i * 7 / 3) % 2).collect();
    let one_hot = |c: usize| soft_one_hot(c, k, 1.0);
    let flipped = |r: usize| -> Vec<Vec<f32>> {
        (0..n).map(|i| one_hot(if i % 10 == r { 1 - truth[i] } else { truth[i] })).collect()
    };
    let (a, b) = (flipped(0), flipped(5));
    // The others' consensus: the mean of a and b. And a coin flip.
    let consensus: Vec<Vec<f32>> =
        a.iter().zip(&b).map(|(p, q)| p.iter().zip(q).map(|(x, y)| (x + y) / 2.0).collect()).collect();
    let noise: Vec<Vec<f32>> = (0..n).map(|i| one_hot(usize::from(rng::uniform(7, "coin", i as u64) < 0.5))).collect();
    let members = [hand(a), hand(b), hand(consensus), hand(noise)];
    let out = run(&members, k, Combine::Agreement).unwrap();
    let (w, p) = (out.weights.unwrap(), out.accuracy.unwrap());
    assert!((w.iter().sum::<f64>() - 1.0).abs() < 1e-9, "{w:?}");
    let best_other = w[..3].iter().copied().fold(f64::MAX, f64::min);
    assert!(w[3] < 0.25 * best_other, "the random member's weight {} against {w:?}", w[3]);
    assert!((p[3] - 0.5).abs() < 0.1 && p[..3].iter().all(|&x| x > 0.8), "estimated accuracies {p:?}");
    let right = |wl: &WeakLabels| wl.b.iter().zip(&truth).filter(|(p, &t)| argmax(p) == t).count();
    assert!(right(&out.labels) >= right(&members[0]), "at least as accurate as a member");
    // Labels: the weighted mean of the members'.
    let mixed: Vec<f32> =
        (0..k).map(|c| (0..4).map(|m| w[m] * f64::from(members[m].b[9][c])).sum::<f64>() as f32).collect();
    assert!(close(&out.labels.b[9..10], &[mixed]));
    // Two members: nothing tells which is right, so the weights are equal.
    let pair = run(&members[..2], k, Combine::Agreement).unwrap();
    assert_eq!(pair.weights, Some(vec![0.5, 0.5]));
}

#[test]
fn ensembles_of_truth_and_noise_beat_the_noise_alone() {
    let data = test_dataset(400, 2);
    let b: Vec<usize> = (0..400).filter(|i| i % 2 == 1).collect();
    let noise = json!({"kind": "noise", "rate": 0.4});
    let alone =
        b_accuracy(&label_for_test(&test_spec("noise", json!({"rate": 0.4})), &data, &b, 3).unwrap(), &data, &b);
    let members = json!(["ground-truth", noise, {"labeler": noise, "seed_offset": 1}]);
    for how in ["mean", "vote", "agreement"] {
        let wl = label_for_test(&spec(json!({"members": members, "combine": how})), &data, &b, 3).unwrap();
        let acc = b_accuracy(&wl, &data, &b);
        assert!(acc > alone + 0.15, "{how}: {acc} against the noise alone {alone}");
        assert_eq!(wl.test.len(), data.test.len());
    }
    // The seed offset gives the second noise member other draws than the first.
    let twice = json!({"members": [noise, noise], "combine": "vote"});
    let offset = json!({"members": [noise, {"labeler": noise, "seed_offset": 1}], "combine": "vote"});
    let same = label_for_test(&spec(twice), &data, &b, 3).unwrap();
    let other = label_for_test(&spec(offset), &data, &b, 3).unwrap();
    assert!((b_accuracy(&same, &data, &b) - alone).abs() < 1e-12, "two identical members vote as one");
    assert_ne!(same.b, other.b);
}

#[test]
fn keeps_what_every_member_keeps() {
    let data = test_dataset(100, 2);
    let b: Vec<usize> = (0..100).collect();
    let easy = json!({"kind": "easy", "inner": "ground-truth", "fraction": 0.6});
    let inner = label_for_test(&test_spec("easy", easy.clone()), &data, &b, 0).unwrap();
    let wl = label_for_test(&spec(json!({"members": ["ground-truth", easy]})), &data, &b, 0).unwrap();
    assert_eq!(wl.keep, inner.keep);
}

/// A weak trainer that predicts the truth and records, in one curve row, the seed (`step`),
/// the training settings (`epochs`, `lr`) and whether the backbone was the run's (`test_acc`).
struct Recorder {
    run_weak: usize,
}

impl WeakTrainer for Recorder {
    fn train_and_predict(&self, ctx: &LabelerCtx<'_>) -> anyhow::Result<(Probs, Probs, Vec<CurveRow>)> {
        let k = ctx.data.n_classes;
        let b = ctx.b.iter().map(|&i| soft_one_hot(ctx.data.train[i].label, k, 1.0)).collect();
        let test = ctx.data.test.iter().map(|e| soft_one_hot(e.label, k, 1.0)).collect();
        let same = ctx.weak as *const dyn Backbone as *const () as usize == self.run_weak;
        let row = CurveRow {
            role: "weak".into(),
            step: ctx.seed as usize,
            epoch: ctx.weak_train.epochs as f64,
            lr: ctx.weak_train.lr,
            train_loss: 0.0,
            test_loss: 0.0,
            test_acc: f64::from(u8::from(same)),
        };
        Ok((b, test, vec![row]))
    }
}

#[test]
fn members_label_in_their_own_sub_context() {
    let env = w2s_core::Env { cache_dir: std::env::temp_dir(), device: tch::Device::Cpu, show_progress: false };
    let registry = Registry::with_builtins().unwrap();
    let weak = crate::backbones::bow::Bow::new(Default::default()).unwrap();
    let weak_train = TrainConfig::default();
    let data = test_dataset(20, 2);
    let (a, b): (Vec<usize>, Vec<usize>) = (0..20).partition(|i| i % 2 == 0);
    let trainer = Recorder { run_weak: &weak as *const _ as *const () as usize };
    let mut ctx = LabelerCtx {
        env: &env,
        registry: &registry,
        data: &data,
        a: &a,
        b: &b,
        seed: 5,
        weak: &weak,
        weak_train: &weak_train,
        trainer: &trainer,
        curves: Vec::new(),
    };
    let members = json!([
        "model",
        {"labeler": "model", "seed_offset": 3, "weak": {"kind": "bow", "size": "tiny"},
         "weak_train": {"epochs": 4, "lr": 0.01}},
        "ground-truth"
    ]);
    let ensemble = registry.labeler(&spec(json!({"members": members}))).unwrap();
    let wl = ensemble.label(&mut ctx).unwrap();
    assert_eq!(wl.keep, vec![true; b.len()]);
    let got: Vec<(&str, usize, f64, f64, f64)> =
        ctx.curves.iter().map(|r| (r.role.as_str(), r.step, r.epoch, r.lr, r.test_acc)).collect();
    assert_eq!(got, [("weak[0]", 5, 2.0, 5e-5, 1.0), ("weak[1]", 8, 4.0, 0.01, 0.0)]);
}

#[test]
fn bad_input_names_the_field_or_member() {
    let registry = Registry::with_builtins().unwrap();
    let err = |params: serde_json::Value| -> String {
        let e = registry.resolve(w2s_core::registry::Kind::Labeler, &spec(params)).unwrap_err();
        format!("{e:#}")
    };
    let e = err(json!({"members": ["ground-truth"]}));
    assert!(e.contains("`members`") && e.contains("at least 2"), "{e}");
    let e = err(json!({"members": ["ground-truth", "noise"], "combine": "median"}));
    assert!(e.contains("combine") && e.contains("median") && e.contains("agreement"), "{e}");
    let e = err(json!({"members": ["ground-truth", {"labeler": "noise", "seed_ofset": 1}]}));
    assert!(e.contains("members[1]") && e.contains("seed_ofset") && e.contains("seed_offset"), "{e}");
    let e = err(json!({"members": ["ground-truth", {"kind": "noise", "rate": 2.0}]}));
    assert!(e.contains("members[1].labeler") && e.contains("rate"), "{e}");
    let e = err(json!({"members": ["ground-truth", {"labeler": "model", "weak": {"kind": "bow", "size": "huge"}}]}));
    assert!(e.contains("members[1].weak") && e.contains("huge"), "{e}");
    let e = err(json!({"members": [{"labeler": "model", "weak_train": {"lr": 0.0}}, "model"]}));
    assert!(e.contains("members[0].weak_train.lr"), "{e}");
    let e = err(json!({"members": ["model", "model"], "iterations": 0}));
    assert!(e.contains("`iterations`"), "{e}");
    let e = err(json!({"members": ["noise", "model"]}));
    assert!(e.contains("members[0].labeler") && e.contains("rate"), "a bare member is checked too: {e}");
    // Bare and object members resolve alike; the defaults are three seeds of the weak model.
    let full = json!({"members": [{"labeler": "ground-truth"}, {"labeler": "model", "seed_offset": 0}]});
    let short = json!({"members": ["ground-truth", "model"]});
    let resolve = |p| registry.resolve(w2s_core::registry::Kind::Labeler, &spec(p)).unwrap();
    assert_eq!(resolve(full), resolve(short));
    let batch = |b: usize| json!({"members": ["model", {"labeler": "model", "weak_train": {"eval_batch": b}}]});
    assert_eq!(resolve(batch(8)), resolve(batch(512)), "eval_batch cannot change results");
    let defaults = EnsembleParams::default();
    assert!(defaults.validate().is_ok());
    assert_eq!(defaults.members.iter().map(|m| m.seed_offset).collect::<Vec<_>>(), [0, 1, 2]);
    // At label time: a member over another number of classes is named.
    let two = hand(vec![vec![0.5, 0.5]]);
    let three = hand(vec![vec![0.2, 0.3, 0.5]]);
    let e = format!("{:#}", run(&[two.clone(), two.clone(), three], 2, Combine::Mean).unwrap_err());
    assert!(e.contains("members[2] (hand2)") && e.contains("3 classes") && e.contains("task has 2"), "{e}");
    let short_member = WeakLabels { b: vec![], test: vec![], keep: vec![] };
    let e = format!("{:#}", run(&[two, short_member], 2, Combine::Vote).unwrap_err());
    assert!(e.contains("members[1]"), "{e}");
    // Agreement with no example that every member keeps.
    let mut none = hand(vec![vec![1.0, 0.0]]);
    none.keep = vec![false];
    let e = format!("{:#}", run(&[none.clone(), none], 2, Combine::Agreement).unwrap_err());
    assert!(e.contains("agreement") && e.contains("kept by every member"), "{e}");
}
