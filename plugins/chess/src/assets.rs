//! Where the chess assets fetched by `scripts/bootstrap.d/30-chess.sh` are: the engine, the
//! pychess puzzles and scid's opening lines.

use std::path::PathBuf;

use w2s_core::Env;

pub use crate::engine::stockfish_path;

/// The folder of pychess's puzzle files (`mate_in_2.pgn`, `loyd.olv`, ...).
pub fn puzzle_dir(env: &Env) -> anyhow::Result<PathBuf> {
    Ok(env.asset_dir("pychess")?.join("puzzles"))
}

/// scid's `scid.eco` (ECO codes, names and opening lines in SAN).
pub fn eco_path(env: &Env) -> anyhow::Result<PathBuf> {
    Ok(env.asset_dir("scid")?.join("scid.eco"))
}
