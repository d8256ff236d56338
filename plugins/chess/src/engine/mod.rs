//! A UCI engine (Stockfish) as a child process: options, `go` with depth / nodes / movetime /
//! mate limits and MultiPV, and the analysis it prints (each line's first move, score, depth).
//!
//! A reader thread forwards the engine's stdout, so every wait has a deadline. An engine that
//! hangs past its deadline or dies is killed and restarted (with the same options) and the
//! position tried once more; a second failure is an error for the caller to count. Every search
//! starts with `ucinewgame`, so that with one thread a depth- or node-limited search depends on
//! the position alone, not on what the engine searched before.

pub mod pool;

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::time::{Duration, Instant};

use anyhow::{anyhow, bail, Context};
use serde::{Deserialize, Serialize};
use w2s_core::Env;

/// Centipawn value given to a mate, less 10 per move to the mate (mate in 1 = 9990 cp).
pub const MATE_CP: i32 = 10_000;

/// Where the engine is: `$W2S_STOCKFISH`, else the bootstrapped asset, else a system
/// `/usr/games/stockfish`; else the asset's error saying how to fetch it.
pub fn stockfish_path(env: &Env) -> anyhow::Result<PathBuf> {
    if let Some(p) = std::env::var_os("W2S_STOCKFISH") {
        return Ok(PathBuf::from(p));
    }
    match env.asset_dir("stockfish") {
        Ok(dir) => Ok(dir.join("stockfish")),
        Err(e) => {
            let system = Path::new("/usr/games/stockfish");
            if system.exists() {
                Ok(system.to_path_buf())
            } else {
                Err(e.context("the chess engine Stockfish is missing (or `apt-get install stockfish`)"))
            }
        }
    }
}

/// A search's score from the side to move's point of view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Score {
    /// Centipawns.
    Cp(i32),
    /// Mate in this many moves (negative: the side to move is mated).
    Mate(i32),
}

impl Score {
    /// Centipawns, with a mate in n as ±([`MATE_CP`] − 10 n).
    pub fn cp(self) -> i32 {
        match self {
            Score::Cp(c) => c,
            Score::Mate(n) if n > 0 => MATE_CP - 10 * n,
            Score::Mate(n) => -MATE_CP + 10 * n.abs(),
        }
    }
    /// A mate for the side to move in at most `n` moves.
    pub fn mates_within(self, n: i32) -> bool {
        matches!(self, Score::Mate(m) if m > 0 && m <= n)
    }
}

/// How long to search: any combination; the engine stops at the first limit reached.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Limit {
    pub depth: Option<u32>,
    pub nodes: Option<u64>,
    pub movetime_ms: Option<u64>,
    /// Look for a mate in this many moves.
    pub mate: Option<u32>,
}

impl Limit {
    pub fn depth(d: u32) -> Self {
        Limit { depth: Some(d), ..Default::default() }
    }
    pub fn nodes(n: u64) -> Self {
        Limit { nodes: Some(n), ..Default::default() }
    }
    pub fn movetime_ms(ms: u64) -> Self {
        Limit { movetime_ms: Some(ms), ..Default::default() }
    }
    pub fn mate(n: u32) -> Self {
        Limit { mate: Some(n), ..Default::default() }
    }
    /// The arguments of `go`.
    pub fn go_args(&self) -> String {
        let mut s = String::new();
        if let Some(d) = self.depth {
            s += &format!(" depth {d}");
        }
        if let Some(n) = self.nodes {
            s += &format!(" nodes {n}");
        }
        if let Some(t) = self.movetime_ms {
            s += &format!(" movetime {t}");
        }
        if let Some(m) = self.mate {
            s += &format!(" mate {m}");
        }
        if s.is_empty() {
            s = " depth 1".into();
        }
        s
    }
}

/// One MultiPV line: its first move, score and the depth it was searched to.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PvLine {
    pub mv: String,
    pub score: Score,
    pub depth: u32,
}

/// What a search printed: its lines, best first, and the move it chose (`None` when the side to
/// move has no legal move). With Skill Level or UCI_LimitStrength the chosen move need not be the
/// first line's.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Analysis {
    pub lines: Vec<PvLine>,
    pub bestmove: Option<String>,
}

/// How to start and drive an engine.
#[derive(Debug, Clone)]
pub struct EngineConfig {
    pub path: PathBuf,
    /// Command-line arguments of the engine (none for Stockfish; a script for `/bin/sh`).
    pub args: Vec<String>,
    /// `setoption` pairs applied at start (and again after a restart), e.g. ("Threads", "1").
    pub options: Vec<(String, String)>,
    /// Deadline for start-up and `isready`.
    pub ready_timeout: Duration,
    /// Deadline for one search beyond its `movetime`.
    pub search_timeout: Duration,
}

