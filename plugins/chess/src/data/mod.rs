//! Chess positions as data: generated from puzzles, openings and playouts and labelled by the
//! engine ([`generate`], [`positions`]), the puzzle and opening files they start from ([`puzzles`],
//! [`openings`]), and the JSONL cache they are kept in ([`jsonl`]).

pub mod generate;
pub mod jsonl;
pub mod openings;
pub mod positions;
pub mod puzzles;
