//! The findings table: each claim of the weak-to-strong talk (Burns et al. 2023, and
//! `shared/design/science.md`), the preset that measures it, the effect measured with its 95%
//! interval, and a verdict by the rule of [`stats::verdict`]. The effects are paired where the
//! claim compares two conditions: the same task, supervisor, student and seed under both, so
//! that seed-to-seed variation of the shared parts cancels.

use std::collections::BTreeMap;

use w2s_runtime::results::SummaryRow;

use super::collect::PresetResults;
use super::stats::{verdict, Estimate, Side, Verdict};

/// One line of the findings table.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Finding {
    /// `a`, `b`, `c1`, ...
    pub id: &'static str,
    pub title: &'static str,
    /// The talk's claim, with its number where it gives one.
    pub claim: &'static str,
    /// What is measured, and the side of the bound that the claim predicts.
    pub effect: &'static str,
    pub side: String,
    /// The preset it was measured on (or the presets that would measure it, when missing).
    pub preset: String,
    pub estimate: Option<Estimate>,
    pub verdict: Verdict,
    /// Breakdowns and context, or why nothing was measured.
    pub detail: String,
}

/// A rule: the presets that can measure a finding, best first, and how.
struct Rule {
    id: &'static str,
    title: &'static str,
    claim: &'static str,
    effect: &'static str,
    side: Side,
    presets: &'static [&'static str],
    measure: fn(&PresetResults) -> Option<(Estimate, String)>,
    /// Why no preset measures it yet, when that is the case.
    not_built: Option<&'static str>,
}

const RULES: &[Rule] = &[
    Rule {
        id: "a",
        title: "weak-to-strong generalization",
        claim: "Students trained on a weak supervisor's labels beat it but stay below their ceiling: 0 < PGR < 1 (talk: PGR about 25% on NLP with plain cross-entropy)",
        effect: "PGR of the runs with a resolved gap (xent, the weak model's labels)",
        side: Side::Between(0.0, 1.0),
        presets: &["model-ladder", "quickstart", "sentiment-ladder"],
        measure: baseline,
        not_built: None,
    },
    Rule {
        id: "b",
        title: "auxiliary confidence loss",
        claim: "The auxiliary confidence loss raises PGR at large supervisor-student gaps (talk: from about 20% to about 80%); it can hurt at small gaps",
        effect: "PGR(logconf) - PGR(xent), paired, over the half of the pairs with the larger gaps",
        side: Side::Above(0.0),
        presets: &["model-ladder", "quickstart"],
        measure: confidence_loss,
        not_built: None,
    },
    Rule {
        id: "c1",
        title: "synthetic vs model labels: random noise",
        claim: "At the same label accuracy, random label noise is easier to generalize beyond than the weak model's own errors",
        effect: "PGR(noise matched to the weak model) - PGR(weak model's labels), paired (xent and logconf)",
        side: Side::Above(0.0),
        presets: &["synthetic-vs-model", "quickstart"],
        measure: noise_vs_model,
        not_built: None,
    },
    Rule {
        id: "c2",
        title: "synthetic vs model labels: systematic errors",
        claim: "Systematic errors that the student can see are imitated: PGR falls below that of the weak model's own errors at the same accuracy",
        effect: "PGR(weak model's labels) - PGR(topic words flipped, matched), paired (xent and logconf)",
        side: Side::Above(0.0),
        presets: &["synthetic-vs-model", "quickstart"],
        measure: systematic_vs_model,
        not_built: None,
    },
    Rule {
        id: "d",
        title: "imitation against student size",
        claim: "Larger students imitate their supervisor's mistakes less: agreement where the supervisor is wrong falls with student size",
        effect: "agreement | supervisor wrong, largest student - smallest (preset order), paired, xent",
        side: Side::Below(0.0),
        presets: &["model-ladder", "model-ladder-truncations", "sentiment-ladder"],
        measure: imitation,
        not_built: None,
    },
    Rule {
        id: "e",
        title: "early stopping",
        claim: "The student peaks before the end and then fits its supervisor's errors; stopping on ground truth helps but cheats; whether a criterion without gold labels helps is open",
        effect: "test accuracy at the weak-val-loss stop - at the final step, per run",
        side: Side::Above(0.0),
        presets: &["early-stopping"],
        measure: early_stopping,
        not_built: None,
    },
    Rule {
        id: "f",
        title: "bootstrapping (NLP)",
        claim: "Bootstrapping through an intermediate model helps on chess but barely on NLP (here NLP: |gain| < 0.1 PGR)",
        effect: "PGR(weak -> intermediate -> strong) - PGR(weak -> strong), paired, first chain of the preset",
        side: Side::Between(-0.1, 0.1),
        presets: &["bootstrap-chain"],
        measure: bootstrapping,
        not_built: None,
    },
    Rule {
        id: "f2",
        title: "bootstrapping (chess)",
        claim: "On chess, a chain of intermediate students recovers more of the gap than direct transfer",
        effect: "PGR(chain) - PGR(direct) on chess puzzles, paired",
        side: Side::Above(0.0),
        presets: &["chess-bootstrap"],
        measure: bootstrapping,
        not_built: Some("no chess preset measures it yet: from-scratch chess-nets trained on the 1,000 cached puzzles all score about the same (tiny 0.543, large 0.517 top-1 on 300 test puzzles, 2 seeds), so there is no gap between sizes to bootstrap across; it needs many more positions or a student that already knows chess"),
    },
    Rule {
        id: "g",
        title: "reward modelling",
        claim: "Weak-to-strong PGR on reward modelling is low (talk: about 10%; below 30% here)",
        effect: "PGR of the reward models (bradley-terry, the weak model's preferences)",
        side: Side::Below(0.3),
        presets: &["reward-pairs"],
        measure: reward_modelling,
        not_built: None,
    },
    Rule {
        id: "g2",
        title: "generative fine-tuning for reward modelling",
        claim: "Unsupervised generative fine-tuning on the task's text first raises reward-modelling PGR (talk: 30-40% with cheating early stopping)",
        effect: "PGR(generative first) - PGR(plain), paired",
        side: Side::Above(0.0),
        presets: &["reward-generative"],
        measure: generative,
        not_built: None,
    },
    Rule {
        id: "h",
        title: "prompting",
        claim: "For the same strong model, few-shot prompting with weak labels does worse than fine-tuning on the same weak labels",
        effect: "test accuracy of fine-tuning on weak labels - of k-shot prompting with weak labels, paired",
        side: Side::Above(0.0),
        presets: &["prompting"],
        measure: prompting,
        not_built: None,
    },
];

