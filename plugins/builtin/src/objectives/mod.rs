//! Training objectives (formulas in `shared/design/science.md`).

pub mod adaptconf;
pub mod bradley_terry;
pub mod entropy;
pub mod entropy_detached;
pub mod kl;
pub mod logconf;
pub mod logconf_buffered;
pub mod logconf_openai;
pub mod product;
pub mod prompt;
pub mod window;
pub mod xent;