impl EngineConfig {
    /// One thread, 16 MB hash, generous deadlines.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        EngineConfig {
            path: path.into(),
            args: Vec::new(),
            options: vec![("Threads".into(), "1".into()), ("Hash".into(), "16".into())],
            ready_timeout: Duration::from_secs(20),
            search_timeout: Duration::from_secs(120),
        }
    }
    pub fn option(mut self, name: &str, value: impl ToString) -> Self {
        self.options.retain(|(n, _)| n != name);
        self.options.push((name.to_string(), value.to_string()));
        self
    }
}

/// A running engine process.
struct Proc {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<String>,
}

impl Proc {
    fn spawn(path: &Path, args: &[String]) -> anyhow::Result<Proc> {
        if !path.exists() {
            bail!(
                "chess engine not found at {}: fetch it with `{}` (or `apt-get install stockfish` and set \
                 W2S_STOCKFISH=/usr/games/stockfish)",
                path.display(),
                w2s_core::env::BOOTSTRAP
            );
        }
        let mut child = Command::new(path)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting the chess engine {}", path.display()))?;
        let stdin = child.stdin.take().context("engine stdin")?;
        let stdout = child.stdout.take().context("engine stdout")?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Ok(Proc { child, stdin, rx })
    }

    fn send(&mut self, cmd: &str) -> anyhow::Result<()> {
        writeln!(self.stdin, "{cmd}")
            .and_then(|_| self.stdin.flush())
            .map_err(|e| anyhow!("engine stopped reading ({e})"))
    }

    /// Lines until one starting with `prefix` (returned), by `deadline`; `on_line` sees the others.
    fn wait_for(&mut self, prefix: &str, deadline: Instant, mut on_line: impl FnMut(&str)) -> anyhow::Result<String> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return Ok(line),
                Ok(line) => on_line(&line),
                Err(RecvTimeoutError::Timeout) => bail!("engine did not answer `{prefix}` in time (hung?)"),
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.try_wait().ok().flatten();
                    bail!("engine exited while we waited for `{prefix}` (status {status:?})")
                }
            }
        }
    }

    fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A UCI engine with restart-and-retry on failure.
pub struct Engine {
    cfg: EngineConfig,
    proc: Proc,
    multipv: usize,
    /// Engine identity from `id name` (e.g. "Stockfish 15.1").
    pub name: String,
    /// How many times the process was restarted after a failure.
    pub restarts: usize,
}

impl Engine {
    /// Start the engine at `path` with default settings.
    pub fn start(path: impl Into<PathBuf>) -> anyhow::Result<Engine> {
        Engine::with_config(EngineConfig::new(path))
    }

    pub fn with_config(cfg: EngineConfig) -> anyhow::Result<Engine> {
        let (proc, name) = Engine::launch(&cfg)?;
        Ok(Engine { cfg, proc, multipv: 1, name, restarts: 0 })
    }

    fn launch(cfg: &EngineConfig) -> anyhow::Result<(Proc, String)> {
        let mut proc = Proc::spawn(&cfg.path, &cfg.args)?;
        let deadline = Instant::now() + cfg.ready_timeout;
        proc.send("uci")?;
        let mut name = String::new();
        proc.wait_for("uciok", deadline, |l| {
            if let Some(n) = l.strip_prefix("id name ") {
                name = n.trim().to_string();
            }
        })
        .with_context(|| format!("starting the UCI engine {}", cfg.path.display()))?;
        for (k, v) in &cfg.options {
            proc.send(&format!("setoption name {k} value {v}"))?;
        }
        proc.send("isready")?;
        proc.wait_for("readyok", deadline, |_| {})?;
        Ok((proc, name))
    }

    /// Kill the process and start a fresh one with the same options.
    pub fn restart(&mut self) -> anyhow::Result<()> {
        self.proc.kill();
        let (proc, name) = Engine::launch(&self.cfg)?;
        self.proc = proc;
        self.name = name;
        self.multipv = 1;
        self.restarts += 1;
        Ok(())
    }

    /// Set an option now and after any restart.
    pub fn set_option(&mut self, name: &str, value: impl ToString) -> anyhow::Result<()> {
        let value = value.to_string();
        self.cfg.options.retain(|(n, _)| n != name);
        self.cfg.options.push((name.to_string(), value.clone()));
        self.proc.send(&format!("setoption name {name} value {value}"))?;
        self.proc.send("isready")?;
        let deadline = Instant::now() + self.cfg.ready_timeout;
        self.proc.wait_for("readyok", deadline, |_| {}).map(|_| ())
    }

