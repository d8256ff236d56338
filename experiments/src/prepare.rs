//! `w2s tasks`: load every registered task with its default parameters (or the ones named) and
//! print its size, class balance, an example and the time it took: a check of the cached data
//! and a benchmark of task preparation. Tasks are prepared in parallel (rayon, one task a core).

use std::time::Instant;

use rayon::prelude::*;

use w2s_core::{Env, Registry, Spec};

/// One task's figures.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Prepared {
    pub task: String,
    pub seconds: f64,
    pub train: usize,
    pub test: usize,
    pub balance: Vec<f64>,
    pub example: String,
    /// Why the task could not be prepared with its defaults (e.g. it needs a user file).
    pub skipped: Option<String>,
}

/// Prepare the named tasks (all registered ones when `names` is empty).
pub fn run(registry: &Registry, env: &Env, names: &[String]) -> Vec<Prepared> {
    let names: Vec<String> = if names.is_empty() { registry.tasks.names() } else { names.to_vec() };
    names
        .into_par_iter()
        .map(|name| {
            let start = Instant::now();
            let loaded = registry.task(&Spec::new(&name)).and_then(|t| t.load(env));
            let seconds = start.elapsed().as_secs_f64();
            match loaded {
                Ok(d) => Prepared {
                    task: name,
                    seconds,
                    train: d.train.len(),
                    test: d.test.len(),
                    balance: d.class_balance(&d.train),
                    example: d
                        .train
                        .first()
                        .map(|e| {
                            let class = d.class_names.get(e.label).cloned().unwrap_or_default();
                            match &e.pair {
                                Some(second) => format!("[{class}] {:?} vs {:?}", e.text, second),
                                None => format!("[{class}] {:?}", e.text),
                            }
                        })
                        .unwrap_or_default(),
                    skipped: None,
                },
                Err(e) => Prepared {
                    task: name,
                    seconds,
                    train: 0,
                    test: 0,
                    balance: vec![],
                    example: String::new(),
                    skipped: Some(format!("{e:#}")),
                },
            }
        })
        .collect()
}