/// The findings that `results` measure; a rule none of them measures is `Missing`.
pub fn findings(results: &[PresetResults]) -> Vec<Finding> {
    RULES
        .iter()
        .map(|rule| {
            // A registered preset's own results first; else one run with changed settings (said so).
            let measured = rule.presets.iter().find_map(|name| {
                let exact = results.iter().find(|p| p.registered.as_deref() == Some(*name));
                let changed = || results.iter().find(|p| p.modified_from.as_deref() == Some(*name));
                let p = exact.or_else(changed)?;
                let label = if p.registered.is_some() {
                    p.name()
                } else {
                    format!("{name} (changed settings: {})", p.folder.display())
                };
                rule.measure(p).map(|m| (label, m))
            });
            let base = |preset: String, estimate, verdict, detail| Finding {
                id: rule.id,
                title: rule.title,
                claim: rule.claim,
                effect: rule.effect,
                side: rule.side.text(),
                preset,
                estimate,
                verdict,
                detail,
            };
            match measured {
                Some((preset, (e, detail))) => base(preset, Some(e), verdict(&e, rule.side), detail),
                None => base(
                    rule.presets.join(" or "),
                    None,
                    Verdict::Missing,
                    match rule.presets.iter().find(|n| results.iter().any(|p| p.name() == **n)) {
                        Some(n) => format!(
                            "the results of {n} hold no pair of runs that measures it (runs unfinished, or no gap resolved)"
                        ),
                        None => rule.not_built.map(str::to_string).unwrap_or_else(|| {
                            format!("no results of {} among the folders given", rule.presets.join(" or "))
                        }),
                    },
                ),
            }
        })
        .collect()
}

impl Rule {
    fn measure(&self, p: &PresetResults) -> Option<(Estimate, String)> {
        (self.measure)(p).filter(|(e, _)| e.n > 0)
    }
}

/// The finished runs of a preset that a claim about PGR can use.
fn resolved(r: &SummaryRow) -> bool {
    r.pgr_reliable && r.pgr.is_finite()
}

fn is_model(r: &SummaryRow) -> bool {
    r.labeler == "model"
}

/// Pairs of rows that agree on everything but what `side` tells apart (`Some(true)`: the first
/// condition, `Some(false)`: the second, `None`: neither), matched by the other columns.
fn pairs(
    rows: &[SummaryRow],
    side: impl Fn(&SummaryRow) -> Option<bool>,
    key: impl Fn(&SummaryRow) -> String,
) -> Vec<(&SummaryRow, &SummaryRow)> {
    let mut first: BTreeMap<String, &SummaryRow> = BTreeMap::new();
    let mut second: BTreeMap<String, &SummaryRow> = BTreeMap::new();
    for r in rows {
        match side(r) {
            Some(true) => first.insert(key(r), r),
            Some(false) => second.insert(key(r), r),
            None => None,
        };
    }
    first.iter().filter_map(|(k, a)| second.get(k).map(|b| (*a, *b))).collect()
}

