//! # w2s-tasks
//!
//! Tasks on real labelled data, registered with [`w2s_core::register!`]:
//! - `sentiment`: is a human-rated sentence positive or negative? (Hutto & Gilbert 2014 rated
//!   sets from the vaderSentiment source distribution: movie-review snippets by default.)
//! - `user_data`: the user's own labelled texts, from a JSON-lines or CSV file.
//!
//! Call [`link`] from a binary so that the linker keeps this crate (and its registrations).

pub mod rated;
pub mod records;
pub mod sentiment;
pub mod user_data;

/// Reference this from a binary to make sure the crate is linked and its tasks registered.
pub fn link() {}
