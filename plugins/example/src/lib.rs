//! # w2s-example-plugin
//!
//! The template for a w2s plugin. Build it with `cargo build --release -p w2s-example-plugin`
//! and load it with `w2s --plugin target/release/libw2s_example_plugin.so list`. It adds:
//! - task `sentence-length`: is a movie-review sentence longer than the median (in words)?
//! - labeler `keyword-vote`: a heuristic labelling function (does the text contain enough of a
//!   list of words?), the kind of weak supervisor people write by hand;
//! - objective `smoothed-xent`: cross-entropy against label-smoothed weak labels;
//! - preset `example-plugin`: all three, next to built-in components.
//!
//! Each component is registered exactly as built-in ones are; `export_plugin!` makes the crate
//! loadable.

pub mod keyword_vote;
pub mod sentence_length;
pub mod smoothed_xent;

w2s_core::export_plugin!();

fn example_preset() -> w2s_core::Preset {
    serde_json::from_value(serde_json::json!({
        "description": "plugin task, labeler and objective next to built-in backbones, labeler and objective",
        "task": {"kind": "sentence-length", "n_train": 400, "n_test": 200},
        "weak": {"kind": "bow", "size": "tiny"},
        "strong": {"kind": "bow", "size": "small"},
        "labeler": ["keyword-vote", "model"],
        "objective": ["smoothed-xent", "xent"],
        "seeds": [0],
        "weak_train": {"epochs": 3, "batch_size": 32, "lr": 1e-2, "eval_every": 10},
        "strong_train": {"epochs": 3, "batch_size": 32, "lr": 1e-2, "eval_every": 10}
    }))
    .expect("valid preset")
}

w2s_core::register_preset!(
    "example-plugin",
    "the example plugin's task, labeler and objective with built-in backbones",
    example_preset
);