fn key_without_labeler(r: &SummaryRow) -> String {
    format!("{}|{}|{}|{}|{}|{}", r.task, r.weak, r.strong, r.objective, r.chain, r.seed)
}

fn key_without_objective(r: &SummaryRow) -> String {
    format!("{}|{}|{}|{}|{}|{}", r.task, r.weak, r.strong, r.labeler, r.chain, r.seed)
}

fn mean(xs: impl IntoIterator<Item = f64>) -> f64 {
    Estimate::of(xs).mean
}

/// Mean PGR by strong student, as `minilm(mode=probe) 0.41, ...`.
fn by_student(rows: &[&SummaryRow]) -> String {
    let mut by: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for r in rows {
        by.entry(r.strong.as_str()).or_default().push(r.pgr);
    }
    by.iter().map(|(s, v)| format!("{s} {:.2}", mean(v.iter().copied()))).collect::<Vec<_>>().join("; ")
}

fn baseline(p: &PresetResults) -> Option<(Estimate, String)> {
    let all: Vec<&SummaryRow> =
        p.rows.iter().filter(|r| is_model(r) && r.objective == "xent" && r.chain.is_empty()).collect();
    let ok: Vec<&SummaryRow> = all.iter().copied().filter(|r| resolved(r)).collect();
    let e = Estimate::of(ok.iter().map(|r| r.pgr));
    let detail = format!(
        "{} of {} runs have a gap clearly above zero (the others are left out); mean PGR by student: {}",
        ok.len(),
        all.len(),
        by_student(&ok)
    );
    Some((e, detail))
}

fn confidence_loss(p: &PresetResults) -> Option<(Estimate, String)> {
    let mut ps: Vec<(&SummaryRow, &SummaryRow)> = pairs(
        &p.rows,
        |r| match r.objective.as_str() {
            "logconf" => Some(true),
            "xent" => Some(false),
            _ => None,
        },
        key_without_objective,
    )
    .into_iter()
    .filter(|(a, b)| is_model(a) && resolved(a) && resolved(b))
    .collect();
    if ps.is_empty() {
        return None;
    }
    ps.sort_by(|(_, x), (_, y)| (x.strong_acc - x.weak_acc).total_cmp(&(y.strong_acc - y.weak_acc)));
    let (small, large) = ps.split_at(ps.len() / 2);
    let diff = |s: &[(&SummaryRow, &SummaryRow)]| Estimate::of(s.iter().map(|(a, b)| a.pgr - b.pgr));
    let gap = |s: &[(&SummaryRow, &SummaryRow)]| mean(s.iter().map(|(_, b)| b.strong_acc - b.weak_acc));
    let e = diff(large);
    let detail = format!(
        "larger gaps (mean {:.3}): {}; smaller gaps (mean {:.3}): {}; all pairs: {}",
        gap(large),
        e.text(),
        gap(small),
        diff(small).text(),
        diff(&ps).text()
    );
    Some((e, detail))
}

fn labeler_pairs(
    p: &PresetResults,
    first: impl Fn(&str) -> bool,
    second: impl Fn(&str) -> bool,
) -> Vec<(&SummaryRow, &SummaryRow)> {
    pairs(
        &p.rows,
        |r| {
            if first(&r.labeler) {
                Some(true)
            } else if second(&r.labeler) {
                Some(false)
            } else {
                None
            }
        },
        key_without_labeler,
    )
    .into_iter()
    .filter(|(a, b)| resolved(a) && resolved(b))
    .collect()
}

fn matched_noise(l: &str) -> bool {
    l.starts_with("noise(") && l.contains("matched_to=model")
}

