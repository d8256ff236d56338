//! `engine`: Stockfish as a weak supervisor, limited by `skill` (Skill Level 0–20), `elo`
//! (UCI_LimitStrength + UCI_Elo, 1350–2850), `depth` and/or `nodes`: a ladder of supervisors.
//!
//! Output (`output`):
//! - `soft`: a softmax of the engine's scores divided by `temperature` (centipawns; a mate in n
//!   counts as ±(10000 − 10 n)). For a next-move example the distribution is over the class slots
//!   (the legal moves in [`crate::board::moves::legal_moves`] order; zero on padded slots); moves outside
//!   its `multipv` lines get the lowest line's score minus `unseen_penalty_cp`. For a move pair it
//!   is the preference σ((score a − score b)/temperature), both moves searched with `searchmoves`.
//! - `hard`: one-hot on the move the engine plays (for pairs, `searchmoves` a b).
//! - `auto` (default): `hard` when `skill` or `elo` is set (they weaken the move the engine
//!   *chooses*, not the scores it prints), else `soft`.
//!
//! Every distinct position is searched once per labeler setting and cached in
//! `<cache>/derived/chess-labels/<settings hash>/labels.jsonl`; Skill Level and UCI_Elo draw their
//! weak moves at random inside Stockfish, so the cache is what makes those labels reproducible.
//! A position the engine fails on (after a restart) gets a uniform label and is left out of
//! training (`keep = false`); failures are counted in a warning.

use std::collections::HashMap;

use anyhow::Context;
use serde::{Deserialize, Serialize};
use w2s_core::{params::check, Dataset, Env, Example, LabelerCtx, Params, WeakLabeler, WeakLabels};

use crate::engine::{Analysis, Engine, EngineConfig, Limit, PvLine};
use crate::{board::moves, data::jsonl, engine::pool};

/// Search depth when neither `depth` nor `nodes` is given: this with `skill` or `elo` (which need
/// some depth to weaken the choice among their lines), else depth 1 (the weakest rung).
pub const DEFAULT_DEPTH: u32 = 8;

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct EngineLabelerParams {
    pub skill: Option<u32>,
    pub elo: Option<u32>,
    pub depth: Option<u32>,
    pub nodes: Option<u64>,
    /// "soft", "hard" or "auto".
    pub output: String,
    /// Softmax temperature in centipawns.
    pub temperature: f64,
    /// Lines searched for soft next-move labels.
    pub multipv: usize,
    /// Score below the lowest line given to moves outside the lines (centipawns).
    pub unseen_penalty_cp: f64,
    /// Engines run in parallel (default: one per core). Not part of the cache key.
    pub workers: Option<usize>,
}

impl Default for EngineLabelerParams {
    fn default() -> Self {
        EngineLabelerParams {
            skill: None,
            elo: None,
            depth: None,
            nodes: None,
            output: "auto".into(),
            temperature: 100.0,
            multipv: 8,
            unseen_penalty_cp: 300.0,
            workers: None,
        }
    }
}

impl Params for EngineLabelerParams {
    /// The labels do not depend on how many engines compute them (each position is searched on
    /// its own, and cached without `workers`).
    fn result_neutral_fields() -> &'static [&'static str] {
        &["workers"]
    }
    fn validate(&self) -> anyhow::Result<()> {
        if let Some(s) = self.skill {
            check(s <= 20, "skill", "a Skill Level from 0 to 20")?;
        }
        if let Some(e) = self.elo {
            check((1350..=2850).contains(&e), "elo", "a UCI_Elo from 1350 to 2850")?;
        }
        if let Some(d) = self.depth {
            check((1..=40).contains(&d), "depth", "a depth from 1 to 40")?;
        }
        if let Some(n) = self.nodes {
            check(n >= 1, "nodes", "at least 1 node")?;
        }
        check(["soft", "hard", "auto"].contains(&self.output.as_str()), "output", "\"soft\", \"hard\" or \"auto\"")?;
        check(self.temperature > 0.0, "temperature", "a positive number of centipawns")?;
        check((1..=256).contains(&self.multipv), "multipv", "from 1 to 256 lines")?;
        check(self.unseen_penalty_cp >= 0.0, "unseen_penalty_cp", "a non-negative number")?;
        check(self.workers != Some(0), "workers", "at least 1 (or leave it out for one per core)")
    }
}

