//! What goes on a trunk: a classifier (BERT's pooled encoder, or a decoder's last real token) with
//! the reference code's zero-initialised head, or a decoder's own output layer as a language
//! model for prompting.

pub mod bert;
pub mod decoder;
pub mod lm;
