//! What goes on a trunk: a classifier (a pooled encoder, BERT or MPNet, or a decoder's last real
//! token) with the reference code's zero-initialised head, or a decoder's own output layer as a
//! language model for prompting.

pub mod decoder;
pub mod encoder;
pub mod lm;
