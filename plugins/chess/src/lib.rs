//! # w2s-chess: chess as a w2s plugin
//!
//! Next-move puzzles (`chess-puzzles`) and move-preference pairs (`chess-move-pairs`), Stockfish
//! over UCI as ground truth and as a ladder of weak supervisors (`engine`), from-scratch board
//! models that score every legal move (`chess-net`) and any text backbone reading FEN
//! (`chess-text`), the chess presets and the `w2s chess-report` command (issue #4).
//!
//! It is written exactly as a third-party plugin would be: it links `w2s-core` only, registers
//! everything with `register!`, `register_preset!` and `register_command!`, and builds nested
//! components from the registry it is given. The `w2s` binary links it statically.
//!
//! Conventions shared by every part (see [`board::moves`]):
//! - A next-move example's text is a FEN; its classes are the position's legal moves in
//!   [`board::moves::legal_moves`] order (sorted by standard UCI string), padded up to the
//!   dataset's `n_classes` (the largest legal-move count in it). Models give padded slots a logit
//!   of [`board::moves::PAD_LOGIT`], so softmaxes and accuracies only ever see legal moves.
//! - A move-pair example is [`w2s_core::Example::pair`] of two texts `"<FEN> <uci move>"`.
//!
//! Layout: [`board`] (moves, SAN, the board encoding), [`engine`] (the UCI engine and its
//! worker pool), [`data`] (position generation, puzzle and opening files, the JSONL cache), then
//! one file per registered component ([`tasks`], [`labeler`], [`chess_net`], [`chess_text`]),
//! [`presets`], the [`report`] command and the training [`bench`].

pub mod assets;
pub mod bench;
pub mod board;
pub mod chess_net;
pub mod chess_text;
pub mod data;
pub mod engine;
pub mod labeler;
pub mod presets;
pub mod report;
pub mod tasks;

/// Reference this from a binary to make sure the crate is linked and its components registered.
pub fn link() {}