impl EngineLabelerParams {
    /// A short name of the rung, e.g. `depth=1`, `skill=3,depth=8`.
    pub fn rung(&self) -> String {
        let mut parts = Vec::new();
        if let Some(s) = self.skill {
            parts.push(format!("skill={s}"));
        }
        if let Some(e) = self.elo {
            parts.push(format!("elo={e}"));
        }
        if let Some(d) = self.depth {
            parts.push(format!("depth={d}"));
        }
        if let Some(n) = self.nodes {
            parts.push(format!("nodes={n}"));
        }
        parts.join(",")
    }

    pub fn hard(&self) -> bool {
        match self.output.as_str() {
            "hard" => true,
            "soft" => false,
            _ => self.skill.is_some() || self.elo.is_some(),
        }
    }

    fn limit(&self) -> Limit {
        let weakened = self.skill.is_some() || self.elo.is_some();
        let depth = match (self.depth, self.nodes) {
            (None, None) => Some(if weakened { DEFAULT_DEPTH } else { 1 }),
            (d, _) => d,
        };
        Limit { depth, nodes: self.nodes, ..Default::default() }
    }

    fn engine_config(&self, path: std::path::PathBuf) -> EngineConfig {
        let mut cfg = EngineConfig::new(path);
        if let Some(s) = self.skill {
            cfg = cfg.option("Skill Level", s);
        }
        if let Some(e) = self.elo {
            cfg = cfg.option("UCI_LimitStrength", "true").option("UCI_Elo", e);
        }
        cfg
    }
}

/// The engine labeler.
pub struct EngineLabeler {
    pub params: EngineLabelerParams,
}

impl EngineLabeler {
    pub fn new(params: EngineLabelerParams) -> anyhow::Result<Self> {
        Ok(EngineLabeler { params })
    }
}

/// What is searched for an example: a position, and for a pair the two moves.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
struct Query {
    fen: String,
    moves: Vec<String>,
}

fn query_of(e: &Example) -> anyhow::Result<Query> {
    match &e.pair {
        None => Ok(Query { fen: e.text.clone(), moves: vec![] }),
        Some(second) => {
            let (fa, a) = e
                .text
                .trim()
                .rsplit_once(' ')
                .with_context(|| format!("pair text {:?} is not \"<FEN> <move>\"", e.text))?;
            let (fb, b) = second
                .trim()
                .rsplit_once(' ')
                .with_context(|| format!("pair text {second:?} is not \"<FEN> <move>\""))?;
            anyhow::ensure!(fa == fb, "the two texts of a pair are different positions: {fa:?} and {fb:?}");
            Ok(Query { fen: fa.to_string(), moves: vec![a.to_string(), b.to_string()] })
        }
    }
}

/// One cached search.
#[derive(Debug, Clone, Serialize, Deserialize)]
struct Searched {
    query: Query,
    lines: Vec<PvLine>,
    bestmove: Option<String>,
}

