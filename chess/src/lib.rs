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

pub mod moves;
