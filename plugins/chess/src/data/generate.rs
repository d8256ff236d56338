//! Dataset generation: positions with one clearly best move, labelled by full-strength Stockfish.
//!
//! Each source has its own fixed order of candidates, and gets an equal share of the `n`
//! positions asked for; finite sources come first, and what one of them lacks is shared among the
//! sources after it (so playouts fill up whatever the puzzles cannot):
//! - `puzzles`: pychess's `mate_in_{2,3,4}.pgn`; `problems`: its `.olv` direct mates (#2–#4).
//!   Kept when `go mate N` finds a mate in ≤ N and a second search over every other first move
//!   (`searchmoves`, same mate limit, `mate_nodes` cap) finds none: a unique key.
//! - `playouts`: a scid ECO opening position plus 1..=`max_plies` uniformly random legal moves
//!   (seeded per candidate). Kept when, at `depth` with MultiPV `multipv`, the best line beats the
//!   second by ≥ `gap_cp` centipawns (a mate counts as ±(10000 − 10·moves), so a forced mate
//!   against no mate qualifies): the "only one good move" criterion. A cheap search at
//!   `prefilter_depth` first drops candidates whose gap there is below `gap_cp / 2` (most are).
//!
//! A kept position also stores `n_other_moves` other legal moves (seeded), each scored at `depth`
//! with `searchmoves`, so that move pairs can compare good and bad moves.
//!
//! Every processed candidate (kept or not) is appended to
//! `<cache>/derived/chess/<settings hash>/positions.jsonl` as soon as it is known, next to the
//! `settings.json` that made it; a rerun with the same settings resumes (a truncated last line is
//! dropped) and never redoes a candidate. A source's share is the first kept positions in its
//! candidate order, whatever the number of workers. Engine failures (after one restart) are
//! counted, not cached, so a rerun tries them again.

use std::collections::HashMap;
use std::time::Instant;

use anyhow::{bail, Context};
use w2s_core::{rng, Env};

use crate::engine::{Engine, EngineConfig, Limit};
use crate::{board::moves, data::jsonl, data::openings, data::puzzles, engine::pool};

use super::positions::{GenContext, GenSettings, GenStats, Record, Source, GENERATOR_VERSION};

/// A candidate before search.
#[derive(Debug, Clone)]
struct Candidate {
    index: usize,
    id: String,
    source: Source,
    fen: String,
    mate_in: Option<u32>,
    solution: Option<String>,
}

/// The candidates of one source, in their fixed order.
enum Candidates {
    List(Source, Vec<puzzles::Puzzle>),
    Playouts { openings: Vec<openings::Opening>, seed: u64, max_plies: usize, len: usize },
}

impl Candidates {
    fn new(ctx: &GenContext, s: &GenSettings, src: Source, n_playouts: usize) -> anyhow::Result<Candidates> {
        if src == Source::Playouts {
            let eco = ctx
                .eco
                .as_ref()
                .context("chess openings (asset `scid`) are missing: fetch them with `bash scripts/bootstrap.sh`")?;
            let openings = openings::read_eco(eco)?;
            if openings.is_empty() {
                bail!("no opening lines in {}", eco.display());
            }
            return Ok(Candidates::Playouts { openings, seed: s.seed, max_plies: s.max_plies, len: n_playouts });
        }
        let dir = ctx
            .puzzle_dir
            .as_ref()
            .context("chess puzzles (asset `pychess`) are missing: fetch them with `bash scripts/bootstrap.sh`")?;
        let set = puzzles::read_dir(dir, src == Source::Puzzles, src == Source::Problems)?;
        if !set.skipped.is_empty() {
            tracing::info!("{}: {} items skipped {:?}", src.name(), set.skipped.len(), set.skip_counts());
        }
        Ok(Candidates::List(src, set.puzzles))
    }

    fn len(&self) -> usize {
        match self {
            Candidates::List(_, v) => v.len(),
            Candidates::Playouts { len, .. } => *len,
        }
    }

    fn get(&self, index: usize) -> Candidate {
        match self {
            Candidates::List(source, list) => {
                let p = &list[index];
                Candidate {
                    index,
                    id: p.id.clone(),
                    source: *source,
                    fen: p.fen.clone(),
                    mate_in: Some(p.mate_in),
                    solution: p.solution.first().cloned(),
                }
            }
            Candidates::Playouts { openings, seed, max_plies, .. } => {
                // An opening and 1..=max_plies random legal moves (fewer if the game ends).
                let mut r = rng::Rng::new(rng::key(*seed, "chess-playout", index as u64), "playout");
                let opening = &openings[r.below(openings.len())];
                let mut board = moves::parse_fen(&opening.fen).expect("opening positions are valid");
                let plies = 1 + r.below(*max_plies);
                for _ in 0..plies {
                    let legal = moves::legal_moves(&board);
                    if legal.is_empty() {
                        break;
                    }
                    board.play_unchecked(legal[r.below(legal.len())]);
                }
                let id = format!("playout:{index}");
                Candidate { index, id, source: Source::Playouts, fen: board.to_string(), mate_in: None, solution: None }
            }
        }
    }
}