/// Search every query (cached ones are read back), in parallel.
fn search_all(
    env: &Env,
    p: &EngineLabelerParams,
    queries: &[Query],
) -> anyhow::Result<(HashMap<Query, Analysis>, usize)> {
    let key = EngineLabelerParams { workers: None, ..p.clone() };
    let dir = jsonl::settings_dir(&env.derived_dir("chess-labels")?, &key)?;
    let (mut log, cached, _) = jsonl::Log::open::<Searched>(&dir.join("labels.jsonl"))?;
    let mut found: HashMap<Query, Analysis> =
        cached.into_iter().map(|s| (s.query, Analysis { lines: s.lines, bestmove: s.bestmove })).collect();
    let mut todo: Vec<Query> = queries.iter().filter(|q| !found.contains_key(*q)).cloned().collect();
    todo.sort_by(|a, b| (&a.fen, &a.moves).cmp(&(&b.fen, &b.moves)));
    todo.dedup();
    let mut failed = 0;
    if !todo.is_empty() {
        let path = crate::assets::stockfish_path(env)?;
        let mut engines = pool::start_engines(&p.engine_config(path), pool::workers(p.workers).min(todo.len()))?;
        let bar = w2s_core::progress::bar(env, todo.len() as u64, format!("engine labels ({})", p.rung()));
        let (limit, multipv) = (p.limit(), if p.hard() { 1 } else { p.multipv });
        pool::run(
            &mut engines,
            todo.into_iter().map(|q| (q.clone(), q)),
            |engine: &mut Engine, q: Query| {
                let mpv = if q.moves.is_empty() { multipv } else { 2 };
                engine.analyse(&q.fen, &limit, mpv, &q.moves)
            },
            |q, r| {
                bar.inc(1);
                match r {
                    Ok(a) => {
                        log.append(&Searched {
                            query: q.clone(),
                            lines: a.lines.clone(),
                            bestmove: a.bestmove.clone(),
                        })?;
                        found.insert(q, a);
                    }
                    Err(e) => {
                        failed += 1;
                        tracing::debug!("engine labeler: {e:#}");
                    }
                }
                Ok(true)
            },
        )?;
        bar.finish_and_clear();
    }
    if failed > 0 {
        tracing::warn!(
            "engine labeler ({}): the engine failed on {failed} positions; they get uniform labels",
            p.rung()
        );
    }
    Ok((found, failed))
}

fn softmax(logits: &[f64]) -> Vec<f32> {
    let m = logits.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
    let e: Vec<f64> = logits.iter().map(|l| (l - m).exp()).collect();
    let s: f64 = e.iter().sum();
    e.iter().map(|x| (x / s) as f32).collect()
}

/// The label of `q` from its search, over `n_classes` slots; `None` when there is none.
fn distribution(
    p: &EngineLabelerParams,
    q: &Query,
    a: Option<&Analysis>,
    n_classes: usize,
) -> anyhow::Result<Option<Vec<f32>>> {
    let Some(a) = a else { return Ok(None) };
    if !q.moves.is_empty() {
        let score = |m: &str| a.lines.iter().find(|l| l.mv == m).map(|l| l.score.cp() as f64);
        if p.hard() {
            let Some(best) = a.bestmove.as_deref() else { return Ok(None) };
            return Ok(Some(if best == q.moves[0] { vec![1.0, 0.0] } else { vec![0.0, 1.0] }));
        }
        let (Some(sa), Some(sb)) = (score(&q.moves[0]), score(&q.moves[1])) else { return Ok(None) };
        let pa = 1.0 / (1.0 + (-(sa - sb) / p.temperature).exp());
        return Ok(Some(vec![pa as f32, 1.0 - pa as f32]));
    }
    let legal = moves::legal_moves_uci(&q.fen)?;
    anyhow::ensure!(
        legal.len() <= n_classes,
        "position {} has {} legal moves, more than the {n_classes} classes",
        q.fen,
        legal.len()
    );
    let mut out = vec![0f32; n_classes];
    if p.hard() {
        let Some(j) = a.bestmove.as_ref().and_then(|b| legal.iter().position(|m| m == b)) else { return Ok(None) };
        out[j] = 1.0;
        return Ok(Some(out));
    }
    if a.lines.is_empty() {
        return Ok(None);
    }
    let low = a.lines.iter().map(|l| l.score.cp() as f64).fold(f64::INFINITY, f64::min) - p.unseen_penalty_cp;
    let logits: Vec<f64> = legal
        .iter()
        .map(|m| a.lines.iter().find(|l| &l.mv == m).map_or(low, |l| l.score.cp() as f64) / p.temperature)
        .collect();
    for (j, v) in softmax(&logits).into_iter().enumerate() {
        out[j] = v;
    }
    Ok(Some(out))
}

