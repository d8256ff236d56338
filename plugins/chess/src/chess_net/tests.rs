//! Unit tests of `chess-net`: shapes, padding, move scoring, and training through the loop.

use super::*;
use crate::board::moves;
use w2s_core::{Example, TrainConfig};
use w2s_runtime::train;

const START: &str = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";
const FENS: [&str; 6] = [
    START,
    "rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1",
    "r3k2r/1P6/8/8/8/8/8/R3K2R w KQkq - 0 1",
    "r1bqkbnr/pppp1ppp/2n5/4p3/4P3/5N2/PPPP1PPP/RNBQKB1R w KQkq - 2 3",
    "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1",
    "4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2",
];

fn env() -> Env {
    Env { cache_dir: std::env::temp_dir(), device: Device::Cpu, show_progress: false }
}

fn max_moves() -> usize {
    FENS.iter().map(|f| moves::legal_moves_uci(f).unwrap().len()).max().unwrap()
}

fn model(size: ChessSize, n: usize) -> Box<dyn Model> {
    ChessNet::new(ChessNetParams { size }).unwrap().build(&env(), n).unwrap()
}

#[test]
fn parameter_counts_match_the_store() {
    for size in ChessSize::ALL {
        let m = ChessModel::new(Device::Cpu, size.config(), 3).unwrap();
        let n: i64 = m.vs.trainable_variables().iter().map(|t| t.numel() as i64).sum();
        assert_eq!(n, size.config().parameters(), "{size:?}");
    }
}

#[test]
fn shapes_pads_and_legal_move_order() {
    tch::manual_seed(0);
    let n = max_moves() + 3;
    let mut m = model(ChessSize::Tiny, n);
    // Random output embeddings, so that different moves get different scores.
    tch::no_grad(|| {
        for (name, mut v) in m.var_store().variables() {
            if name.starts_with("move") {
                v.copy_(&Tensor::randn(v.size(), (Kind::Float, Device::Cpu)));
            }
        }
    });
    let inputs = m.encode(&FENS, &env()).unwrap();
    let rows: Vec<usize> = (0..FENS.len()).collect();
    let logits = m.logits(&inputs, &rows, false).unwrap();
    assert_eq!(logits.size(), [FENS.len() as i64, n as i64]);
    let single: Vec<Vec<String>> = FENS.iter().map(|f| moves::legal_moves_uci(f).unwrap()).collect();
    for (i, fen) in FENS.iter().enumerate() {
        let row = Vec::<f32>::try_from(logits.get(i as i64)).unwrap();
        let k = single[i].len();
        assert!(row[..k].iter().all(|&l| l > -1e8), "{fen}");
        assert!(row[k..].iter().all(|&l| l as f64 == PAD_LOGIT), "{fen}");
        // Legal-move order: slot j is the score of the text "<FEN> <move j>".
        let texts: Vec<String> = single[i].iter().map(|mv| format!("{fen} {mv}")).collect();
        let refs: Vec<&str> = texts.iter().map(|s| s.as_str()).collect();
        let one = m.encode(&refs, &env()).unwrap();
        let l1 = m.logits(&one, &(0..k).collect::<Vec<_>>(), false).unwrap();
        let l1 = Vec::<f32>::try_from(l1.select(1, 0)).unwrap();
        for j in 0..k {
            assert!((l1[j] - row[j]).abs() < 1e-4, "{fen} slot {j} ({}): {} vs {}", single[i][j], l1[j], row[j]);
        }
        let mut distinct = row[..k].to_vec();
        distinct.sort_by(|a, b| a.partial_cmp(b).unwrap());
        distinct.dedup();
        assert_eq!(distinct.len(), k, "scores should differ between moves");
    }
}

#[test]
fn too_many_moves_and_bad_fen_are_errors() {
    let mut m = model(ChessSize::Tiny, 5);
    let err = m.encode(&[START], &env()).err().unwrap().to_string();
    assert!(err.contains("20 moves") && err.contains(START), "{err}");
    let mut m = model(ChessSize::Tiny, 50);
    let err = m.encode(&[START, "rnbqkbnr/pppppppp/8/8 w KQkq - 0 1"], &env()).err().unwrap().to_string();
    assert!(err.contains("malformed FEN") && err.contains("rnbqkbnr/pppppppp/8/8 w"), "{err}");
}

