//! The chess board as w2s sees it: legal moves as classes ([`moves`]), standard algebraic
//! notation ([`san`]) and the planes a board model reads ([`encoding`]).

pub mod encoding;
pub mod moves;
pub mod san;
