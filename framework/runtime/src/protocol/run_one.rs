//! One run of a preset's grid: weak labels, ceiling and student, each reused when finished.

use std::{path::Path, time::Instant};

use anyhow::{bail, Context};

use w2s_core::{
    metrics,
    objective::SoftXent,
    preset::{Half, RunConfig},
    rng,
    stopping::{EvalLog, WeakVal},
    Example, LabelerCtx,
};

use crate::{
    criteria::{
        self,
        evals_file::{self, SliceInfo},
        rescore::{CRITERIA_FILE, EVALS_FILE},
    },
    results::{self, LabelSection, SummaryRow},
    train,
};

use super::{
    chain::{run_chain, student_link, ChainInput},
    prompted::{prompted_run, WeakRun},
    session::Session,
    split_halves,
    stages::{
        check_labels, preds, read_ceiling_stage, read_weak_stage, refs, write_weak_labels, CeilingStage, WeakStage,
    },
    summary::{summary, write_run, LabelFigures},
};

/// Compute (or find finished) the weak stage of `rc`, on its own (a plan's `weak-` stage).
pub(super) fn compute_weak(s: &mut Session<'_>, rc: &RunConfig) -> anyhow::Result<()> {
    let data = s.dataset(&rc.task)?.clone();
    let (a, b) = split_halves(data.train.len(), rc.seed);
    let weak_bb = s.registry.backbone(&rc.weak)?;
    weak_stage(s, rc, &data, (&a, &b), weak_bb.as_ref()).map(|_| ())
}

/// Compute (or find finished) the ceiling stage of `rc`, on its own (a plan's `ceiling-` stage).
pub(super) fn compute_ceiling(s: &mut Session<'_>, rc: &RunConfig) -> anyhow::Result<()> {
    let data = s.dataset(&rc.task)?.clone();
    let (a, b) = split_halves(data.train.len(), rc.seed);
    let strong_bb = s.strong_backbone(rc, &data)?;
    ceiling_stage(s, rc, &data, (&a, &b), strong_bb.as_ref()).map(|_| ())
}

/// The folder of a stage, and its lock file (both named by the plan's stage id).
fn stage_paths(s: &Session<'_>, id: String) -> (std::path::PathBuf, std::path::PathBuf) {
    let out = &s.opts.out;
    (out.join("stages").join(&id), out.join(".locks").join(format!("{id}.lock")))
}

/// The weak labels of B and the test set: read back when finished, else computed under the
/// stage's lock (a process that finds it claimed waits, then reads what the holder wrote).
fn weak_stage(
    s: &mut Session<'_>,
    rc: &RunConfig,
    data: &w2s_core::Dataset,
    (a, b): (&[usize], &[usize]),
    weak_bb: &dyn w2s_core::Backbone,
) -> anyhow::Result<(std::path::PathBuf, WeakStage)> {
    let (k, n_test) = (data.n_classes, data.test.len());
    let (wdir, lock) = stage_paths(s, format!("weak-{}", rc.weak_stage_id()));
    let read = |d: &Path| read_weak_stage(d, b.len(), n_test, k);
    if let Some(stage) = s.reusable(&wdir, "weak_labels.csv", read) {
        return Ok((wdir, stage));
    }
    let _claim = s.claim(&lock)?;
    if let Some(stage) = s.reusable(&wdir, "weak_labels.csv", read) {
        return Ok((wdir, stage));
    }
    let (registry, env) = (s.registry, s.env);
    let labeler = registry.labeler(&rc.labeler)?;
    let mut ctx = LabelerCtx {
        env,
        registry,
        data,
        a,
        b,
        seed: rc.seed,
        weak: weak_bb,
        weak_train: &rc.weak_train,
        trainer: &crate::weak_trainer::LoopTrainer,
        curves: Vec::new(),
    };
    let wl = labeler.label(&mut ctx).with_context(|| format!("labeler {}", rc.labeler.label()))?;
    check_labels(&wl, b.len(), n_test, k, &rc.labeler.label())?;
    results::write_csv(&wdir.join("curves.csv"), &ctx.curves)?;
    write_weak_labels(&wdir.join("weak_labels.csv"), data, b, &wl)?;
    s.mark_computed(&wdir)?;
    let stage = read(&wdir)?;
    Ok((wdir, stage))
}

