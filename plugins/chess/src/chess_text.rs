//! `chess-text`: any text backbone (by default SmolLM2 reading FEN, a pretrained language model)
//! as a chess model. Each legal move of a position becomes the text `"<FEN> <uci>"` (the same
//! text as a `chess-move-pairs` side), the inner backbone scores it with one output, and the
//! position's logits are those scores in [`crate::board::moves::legal_moves`] order, then
//! [`crate::board::moves::PAD_LOGIT`] up to `n_classes`. On move-pair texts (`"<FEN> <uci>"`, one output)
//! it is the inner backbone itself, so a policy and a reward model share the same scorer.
//!
//! Parameters: `scorer`, the inner backbone's spec (default
//! `{"kind": "smollm2", "layers": 4, "mode": "probe", "share_depths": []}`), built from the
//! registry that builds `chess-text` (the host's, plugins included), so any registered text
//! backbone can score. In probe mode every (position, move) text's features are cached, so the
//! frozen forward pass runs once per text across runs, labelers, objectives and seeds; expect
//! about 35 texts per position.

use serde::{Deserialize, Serialize};
use tch::{Kind, Tensor};
use w2s_core::{Backbone, Env, Inputs, Model, Params, Registry, Spec};

use crate::board::moves::{legal_moves_uci, PAD_LOGIT};

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ChessTextParams {
    /// The backbone that scores each `"<FEN> <uci>"` text (built with one output).
    pub scorer: Spec,
}

impl Default for ChessTextParams {
    fn default() -> Self {
        ChessTextParams {
            scorer: Spec::new("smollm2")
                .with("layers", 4)
                .with("mode", "probe")
                .with("share_depths", serde_json::json!([])),
        }
    }
}

impl Params for ChessTextParams {
    fn validate(&self) -> anyhow::Result<()> {
        Ok(())
    }
}

pub struct ChessText {
    scorer: Box<dyn Backbone>,
}

impl ChessText {
    /// The scorer is built from `registry`, the one this backbone is built from.
    pub fn new(params: ChessTextParams, registry: &Registry) -> anyhow::Result<Self> {
        Ok(ChessText { scorer: registry.backbone(&params.scorer)? })
    }
}

impl Backbone for ChessText {
    fn build(&self, env: &Env, n_classes: usize) -> anyhow::Result<Box<dyn Model>> {
        let inner = self.scorer.build(env, 1)?;
        Ok(Box::new(TextPolicy { inner, n_classes, sets: Vec::new() }))
    }
}

w2s_core::register!(Backbone {
    name: "chess-text",
    description: "a text backbone (default SmolLM2 reading FEN) scoring each legal move as \"<FEN> <uci>\"",
    params: ChessTextParams,
    build_with_registry: ChessText::new,
});

/// The inner inputs of one encoded list of positions: every (position, move) text, and where
/// each position's moves start (`offsets[i]..offsets[i + 1]`).
struct Encoded {
    inputs: Inputs,
    offsets: Vec<usize>,
}

struct TextPolicy {
    inner: Box<dyn Model>,
    n_classes: usize,
    /// Every list of positions encoded so far; this model's `Inputs` rows are `[set, position]`.
    sets: Vec<Encoded>,
}

/// A text with a move (`"<FEN> <uci>"`, 7 fields) rather than a bare FEN (6 fields).
fn has_move(text: &str) -> bool {
    text.split_whitespace().count() > 6
}

impl Model for TextPolicy {
    fn encode(&mut self, texts: &[&str], env: &Env) -> anyhow::Result<Inputs> {
        let mut flat = Vec::new();
        let mut offsets = vec![0];
        for text in texts {
            if has_move(text) {
                flat.push(text.trim().to_string());
            } else {
                let moves = legal_moves_uci(text)?;
                anyhow::ensure!(
                    moves.len() <= self.n_classes,
                    "position {text} has {} legal moves but the task has {} classes",
                    moves.len(),
                    self.n_classes
                );
                flat.extend(moves.iter().map(|m| format!("{} {m}", text.trim())));
            }
            offsets.push(flat.len());
        }
        let refs: Vec<&str> = flat.iter().map(|s| s.as_str()).collect();
        let inputs = self.inner.encode(&refs, env)?;
        let set = self.sets.len() as i64;
        self.sets.push(Encoded { inputs, offsets });
        Ok(Inputs::Tokens((0..texts.len() as i64).map(|i| vec![set, i]).collect()))
    }

    fn logits(&self, inputs: &Inputs, rows: &[usize], train: bool) -> anyhow::Result<Tensor> {
        let Inputs::Tokens(handles) = inputs else { anyhow::bail!("chess-text: inputs of another model") };
        let set = handles.first().map_or(0, |h| h[0]) as usize;
        let enc = self.sets.get(set).ok_or_else(|| anyhow::anyhow!("chess-text: unknown input set {set}"))?;
        let (mut flat, mut slots) = (Vec::new(), Vec::new());
        for (b, &r) in rows.iter().enumerate() {
            let pos = handles[r][1] as usize;
            for (j, text_row) in (enc.offsets[pos]..enc.offsets[pos + 1]).enumerate() {
                flat.push(text_row);
                slots.push((b * self.n_classes + j) as i64);
            }
        }
        let scores = self.inner.logits(&enc.inputs, &flat, train)?.view([-1]);
        let device = scores.device();
        let out = Tensor::full([(rows.len() * self.n_classes) as i64], PAD_LOGIT, (Kind::Float, device));
        let out = out.index_copy(0, &Tensor::from_slice(&slots).to_device(device), &scores);
        Ok(out.view([rows.len() as i64, self.n_classes as i64]))
    }

