//! # w2s-tasks
//!
//! Tasks on real labelled data, registered with [`w2s_core::register!`]:
//! - `sentiment`: is a human-rated sentence positive or negative? (Hutto & Gilbert 2014 rated
//!   sets from the vaderSentiment source distribution: movie-review snippets by default.)
//! - `user-data`: the user's own labelled texts, from a JSON-lines or CSV file.
//! - `wordnet-isa`: yes/no questions "Is a beagle a kind of hound?" from WordNet 3.0's noun
//!   hypernyms, with sibling categories as distractors.
//! - `wordnet-gloss`: does a WordNet definition match a word? Distractors are glosses of the same
//!   part of speech and lexicographer file.
//! - `fortunes-topic`: which fortune file (`computers`, `politics`, ...) a quote comes from, or
//!   one file against the rest.
//! - `sentiment-pairs`, `preference-pairs`: reward modelling on pairs of texts (which is more
//!   positive; the user's HH-style `{"prompt"?, "chosen", "rejected"}` JSONL).
//!
//! Readers: [`rated`] (vaderSentiment's rated sets), [`records`] (users' files), [`wordnet`]
//! (WordNet's database); [`pairs`] makes balanced yes/no datasets from candidate items.
//!
//! Call [`link`] from a binary so that the linker keeps this crate (and its registrations).

pub mod fortunes_topic;
pub mod pairs;
pub mod preferences;
pub mod rated;
pub mod records;
pub mod sentiment;
pub mod text_file;
pub mod user_data;
pub mod wordnet;
pub mod wordnet_gloss;
pub mod wordnet_isa;

/// Reference this from a binary to make sure the crate is linked and its tasks registered.
pub fn link() {}