/// Search one candidate with full strength.
fn search(engine: &mut Engine, s: &GenSettings, c: &Candidate) -> anyhow::Result<Record> {
    let board = moves::parse_fen(&c.fen)?;
    let legal: Vec<String> = moves::legal_moves(&board).into_iter().map(|m| moves::uci(&board, m)).collect();
    let mut rec = Record {
        index: c.index,
        id: c.id.clone(),
        source: c.source,
        fen: c.fen.clone(),
        kept: false,
        reason: String::new(),
        best: None,
        lines: vec![],
        others: vec![],
        solution_agrees: None,
    };
    if legal.len() < 2 {
        rec.reason = "fewer than 2 legal moves".into();
        return Ok(rec);
    }
    if let Some(n) = c.mate_in {
        let limit = Limit { mate: Some(n), nodes: Some(s.mate_nodes), ..Default::default() };
        let a = engine.analyse(&c.fen, &limit, 1, &[])?;
        let Some(first) = a.lines.first().filter(|l| l.score.mates_within(n as i32)).cloned() else {
            rec.reason = format!("no mate in {n} found");
            return Ok(rec);
        };
        let rest: Vec<String> = legal.iter().filter(|m| **m != first.mv).cloned().collect();
        let b = engine.analyse(&c.fen, &limit, 1, &rest)?;
        if let Some(alt) = b.lines.first() {
            if alt.score.mates_within(n as i32) {
                rec.reason = format!("not unique: {} also mates in {n}", alt.mv);
                return Ok(rec);
            }
            rec.lines = vec![first.clone(), alt.clone()];
        } else {
            rec.lines = vec![first.clone()];
        }
        rec.solution_agrees = c.solution.as_ref().map(|s| *s == first.mv);
    } else {
        if s.prefilter_depth > 0 {
            let a = engine.analyse(&c.fen, &Limit::depth(s.prefilter_depth), 2, &[])?;
            if a.lines.len() >= 2 && a.lines[0].score.cp() - a.lines[1].score.cp() < s.gap_cp / 2 {
                rec.reason = "gap below gap_cp / 2 at prefilter_depth".into();
                return Ok(rec);
            }
        }
        let a = engine.analyse(&c.fen, &Limit::depth(s.depth), s.multipv, &[])?;
        if a.lines.len() < 2 {
            rec.reason = "engine gave fewer than 2 lines".into();
            return Ok(rec);
        }
        let gap = a.lines[0].score.cp() - a.lines[1].score.cp();
        rec.lines = a.lines;
        if gap < s.gap_cp {
            rec.reason = "gap below gap_cp".into();
            return Ok(rec);
        }
    }
    // Other moves, scored one by one at full strength.
    let mut pool: Vec<&String> = legal.iter().filter(|m| !rec.lines.iter().any(|l| l.mv == **m)).collect();
    let mut r = rng::Rng::new(rng::key(s.seed, "chess-other-moves", c.index as u64), "others");
    r.shuffle(&mut pool);
    for mv in pool.into_iter().take(s.n_other_moves) {
        let a = engine.analyse(&c.fen, &Limit::depth(s.depth), 1, std::slice::from_ref(mv))?;
        if let Some(l) = a.lines.into_iter().find(|l| l.mv == *mv) {
            rec.others.push(l);
        }
    }
    rec.best = Some(rec.lines[0].mv.clone());
    rec.kept = true;
    Ok(rec)
}

