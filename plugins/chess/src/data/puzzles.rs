//! Readers of pychess's mate puzzles: `mate_in_{2,3,4}.pgn` (latin-1 PGN with a `FEN` header and
//! the solution in SAN) and the `*.olv` composed problems (YAML: piece lists and a `#N`
//! stipulation, white to move; only plain direct mates without twins or fairy options).
//!
//! A malformed FEN, an unreadable problem or an illegal solution move skips that item only, with
//! its file, line and reason recorded in [`PuzzleSet::skipped`]; the rest of the file still loads.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context;
use cozy_chess::Board;

use crate::{board::moves, board::san};

/// One puzzle: a position where the side to move mates in `mate_in` moves.
#[derive(Debug, Clone, PartialEq)]
pub struct Puzzle {
    /// File name and line of the item (e.g. `mate_in_2.pgn:9`): a stable identifier.
    pub id: String,
    /// The position, as cozy-chess writes it.
    pub fen: String,
    pub mate_in: u32,
    /// The given solution in UCI (empty for composed problems, whose key the engine finds).
    pub solution: Vec<String>,
}

/// An item left out, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct Skipped {
    pub file: String,
    pub line: usize,
    /// Short kind of reason (`malformed FEN`, `illegal solution move`, ...), for counts.
    pub kind: &'static str,
    pub reason: String,
}

/// What a file (or folder) held.
#[derive(Debug, Clone, Default)]
pub struct PuzzleSet {
    pub puzzles: Vec<Puzzle>,
    pub skipped: Vec<Skipped>,
}

impl PuzzleSet {
    /// How many items were skipped for each kind of reason.
    pub fn skip_counts(&self) -> BTreeMap<&'static str, usize> {
        let mut m = BTreeMap::new();
        for s in &self.skipped {
            *m.entry(s.kind).or_insert(0) += 1;
        }
        m
    }
    fn extend(&mut self, other: PuzzleSet) {
        self.puzzles.extend(other.puzzles);
        self.skipped.extend(other.skipped);
    }
}

/// Bytes as latin-1 text (every byte one char), which is also right for plain ASCII.
pub fn latin1(bytes: &[u8]) -> String {
    bytes.iter().map(|&b| b as char).collect()
}

/// Parse a FEN, tolerating a full-move number of 0 (as pychess writes), into cozy-chess's form.
pub fn parse_fen_lenient(fen: &str) -> anyhow::Result<Board> {
    let mut fields: Vec<&str> = fen.split_whitespace().collect();
    if fields.len() == 4 {
        fields.extend(["0", "1"]);
    }
    if fields.len() == 6 && fields[5] == "0" {
        fields[5] = "1";
    }
    moves::parse_fen(&fields.join(" "))
}

/// Every `mate_in_*.pgn` (when `pgn`) and `*.olv` (when `olv`) file of `dir`, in name order.
pub fn read_dir(dir: &Path, pgn: bool, olv: bool) -> anyhow::Result<PuzzleSet> {
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the puzzle folder {}", dir.display()))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (pgn && n.starts_with("mate_in_") && n.ends_with(".pgn")) || (olv && n.ends_with(".olv"))
        })
        .collect();
    names.sort();
    let mut set = PuzzleSet::default();
    for p in names {
        let text = latin1(&std::fs::read(&p).with_context(|| format!("reading {}", p.display()))?);
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        set.extend(if name.ends_with(".pgn") { read_pgn(&name, &text) } else { read_olv(&name, &text) });
    }
    Ok(set)
}

/// Mate-in-N puzzles of a PGN file's text. N comes from the `Termination` header ("mate in 2"),
/// else from the file name (`mate_in_2.pgn`), else from the solution's length.
pub fn read_pgn(file: &str, text: &str) -> PuzzleSet {
    let mut set = PuzzleSet::default();
    let from_name = file.strip_prefix("mate_in_").and_then(|r| r.split('.').next()).and_then(|n| n.parse::<u32>().ok());
    let mut game: Option<PgnGame> = None;
    let mut in_moves = false;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('[') {
            if in_moves || game.is_none() {
                if let Some(g) = game.take() {
                    finish_pgn(file, g, from_name, &mut set);
                }
                game = Some(PgnGame { line: i + 1, ..Default::default() });
                in_moves = false;
            }
            let g = game.as_mut().unwrap();
            if let Some((tag, value)) = parse_tag(line) {
                if tag == "FEN" {
                    g.fen = Some((value, i + 1));
                } else if tag == "Termination" {
                    g.termination = value;
                }
            }
        } else if !line.is_empty() && !line.starts_with('%') {
            let g = game.get_or_insert_with(|| PgnGame { line: i + 1, ..Default::default() });
            in_moves = true;
            g.movetext.push(' ');
            g.movetext.push_str(line);
        }
    }
    if let Some(g) = game {
        finish_pgn(file, g, from_name, &mut set);
    }
    set
}

#[derive(Default)]
struct PgnGame {
    line: usize,
    fen: Option<(String, usize)>,
    termination: String,
    movetext: String,
}

