//! What `chess-net` sees of a text: the position as the active indices of a sparse one-hot
//! feature vector, and the moves to score as indices in a fixed move vocabulary.
//!
//! Everything is seen from the side to move ("us"): with black to move, ranks are mirrored
//! (a8 becomes a1) and colours swapped, so that one set of weights serves both colours and a
//! move's vocabulary entry means the same geometric move for either side.
//!
//! Features ([`N_FEATURES`] = 781):
//! - `plane * 64 + square` for every piece, planes 0–5 our pawn, knight, bishop, rook, queen,
//!   king and 6–11 theirs (768 features);
//! - 768–771 castling rights: our short, our long, their short, their long;
//! - 772–779 the en-passant file, if any;
//! - 780 black is to move (the mirroring hides it; kept for completeness).
//!
//! Move vocabulary ([`N_MOVES`] = 4168): `from * 64 + to` (mirrored squares) for every move,
//! queen promotions included; castling is the king moving to its rook's square (cozy-chess's
//! representation, unique); under-promotions (always from our 7th rank to our 8th after
//! mirroring) are `4096 + (from_file * 3 + (to_file - from_file + 1)) * 3 + piece`, piece
//! 0 knight, 1 bishop, 2 rook.
//!
//! Each scored move also has three [`N_MOVE_FEATURES`] = 14 features shared by all squares: the
//! piece moved (0–5), the piece captured (6 none, 7–11 pawn … queen; en passant is a pawn) and
//! whether it gives check (12 no, 13 yes), so that what a capture or a check is worth is learned
//! once rather than per from–to entry. A scored move is stored as the group
//! `[vocabulary index, moved, captured, check]` ([`MOVE_GROUP`] numbers).
//!
//! A text is either a FEN (next-move mode: score every legal move, in
//! [`crate::board::moves::legal_moves`] order) or `"<FEN> <uci move>"` (move-scoring mode: score that
//! one move).

use anyhow::Context;
use cozy_chess::{Board, Color, Move, Piece, Square};

use crate::board::moves;

/// Size of the one-hot position features.
pub const N_FEATURES: usize = 12 * 64 + 4 + 8 + 1;
/// Size of the move vocabulary.
pub const N_MOVES: usize = 64 * 64 + 8 * 3 * 3;

/// Size of the table of move features (moved piece, captured piece, check).
pub const N_MOVE_FEATURES: usize = 14;
/// Numbers stored per scored move: vocabulary index, moved piece, captured piece, check.
pub const MOVE_GROUP: usize = 4;

/// A parsed text: the position's active features and, per move scored, its group
/// `[vocabulary index, moved, captured, check]` (flattened, [`MOVE_GROUP`] numbers a move).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedText {
    pub features: Vec<i64>,
    pub moves: Vec<i64>,
}

impl EncodedText {
    /// Number of moves scored.
    pub fn n_moves(&self) -> usize {
        self.moves.len() / MOVE_GROUP
    }
    /// Vocabulary indices of the moves scored.
    pub fn vocab(&self) -> Vec<i64> {
        self.moves.chunks(MOVE_GROUP).map(|g| g[0]).collect()
    }
}

/// The group `[vocabulary index, moved, captured, check]` of a legal move `mv` on `board`.
pub fn move_group(board: &Board, mv: Move) -> [i64; MOVE_GROUP] {
    let us = board.side_to_move();
    let moved = board.piece_on(mv.from).map_or(0, |p| p as i64);
    let captured = match (board.piece_on(mv.to), board.color_on(mv.to)) {
        (Some(p), Some(c)) if c != us => 7 + p as i64,
        // En passant: a pawn moving diagonally to an empty square.
        (None, _) if moved == 0 && mv.from.file() != mv.to.file() => 7,
        _ => 6,
    };
    let mut after = board.clone();
    after.play_unchecked(mv);
    let check = if after.checkers().is_empty() { 12 } else { 13 };
    [move_index(board, mv) as i64, moved, captured, check]
}

fn rel(sq: Square, us: Color) -> usize {
    sq.relative_to(us) as usize
}

/// Active feature indices of `board`, from the side to move's point of view.
pub fn board_features(board: &Board) -> Vec<i64> {
    let us = board.side_to_move();
    let mut f = Vec::with_capacity(40);
    for (side, color) in [(0usize, us), (1, !us)] {
        for piece in Piece::ALL {
            for sq in board.colored_pieces(color, piece) {
                f.push(((side * 6 + piece as usize) * 64 + rel(sq, us)) as i64);
            }
        }
    }
    for (k, color) in [(0usize, us), (1, !us)] {
        let rights = board.castle_rights(color);
        if rights.short.is_some() {
            f.push((768 + 2 * k) as i64);
        }
        if rights.long.is_some() {
            f.push((769 + 2 * k) as i64);
        }
    }
    if let Some(file) = board.en_passant() {
        f.push((772 + file as usize) as i64);
    }
    if us == Color::Black {
        f.push(780);
    }
    f
}