/// The strong ceiling on ground truth (half B, or A): read back when finished, else computed
/// under the stage's lock.
fn ceiling_stage(
    s: &mut Session<'_>,
    rc: &RunConfig,
    data: &w2s_core::Dataset,
    (a, b): (&[usize], &[usize]),
    strong_bb: &dyn w2s_core::Backbone,
) -> anyhow::Result<CeilingStage> {
    let k = data.n_classes;
    let test: Vec<&Example> = data.test.iter().collect();
    let (cdir, lock) = stage_paths(s, format!("ceiling-{}", rc.ceiling_stage_id()));
    let read = |d: &Path| read_ceiling_stage(d, test.len(), k);
    if let Some(stage) = s.reusable(&cdir, "test_probs.csv", read) {
        return Ok(stage);
    }
    let _claim = s.claim(&lock)?;
    if let Some(stage) = s.reusable(&cdir, "test_probs.csv", read) {
        return Ok(stage);
    }
    let half = if rc.ceiling_on == Half::A { a } else { b };
    let train_set = refs(&data.train, half);
    let targets = train::gold_targets(&train_set, k);
    let out = train::train_and_predict(
        s.env,
        &train::Job {
            role: "ceiling",
            backbone: strong_bb,
            n_classes: k,
            train: &train_set,
            targets: &targets,
            test: &test,
            also_predict: None,
            record: None,
            cfg: &rc.strong_train,
            seed: rc.seed,
        },
        &mut SoftXent,
    )?;
    results::write_csv(&cdir.join("curves.csv"), &out.curves)?;
    let idx: Vec<usize> = (0..test.len()).collect();
    results::write_labels(
        &cdir.join("test_probs.csv"),
        &[LabelSection {
            split: "test",
            index: &idx,
            label: test.iter().map(|e| e.label).collect(),
            probs: &out.test,
            keep: None,
        }],
    )?;
    s.mark_computed(&cdir)?;
    read(&cdir)
}

pub(super) fn run_one(s: &mut Session<'_>, rc: &RunConfig, dir: &Path) -> anyhow::Result<SummaryRow> {
    let start = Instant::now();
    let (registry, env) = (s.registry, s.env);
    let data = s.dataset(&rc.task)?.clone();
    let k = data.n_classes;
    let (a, b) = split_halves(data.train.len(), rc.seed);
    let test: Vec<&Example> = data.test.iter().collect();
    let test_labels: Vec<usize> = data.test.iter().map(|e| e.label).collect();
    let weak_bb = registry.backbone(&rc.weak)?;
    let strong_bb = s.strong_backbone(rc, &data)?;

    // 1. Weak labels on B and test.
    let (wdir, stage) = weak_stage(s, rc, &data, (&a, &b), weak_bb.as_ref())?;
    let WeakStage { b: weak_b, keep, test: weak_test, mut curves } = stage;

    let mut objective = registry.objective(&rc.objective)?;
    if let Some(spec) = objective.prompting() {
        if !rc.chain.is_empty() {
            bail!("objective {}: a prompted student cannot be the end of a bootstrapping chain", rc.objective.label());
        }
        let weak_run = WeakRun { wdir: &wdir, weak_b: &weak_b, keep: &keep, weak_test: &weak_test, curves };
        return prompted_run(env, strong_bb.as_ref(), rc, dir, &data, &b, &spec, weak_run, start);
    }

    // 2. Strong ceiling on ground truth.
    let ceiling = ceiling_stage(s, rc, &data, (&a, &b), strong_bb.as_ref())?;
    let ceiling_test = ceiling.test;
    curves.extend(ceiling.curves);

    // 3. The chain's intermediate links, if any, then the student on B with its supervisor's labels.
    let kept: Vec<usize> = (0..b.len()).filter(|&i| keep[i]).collect();
    if kept.is_empty() {
        bail!("labeler {} kept no examples of half B: nothing to train the student on", rc.labeler.label());
    }
    let ends = (
        metrics::accuracy(&preds(&weak_test), &test_labels).0,
        metrics::accuracy(&preds(&ceiling_test), &test_labels).0,
    );
    let chain_in = ChainInput {
        env,
        registry,
        rc,
        train: &data.train,
        b: &b,
        kept: &kept,
        weak_b: &weak_b,
        weak_test: &weak_test,
        test: &test,
        test_labels: &test_labels,
        n_classes: k,
        ends,
    };
    let chained = if rc.chain.is_empty() { None } else { Some(run_chain(&chain_in)?) };
    let (student_pos, labels_b) = match &chained {
        Some(c) => {
            curves.extend(c.curves.iter().cloned());
            (c.student_pos.clone(), &c.labels_b)
        }
        None => (kept.clone(), &weak_b),
    };
    let (trained_on, held_out) = weak_val_split(&student_pos, rc.weak_val_frac, rc.seed)?;
    let student_set: Vec<&Example> = trained_on.iter().map(|&i| &data.train[b[i]]).collect();
    let student_targets: Vec<Vec<f32>> = trained_on.iter().map(|&i| labels_b[i].clone()).collect();
    let watch_set: Vec<&Example> = held_out.iter().map(|&i| &data.train[b[i]]).collect();
    let student = train::train_and_predict(
        env,
        &train::Job {
            role: "student",
            backbone: strong_bb.as_ref(),
            n_classes: k,
            train: &student_set,
            targets: &student_targets,
            test: &test,
            // The student's predictions on what it trained on, for its misfit to the weak labels.
            also_predict: Some(&student_set),
            record: Some(train::Record { watch: (!held_out.is_empty()).then_some(&watch_set[..]) }),
            cfg: &rc.strong_train,
            seed: rc.seed,
        },
        objective.as_mut(),
    )?;
    curves.extend(student.curves.iter().cloned());
    std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    if let Some(c) = &chained {
        let mut links = c.links.clone();
        links.push(student_link(c, &chain_in, &student.test));
        results::write_csv(&dir.join(CHAIN_FILE), &links)?;
    }

    // 4. Metrics. The label figures are the weak labels' on all kept examples of B.
    let kept_preds: Vec<usize> = kept.iter().map(|&i| metrics::argmax(&weak_b[i])).collect();
    let kept_truth: Vec<usize> = kept.iter().map(|&i| data.train[b[i]].label).collect();
    let labels = LabelFigures {
        accuracy: metrics::accuracy(&kept_preds, &kept_truth).0,
        coverage: kept.len() as f64 / b.len() as f64,
        pgr_undefined: None,
        misfit_b: match &student.extra {
            Some(on_b) => (
                metrics::misfit::kl_misfit(&student_targets, on_b),
                metrics::misfit::squared_distance(on_b, &student_targets),
            ),
            None => (f64::NAN, f64::NAN),
        },
    };
    let probs = [weak_test.as_slice(), ceiling_test.as_slice(), student.test.as_slice()];
    let (row, pred_rows) =
        summary(env, rc, (a.len(), b.len()), format!("{:?}", rc.ceiling_on), probs, &test_labels, labels, start);
    let log = eval_log(&student.snapshots, &held_out, labels_b);
    let slice_labels: Vec<usize> = held_out.iter().map(|&i| data.train[b[i]].label).collect();
    let slice = SliceInfo { index: &held_out, labels: &slice_labels };
    evals_file::write(&dir.join(EVALS_FILE), &log, &test_labels, log.weak_val.is_some().then_some(slice))?;
    let specs = criteria::criteria_specs(registry, &rc.criteria);
    let scored =
        criteria::score(registry, &specs, &row.run_id, &log, &test_labels, (row.weak_acc, row.strong_acc), false)?;
    results::write_csv(&dir.join(CRITERIA_FILE), &scored)?;
    write_run(dir, rc, &wdir, &curves, &pred_rows, row)
}