/// Uniform over the legal moves (or the two pair slots), for examples the engine failed on.
fn uniform(q: &Query, n_classes: usize) -> Vec<f32> {
    let k = if q.moves.is_empty() { moves::legal_moves_uci(&q.fen).map(|l| l.len()).unwrap_or(n_classes) } else { 2 };
    let mut v = vec![0f32; n_classes];
    for x in v.iter_mut().take(k.max(1)) {
        *x = 1.0 / k.max(1) as f32;
    }
    v
}

/// Labels of `examples` (and whether each is a real label rather than a failure's uniform one).
pub fn label_examples(
    env: &Env,
    p: &EngineLabelerParams,
    data_classes: usize,
    examples: &[&Example],
) -> anyhow::Result<Vec<(Vec<f32>, bool)>> {
    let queries: Vec<Query> = examples.iter().map(|e| query_of(e)).collect::<anyhow::Result<_>>()?;
    let (found, _) = search_all(env, p, &queries)?;
    queries
        .iter()
        .map(|q| {
            Ok(match distribution(p, q, found.get(q), data_classes)? {
                Some(d) => (d, true),
                None => (uniform(q, data_classes), false),
            })
        })
        .collect()
}

impl WeakLabeler for EngineLabeler {
    fn label(&self, ctx: &mut LabelerCtx<'_>) -> anyhow::Result<WeakLabels> {
        let data = ctx.data;
        let mut all: Vec<&Example> = ctx.b.iter().map(|&i| &data.train[i]).collect();
        all.extend(data.test.iter());
        let labels = label_examples(ctx.env, &self.params, data.n_classes, &all)?;
        let nb = ctx.b.len();
        let (b, test) = labels.split_at(nb);
        Ok(WeakLabels {
            b: b.iter().map(|(d, _)| d.clone()).collect(),
            test: test.iter().map(|(d, _)| d.clone()).collect(),
            keep: b.iter().map(|(_, ok)| *ok).collect(),
        })
    }
}

/// One rung of the ladder: its accuracy (argmax of its labels against the ground truth).
#[derive(Debug, Clone, PartialEq)]
pub struct LadderRow {
    pub rung: String,
    pub accuracy: f64,
    pub n: usize,
    /// Examples the engine failed on (counted as wrong).
    pub failed: usize,
}

/// The accuracy of each rung on the first `n` test examples of `data` (all when `n` is 0), printed
/// as a table and returned.
pub fn ladder_report(
    env: &Env,
    data: &Dataset,
    rungs: &[EngineLabelerParams],
    n: usize,
) -> anyhow::Result<Vec<LadderRow>> {
    let n = if n == 0 { data.test.len() } else { n.min(data.test.len()) };
    let examples: Vec<&Example> = data.test.iter().take(n).collect();
    let mut rows = Vec::new();
    for r in rungs {
        r.validate()?;
        let labels = label_examples(env, r, data.n_classes, &examples)?;
        let mut right = 0;
        let mut failed = 0;
        for (e, (d, ok)) in examples.iter().zip(&labels) {
            if !ok {
                failed += 1;
                continue;
            }
            let arg = d.iter().enumerate().fold((0, f32::MIN), |b, (j, &v)| if v > b.1 { (j, v) } else { b }).0;
            right += (arg == e.label) as usize;
        }
        rows.push(LadderRow { rung: r.rung(), accuracy: right as f64 / n.max(1) as f64, n, failed });
    }
    println!("{:<28} {:>8} {:>6} {:>6}", "rung", "accuracy", "n", "failed");
    for row in &rows {
        println!("{:<28} {:>8.3} {:>6} {:>6}", row.rung, row.accuracy, row.n, row.failed);
    }
    Ok(rows)
}

w2s_core::register!(WeakLabeler {
    name: "engine",
    description: "Stockfish limited by `skill`, `elo`, `depth` or `nodes`: soft labels from its scores (softmax / temperature) or its move one-hot",
    params: EngineLabelerParams,
    build: EngineLabeler::new,
});
