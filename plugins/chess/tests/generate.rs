//! Dataset generation (resumable, worker-count independent), a known puzzle's answer, the two
//! tasks on a tiny setting and the engine labeler's ladder.

use std::collections::HashSet;

use w2s_chess::board::moves;
use w2s_chess::data::{
    generate::generate,
    positions::{GenContext, GenSettings, Record, Source},
};
use w2s_chess::labeler::{ladder_report, EngineLabelerParams};
use w2s_chess::tasks::{ChessMovePairs, ChessPuzzles, ChessPuzzlesParams};
use w2s_core::{Env, Params, Task};

fn ctx(root: &std::path::Path) -> GenContext {
    let env = Env::from_env();
    GenContext {
        cache_root: root.to_path_buf(),
        show_progress: false,
        ..GenContext::from_env(&env).expect("chess assets (run `bash scripts/bootstrap.sh`)")
    }
}

fn playouts() -> GenSettings {
    GenSettings {
        sources: vec![Source::Playouts],
        depth: 6,
        multipv: 2,
        n_other_moves: 1,
        prefilter_depth: 3,
        ..Default::default()
    }
}

fn lines_of(dir: &std::path::Path) -> Vec<Record> {
    let sub = std::fs::read_dir(dir).unwrap().next().unwrap().unwrap().path();
    assert!(sub.join("settings.json").exists());
    std::fs::read_to_string(sub.join("positions.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn generation_resumes_without_redoing_and_ignores_worker_count() {
    let tmp = tempfile::tempdir().unwrap();
    let c = ctx(tmp.path());
    let (three, _) = generate(&c, &playouts(), 3, 1).unwrap();
    assert_eq!(three.len(), 3);
    // Interrupt: a half-written last line.
    let sub = std::fs::read_dir(tmp.path()).unwrap().next().unwrap().unwrap().path();
    let before = lines_of(tmp.path()).len();
    let mut f = std::fs::OpenOptions::new().append(true).open(sub.join("positions.jsonl")).unwrap();
    std::io::Write::write_all(&mut f, b"{\"index\": 99, \"id\": \"playo").unwrap();
    drop(f);
    let (five, stats) = generate(&c, &playouts(), 5, 2).unwrap();
    assert_eq!(five.len(), 5);
    assert_eq!(&five[..3], &three[..]);
    assert_eq!(stats.dropped_lines, 1);
    let recs = lines_of(tmp.path());
    let ids: HashSet<usize> = recs.iter().map(|r| r.index).collect();
    assert_eq!(ids.len(), recs.len(), "no candidate searched twice");
    assert!(recs.len() >= before);
    // A rerun searches nothing.
    let (again, stats) = generate(&c, &playouts(), 5, 2).unwrap();
    assert_eq!((again, stats.new_candidates), (five.clone(), 0));
    // One worker from scratch gives the same dataset.
    let tmp2 = tempfile::tempdir().unwrap();
    let (fresh, _) = generate(&ctx(tmp2.path()), &playouts(), 5, 1).unwrap();
    assert_eq!(fresh, five);
    for r in &five {
        let best = r.best.as_deref().unwrap();
        assert!(moves::class_of(&r.fen, best).is_ok());
        assert!(r.lines[0].score.cp() - r.lines[1].score.cp() >= 150, "{r:?}");
        assert_eq!(r.others.len(), 1);
    }
}

#[test]
fn a_known_puzzle_has_its_known_key() {
    let tmp = tempfile::tempdir().unwrap();
    let s = GenSettings { sources: vec![Source::Puzzles], ..Default::default() };
    let (recs, stats) = generate(&ctx(tmp.path()), &s, 1, 1).unwrap();
    // mate_in_2.pgn opens with Buckle–NN, London 1840: 1. Nf6+ gxf6 2. Bxf7#.
    assert_eq!(recs[0].id, "mate_in_2.pgn:9");
    assert_eq!(recs[0].best.as_deref(), Some("d5f6"));
    assert_eq!(recs[0].solution_agrees, Some(true));
    assert!(recs[0].lines[0].score.mates_within(2));
    println!("{stats}");
}

#[test]
fn tasks_and_ladder_on_a_tiny_setting() {
    let env = Env { show_progress: false, ..Env::from_env() };
    let p = ChessPuzzlesParams {
        n_train: 6,
        n_test: 4,
        sources: vec![Source::Playouts],
        depth: 6,
        workers: Some(2),
        ..Default::default()
    };
    p.validate().unwrap();
    let data = ChessPuzzles::new(p.clone()).unwrap().load(&env).unwrap();
    assert_eq!((data.train.len(), data.test.len()), (6, 4));
    for e in data.train.iter().chain(&data.test) {
        let n = moves::legal_moves_uci(&e.text).unwrap().len();
        assert!(e.label < n && n <= data.n_classes);
    }
    assert_eq!(data.class_names[1], "move 1");
    let pairs = ChessMovePairs::new(p.pairs()).unwrap().load(&env).unwrap();
    assert_eq!((pairs.n_classes, pairs.train.len(), pairs.test.len()), (2, 6, 4));
    for e in pairs.train.iter().chain(&pairs.test) {
        let (fa, _) = e.text.rsplit_once(' ').unwrap();
        let (fb, _) = e.pair.as_ref().unwrap().rsplit_once(' ').unwrap();
        assert_eq!(fa, fb);
    }
    let rungs = [
        EngineLabelerParams { depth: Some(1), ..Default::default() },
        EngineLabelerParams { depth: Some(8), output: "hard".into(), ..Default::default() },
    ];
    let rows = ladder_report(&env, &data, &rungs, 0).unwrap();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| (0.0..=1.0).contains(&r.accuracy) && r.failed == 0));
    let rows = ladder_report(&env, &pairs, &rungs[..1], 0).unwrap();
    assert_eq!(rows[0].n, 4);
}

#[test]
fn real_puzzle_files_load() {
    let dir = w2s_chess::assets::puzzle_dir(&Env::from_env()).unwrap();
    let pgn = w2s_chess::data::puzzles::read_dir(&dir, true, false).unwrap();
    let olv = w2s_chess::data::puzzles::read_dir(&dir, false, true).unwrap();
    println!(
        "pgn: {} puzzles, skipped {:?}; olv: {} problems, skipped {:?}",
        pgn.puzzles.len(),
        pgn.skip_counts(),
        olv.puzzles.len(),
        olv.skip_counts()
    );
    assert!(pgn.puzzles.len() >= 900, "{}", pgn.puzzles.len());
    assert!(olv.puzzles.len() >= 3000, "{}", olv.puzzles.len());
    let eco = w2s_chess::data::openings::read_eco(&w2s_chess::assets::eco_path(&Env::from_env()).unwrap()).unwrap();
    println!("scid.eco: {} distinct opening positions", eco.len());
    assert!(eco.len() > 5000);
}
