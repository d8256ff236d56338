//! Move generation against known perft counts, and random games that only play legal moves and
//! end by the rules (mate, stalemate, 50-move rule, insufficient material or a ply cap).

use cozy_chess::{Board, GameStatus, Piece};
use w2s_chess::board::moves;
use w2s_core::rng::Rng;

fn perft(board: &Board, depth: u32) -> u64 {
    let legal = moves::legal_moves(board);
    if depth == 1 {
        return legal.len() as u64;
    }
    legal
        .into_iter()
        .map(|m| {
            let mut b = board.clone();
            b.play(m);
            perft(&b, depth - 1)
        })
        .sum()
}

fn check(fen: &str, expected: &[u64]) {
    let board = moves::parse_fen(fen).unwrap();
    for (d, &want) in expected.iter().enumerate() {
        assert_eq!(perft(&board, d as u32 + 1), want, "perft({}) of {fen}", d + 1);
    }
}

#[test]
fn perft_start_position() {
    check("rnbqkbnr/pppppppp/8/8/8/8/PPPPPPPP/RNBQKBNR w KQkq - 0 1", &[20, 400, 8902, 197281]);
}

#[test]
fn perft_kiwipete() {
    check("r3k2r/p1ppqpb1/bn2pnp1/3PN3/1p2P3/2N2Q1p/PPPBBPPP/R3K2R w KQkq - 0 1", &[48, 2039, 97862]);
}

#[test]
fn perft_position_3() {
    check("8/2p5/3p4/KP5r/1R3p1k/8/4P1P1/8 w - - 0 1", &[14, 191, 2812, 43238]);
}

/// Only kings, or kings and one minor piece.
fn insufficient(b: &Board) -> bool {
    let minors = b.pieces(Piece::Knight).len() + b.pieces(Piece::Bishop).len();
    let heavy = b.pieces(Piece::Pawn).len() + b.pieces(Piece::Rook).len() + b.pieces(Piece::Queen).len();
    heavy == 0 && minors <= 1
}

#[test]
fn random_games_play_legal_moves_and_end_by_the_rules() {
    let mut ended = [0usize; 4]; // mate, stalemate/50-move, insufficient material, cap
    for g in 0..40 {
        let mut rng = Rng::new(g, "random-game");
        let mut b = Board::default();
        for ply in 0.. {
            let legal = moves::legal_moves(&b);
            match b.status() {
                GameStatus::Won => {
                    assert!(legal.is_empty() && !b.checkers().is_empty());
                    ended[0] += 1;
                    break;
                }
                GameStatus::Drawn => {
                    assert!(legal.is_empty() || b.halfmove_clock() >= 100);
                    ended[1] += 1;
                    break;
                }
                GameStatus::Ongoing => assert!(!legal.is_empty()),
            }
            if insufficient(&b) {
                ended[2] += 1;
                break;
            }
            if ply >= 600 {
                ended[3] += 1;
                break;
            }
            let mv = legal[rng.below(legal.len())];
            let uci = moves::uci(&b, mv);
            // Every generated move is legal and round-trips through its UCI text and class index.
            assert!(b.is_legal(mv));
            let fen = b.to_string();
            assert_eq!(moves::legal_moves_uci(&fen).unwrap()[moves::class_of(&fen, &uci).unwrap()], uci);
            b.try_play(mv).unwrap();
        }
    }
    assert_eq!(ended.iter().sum::<usize>(), 40);
    assert!(ended[3] < 40, "some random game should end by the rules: {ended:?}");
}
