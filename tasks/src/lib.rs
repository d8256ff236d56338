//! # w2s-tasks
//!
//! Tasks on real labelled data, registered with [`w2s_core::register!`]:
//! - `sentiment`: is a human-rated sentence positive or negative? (Hutto & Gilbert 2014 rated
//!   sets from the vaderSentiment source distribution: movie-review snippets by default.)
//!
//! Call [`link`] from a binary so that the linker keeps this crate (and its registrations).

pub mod rated;
pub mod sentiment;

/// Reference this from a binary to make sure the crate is linked and its tasks registered.
pub fn link() {}