/// `[Tag "value"]` → (tag, value).
fn parse_tag(line: &str) -> Option<(String, String)> {
    let inner = line.strip_prefix('[')?.trim_end().strip_suffix(']')?;
    let (tag, rest) = inner.split_once(char::is_whitespace)?;
    let value = rest.trim().strip_prefix('"')?.strip_suffix('"')?;
    Some((tag.to_string(), value.replace("\\\"", "\"")))
}

/// The SAN moves of PGN movetext: comments, variations, NAGs, move numbers and results removed.
pub fn movetext_sans(text: &str) -> Vec<String> {
    let mut clean = String::new();
    let (mut brace, mut paren) = (false, 0usize);
    for c in text.chars() {
        match c {
            '{' => brace = true,
            '}' => brace = false,
            '(' if !brace => paren += 1,
            ')' if !brace => paren = paren.saturating_sub(1),
            _ if brace || paren > 0 => {}
            _ => clean.push(c),
        }
    }
    clean
        .split_whitespace()
        .filter(|t| !["*", "1-0", "0-1", "1/2-1/2"].contains(t))
        .map(|t| t.trim_start_matches(|c: char| c.is_ascii_digit()).trim_start_matches('.'))
        .filter(|t| !t.is_empty() && !t.starts_with('$'))
        .map(str::to_string)
        .collect()
}

fn finish_pgn(file: &str, g: PgnGame, from_name: Option<u32>, set: &mut PuzzleSet) {
    let skip = |line: usize, kind: &'static str, reason: String| Skipped { file: file.to_string(), line, kind, reason };
    let Some((fen, fen_line)) = g.fen else {
        set.skipped.push(skip(g.line, "no FEN header", format!("{file}:{}: game without a FEN header", g.line)));
        return;
    };
    let board = match parse_fen_lenient(&fen) {
        Ok(b) => b,
        Err(e) => {
            set.skipped.push(skip(fen_line, "malformed FEN", format!("{file}:{fen_line}: {e}")));
            return;
        }
    };
    let sans = movetext_sans(&g.movetext);
    let mut b = board.clone();
    let mut solution = Vec::new();
    for (k, s) in sans.iter().enumerate() {
        match san::parse_san(&b, s) {
            Ok(mv) => {
                solution.push(moves::uci(&b, mv));
                b.play_unchecked(mv);
            }
            Err(e) => {
                let reason = format!("{file}:{fen_line}: solution move {} ({s}): {e}", k + 1);
                set.skipped.push(skip(fen_line, "illegal solution move", reason));
                return;
            }
        }
    }
    if solution.is_empty() {
        set.skipped.push(skip(fen_line, "no solution", format!("{file}:{fen_line}: no solution moves")));
        return;
    }
    let from_term = g.termination.to_lowercase().strip_prefix("mate in ").and_then(|n| n.trim().parse::<u32>().ok());
    let mate_in = from_term.or(from_name).unwrap_or(solution.len().div_ceil(2) as u32);
    set.puzzles.push(Puzzle { id: format!("{file}:{fen_line}"), fen: board.to_string(), mate_in, solution });
}

/// Direct-mate problems (`stipulation: "#N"`, N ≤ 4) of an `.olv` file's text, white to move, no
/// castling; problems with `options` (fairy conditions) or `twins` are left out (not counted as
/// skipped), a bad piece list or an illegal position is skipped with its line.
pub fn read_olv(file: &str, text: &str) -> PuzzleSet {
    let mut set = PuzzleSet::default();
    let mut start = 0usize;
    let mut doc: Vec<&str> = Vec::new();
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        if line.trim_end() == "---" {
            if !doc.is_empty() {
                olv_doc(file, start, &doc, &mut set);
            }
            doc.clear();
            start = i + 2;
        } else {
            doc.push(line);
        }
    }
    if !doc.is_empty() {
        olv_doc(file, start, &doc, &mut set);
    }
    set
}

fn olv_doc(file: &str, line: usize, doc: &[&str], set: &mut PuzzleSet) {
    let top = |key: &str| doc.iter().find_map(|l| l.strip_prefix(key).map(str::trim));
    if top("options:").is_some() || top("twins:").is_some() {
        return;
    }
    let Some(stip) = top("stipulation:") else { return };
    let Some(n) =
        stip.trim_matches('"').strip_prefix('#').and_then(|n| n.parse::<u32>().ok()).filter(|n| (1..=4).contains(n))
    else {
        return;
    };
    let list = |color: &str| doc.iter().find_map(|l| l.trim_start().strip_prefix(&format!("{color}:")).map(str::trim));
    let skip = |reason: String| Skipped {
        file: file.to_string(),
        line,
        kind: "bad problem",
        reason: format!("{file}:{line}: {reason}"),
    };
    let (Some(white), Some(black)) = (list("white"), list("black")) else {
        set.skipped.push(skip("no piece lists".into()));
        return;
    };
    let mut grid = [[' '; 8]; 8];
    for (items, upper) in [(white, true), (black, false)] {
        for item in
            items.trim_start_matches('[').trim_end_matches(']').split(',').map(str::trim).filter(|s| !s.is_empty())
        {
            let b = item.as_bytes();
            let ok = b.len() == 3
                && b"KQRBSP".contains(&b[0])
                && (b'a'..=b'h').contains(&b[1])
                && (b'1'..=b'8').contains(&b[2]);
            if !ok {
                set.skipped.push(skip(format!("bad piece {item:?}")));
                return;
            }
            let p = if b[0] == b'S' { 'n' } else { (b[0] as char).to_ascii_lowercase() };
            grid[(b[2] - b'1') as usize][(b[1] - b'a') as usize] = if upper { p.to_ascii_uppercase() } else { p };
        }
    }
    let fen = format!("{} w - - 0 1", board_field(&grid));
    match moves::parse_fen(&fen) {
        Ok(b) => {
            set.puzzles.push(Puzzle { id: format!("{file}:{line}"), fen: b.to_string(), mate_in: n, solution: vec![] })
        }
        Err(e) => set.skipped.push(skip(format!("illegal position: {e}"))),
    }
}

