//! Training objectives (formulas in `shared/design/science.md`).

pub mod logconf;
pub mod xent;