/// `n` kept positions for `settings` (fewer if the sources run out), generating what the cache
/// lacks with `workers` engines, and what it took.
pub fn generate(
    ctx: &GenContext,
    settings: &GenSettings,
    n: usize,
    workers: usize,
) -> anyhow::Result<(Vec<Record>, GenStats)> {
    settings.validate()?;
    let start = Instant::now();
    let keyed = (GENERATOR_VERSION, settings);
    let dir = jsonl::settings_dir(&ctx.cache_root, &keyed)?;
    let (mut log, cached, dropped) = jsonl::Log::open::<Record>(&dir.join("positions.jsonl"))?;
    let mut done: HashMap<(Source, usize), Record> = cached.into_iter().map(|r| ((r.source, r.index), r)).collect();
    let mut stats = GenStats { workers, dropped_lines: dropped, ..Default::default() };
    // Finite sources first, playouts last, each once.
    let mut order: Vec<Source> = Vec::new();
    for &src in settings
        .sources
        .iter()
        .filter(|s| **s != Source::Playouts)
        .chain(settings.sources.iter().filter(|s| **s == Source::Playouts))
    {
        if !order.contains(&src) {
            order.push(src);
        }
    }
    let mut engines: Vec<Engine> = Vec::new();
    let bar_env = Env { cache_dir: ctx.cache_root.clone(), device: tch::Device::Cpu, show_progress: ctx.show_progress };
    let bar = w2s_core::progress::bar(&bar_env, n as u64, "chess positions");
    let mut out: Vec<Record> = Vec::new();
    for (k, &src) in order.iter().enumerate() {
        let want = (n - out.len()).div_ceil(order.len() - k);
        // Playouts keep well over one in twenty candidates; allow for far fewer.
        let cands = Candidates::new(ctx, settings, src, 50 * want + 100)?;
        let total = cands.len();
        let mut failed: HashMap<usize, ()> = HashMap::new();
        // The contiguous prefix of finished candidates and the kept positions in it.
        let (mut prefix, mut kept) = (0usize, 0usize);
        let advance = |prefix: &mut usize,
                       kept: &mut usize,
                       done: &HashMap<(Source, usize), Record>,
                       failed: &HashMap<usize, ()>| {
            while *prefix < total && *kept < want {
                match (done.get(&(src, *prefix)), failed.contains_key(prefix)) {
                    (Some(r), _) => *kept += r.kept as usize,
                    (None, true) => {}
                    (None, false) => break,
                }
                *prefix += 1;
            }
        };
        advance(&mut prefix, &mut kept, &done, &failed);
        let base = out.len() as u64;
        bar.set_position(base + kept as u64);
        if kept < want && prefix < total {
            if engines.is_empty() {
                engines = pool::start_engines(&EngineConfig::new(&ctx.engine), workers.max(1))?;
            }
            let todo: Vec<usize> = (prefix..total).filter(|i| !done.contains_key(&(src, *i))).collect();
            let jobs = todo.into_iter().map(|i| (i, cands.get(i)));
            pool::run(
                &mut engines,
                jobs,
                |engine, c: Candidate| search(engine, settings, &c),
                |i, result| {
                    stats.new_candidates += 1;
                    match result {
                        Ok(rec) => {
                            log.append(&rec)?;
                            done.insert((src, i), rec);
                        }
                        Err(e) => {
                            tracing::warn!("chess position {} ({}): {e:#}", i, cands.get(i).id);
                            failed.insert(i, ());
                        }
                    }
                    advance(&mut prefix, &mut kept, &done, &failed);
                    bar.set_position(base + kept as u64);
                    Ok(kept < want)
                },
            )?;
        }
        let st = stats.per_source.entry(src).or_default();
        for i in 0..prefix {
            st.processed += 1;
            match done.get(&(src, i)) {
                Some(r) if r.kept => {
                    st.kept += 1;
                    st.disagree += (r.solution_agrees == Some(false)) as usize;
                    out.push(r.clone());
                }
                Some(r) => {
                    let kind = r.reason.split(':').next().unwrap_or("").to_string();
                    *stats.reasons.entry(format!("{}: {kind}", src.name())).or_insert(0) += 1;
                }
                None => st.failed += 1,
            }
        }
    }
    bar.finish_and_clear();
    stats.seconds = start.elapsed().as_secs_f64();
    tracing::info!("chess dataset {}: {stats}", dir.display());
    Ok((out, stats))
}

/// Generate `n` positions with 1 and with 2 workers (fresh caches in a temporary folder) and
/// return (seconds with 1, seconds with 2, speed-up).
pub fn worker_speedup(ctx: &GenContext, settings: &GenSettings, n: usize) -> anyhow::Result<(f64, f64, f64)> {
    let mut secs = Vec::new();
    for w in [1, 2] {
        let tmp = std::env::temp_dir().join(format!("w2s-chess-speedup-{}-{w}", std::process::id()));
        let _ = std::fs::remove_dir_all(&tmp);
        let c = GenContext { cache_root: tmp.clone(), show_progress: false, ..ctx.clone() };
        let (_, st) = generate(&c, settings, n, w)?;
        let _ = std::fs::remove_dir_all(&tmp);
        secs.push(st.seconds);
    }
    Ok((secs[0], secs[1], secs[0] / secs[1].max(1e-9)))
}
