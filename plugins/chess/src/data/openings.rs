//! Opening positions from scid's `scid.eco`: each entry is `CODE "Name" 1.e4 e5 2.Nf3 ... *`
//! (possibly over several lines); the position after its moves (played with [`crate::board::san`]) is
//! one opening. Duplicates are dropped; an entry with an illegal move is skipped and counted.

use std::collections::HashSet;
use std::path::Path;

use anyhow::Context;
use cozy_chess::Board;

use crate::{board::san, data::puzzles::movetext_sans};

/// One opening: its ECO code and name and the position after its line.
#[derive(Debug, Clone, PartialEq)]
pub struct Opening {
    pub eco: String,
    pub name: String,
    pub fen: String,
}

/// Openings of scid.eco's text, in file order, unique by position; and the entries skipped (line, reason).
pub fn parse_eco(text: &str) -> (Vec<Opening>, Vec<(usize, String)>) {
    let mut out = Vec::new();
    let mut skipped = Vec::new();
    let mut seen = HashSet::new();
    let mut entry = String::new();
    let mut start = 0;
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.starts_with('#') || (line.is_empty() && entry.is_empty()) {
            continue;
        }
        if entry.is_empty() {
            start = i + 1;
        }
        entry.push(' ');
        entry.push_str(line);
        if !line.ends_with('*') {
            continue;
        }
        let e = std::mem::take(&mut entry);
        match parse_entry(&e) {
            Ok(o) => {
                if seen.insert(o.fen.clone()) {
                    out.push(o);
                }
            }
            Err(err) => skipped.push((start, format!("{err:#}"))),
        }
    }
    (out, skipped)
}

fn parse_entry(e: &str) -> anyhow::Result<Opening> {
    let e = e.trim();
    let (eco, rest) = e.split_once(char::is_whitespace).context("no ECO code")?;
    let rest = rest.trim().strip_prefix('"').context("no quoted name")?;
    let (name, moves) = rest.split_once('"').context("unterminated name")?;
    let sans = movetext_sans(moves);
    let refs: Vec<&str> = sans.iter().map(String::as_str).collect();
    let board = san::play_line(&Board::default(), &refs).with_context(|| format!("{eco} {name:?}"))?;
    Ok(Opening { eco: eco.to_string(), name: name.to_string(), fen: board.to_string() })
}

/// The openings of the scid.eco file at `path`.
pub fn read_eco(path: &Path) -> anyhow::Result<Vec<Opening>> {
    let text = std::fs::read(path).with_context(|| format!("reading {}", path.display()))?;
    let (openings, skipped) = parse_eco(&crate::data::puzzles::latin1(&text));
    if !skipped.is_empty() {
        tracing::warn!(
            "{}: {} opening lines skipped (first: line {}: {})",
            path.display(),
            skipped.len(),
            skipped[0].0,
            skipped[0].1
        );
    }
    Ok(openings)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eco_entries_over_lines_and_duplicates() {
        let text = "# comment\nA00a \"Start position\"  *\nA00b \"Barnes\"  1.f3 *\nC60 \"Ruy Lopez\"  1.e4 e5 2.Nf3 Nc6\n  3.Bb5 *\nA00x \"Bad\" 1.e5 *\nA00y \"Barnes again\" 1.f3 *\n";
        let (o, skipped) = parse_eco(text);
        assert_eq!(o.len(), 3);
        assert_eq!(o[0].fen, Board::default().to_string());
        assert_eq!(o[2].fen, "r1bqkbnr/pppp1ppp/2n5/1B2p3/4P3/5N2/PPPP1PPP/RNBQK2R b KQkq - 3 3");
        assert_eq!(skipped.len(), 1);
        assert_eq!(skipped[0].0, 6);
    }
}