fn noise_vs_model(p: &PresetResults) -> Option<(Estimate, String)> {
    let ps = labeler_pairs(p, matched_noise, |l| l == "model");
    let e = Estimate::of(ps.iter().map(|(a, b)| a.pgr - b.pgr));
    // The fixed-rate noise sweep, if the preset has one: where random labels stop informing.
    let mut sweep: BTreeMap<String, (Vec<f64>, Vec<f64>)> = BTreeMap::new();
    for r in p.rows.iter().filter(|r| r.labeler.starts_with("noise(rate=") && r.objective == "xent") {
        let e = sweep.entry(r.labeler.trim_start_matches("noise(rate=").trim_end_matches(')').to_string()).or_default();
        e.0.push(r.label_acc);
        e.1.push(r.w2s_acc);
    }
    let mut detail = format!(
        "agreement | supervisor wrong: noise {:.3}, model {:.3}",
        mean(ps.iter().map(|(a, _)| a.agreement_weak_wrong)),
        mean(ps.iter().map(|(_, b)| b.agreement_weak_wrong))
    );
    if !sweep.is_empty() {
        let cells: Vec<String> = sweep
            .iter()
            .map(|(rate, (labels, student))| {
                format!(
                    "{rate}: labels {:.3} -> student {:.3}",
                    mean(labels.iter().copied()),
                    mean(student.iter().copied())
                )
            })
            .collect();
        detail += &format!("; random noise at fixed rates (xent, test accuracy of the student): {}", cells.join(", "));
    }
    Some((e, detail))
}

fn systematic_vs_model(p: &PresetResults) -> Option<(Estimate, String)> {
    let ps = labeler_pairs(p, |l| l == "model", |l| l.starts_with("flip(") && l.contains("rule=words"));
    let e = Estimate::of(ps.iter().map(|(a, b)| a.pgr - b.pgr));
    let length = labeler_pairs(p, |l| l == "model", |l| l.starts_with("flip(") && l.contains("longer_than"));
    let mut detail = format!(
        "agreement | supervisor wrong: topic-word flips {:.3}, model {:.3}",
        mean(ps.iter().map(|(_, b)| b.agreement_weak_wrong)),
        mean(ps.iter().map(|(a, _)| a.agreement_weak_wrong))
    );
    if !length.is_empty() {
        detail += &format!(
            "; length flips (a feature a mean-pooled encoder barely sees): PGR(model) - PGR(length flips) {}",
            Estimate::of(length.iter().map(|(a, b)| a.pgr - b.pgr)).text()
        );
    }
    Some((e, detail))
}

fn imitation(p: &PresetResults) -> Option<(Estimate, String)> {
    let order: Vec<String> = p.preset.strong.iter().map(|s| s.label()).collect();
    let rows: Vec<&SummaryRow> = p
        .rows
        .iter()
        .filter(|r| is_model(r) && r.objective == "xent" && r.chain.is_empty() && r.weak != r.strong)
        .filter(|r| r.agreement_weak_wrong.is_finite())
        .collect();
    let rank = |r: &SummaryRow| order.iter().position(|s| *s == r.strong);
    let mut groups: BTreeMap<String, Vec<&SummaryRow>> = BTreeMap::new();
    for r in &rows {
        groups.entry(format!("{}|{}|{}", r.task, r.weak, r.seed)).or_default().push(r);
    }
    let mut diffs = Vec::new();
    for g in groups.values() {
        let lo = g.iter().min_by_key(|r| rank(r));
        let hi = g.iter().max_by_key(|r| rank(r));
        if let (Some(lo), Some(hi)) = (lo, hi) {
            if rank(lo) != rank(hi) {
                diffs.push(hi.agreement_weak_wrong - lo.agreement_weak_wrong);
            }
        }
    }
    let mut by: BTreeMap<usize, Vec<f64>> = BTreeMap::new();
    for r in &rows {
        if let Some(i) = rank(r) {
            by.entry(i).or_default().push(r.agreement_weak_wrong);
        }
    }
    let detail = format!(
        "mean agreement | supervisor wrong by student (supervisor and student of the same model left out): {}",
        by.iter().map(|(i, v)| format!("{} {:.3}", order[*i], mean(v.iter().copied()))).collect::<Vec<_>>().join("; ")
    );
    Some((Estimate::of(diffs), detail))
}

fn early_stopping(p: &PresetResults) -> Option<(Estimate, String)> {
    let acc = |run: &str, criterion: &str| {
        p.criteria.iter().find(|c| c.run_id == run && c.criterion == criterion).map(|c| c.w2s_acc)
    };
    let gain = |criterion: &str| {
        Estimate::of(p.rows.iter().filter_map(|r| Some(acc(&r.run_id, criterion)? - acc(&r.run_id, "final")?)))
    };
    let mut names: Vec<&str> = p.criteria.iter().map(|c| c.criterion.as_str()).collect();
    names.sort();
    names.dedup();
    let others: Vec<String> = names
        .iter()
        .filter(|n| **n != "final")
        .map(|n| {
            let cheat = if p.criteria.iter().any(|c| c.criterion == *n && c.cheating) { " (cheating)" } else { "" };
            format!("{n}{cheat} {:+.3}", gain(n).mean)
        })
        .collect();
    Some((gain("weak-val-loss"), format!("mean gain over the final step by criterion: {}", others.join("; "))))
}

