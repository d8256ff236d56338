//! `w2s criteria RUNS...`: score finished runs with every registered stopping criterion (or the
//! ones named with `--criterion`) from their logged evaluations, without training anything.

use std::path::PathBuf;

use anyhow::Context;
use w2s_core::{Registry, Spec};
use w2s_runtime::criteria::{rescore, CriterionRow};

/// A criterion given on the command line: a name (`churn`) or a JSON spec
/// (`{"kind":"churn","threshold":0.05}`).
fn parse_spec(s: &str) -> anyhow::Result<Spec> {
    let value = serde_json::from_str(s).unwrap_or_else(|_| serde_json::Value::String(s.to_string()));
    serde_json::from_value(value).with_context(|| format!("--criterion `{s}`: expected a name or a JSON spec"))
}

/// Rescore the runs under `paths` and print the table (or JSON rows); writes each run's
/// `criteria.csv`. Returns the number of runs scored.
pub fn run(registry: &Registry, paths: &[PathBuf], criteria: &[String], json: bool) -> anyhow::Result<usize> {
    let only: Vec<Spec> = criteria.iter().map(|s| parse_spec(s)).collect::<anyhow::Result<_>>()?;
    for spec in &only {
        registry.criterion(spec).with_context(|| format!("--criterion {}", spec.label()))?;
    }
    let started = std::time::Instant::now();
    let mut scored = Vec::new();
    for path in paths {
        let mut here = Vec::new();
        for dir in rescore::run_folders(path)? {
            here.push(rescore::rescore_run(registry, &dir, &only)?);
        }
        // A results folder gets its collected criteria.csv and criteria.svg anew.
        if !path.join("config.json").is_file() {
            rescore::write_collected(path, &here)?;
        }
        scored.extend(here);
    }
    if json {
        let rows: Vec<&CriterionRow> = scored.iter().flat_map(|(_, rows)| rows).collect();
        println!("{}", serde_json::to_string_pretty(&rows)?);
    } else {
        print!("{}", rescore::table(&scored));
        println!("{} runs scored in {:.2} s (nothing trained)", scored.len(), started.elapsed().as_secs_f64());
    }
    Ok(scored.len())
}