/// The piece-placement field of a FEN from `grid[rank][file]` (rank 0 = rank 1).
fn board_field(grid: &[[char; 8]; 8]) -> String {
    let mut rows = Vec::new();
    for rank in (0..8).rev() {
        let mut row = String::new();
        let mut empty = 0;
        for &c in &grid[rank] {
            if c == ' ' {
                empty += 1;
            } else {
                if empty > 0 {
                    row += &empty.to_string();
                    empty = 0;
                }
                row.push(c);
            }
        }
        if empty > 0 {
            row += &empty.to_string();
        }
        rows.push(row);
    }
    rows.join("/")
}

#[cfg(test)]
mod tests {
    use super::*;

    const PGN: &str = r#"[Event "?"]
[FEN "r2qkb1r/pp2nppp/3p4/2pNN1B1/2BnP3/3P4/PPP2PPP/R2bK2R w KQkq - 1 0"]
[Termination "mate in 2"]

1. Nf6+ gxf6 2. Bxf7# *

[Event "broken"]
[FEN "this is not a fen"]

1. e4 *

[Event "illegal"]
[FEN "4kb1r/p2n1ppp/4q3/4p1B1/4P3/1Q6/PPP2PPP/2KR4 w k - 1 0"]
[Termination "mate in 2"]

1. Qb8+ Nxb8 2. Ke2 *

[Event "ok, with comments"]
[FEN "4kb1r/p2n1ppp/4q3/4p1B1/4P3/1Q6/PPP2PPP/2KR4 w k - 1 0"]

1. Qb8+ {the key} (1. Qb5 a6) Nxb8 $1 2. Rd8# *
"#;

    #[test]
    fn pgn_puzzles_load_and_bad_items_are_counted() {
        let set = read_pgn("mate_in_2.pgn", PGN);
        assert_eq!(set.puzzles.len(), 2, "{:?}", set.skipped);
        assert_eq!(set.puzzles[0].solution, ["d5f6", "g7f6", "c4f7"]);
        assert_eq!(set.puzzles[0].mate_in, 2);
        assert_eq!(set.puzzles[0].id, "mate_in_2.pgn:2");
        assert_eq!(set.puzzles[1].solution, ["b3b8", "d7b8", "d1d8"]);
        assert_eq!(set.puzzles[1].mate_in, 2, "from the file name");
        let counts = set.skip_counts();
        assert_eq!(counts.get("malformed FEN"), Some(&1));
        assert_eq!(counts.get("illegal solution move"), Some(&1));
        let bad = &set.skipped[0];
        assert!(bad.reason.starts_with("mate_in_2.pgn:8:") && bad.reason.contains("not a fen"), "{}", bad.reason);
        assert!(set.skipped[1].reason.contains("Ke2"), "{}", set.skipped[1].reason);
    }

    #[test]
    fn olv_problems_become_positions() {
        let text = "---\nauthors:\n  - Loyd, Samuel\nalgebraic:\n  white: [Kg6, Qa7, Rg4, Rd8, Bh8, Sf4, Sd4, Pf2, Pc2]\n  black: [Ke4, Sf6, Sd5, Pf3, Pc3]\nstipulation: \"#2\"\nsolution: |\n  1.Qa8\n---\nalgebraic:\n  white: [Kg6, Qz7]\n  black: [Ke4]\nstipulation: \"#2\"\n---\nalgebraic:\n  white: [Kg6]\n  black: [Ke4]\nstipulation: \"h#2\"\n";
        let set = read_olv("loyd.olv", text);
        assert_eq!(set.puzzles.len(), 1);
        assert_eq!(set.puzzles[0].fen, "3R3B/Q7/5nK1/3n4/3NkNR1/2p2p2/2P2P2/8 w - - 0 1");
        assert_eq!(set.puzzles[0].id, "loyd.olv:2");
        assert_eq!(set.skipped.len(), 1);
        assert!(set.skipped[0].reason.contains("Qz7"));
    }

    #[test]
    fn movetext_is_cleaned() {
        assert_eq!(movetext_sans("1. e4 e5 2. Nf3 {c} (2. f4 exf4) 2... Nc6 $2 1-0"), ["e4", "e5", "Nf3", "Nc6"]);
    }
}
