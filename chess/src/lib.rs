//! Chess for w2s (issue #4): next-move puzzles (`chess-puzzles`) and move-preference pairs
//! (`chess-move-pairs`), Stockfish over UCI as ground truth and as a ladder of weak supervisors,
//! and from-scratch board models that score every legal move.
//!
//! Conventions shared by every part (see [`moves`]):
//! - A next-move example's text is a FEN; its classes are the position's legal moves in
//!   [`moves::legal_moves`] order (sorted by standard UCI string), padded up to the dataset's
//!   `n_classes` (the largest legal-move count in it). Models give padded slots a logit of
//!   [`moves::PAD_LOGIT`], so softmaxes and accuracies only ever see legal moves.
//! - A move-pair example is [`w2s_core::Example::pair`] of two texts `"<FEN> <uci move>"`.

pub mod assets;
pub mod backbone;
pub mod bench;
pub mod board_encoding;
pub mod engine;
pub mod engine_labeler;
pub mod generate;
pub mod jsonl;
pub mod moves;
pub mod openings;
pub mod pool;
pub mod puzzles;
pub mod san;
pub mod tasks;
pub mod text_policy;

/// Reference this from a binary to make sure the crate is linked and its tasks and labeler registered.
pub fn link() {}
