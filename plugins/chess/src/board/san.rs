//! Standard Algebraic Notation (SAN) to legal moves, as written in PGN files and opening lists:
//! check marks, annotations (`!`, `?!`), `e.p.`, zero castling (`0-0`), `=` or bare promotion
//! letters and over-disambiguation (`Ng1f3`) are all accepted. A move that is not legal in the
//! position, or ambiguous, is an error naming the move.

use anyhow::{anyhow, bail};
use cozy_chess::{
    util::{display_san_move, parse_san_move},
    Board, Move,
};

use crate::board::moves;

/// Strip what SAN allows around a move: annotations, check and mate marks, `e.p.`; castling with
/// zeros becomes letter O's.
pub fn normalise(text: &str) -> String {
    let mut s = text.trim().replace("e.p.", "");
    while s.ends_with(['!', '?', '+', '#']) {
        s.pop();
    }
    if s == "0-0" || s == "0-0-0" {
        s = s.replace('0', "O");
    }
    s.trim().to_string()
}

/// The legal move that `san` denotes on `board`.
pub fn parse_san(board: &Board, san: &str) -> anyhow::Result<Move> {
    let s = normalise(san);
    if s.is_empty() || s == "--" || s == "Z0" {
        bail!("no move in {san:?}");
    }
    if let Ok(mv) = parse_san_move(board, &s) {
        return Ok(mv);
    }
    // Fall back on comparing with each legal move's canonical SAN (marks stripped) and on
    // permissive forms: lowercase promotion, a pawn written with `P`, full source squares.
    let alt = s.strip_prefix('P').filter(|r| r.starts_with(|c: char| c.is_ascii_lowercase())).unwrap_or(&s);
    let alt = promotion_upper(alt);
    let legal = moves::legal_moves(board);
    let mut found: Vec<Move> = legal
        .iter()
        .copied()
        .filter(|&m| {
            let canon = normalise(&display_san_move(board, m).to_string());
            canon == alt
                || canon.replace('=', "") == alt.replace('=', "")
                || long_form(board, m) == alt.replace(['x', '-', '='], "")
        })
        .collect();
    found.dedup();
    match found.len() {
        1 => Ok(found[0]),
        0 => Err(anyhow!("move {san:?} is not legal or ambiguous in this position")),
        _ => Err(anyhow!("move {san:?} is ambiguous in this position")),
    }
}

/// SAN of a legal move (with check/mate marks), e.g. for messages.
pub fn to_san(board: &Board, mv: Move) -> String {
    display_san_move(board, mv).to_string()
}

/// `e7e8=q` → `e7e8=Q`: a promotion letter in upper case.
fn promotion_upper(s: &str) -> String {
    let b = s.as_bytes();
    if b.len() >= 2 && b[b.len() - 2] == b'=' {
        let mut t = s[..s.len() - 1].to_string();
        t.push(s.as_bytes()[s.len() - 1].to_ascii_uppercase() as char);
        return t;
    }
    s.to_string()
}

/// The fully disambiguated form `Ng1f3` / `e7e8Q` of a move (piece letter, source, target,
/// promotion), for SAN written with source squares.
fn long_form(board: &Board, mv: Move) -> String {
    let piece = board.piece_on(mv.from).map(|p| p.to_string().to_ascii_uppercase()).unwrap_or_default();
    let piece = if piece == "P" { String::new() } else { piece };
    let uci = moves::uci(board, mv);
    let promo = uci.get(4..).map(|p| p.to_ascii_uppercase()).unwrap_or_default();
    format!("{piece}{}{promo}", &uci[..4])
}

/// Play a list of SAN moves from `board`, failing at the first illegal one (naming it and its
/// place in the list).
pub fn play_line(board: &Board, sans: &[&str]) -> anyhow::Result<Board> {
    let mut b = board.clone();
    for (i, san) in sans.iter().enumerate() {
        let mv = parse_san(&b, san).map_err(|e| anyhow!("move {} of the line: {e}", i + 1))?;
        b.play_unchecked(mv);
    }
    Ok(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn uci_of(fen: &str, san: &str) -> String {
        let b = moves::parse_fen(fen).unwrap();
        moves::uci(&b, parse_san(&b, san).unwrap())
    }

    const START: &str = "rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1";

    #[test]
    fn plain_moves_and_marks() {
        assert_eq!(uci_of(START, "e4"), "e2e4");
        assert_eq!(uci_of(START, "Nf3"), "g1f3");
        assert_eq!(uci_of(START, "Nf3!?"), "g1f3");
        assert_eq!(uci_of(START, "Ng1f3"), "g1f3");
        assert_eq!(uci_of(START, "Pe4"), "e2e4");
        let b = moves::parse_fen(START).unwrap();
        assert!(parse_san(&b, "e5").unwrap_err().to_string().contains("not legal"));
        assert!(parse_san(&b, "Ke2").is_err());
    }

    #[test]
    fn castling_promotion_en_passant_disambiguation() {
        let fen = "r3k2r/1P6/8/3pP3/8/8/8/R3K2R w KQkq d6 0 1";
        assert_eq!(uci_of(fen, "O-O"), "e1g1");
        assert_eq!(uci_of(fen, "0-0-0+"), "e1c1");
        assert_eq!(uci_of(fen, "exd6"), "e5d6");
        assert_eq!(uci_of(fen, "exd6 e.p."), "e5d6");
        assert_eq!(uci_of(fen, "bxa8=Q+"), "b7a8q");
        assert_eq!(uci_of(fen, "bxa8=q"), "b7a8q");
        assert_eq!(uci_of(fen, "b8N"), "b7b8n");
        // Two knights can reach d2: needs a file.
        let knights = "4k3/8/8/8/8/8/8/1N2KN2 w - - 0 1";
        let b = moves::parse_fen(knights).unwrap();
        assert!(parse_san(&b, "Nd2").unwrap_err().to_string().contains("not legal or ambiguous"));
        assert_eq!(uci_of(knights, "Nbd2"), "b1d2");
        assert_eq!(uci_of(knights, "Nf1d2"), "f1d2");
        assert_eq!(uci_of(fen, "Rd1"), "a1d1");
    }

    #[test]
    fn round_trip_over_every_legal_move() {
        let fens = [START, "r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1"];
        for fen in fens {
            let b = moves::parse_fen(fen).unwrap();
            for m in moves::legal_moves(&b) {
                assert_eq!(parse_san(&b, &to_san(&b, m)).unwrap(), m, "{fen} {}", to_san(&b, m));
            }
        }
    }

    #[test]
    fn a_line_is_played_or_the_bad_move_named() {
        let b = moves::parse_fen(START).unwrap();
        let after = play_line(&b, &["e4", "e5", "Nf3", "Nc6", "Bb5"]).unwrap();
        assert_eq!(after.to_string(), "r1bqkbnr/pppp1ppp/2n5/1B2p3/4P3/5N2/PPPP1PPP/RNBQK2R b KQkq - 3 3");
        let err = play_line(&b, &["e4", "e4"]).unwrap_err().to_string();
        assert!(err.contains("move 2"), "{err}");
    }
}
