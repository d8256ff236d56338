//! The one canonical view of a position's legal moves that tasks, labelers and models share:
//! parse a FEN, list the legal moves sorted by their standard UCI strings (castling as `e1g1`),
//! and map a UCI move to its class index.

use anyhow::{anyhow, Context};
use cozy_chess::{
    util::{display_uci_move, parse_uci_move},
    Board, Move,
};

/// Logit that models give to the padded (non-move) class slots of a position.
pub const PAD_LOGIT: f64 = -1e9;

/// Parse a FEN (standard, not Shredder castling), with an error naming the FEN.
pub fn parse_fen(fen: &str) -> anyhow::Result<Board> {
    Board::from_fen(fen.trim(), false).map_err(|e| anyhow!("malformed FEN {fen:?}: {e:?}"))
}

/// Standard UCI text of a legal move on `board` (castling as king-two-squares, e.g. `e1g1`).
pub fn uci(board: &Board, mv: Move) -> String {
    display_uci_move(board, mv).to_string()
}

/// Every legal move, sorted by UCI string: class `j` of a next-move example is `moves[j]`.
pub fn legal_moves(board: &Board) -> Vec<Move> {
    let mut moves = Vec::with_capacity(64);
    board.generate_moves(|pm| {
        moves.extend(pm);
        false
    });
    let mut keyed: Vec<(String, Move)> = moves.into_iter().map(|m| (uci(board, m), m)).collect();
    keyed.sort_by(|a, b| a.0.cmp(&b.0));
    keyed.into_iter().map(|(_, m)| m).collect()
}

/// The legal moves of a FEN as UCI strings, in class order.
pub fn legal_moves_uci(fen: &str) -> anyhow::Result<Vec<String>> {
    let board = parse_fen(fen)?;
    Ok(legal_moves(&board).into_iter().map(|m| uci(&board, m)).collect())
}

/// Parse a UCI move and check that it is legal on `board`.
pub fn parse_legal(board: &Board, text: &str) -> anyhow::Result<Move> {
    let mv = parse_uci_move(board, text.trim()).map_err(|e| anyhow!("malformed UCI move {text:?}: {e:?}"))?;
    anyhow::ensure!(board.is_legal(mv), "move {text} is not legal in this position");
    Ok(mv)
}

/// Class index of the UCI move `text` in the position `fen` (its place in [`legal_moves`]).
pub fn class_of(fen: &str, text: &str) -> anyhow::Result<usize> {
    let board = parse_fen(fen)?;
    let mv = parse_legal(&board, text).with_context(|| format!("in position {fen}"))?;
    legal_moves(&board).iter().position(|&m| m == mv).ok_or_else(|| anyhow!("move {text} not generated in {fen}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

    #[test]
    fn start_position_has_twenty_sorted_moves() {
        let moves = legal_moves_uci(START).unwrap();
        assert_eq!(moves.len(), 20);
        let mut sorted = moves.clone();
        sorted.sort();
        assert_eq!(moves, sorted);
        assert_eq!(class_of(START, "a2a3").unwrap(), 0);
        assert!(class_of(START, "e2e5").is_err());
    }

    #[test]
    fn castling_is_standard_uci() {
        let fen = "r3k2r/8/8/8/8/8/8/R3K2R w KQkq - 0 1";
        let moves = legal_moves_uci(fen).unwrap();
        assert!(moves.contains(&"e1g1".to_string()) && moves.contains(&"e1c1".to_string()), "{moves:?}");
        assert!(!moves.contains(&"e1h1".to_string()));
    }

    #[test]
    fn malformed_fen_is_named() {
        let err = parse_fen("not a fen").unwrap_err().to_string();
        assert!(err.contains("not a fen"), "{err}");
    }
}