fn fit(job_train: &[&Example], n: usize, size: ChessSize, epochs: usize) -> train::Trained {
    let backbone = ChessNet::new(ChessNetParams { size }).unwrap();
    let targets: Vec<Vec<f32>> = job_train.iter().map(|e| e.gold(if e.pair.is_some() { 2 } else { n })).collect();
    let cfg = TrainConfig { epochs, batch_size: 8, lr: 3e-3, eval_every: 0, ..Default::default() };
    let mut objective = XentObjective;
    let job = train::Job {
        role: "test",
        backbone: &backbone,
        n_classes: if job_train[0].pair.is_some() { 2 } else { n },
        train: job_train,
        targets: &targets,
        test: job_train,
        also_predict: None,
        record: None,
        cfg: &cfg,
        seed: 0,
    };
    train::train_and_predict(&env(), &job, &mut objective).unwrap()
}

struct XentObjective;
impl w2s_core::Objective for XentObjective {
    fn loss(&mut self, logits: &Tensor, targets: &Tensor, _: w2s_core::StepInfo) -> anyhow::Result<Tensor> {
        w2s_core::objective::soft_cross_entropy(logits, targets)
    }
}

#[test]
fn tiny_model_overfits_a_few_positions() {
    let n = max_moves();
    // A fixed, arbitrary "best" move per position.
    let examples: Vec<Example> = FENS
        .iter()
        .enumerate()
        .map(|(i, f)| Example::new(*f, (7 * i + 3) % moves::legal_moves_uci(f).unwrap().len()))
        .collect();
    let refs: Vec<&Example> = examples.iter().collect();
    let t = std::time::Instant::now();
    let trained = fit(&refs, n, ChessSize::Tiny, 40);
    let correct = trained.test.iter().zip(&examples).filter(|(p, e)| w2s_core::metrics::argmax(p) == e.label).count();
    assert_eq!(correct, examples.len(), "train accuracy");
    for (p, e) in trained.test.iter().zip(&examples) {
        let k = moves::legal_moves_uci(&e.text).unwrap().len();
        assert!(p[k..].iter().all(|&q| q == 0.0), "padded slots get probability 0");
    }
    assert!(t.elapsed().as_secs_f64() < 20.0);
}

#[test]
fn reward_model_scores_equal_policy_logits() {
    let n = max_moves();
    let policy = ChessModel::new(Device::Cpu, ChessSize::Tiny.config(), n).unwrap();
    tch::manual_seed(1);
    let mut reward = ChessModel::new(Device::Cpu, ChessSize::Tiny.config(), 1).unwrap();
    tch::no_grad(|| {
        for (name, mut v) in policy.vs.variables() {
            if name.starts_with("move") {
                v.copy_(&Tensor::randn(v.size(), (Kind::Float, Device::Cpu)));
            }
        }
    });
    reward.vs.copy(&policy.vs).unwrap();
    let mut policy = policy;
    let fen = FENS[3];
    let legal = moves::legal_moves_uci(fen).unwrap();
    let pin = policy.encode(&[fen], &env()).unwrap();
    let pl = policy.logits(&pin, &[0], false).unwrap();
    let pl = Vec::<f32>::try_from(pl.get(0)).unwrap();
    // A pair example, scored the way training scores pairs (one reward per text).
    let ex = [Example::pair(format!("{fen} {}", legal[2]), format!("{fen} {}", legal[5]), 1)];
    let refs: Vec<&Example> = ex.iter().collect();
    let enc = train::Encoded::new(&mut reward, &refs, &env()).unwrap();
    let rl = Vec::<f32>::try_from(enc.logits(&reward, &[0], false).unwrap().get(0)).unwrap();
    assert!((rl[0] - pl[2]).abs() < 1e-4 && (rl[1] - pl[5]).abs() < 1e-4, "{rl:?} vs {:?}", &pl[..6]);
    // A reward model trained on pairs learns to prefer the labelled move.
    let pairs: Vec<Example> = FENS
        .iter()
        .flat_map(|f| {
            let l = moves::legal_moves_uci(f).unwrap();
            vec![
                Example::pair(format!("{f} {}", l[0]), format!("{f} {}", l[1]), 1),
                Example::pair(format!("{f} {}", l[2 % l.len()]), format!("{f} {}", l[1]), 0),
            ]
        })
        .collect();
    let refs: Vec<&Example> = pairs.iter().collect();
    let trained = fit(&refs, 1, ChessSize::Tiny, 40);
    let correct = trained.test.iter().zip(&pairs).filter(|(p, e)| w2s_core::metrics::argmax(p) == e.label).count();
    assert_eq!(correct, pairs.len());
}