/// Vocabulary index of a legal move `mv` on `board` (see the module header).
pub fn move_index(board: &Board, mv: Move) -> usize {
    let us = board.side_to_move();
    let (from, to) = (rel(mv.from, us), rel(mv.to, us));
    match mv.promotion {
        Some(p) if p != Piece::Queen => {
            let piece = match p {
                Piece::Knight => 0,
                Piece::Bishop => 1,
                _ => 2,
            };
            let (ff, tf) = (from % 8, to % 8);
            4096 + ((ff * 3 + (tf + 1 - ff)) * 3 + piece)
        }
        _ => from * 64 + to,
    }
}

/// Split `"<FEN> <uci>"` into the FEN and the move; a bare FEN gives `None`.
pub fn split_move(text: &str) -> (&str, Option<&str>) {
    let t = text.trim();
    if let Some((fen, last)) = t.rsplit_once(char::is_whitespace) {
        let b = last.as_bytes();
        let sq = |f: u8, r: u8| (b'a'..=b'h').contains(&f) && (b'1'..=b'8').contains(&r);
        let is_move = (b.len() == 4 || (b.len() == 5 && b"qrbn".contains(&b[4]))) && sq(b[0], b[1]) && sq(b[2], b[3]);
        if is_move {
            return (fen.trim_end(), Some(last));
        }
    }
    (t, None)
}

/// Parse a text (FEN, or FEN and a move) into features and the moves to score.
pub fn encode_text(text: &str) -> anyhow::Result<EncodedText> {
    let (fen, mv) = split_move(text);
    let board = moves::parse_fen(fen)?;
    let features = board_features(&board);
    let moves = match mv {
        Some(m) => {
            let mv = moves::parse_legal(&board, m).with_context(|| format!("in text {text:?}"))?;
            move_group(&board, mv).to_vec()
        }
        None => moves::legal_moves(&board).into_iter().flat_map(|m| move_group(&board, m)).collect(),
    };
    Ok(EncodedText { features, moves })
}

#[cfg(test)]
mod tests {
    use super::*;

    const START: &str = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

    #[test]
    fn start_position_features_and_moves() {
        let e = encode_text(START).unwrap();
        assert_eq!(e.features.len(), 32 + 4);
        assert_eq!(e.n_moves(), 20);
        // a2a3 is class 0: from a2 (8) to a3 (16), a pawn move, no capture, no check.
        assert_eq!(e.moves[..4], [8 * 64 + 16, 0, 6, 12]);
        let one = encode_text(&format!("{START} e2e4")).unwrap();
        assert_eq!(one.features, e.features);
        assert_eq!(one.moves, vec![12 * 64 + 28, 0, 6, 12]);
    }

    #[test]
    fn black_sees_the_mirrored_board() {
        // After 1. e4 the mirrored position of black equals white's start, except the e-pawn.
        let b = encode_text("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1").unwrap();
        let w = encode_text(START).unwrap();
        let ours = |e: &EncodedText| e.features.iter().filter(|&&f| f < 384).copied().collect::<Vec<_>>();
        assert_eq!(ours(&b), ours(&w));
        assert!(b.features.contains(&780));
        // e7e5 for black is e2e4 for white.
        let e5 = encode_text("rnbqkbnr/pppppppp/8/8/4P3/8/PPPP1PPP/RNBQKBNR b KQkq - 0 1 e7e5").unwrap();
        assert_eq!(e5.vocab(), vec![12 * 64 + 28]);
    }

    #[test]
    fn promotions_and_castling_have_distinct_indices() {
        let fen = "r3k2r/1P6/8/8/8/8/8/R3K2R w KQkq - 0 1";
        let e = encode_text(fen).unwrap();
        let mut sorted = e.vocab();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), e.n_moves(), "indices collide");
        assert!(e.vocab().iter().all(|&m| (m as usize) < N_MOVES));
        assert_eq!(e.vocab().iter().filter(|&&m| m >= 4096).count(), 6, "b7a8/b7b8 x n,b,r");
        let castle = encode_text(&format!("{fen} e1g1")).unwrap();
        assert_eq!(castle.moves, vec![4 * 64 + 7, 5, 6, 12]);
        // b7a8q captures a rook and gives check (the queen on a8 sees e8).
        assert_eq!(encode_text(&format!("{fen} b7a8q")).unwrap().moves, vec![49 * 64 + 56, 0, 10, 13]);
        // En passant captures a pawn.
        let ep = encode_text("4k3/8/8/3pP3/8/8/8/4K3 w - d6 0 2 e5d6").unwrap();
        assert_eq!(ep.moves[2], 7);
    }

    #[test]
    fn text_modes() {
        assert_eq!(split_move(START), (START, None));
        assert_eq!(split_move(&format!("{START} e7e8q")), (START, Some("e7e8q")));
        assert_eq!(split_move("8/8/8/8/8/8/8/8 w - e3"), ("8/8/8/8/8/8/8/8 w - e3", None));
        let err = encode_text("not a fen").unwrap_err().to_string();
        assert!(err.contains("not a fen"), "{err}");
        let err = format!("{:#}", encode_text(&format!("{START} e2e5")).unwrap_err());
        assert!(err.contains("e2e5") && err.contains(START), "{err}");
    }
}