    /// Search `fen` with `limit`, `multipv` lines, optionally only among `searchmoves` (UCI).
    /// A hung or dead engine is restarted and the search tried once more.
    pub fn analyse(
        &mut self,
        fen: &str,
        limit: &Limit,
        multipv: usize,
        searchmoves: &[String],
    ) -> anyhow::Result<Analysis> {
        match self.try_analyse(fen, limit, multipv, searchmoves) {
            Ok(a) => Ok(a),
            Err(first) => {
                tracing::debug!("engine failed on {fen} ({first:#}); restarting it and trying again");
                self.restart().context("restarting the engine after a failure")?;
                self.try_analyse(fen, limit, multipv, searchmoves)
                    .with_context(|| format!("engine failed twice on position {fen} (first: {first:#})"))
            }
        }
    }

    /// The move the engine plays in `fen` under `limit`.
    pub fn bestmove(&mut self, fen: &str, limit: &Limit) -> anyhow::Result<Option<String>> {
        Ok(self.analyse(fen, limit, 1, &[])?.bestmove)
    }

    fn try_analyse(
        &mut self,
        fen: &str,
        limit: &Limit,
        multipv: usize,
        searchmoves: &[String],
    ) -> anyhow::Result<Analysis> {
        let multipv = multipv.max(1);
        let ready = Instant::now() + self.cfg.ready_timeout;
        if multipv != self.multipv {
            self.proc.send(&format!("setoption name MultiPV value {multipv}"))?;
            self.multipv = multipv;
        }
        self.proc.send("ucinewgame")?;
        self.proc.send("isready")?;
        self.proc.wait_for("readyok", ready, |_| {})?;
        self.proc.send(&format!("position fen {}", fen.trim()))?;
        let mut go = format!("go{}", limit.go_args());
        if !searchmoves.is_empty() {
            go += &format!(" searchmoves {}", searchmoves.join(" "));
        }
        self.proc.send(&go)?;
        let deadline = Instant::now() + self.cfg.search_timeout + Duration::from_millis(limit.movetime_ms.unwrap_or(0));
        let mut lines: BTreeMap<usize, PvLine> = BTreeMap::new();
        let best = self.proc.wait_for("bestmove", deadline, |l| {
            if let Some((k, line)) = parse_info(l) {
                lines.insert(k, line);
            }
        });
        let best = match best {
            Ok(b) => b,
            Err(e) => {
                self.proc.kill();
                return Err(e);
            }
        };
        let bestmove = best.split_whitespace().nth(1).filter(|m| *m != "(none)" && *m != "0000").map(str::to_string);
        Ok(Analysis { lines: lines.into_values().collect(), bestmove })
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        let _ = self.proc.send("quit");
        for _ in 0..20 {
            if let Ok(Some(_)) = self.proc.child.try_wait() {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        self.proc.kill();
    }
}

/// A complete `info ... multipv k score ... pv m ...` line (not a bound), as (k, line).
pub fn parse_info(line: &str) -> Option<(usize, PvLine)> {
    let mut t = line.split_whitespace();
    if t.next()? != "info" {
        return None;
    }
    let (mut depth, mut k, mut score, mut mv, mut bound) = (0u32, 1usize, None, None, false);
    while let Some(tok) = t.next() {
        match tok {
            "depth" => depth = t.next()?.parse().ok()?,
            "multipv" => k = t.next()?.parse().ok()?,
            "score" => {
                let kind = t.next()?;
                let v: i32 = t.next()?.parse().ok()?;
                score = Some(if kind == "mate" { Score::Mate(v) } else { Score::Cp(v) });
            }
            "lowerbound" | "upperbound" => bound = true,
            "pv" => {
                mv = t.next().map(str::to_string);
                break;
            }
            "string" => return None,
            _ => {}
        }
    }
    if bound {
        return None;
    }
    Some((k, PvLine { mv: mv?, score: score?, depth }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_lines_are_parsed() {
        let (k, l) =
            parse_info("info depth 12 seldepth 18 multipv 2 score cp -35 nodes 1000 nps 1 pv e7e5 g1f3").unwrap();
        assert_eq!((k, l.mv.as_str(), l.score, l.depth), (2, "e7e5", Score::Cp(-35), 12));
        let (_, l) = parse_info("info depth 3 multipv 1 score mate 2 nodes 5 pv d1h5 g7g6").unwrap();
        assert_eq!(l.score, Score::Mate(2));
        assert!(parse_info("info depth 12 score cp 10 lowerbound nodes 4 pv e2e4").is_none());
        assert!(parse_info("info string NNUE evaluation").is_none());
        assert!(parse_info("info depth 0 score mate 0").is_none());
        assert!(parse_info("info depth 5 currmove e2e4 currmovenumber 1").is_none());
    }

    #[test]
    fn mates_map_to_large_centipawns() {
        assert_eq!(Score::Mate(1).cp(), 9990);
        assert_eq!(Score::Mate(-2).cp(), -9980);
        assert!(Score::Mate(3).mates_within(3) && !Score::Mate(4).mates_within(3) && !Score::Cp(900).mates_within(3));
        assert_eq!(Limit { depth: Some(5), nodes: Some(10), ..Default::default() }.go_args(), " depth 5 nodes 10");
    }
}
