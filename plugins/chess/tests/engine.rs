//! The UCI wrapper against the real Stockfish (a few positions at low depth) and against fake
//! engines that hang, crash, or crash once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use w2s_chess::board::moves;
use w2s_chess::engine::{self, Engine, EngineConfig, Limit, Score};

fn stockfish() -> PathBuf {
    engine::stockfish_path(&w2s_core::Env::from_env()).expect("Stockfish (run `bash scripts/bootstrap.sh`)")
}

/// A shell script that speaks just enough UCI; `on_go` is the shell code run for `go`. It is run
/// as `/bin/sh <script>`, never executed itself: executing a file just written fails with "Text
/// file busy" while a test running in parallel forks (its child holds our write descriptor until
/// it execs).
fn fake_engine(dir: &Path, name: &str, on_go: &str) -> EngineConfig {
    let path = dir.join(name);
    let script = format!(
        "while read line; do\n  case \"$line\" in\n    uci) echo 'id name Fake'; echo uciok;;\n    isready) echo readyok;;\n    go*) {on_go};;\n    quit) exit 0;;\n  esac\ndone\n"
    );
    std::fs::write(&path, script).unwrap();
    EngineConfig {
        args: vec![path.to_str().unwrap().to_string()],
        ready_timeout: Duration::from_secs(5),
        search_timeout: Duration::from_millis(500),
        ..EngineConfig::new("/bin/sh")
    }
}

const START: &str = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

#[test]
fn stockfish_analyses_with_multipv() {
    let mut e = Engine::start(stockfish()).unwrap();
    assert!(e.name.starts_with("Stockfish"), "{}", e.name);
    let a = e.analyse(START, &Limit::depth(6), 3, &[]).unwrap();
    assert_eq!(a.lines.len(), 3);
    let legal = moves::legal_moves_uci(START).unwrap();
    for w in a.lines.windows(2) {
        assert!(w[0].score.cp() >= w[1].score.cp(), "{:?}", a.lines);
    }
    assert!(a.lines.iter().all(|l| legal.contains(&l.mv) && l.depth >= 1));
    assert_eq!(a.bestmove.as_deref(), Some(a.lines[0].mv.as_str()));
    // Restricted to two moves, only those are searched.
    let only = ["a2a3".to_string(), "e2e4".to_string()];
    let a = e.analyse(START, &Limit::nodes(2000), 2, &only).unwrap();
    assert!(a.lines.iter().all(|l| only.contains(&l.mv)) && a.lines.len() == 2, "{:?}", a.lines);
    // Searches are reproducible (ucinewgame before each).
    let x = e.analyse(START, &Limit::depth(5), 2, &[]).unwrap();
    let y = e.analyse(START, &Limit::depth(5), 2, &[]).unwrap();
    assert_eq!(x, y);
}

#[test]
fn stockfish_finds_a_known_mate() {
    let mut e = Engine::start(stockfish()).unwrap();
    // Back-rank mate in one: Rd8#.
    let a = e.analyse("6k1/5ppp/8/8/8/8/5PPP/3R2K1 w - - 0 1", &Limit::mate(1), 1, &[]).unwrap();
    assert_eq!((a.lines[0].mv.as_str(), a.lines[0].score), ("d1d8", Score::Mate(1)));
    // A mated side has no move.
    let a = e.analyse("3R2k1/5ppp/8/8/8/8/5PPP/6K1 b - - 1 1", &Limit::depth(3), 1, &[]).unwrap();
    assert_eq!(a.bestmove, None);
    // Limited strength takes options.
    e.set_option("Skill Level", 0).unwrap();
    assert!(e.bestmove(START, &Limit::depth(3)).unwrap().is_some());
}

#[test]
fn missing_engine_says_how_to_fetch_it() {
    let err = Engine::start("/nonexistent/stockfish").err().unwrap().to_string();
    assert!(err.contains("bootstrap.sh") && err.contains("apt-get install stockfish"), "{err}");
}

#[test]
fn hung_engine_is_killed_restarted_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::with_config(fake_engine(dir.path(), "hang.sh", ":")).unwrap();
    let t = Instant::now();
    let err = format!("{:#}", e.analyse(START, &Limit::depth(1), 1, &[]).unwrap_err());
    assert!(err.contains("failed twice") && err.contains("in time"), "{err}");
    assert_eq!(e.restarts, 1);
    assert!(t.elapsed() < Duration::from_secs(5), "{:?}", t.elapsed());
}

#[test]
fn crashing_engine_is_restarted_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let mut e = Engine::with_config(fake_engine(dir.path(), "crash.sh", "exit 3")).unwrap();
    let err = format!("{:#}", e.analyse(START, &Limit::depth(1), 1, &[]).unwrap_err());
    assert!(err.contains("failed twice") && err.contains("exited"), "{err}");
    assert_eq!(e.restarts, 1);
}

#[test]
fn engine_that_crashes_once_is_retried_successfully() {
    let dir = tempfile::tempdir().unwrap();
    let marker = dir.path().join("crashed");
    let on_go = format!(
        "if [ -f {m} ]; then echo 'info depth 1 multipv 1 score cp 12 nodes 1 pv e2e4'; echo 'bestmove e2e4'; else touch {m}; exit 1; fi",
        m = marker.display()
    );
    let mut e = Engine::with_config(fake_engine(dir.path(), "flaky.sh", &on_go)).unwrap();
    let a = e.analyse(START, &Limit::depth(1), 1, &[]).unwrap();
    assert_eq!(a.bestmove.as_deref(), Some("e2e4"));
    assert_eq!(a.lines[0].score, Score::Cp(12));
    assert_eq!(e.restarts, 1);
}

/// Fake engines written and started at once from parallel threads, as parallel tests do: none
/// fails to start ("Text file busy" when a just-written script was executed itself).
#[test]
fn fake_engines_start_while_others_are_written() {
    let dir = tempfile::tempdir().unwrap();
    std::thread::scope(|s| {
        for t in 0..8 {
            let dir = dir.path();
            s.spawn(move || {
                for i in 0..10 {
                    let cfg = fake_engine(dir, &format!("e{t}-{i}.sh"), "echo 'bestmove e2e4'");
                    let mut e = Engine::with_config(cfg).unwrap_or_else(|e| panic!("{e:#}"));
                    assert_eq!(e.bestmove(START, &Limit::depth(1)).unwrap().as_deref(), Some("e2e4"));
                }
            });
        }
    });
}