fn bootstrapping(p: &PresetResults) -> Option<(Estimate, String)> {
    let chains: Vec<String> = {
        let mut c: Vec<String> = p.rows.iter().map(|r| r.chain.clone()).filter(|c| !c.is_empty()).collect();
        c.dedup();
        c
    };
    let key = |r: &SummaryRow| format!("{}|{}|{}|{}|{}|{}", r.task, r.weak, r.strong, r.labeler, r.objective, r.seed);
    let diff = |chain: &str| {
        let ps = pairs(
            &p.rows,
            |r| {
                if r.chain == chain {
                    Some(true)
                } else if r.chain.is_empty() {
                    Some(false)
                } else {
                    None
                }
            },
            key,
        );
        Estimate::of(ps.iter().filter(|(a, b)| resolved(a) && resolved(b)).map(|(a, b)| a.pgr - b.pgr))
    };
    let first = chains.first()?;
    let detail = chains.iter().map(|c| format!("via {c}: {}", diff(c).text())).collect::<Vec<_>>().join("; ");
    Some((diff(first), detail))
}

fn reward_modelling(p: &PresetResults) -> Option<(Estimate, String)> {
    let rows: Vec<&SummaryRow> = p.rows.iter().filter(|r| is_model(r) && r.objective == "bradley-terry").collect();
    let ok: Vec<&SummaryRow> = rows.iter().copied().filter(|r| resolved(r)).collect();
    let logconf: Vec<f64> =
        p.rows.iter().filter(|r| is_model(r) && r.objective == "logconf" && resolved(r)).map(|r| r.pgr).collect();
    let detail = format!(
        "{} of {} runs have a gap clearly above zero; with logconf: {}",
        ok.len(),
        rows.len(),
        Estimate::of(logconf).text()
    );
    Some((Estimate::of(ok.iter().map(|r| r.pgr)), detail))
}

fn generative(p: &PresetResults) -> Option<(Estimate, String)> {
    let gen = |r: &SummaryRow| r.strong.contains("generative");
    let key = |r: &SummaryRow| {
        let family = r.strong.split('(').next().unwrap_or_default();
        format!("{}|{}|{family}|{}|{}|{}", r.task, r.weak, r.labeler, r.objective, r.seed)
    };
    let ps: Vec<(&SummaryRow, &SummaryRow)> =
        pairs(&p.rows, |r| Some(gen(r)), key).into_iter().filter(|(a, b)| resolved(a) && resolved(b)).collect();
    let oracle = |run: &str| p.criteria.iter().find(|c| c.run_id == run && c.criterion == "oracle").map(|c| c.pgr);
    let with_oracle: Vec<f64> = ps.iter().filter_map(|(a, _)| oracle(&a.run_id)).collect();
    let detail = format!(
        "PGR with generative fine-tuning first {:.3}, without {:.3}; with it and oracle (cheating) stopping: {}",
        mean(ps.iter().map(|(a, _)| a.pgr)),
        mean(ps.iter().map(|(_, b)| b.pgr)),
        Estimate::of(with_oracle).text()
    );
    Some((Estimate::of(ps.iter().map(|(a, b)| a.pgr - b.pgr)), detail))
}

fn prompting(p: &PresetResults) -> Option<(Estimate, String)> {
    let ps = pairs(
        &p.rows,
        |r| {
            if r.objective == "xent" {
                Some(true)
            } else if r.objective.starts_with("prompt") && !r.objective.contains("k=0") {
                Some(false)
            } else {
                None
            }
        },
        |r| format!("{}|{}|{}|{}|{}", r.task, r.weak, r.strong, r.labeler, r.seed),
    );
    let zero: Vec<f64> = p
        .rows
        .iter()
        .filter(|r| r.objective.starts_with("prompt") && r.objective.contains("k=0"))
        .map(|r| r.w2s_acc)
        .collect();
    let detail = format!(
        "fine-tuned on weak labels {:.3}, k-shot with weak labels {:.3}, k-shot with gold labels {:.3}, zero-shot {:.3}",
        mean(ps.iter().map(|(a, _)| a.w2s_acc)),
        mean(ps.iter().map(|(_, b)| b.w2s_acc)),
        mean(ps.iter().map(|(_, b)| b.strong_acc)),
        mean(zero)
    );
    Some((Estimate::of(ps.iter().map(|(a, b)| a.w2s_acc - b.w2s_acc)), detail))
}