    fn var_store(&self) -> &tch::nn::VarStore {
        self.inner.var_store()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use w2s_core::{Example, TrainConfig};
    use w2s_runtime::train;

    const START: &str = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";
    const MATE_IN_1: &str = "6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1";

    fn policy(scorer: Spec, n_classes: usize) -> Box<dyn Model> {
        w2s_builtin::link(); // the inner backbones register from w2s-builtin
        let env = Env { show_progress: false, ..Env::from_env() };
        ChessText::new(ChessTextParams { scorer }, &Registry::with_builtins().unwrap())
            .unwrap()
            .build(&env, n_classes)
            .unwrap()
    }

    /// A registry that knows one backbone only, `only-here` (a `bow`), as a plugin's would.
    fn registry_with_only_here() -> Registry {
        use w2s_core::{
            params::NoParams,
            registry::{build_from, defaults_of, resolve_from, Entry, Registration},
        };
        w2s_builtin::link();
        let bow: &Registration<dyn Backbone> = Box::leak(Box::new(Registration {
            name: "only-here",
            description: "a bow registered in one registry only",
            defaults: defaults_of::<NoParams>,
            build: |de, _| {
                build_from::<NoParams, dyn Backbone>(de, &Registry::empty(), |_, _| {
                    Registry::with_builtins()?.backbone(&Spec::new("bow").with("size", "tiny"))
                })
            },
            resolve: resolve_from::<NoParams>,
            module: module_path!(),
        }));
        let mut registry = Registry::empty();
        registry.backbones.insert(Entry::from_registration(bow, "a test plugin".into())).unwrap();
        registry
    }

    #[test]
    fn the_scorer_comes_from_the_registry_it_is_built_from() {
        let env = Env { show_progress: false, ..Env::from_env() };
        let params = || ChessTextParams { scorer: Spec::new("only-here") };
        let mut m = ChessText::new(params(), &registry_with_only_here()).unwrap().build(&env, 40).unwrap();
        let inputs = m.encode(&[START], &env).unwrap();
        assert_eq!(m.logits(&inputs, &[0], false).unwrap().size(), [1, 40]);
        let err = ChessText::new(params(), &Registry::with_builtins().unwrap()).err().unwrap().to_string();
        assert!(err.contains("unknown backbone `only-here`"), "{err}");
    }

    #[test]
    fn legal_moves_are_scored_in_order_and_padded() {
        let env = Env { show_progress: false, ..Env::from_env() };
        let mut m = policy(Spec::new("bow").with("size", "tiny"), 40);
        let inputs = m.encode(&[START, MATE_IN_1], &env).unwrap();
        let logits = m.logits(&inputs, &[1, 0], false).unwrap();
        assert_eq!(logits.size(), [2, 40]);
        let n_mate = legal_moves_uci(MATE_IN_1).unwrap().len() as i64;
        assert!(logits.double_value(&[0, n_mate]) <= PAD_LOGIT, "slots past the legal moves are padding");
        assert!(logits.double_value(&[0, n_mate - 1]) > PAD_LOGIT);
        assert!(logits.double_value(&[1, 19]) > PAD_LOGIT && logits.double_value(&[1, 20]) <= PAD_LOGIT, "20 moves");
        // A move text scores like the same move inside its position.
        let pair = m.encode(&[&format!("{START} a2a3")], &env).unwrap();
        let one = m.logits(&pair, &[0], false).unwrap();
        assert!((one.double_value(&[0, 0]) - logits.double_value(&[1, 0])).abs() < 1e-5);
        let err = policy(Spec::new("bow"), 10).encode(&[START], &env).err().unwrap().to_string();
        assert!(err.contains("20 legal moves but the task has 10 classes"), "{err}");
    }

    #[test]
    fn trains_through_the_protocol_loop_and_reads_fen_with_smollm2() {
        w2s_builtin::link();
        let env = Env { show_progress: false, ..Env::from_env() };
        let best = crate::board::moves::class_of(MATE_IN_1, "d1d8").unwrap();
        let train_set = [Example::new(MATE_IN_1, best), Example::new(START, 12)];
        let refs: Vec<&Example> = train_set.iter().collect();
        let targets = train::one_hot(refs.iter().map(|e| e.label), 40);
        let backbone = ChessText::new(
            ChessTextParams {
                scorer: Spec::new("smollm2")
                    .with("layers", 1)
                    .with("mode", "probe")
                    .with("share_depths", serde_json::json!([])),
            },
            &Registry::with_builtins().unwrap(),
        )
        .unwrap();
        let cfg = TrainConfig { epochs: 30, batch_size: 2, lr: 0.05, eval_every: 0, ..Default::default() };
        let job = train::Job {
            role: "student",
            backbone: &backbone,
            n_classes: 40,
            train: &refs,
            targets: &targets,
            test: &refs,
            also_predict: None,
            record: None,
            cfg: &cfg,
            seed: 0,
        };
        let out = train::train_and_predict(&env, &job, &mut w2s_core::objective::SoftXent).unwrap();
        let argmax = |p: &[f32]| w2s_core::metrics::argmax(p);
        assert_eq!(argmax(&out.test[0]), best, "the probe on SmolLM2's FEN features learns the mating move");
        assert!(out.test[0][30..].iter().all(|&p| p == 0.0), "padded slots get no probability");
    }
}