/// The name of a chained run's per-link figures.
pub const CHAIN_FILE: &str = "chain.csv";

/// The kept examples of B split into those the student trains on and a held-out weak-labelled
/// slice of `frac` of them (seeded; none when `frac` is 0), both in B's order.
fn weak_val_split(kept: &[usize], frac: f64, seed: u64) -> anyhow::Result<(Vec<usize>, Vec<usize>)> {
    let n_out = (kept.len() as f64 * frac).round() as usize;
    if frac > 0.0 && (n_out == 0 || n_out >= kept.len()) {
        bail!(
            "weak_val_frac {frac} of the {} kept examples of B leaves {} to train on and {n_out} held out: both need \
             at least one",
            kept.len(),
            kept.len() - n_out.min(kept.len())
        );
    }
    let mut out = vec![false; kept.len()];
    for &j in rng::permutation(kept.len(), seed, "weak-val").iter().take(n_out) {
        out[j] = true;
    }
    let pick = |held: bool| kept.iter().zip(&out).filter(|(_, &o)| o == held).map(|(&i, _)| i).collect();
    Ok((pick(false), pick(true)))
}

/// The student's evaluation log: test predictions at every evaluation, and the held-out slice's
/// predictions with its weak labels (positions `held_out` of B) when it has one.
fn eval_log(snapshots: &[train::Snapshot], held_out: &[usize], weak_b: &[Vec<f32>]) -> EvalLog {
    let weak_val = (!held_out.is_empty()).then(|| WeakVal {
        targets: held_out.iter().map(|&i| weak_b[i].clone()).collect(),
        preds: snapshots.iter().map(|s| s.watch.clone().unwrap_or_default()).collect(),
    });
    EvalLog {
        steps: snapshots.iter().map(|s| s.step).collect(),
        test: snapshots.iter().map(|s| s.test.clone()).collect(),
        weak_val,
    }
}
