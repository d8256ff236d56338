//! `w2s`: weak-to-strong generalization experiments from the command line.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Parser, Subcommand};
use w2s_core::{preset::RunConfig, Env, Preset, Registry};
use w2s_runtime::{protocol, report};

#[derive(Parser)]
#[command(
    name = "w2s",
    version,
    about = "Weak-to-strong generalization experiments: train a weak supervisor, label data with it, \
             train a strong student on those labels, and measure how much of the gap it recovers.",
    after_help = "Start with `w2s list` to see the components, presets and registered commands (`w2s chess-report`), then `w2s run quickstart`.\n\
                  Assets are read from $W2S_CACHE (default: .w2s-cache in the checkout); fetch them with `bash scripts/bootstrap.sh`."
)]
struct Cli {
    /// More log output (-v: debug, -vv: trace).
    #[arg(short, long, action = clap::ArgAction::Count, global = true)]
    verbose: u8,
    /// Only warnings and errors; no progress bars.
    #[arg(short, long, global = true)]
    quiet: bool,
    /// Load a plugin library (repeatable); `$W2S_PLUGIN_PATH` adds more (files or folders, `:`-separated).
    #[arg(long = "plugin", value_name = "LIB.so", global = true)]
    plugins: Vec<PathBuf>,
    /// CPU threads for libtorch, 1 to 1024 (default: all cores).
    #[arg(long, global = true, value_parser = clap::value_parser!(i32).range(1..=1024))]
    threads: Option<i32>,
    /// Compute device: cpu, cuda, cuda:N, or auto (CUDA when a GPU can be used, else cpu).
    #[arg(long, global = true, default_value = "auto")]
    device: String,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List every registered task, backbone, labeler, objective, stopping criterion and preset, with parameters.
    List {
        /// Machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Print a preset (registered name or JSON/TOML file) as JSON, with overrides applied.
    Show {
        preset: String,
        /// Override a field: `--set strong_train.lr=1e-4`, `--set seeds=[0,1,2]`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// Run a preset: every (task, weak, strong, labeler, objective, seed) cell; finished runs are reused.
    /// `w2s run paper` runs every finding preset of the talk into runs/paper/PRESET and writes runs/paper/report.html.
    Run {
        /// A registered preset name (see `w2s list`), a group (`paper`), or a path to a .json/.toml preset file.
        preset: String,
        /// Override a field: `--set task.n_train=1000`, `--set objective=xent`.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Output folder (default: runs/PRESET).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Recompute runs even if finished results exist.
        #[arg(long)]
        force: bool,
        /// Worker processes on this machine (default: one per `--devices` entry, else 1, in this
        /// process). The cores are split between them (`--threads` sets each worker's share).
        #[arg(long, value_parser = jobs_arg)]
        jobs: Option<usize>,
        /// A device per worker, round robin: `--devices cuda:0,cuda:1` or `--devices cpu,cuda:0`.
        #[arg(long, value_delimiter = ',')]
        devices: Vec<String>,
        /// The `--force` invocation this worker belongs to (set by `--jobs` and `w2s slurm`).
        #[arg(long, hide = true, requires = "force")]
        force_token: Option<String>,
    },
    /// The stages a preset computes (weak labels, ceilings, runs) with their dependencies and ids;
    /// with the state of each in the output folder when it exists.
    Plan {
        /// A registered preset name or a .json/.toml preset file.
        preset: String,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Output folder whose stages to show as finished / running / waiting (default: runs/PRESET).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Machine-readable JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run a preset as a Slurm job array: each array task a worker on the shared output folder.
    /// Writes OUT/slurm/job.sbatch and submits it with sbatch (`--dry-run`: only writes it).
    Slurm {
        /// A registered preset name or a .json/.toml preset file.
        preset: String,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        /// Output folder, on storage every node sees (default: runs/PRESET).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Array tasks (workers).
        #[arg(long, default_value_t = 4, value_parser = at_least::<1>)]
        tasks: usize,
        /// Slurm partition (default: the cluster's default).
        #[arg(long)]
        partition: Option<String>,
        /// Time limit per task, in Slurm's format (e.g. 30:00, 1-00:00:00).
        #[arg(long)]
        time: Option<String>,
        /// CPUs per task (each worker's libtorch threads).
        #[arg(long, default_value_t = 1, value_parser = at_least::<1>)]
        cpus_per_task: usize,
        /// GPUs per task (the worker then runs on cuda).
        #[arg(long, default_value_t = 0)]
        gpus_per_task: usize,
        /// At most this many tasks at once.
        #[arg(long, value_parser = at_least::<1>)]
        array_limit: Option<usize>,
        /// Only write the script.
        #[arg(long)]
        dry_run: bool,
        /// Wait for the job to end (`sbatch --wait`), then print the summary table.
        #[arg(long)]
        wait: bool,
        /// Recompute every stage once, even where finished results exist.
        #[arg(long)]
        force: bool,
    },
    /// One self-contained report.html (and report.md) for results folders of `w2s run` (or
    /// folders of them, e.g. runs/paper): the talk's findings with verdicts, summary tables, figures.
    Report {
        /// Results folders (preset.json + summary.csv), or folders holding them.
        #[arg(required = true)]
        folders: Vec<PathBuf>,
        /// Where report.html and report.md go (default: the one folder given).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Score finished runs with every registered stopping criterion (plugins' too), from their
    /// logged evaluations, without training: a table per (labeler, objective, criterion).
    Criteria {
        /// Run folders, or results folders holding them.
        #[arg(required = true)]
        runs: Vec<PathBuf>,
        /// Score only this criterion, strictly (a name or a JSON spec; repeatable).
        #[arg(long = "criterion", value_name = "SPEC")]
        criterion: Vec<String>,
        /// Machine-readable JSON rows instead of the table.
        #[arg(long)]
        json: bool,
    },
    /// Frozen-feature figures of a pretrained backbone: extraction tokens/s and share of the
    /// matmul peak, cache speed-up of a probe run, padding of length-grouped batches, peak memory.
    BenchFeatures {
        /// The backbone: smollm2, gemma3, minilm or mpnet.
        #[arg(long, default_value = "smollm2")]
        model: String,
        /// Sentences of `sentiment` to encode (at least 1; at most the training set is used).
        #[arg(long, default_value_t = 1024, value_parser = at_least::<1>)]
        texts: usize,
        /// Decoder blocks to keep (default: all).
        #[arg(long, value_parser = at_least::<1>)]
        layers: Option<usize>,
        /// Training batch size for the padding figure.
        #[arg(long, default_value_t = 32, value_parser = at_least::<1>)]
        batch: usize,
        /// The frozen trunk's number format: f32 or bf16.
        #[arg(long, default_value = "f32")]
        precision: String,
        /// Machine-readable JSON instead of text.
        #[arg(long)]
        json: bool,
    },
    /// Fetch large assets that are fetched on demand (gemma3, mpnet, ...), with progress bars;
    /// runs and tests also fetch them when they need one. `--list`: the names.
    Fetch {
        /// Asset names (see `--list`).
        #[arg(required_unless_present = "list")]
        names: Vec<String>,
        /// Only list the assets that can be fetched.
        #[arg(long)]
        list: bool,
    },
    /// Load tasks with their default parameters: size, class balance, an example, time taken.
    Tasks {
        /// Task names (default: every registered task).
        names: Vec<String>,
        /// Prepare at most this many tasks at once (0 or left out: one per core).
        #[arg(long)]
        workers: Option<usize>,
    },
    /// Write a new plugin crate skeleton that builds and loads as it is.
    NewPlugin {
        /// Crate name (letters, digits, `-`, `_`).
        name: String,
        /// Folder to create it in.
        #[arg(long, default_value = ".")]
        dir: PathBuf,
    },
    /// Benchmark MiniLM fine-tuning throughput against the measured fp32 matmul peak.
    Bench {
        /// MiniLM training batch size (at least 1).
        #[arg(long, default_value_t = 32, value_parser = at_least::<1>)]
        batch: usize,
        /// Timed MiniLM steps, at least 1; (steps + 2 warm-up) × batch must fit in `sentiment`'s
        /// training set.
        #[arg(long, default_value_t = 20, value_parser = at_least::<1>)]
        steps: usize,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// A command that a component crate registered (`w2s list` shows them), e.g. `chess-report`.
    #[command(external_subcommand)]
    Registered(Vec<String>),
}

/// `--jobs`: a whole number of at least 1, with what 0 would mean said.
fn jobs_arg(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(0) => Err("0 workers would run nothing: expected at least 1 (--jobs 1 runs in this process)".into()),
        Ok(n) => Ok(n),
        _ => Err("expected a whole number of workers, at least 1".into()),
    }
}

/// A whole number of at least `MIN`, for numeric arguments (clap's own ranges print the type's
/// maximum as the upper bound).
fn at_least<const MIN: usize>(s: &str) -> Result<usize, String> {
    match s.parse::<usize>() {
        Ok(n) if n >= MIN => Ok(n),
        _ => Err(format!("expected a whole number of at least {MIN}")),
    }
}

fn init_logging(verbose: u8, quiet: bool) {
    let level = if quiet { "warn" } else { ["info", "debug", "trace"][verbose.min(2) as usize] };
    let filter = tracing_subscriber::EnvFilter::try_from_env("W2S_LOG").unwrap_or_else(|_| level.into());
    // Colour codes only for a terminal: a log piped to a file or a CI log stays plain text.
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .with_target(false)
        .init();
}

/// A preset file's path and text, to find the line and column of a field named in an error.
struct Source {
    path: PathBuf,
    text: String,
}

/// The error with the file, line and column of the preset field it names, where it can be found.
fn located(e: anyhow::Error, source: Option<&Source>) -> anyhow::Error {
    let field = e.chain().find_map(|c| c.downcast_ref::<w2s_core::preset::PresetFieldError>()).map(|f| f.field.clone());
    match (field, source) {
        (Some(field), Some(src)) => match w2s_runtime::preset_file::locate(&src.text, &field) {
            Some((line, column)) => {
                e.context(format!("preset file {}: line {line}, column {column}", src.path.display()))
            }
            None => e.context(format!("preset file {} (field `{field}` is not written in it)", src.path.display())),
        },
        _ => e,
    }
}

/// Resolve a preset argument (a file path or a registered name), apply the overrides and check
/// it against the registry: every error names its field, and the file's line and column. Returns
/// the preset's resolved runs too, so that `run` does not resolve it a second time.
fn load_preset(
    registry: &Registry,
    env: &Env,
    arg: &str,
    set: &[String],
) -> anyhow::Result<(String, Preset, Vec<RunConfig>)> {
    let path = PathBuf::from(arg);
    let is_file = path.extension().is_some_and(|e| e == "json" || e == "toml") || path.is_file();
    let (name, value, source) = if is_file {
        let name = path.file_stem().and_then(|s| s.to_str()).unwrap_or("preset").to_string();
        let text = std::fs::read_to_string(&path).with_context(|| format!("reading preset file {}", path.display()))?;
        (name, w2s_runtime::preset_file::parse(&path, &text)?, Some(Source { path: path.clone(), text }))
    } else {
        let entry = registry.presets.get(arg)?;
        (arg.to_string(), serde_json::to_value((entry.preset)())?, None)
    };
    let preset = Preset::from_value(value, set)
        .map_err(|e| located(e, source.as_ref()))
        .with_context(|| format!("preset `{name}`"))?;
    let runs = preset
        .resolved_runs(registry, env)
        .map_err(|e| located(e, source.as_ref()))
        .with_context(|| format!("preset `{name}` is invalid"))?;
    Ok((name, preset, runs))
}

fn list(registry: &Registry, json: bool) -> anyhow::Result<()> {
    let rows = registry.listing();
    if json {
        println!("{}", serde_json::to_string_pretty(&rows)?);
        return Ok(());
    }
    let mut kind = String::new();
    for r in rows {
        if r.kind != kind {
            kind = r.kind.clone();
            println!("\n{}s:", kind);
        }
        println!("  {:<14} {}", r.name, r.description);
        if r.kind != "preset" && r.params.as_object().is_some_and(|m| !m.is_empty()) {
            println!("  {:<14} params: {}", "", r.params);
        }
        if !r.origin.starts_with("built-in") {
            println!("  {:<14} from {}", "", r.origin);
        }
    }
    println!("\ngroups:");
    for (name, members) in w2s::report::group::GROUPS {
        println!("  {:<14} runs {} into runs/{name}/, then writes runs/{name}/report.html", name, members.join(", "));
    }
    // Commands that component crates register (`w2s NAME --help` for their arguments).
    if registry.commands.iter().next().is_some() {
        println!("\ncommands:");
        for c in registry.commands.iter() {
            println!("  {:<14} {}", c.name, c.description);
        }
    }
    Ok(())
}

/// On Ctrl-C: say what was finished and how to resume, then exit 130 at once. Finished runs and the
/// collected summary are already on disk (every file is written atomically), so nothing is lost.
fn on_interrupt(progress: std::sync::Arc<protocol::RunProgress>, out: PathBuf, command: String) {
    let handler = move || {
        use std::sync::atomic::Ordering;
        let (done, total) = (progress.finished.load(Ordering::SeqCst), progress.total.load(Ordering::SeqCst));
        eprintln!(
            "\ninterrupted: {done} of {total} runs finished; their rows are in {}.\n\
             Resume with the same command (finished runs and stages are reused): {command}",
            out.join("summary.csv").display()
        );
        // `_exit`, not `exit`: the main thread may be inside libtorch, whose static destructors
        // (run by `exit`) would crash under it. Every file is written atomically, so there is
        // nothing to flush.
        // SAFETY: `_exit` ends the process at once; it touches no Rust state.
        unsafe { libc::_exit(130) };
    };
    if let Err(e) = ctrlc::set_handler(handler) {
        tracing::warn!("no Ctrl-C handler ({e}); an interrupted run still keeps what it finished");
    }
}

/// How `w2s run` runs a preset: in this process, or by a pool of worker processes.
struct RunCtx<'a> {
    registry: &'a Registry,
    env: &'a Env,
    plugins: Vec<PathBuf>,
    verbose: u8,
    workers: Vec<w2s::pool::Worker>,
    /// Worker processes (more than one job, or devices given), not this process.
    pool: bool,
}

/// What running one preset gave.
struct Ran {
    outcome: protocol::Outcome,
    seconds: f64,
    /// Workers that did not exit cleanly, with their logs.
    worker_problems: Vec<String>,
}

impl Ran {
    /// Print the failed and unfinished runs and the workers' problems; how many runs they are.
    fn report_problems(&self) -> usize {
        let o = &self.outcome;
        if !o.failures.is_empty() {
            eprintln!("{} run(s) failed:", o.failures.len());
            for (error, ids) in &o.failure_groups {
                let runs = ids.iter().map(|id| format!("[{id}]")).collect::<Vec<_>>().join(" ");
                eprintln!("  {} run(s) {runs}: {error}", ids.len());
            }
        }
        for p in &self.worker_problems {
            eprintln!("{p}");
        }
        if !o.unfinished.is_empty() {
            eprintln!(
                "{} run(s) did not finish (see the workers' logs); run the same command again to do only what is left",
                o.unfinished.len()
            );
        }
        o.failures.len() + o.unfinished.len().max(self.worker_problems.len())
    }
}

impl<'a> RunCtx<'a> {
    fn new(
        registry: &'a Registry,
        env: &'a Env,
        plugins: &[PathBuf],
        verbose: u8,
        jobs: Option<usize>,
        devices: &[String],
        threads: Option<i32>,
    ) -> anyhow::Result<Self> {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        let workers = w2s::pool::workers(jobs, devices, threads, cores)?;
        let pool = workers.len() > 1 || !devices.is_empty();
        let plugins = plugins.iter().map(|p| w2s::pool::absolute(p)).collect::<anyhow::Result<_>>()?;
        Ok(RunCtx { registry, env, plugins, verbose, workers, pool })
    }

    /// Run the preset `arg` (as given: a name or a file) into `out`.
    #[allow(clippy::too_many_arguments)]
    fn run(
        &self,
        arg: &str,
        set: &[String],
        out: &std::path::Path,
        (name, preset, runs): (&str, &Preset, &[RunConfig]),
        force: bool,
        force_token: Option<String>,
        progress: Option<std::sync::Arc<protocol::RunProgress>>,
    ) -> anyhow::Result<Ran> {
        let started = std::time::Instant::now();
        let token =
            if force && self.pool { Some(force_token.unwrap_or_else(protocol::new_force_token)) } else { force_token };
        let opts = protocol::RunOptions {
            out: out.to_path_buf(),
            force,
            name: Some(name.to_string()),
            progress,
            force_token: token.clone(),
            collect_only: self.pool,
        };
        if !self.pool {
            let outcome = protocol::run_resolved(preset, runs, self.registry, self.env, &opts)?;
            return Ok(Ran { outcome, seconds: started.elapsed().as_secs_f64(), worker_problems: vec![] });
        }
        // Claims the folder (refusing another preset's) and writes preset.json before any worker starts.
        protocol::run_resolved(preset, runs, self.registry, self.env, &opts)?;
        let plan = protocol::plan::plan(runs, self.registry)?;
        let before = protocol::plan::states(&plan, out, token.as_deref());
        let reused = plan.run_stage.iter().filter(|&&i| before[i] == protocol::plan::StageState::Finished).count();
        let inv = w2s::pool::Invocation {
            preset: w2s::pool::portable_preset(arg),
            set: set.to_vec(),
            out: w2s::pool::absolute(out)?,
            force,
            force_token: token,
            plugins: self.plugins.clone(),
            verbose: self.verbose,
        };
        let end = w2s::pool::run(&inv, &self.workers, &plan, self.env)?;
        let mut outcome = protocol::run_resolved(preset, runs, self.registry, self.env, &opts)?;
        outcome.reused = reused;
        let worker_problems = end
            .exits
            .iter()
            .enumerate()
            .filter(|(_, (_, code))| *code != Some(0))
            .map(|(i, (log, code))| {
                let how = code.map_or("was killed by a signal".to_string(), |c| format!("exited with code {c}"));
                format!("worker {} {how}; its log: {}", i + 1, log.display())
            })
            .collect();
        Ok(Ran { outcome, seconds: end.seconds, worker_problems })
    }
}

fn main() {
    let cli = Cli::parse();
    init_logging(cli.verbose, cli.quiet);
    match real_main(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(2);
        }
    }
}

fn real_main(cli: Cli) -> anyhow::Result<i32> {
    let threads = cli.threads.unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as i32));
    tch::set_num_threads(threads);
    // Before the plugins load: the host hands its bar drawer to each of them.
    w2s_runtime::progress::install();
    let registry = w2s::registry_with_plugins(&cli.plugins)?;
    let mut env = Env::from_env();
    env.show_progress = !cli.quiet;
    env.device = w2s_runtime::device::choose(&cli.device).context("--device")?;
    tracing::debug!("device: {:?}", env.device);
    match cli.command {
        Command::List { json } => list(&registry, json)?,
        Command::Fetch { names, list } => {
            let known = w2s_core::env::on_demand_assets();
            if list {
                println!("{}", known.join("\n"));
                return Ok(0);
            }
            for name in &names {
                anyhow::ensure!(
                    known.contains(name),
                    "no asset called `{name}` to fetch (fetched on demand: {}; the others come with `bash scripts/bootstrap.sh`)",
                    known.join(", ")
                );
            }
            for name in &names {
                w2s_core::env::fetch(name, &env.cache_dir)?;
                println!("{name}: {}", env.asset_dir(name)?.display());
            }
        }
        Command::Criteria { runs, criterion, json } => {
            w2s::criteria_cmd::run(&registry, &runs, &criterion, json)?;
        }
        Command::Show { preset, set } => {
            let (_, p, _) = load_preset(&registry, &env, &preset, &set)?;
            println!("{}", serde_json::to_string_pretty(&p)?);
        }
        Command::Report { folders, out } => {
            let w = w2s::report::write(&folders, out.as_deref(), &registry, &env)?;
            print!("{}", w2s::report::table(&w.findings));
            if !w.missing.is_empty() {
                println!("missing: {} (not among the folders given)", w.missing.join(", "));
            }
            println!("report of {}: {} and {}", w.presets.join(", "), w.html.display(), w.markdown.display());
        }
        Command::Run { preset, set, out, force, jobs, devices, force_token }
            if w2s::report::group::group(&preset).is_some() =>
        {
            let members = w2s::report::group::group(&preset).unwrap_or_default();
            let out = out.unwrap_or_else(|| PathBuf::from("runs").join(&preset));
            let ctx = RunCtx::new(&registry, &env, &cli.plugins, cli.verbose, jobs, &devices, cli.threads)?;
            let mut failed = 0;
            for (i, name) in members.iter().enumerate() {
                eprintln!("[{preset} {}/{}] {name}", i + 1, members.len());
                let (name, p, runs) = load_preset(&registry, &env, name, &set)?;
                let dir = out.join(&name);
                let ran = ctx.run(&name, &set, &dir, (&name, &p, &runs), force, force_token.clone(), None)?;
                println!(
                    "\n{name}: {} runs ({} reused) in {:.1}s\n{}",
                    ran.outcome.rows.len(),
                    ran.outcome.reused,
                    ran.seconds,
                    report::table(&ran.outcome.rows)
                );
                failed += ran.report_problems();
            }
            let w = w2s::report::write(std::slice::from_ref(&out), None, &registry, &env)?;
            print!("{}", w2s::report::table(&w.findings));
            println!("report: {} and {}", w.html.display(), w.markdown.display());
            if failed > 0 {
                eprintln!("{failed} run(s) failed or did not finish (see above)");
                return Ok(1);
            }
        }
        Command::Run { preset, set, out, force, jobs, devices, force_token } => {
            let (name, p, runs) = load_preset(&registry, &env, &preset, &set)?;
            let out = out.unwrap_or_else(|| PathBuf::from("runs").join(&name));
            let ctx = RunCtx::new(&registry, &env, &cli.plugins, cli.verbose, jobs, &devices, cli.threads)?;
            let progress = std::sync::Arc::new(protocol::RunProgress::default());
            if !ctx.pool {
                on_interrupt(progress.clone(), out.clone(), std::env::args().collect::<Vec<_>>().join(" "));
            }
            let ran = ctx.run(&preset, &set, &out, (&name, &p, &runs), force, force_token, Some(progress))?;
            println!("\n{}", report::table(&ran.outcome.rows));
            let workers =
                if ctx.pool { format!(" with {} worker processes", ctx.workers.len()) } else { String::new() };
            println!(
                "{} runs ({} reused) in {:.1}s{workers}; peak memory {:.0} MiB{}. Results: {}",
                ran.outcome.rows.len(),
                ran.outcome.reused,
                ran.seconds,
                w2s::bench::peak_rss_mib(),
                if ctx.pool { " (this process)" } else { "" },
                out.join("summary.csv").display()
            );
            if ran.report_problems() > 0 {
                return Ok(1);
            }
        }
        Command::Plan { preset, set, out, json } => {
            let (name, _, runs) = load_preset(&registry, &env, &preset, &set)?;
            let out = out.unwrap_or_else(|| PathBuf::from("runs").join(&name));
            let plan = protocol::plan::plan(&runs, &registry)?;
            let states = out.is_dir().then(|| protocol::plan::states(&plan, &out, None));
            if json {
                let stages: Vec<serde_json::Value> = plan
                    .stages
                    .iter()
                    .enumerate()
                    .map(|(i, st)| {
                        let mut v = serde_json::to_value(st).unwrap_or_default();
                        if let Some(states) = &states {
                            v["state"] = states[i].name().into();
                        }
                        v
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::to_string_pretty(&serde_json::json!({ "preset": name, "out": out, "stages": stages }))?
                );
            } else {
                let names: Option<Vec<&str>> = states.as_ref().map(|s| s.iter().map(|x| x.name()).collect());
                print!("{}", protocol::plan::table(&plan, names.as_deref()));
                if names.is_none() {
                    println!("(no output folder {} yet: every stage is waiting)", out.display());
                }
            }
        }
        Command::Slurm {
            preset,
            set,
            out,
            tasks,
            partition,
            time,
            cpus_per_task,
            gpus_per_task,
            array_limit,
            dry_run,
            wait,
            force,
        } => {
            let (name, p, runs) = load_preset(&registry, &env, &preset, &set)?;
            let out = w2s::pool::absolute(&out.unwrap_or_else(|| PathBuf::from("runs").join(&name)))?;
            let plan = protocol::plan::plan(&runs, &registry)?;
            let token = force.then(protocol::new_force_token);
            let opts = protocol::RunOptions {
                out: out.clone(),
                force,
                name: Some(name.clone()),
                force_token: token.clone(),
                collect_only: true,
                ..Default::default()
            };
            // Claims the folder for this preset (refusing another's) before anything is submitted.
            protocol::run_resolved(&p, &runs, &registry, &env, &opts)?;
            let inv = w2s::pool::Invocation {
                preset: w2s::pool::portable_preset(&preset),
                set: set.clone(),
                out: out.clone(),
                force,
                force_token: token,
                plugins: cli.plugins.iter().map(|p| w2s::pool::absolute(p)).collect::<anyhow::Result<_>>()?,
                verbose: cli.verbose,
            };
            let args = w2s::slurm::SlurmArgs { tasks, partition, time, cpus_per_task, gpus_per_task, array_limit };
            let exe = std::env::current_exe().context("finding the w2s binary")?;
            let script = w2s::slurm::script(&inv, &args, &exe, &name)?;
            let path = w2s::slurm::script_path(&out);
            w2s_core::atomic_file::write_atomic(&path, script.as_bytes())?;
            std::fs::create_dir_all(out.join("logs"))?;
            println!("wrote {} ({} stages of {name} for {tasks} array task(s))", path.display(), plan.stages.len());
            if dry_run {
                println!("submit it with: sbatch {}", path.display());
                return Ok(0);
            }
            let (job, ok) = w2s::slurm::submit(&path, wait)?;
            println!("submitted job {job}: {tasks} array task(s) on the shared folder {}", out.display());
            println!(
                "watch it:  squeue -j {job}    (or: scontrol show job {job}; w2s plan {preset} --out {})",
                out.display()
            );
            println!("task logs: {}/logs/slurm-{job}_*.log", out.display());
            if !wait {
                println!(
                    "when it has ended: w2s run {preset} --out {} (reuses every finished stage) or w2s report {}",
                    out.display(),
                    out.display()
                );
                return Ok(0);
            }
            let outcome = protocol::run_resolved(&p, &runs, &registry, &env, &opts)?;
            println!("\n{}", report::table(&outcome.rows));
            println!(
                "{} of {} runs finished. Results: {}",
                outcome.rows.len(),
                runs.len(),
                out.join("summary.csv").display()
            );
            if !outcome.unfinished.is_empty() || !ok {
                eprintln!(
                    "job {job}: {} run(s) did not finish{}; submit the same command again to do only what is left",
                    outcome.unfinished.len(),
                    if ok { "" } else { " and a task failed (see the task logs)" }
                );
                return Ok(1);
            }
        }
        Command::BenchFeatures { model, texts, layers, batch, precision, json } => {
            let r = w2s::bench_features::run(&registry, &env, &model, texts, layers, batch, &precision)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("{}", w2s::bench_features::render(&r));
            }
        }
        Command::Registered(args) => {
            let Some((name, rest)) = args.split_first() else { anyhow::bail!("no command given") };
            let command = registry.commands.get(name).with_context(|| {
                format!("`{name}` is neither a built-in command (see `w2s --help`) nor a registered one")
            })?;
            return (command.run)(&w2s_core::registry::CommandCtx { registry: &registry, env: &env }, rest);
        }
        Command::Tasks { names, workers } => {
            let started = std::time::Instant::now();
            let pool = rayon::ThreadPoolBuilder::new().num_threads(workers.unwrap_or(0)).build()?;
            let prepared = pool.install(|| w2s::prepare::run(&registry, &env, &names));
            let busy: f64 = prepared.iter().map(|p| p.seconds).sum();
            for p in prepared {
                match &p.skipped {
                    Some(why) => println!("{:<18} skipped: {}", p.task, why.lines().next().unwrap_or_default()),
                    None => {
                        let balance: Vec<String> = if p.balance.len() > 6 {
                            let largest = p.balance.iter().cloned().fold(0.0, f64::max);
                            vec![format!("{} classes, largest {:.1}%", p.balance.len(), 100.0 * largest)]
                        } else {
                            p.balance.iter().map(|b| format!("{:.1}%", 100.0 * b)).collect()
                        };
                        let mut example = p.example.clone();
                        if example.chars().count() > 90 {
                            example = example.chars().take(90).collect::<String>() + "...";
                        }
                        println!(
                            "{:<18} {:>6.2}s  train {:>5}  test {:>5}  balance [{}]  {}",
                            p.task,
                            p.seconds,
                            p.train,
                            p.test,
                            balance.join(", "),
                            example
                        );
                    }
                }
            }
            let wall = started.elapsed().as_secs_f64();
            println!(
                "prepared in {wall:.2}s on {} worker(s) (the tasks' own times add up to {busy:.2}s)",
                pool.current_num_threads()
            );
        }
        Command::NewPlugin { name, dir } => {
            let path = w2s::new_plugin::write(&name, &dir)?;
            println!("wrote {}", path.display());
            println!(
                "build it:  (cd {} && source {}/scripts/env.sh && cargo build --release)",
                path.display(),
                env!("CARGO_MANIFEST_DIR").trim_end_matches("/experiments")
            );
            println!("load it:   w2s --plugin {}/target/release/lib{}.so list", path.display(), name.replace('-', "_"));
        }
        Command::Bench { batch, steps, json } => {
            let r = w2s::bench::run(&env, batch, steps)?;
            if json {
                println!("{}", serde_json::to_string_pretty(&r)?);
            } else {
                println!("threads                 {}", r.threads);
                println!("fp32 matmul peak        {:.1} GFLOP/s", r.matmul_peak_gflops);
                println!("MiniLM fine-tuning      batch {}, {} steps", r.batch, r.steps);
                println!("  examples/s            {:.1}", r.examples_per_s);
                println!("  tokens/s              {:.0} (padded: {:.0})", r.tokens_per_s, r.padded_tokens_per_s);
                println!(
                    "  achieved              {:.1} GFLOP/s = {:.1}% of peak",
                    r.train_gflops,
                    100.0 * r.fraction_of_peak
                );
                println!("  peak memory           {:.0} MiB", r.peak_rss_mib);
                let c = &r.chess;
                println!(
                    "chess-net {} training  batch {}, {} steps, {:.1} M parameters",
                    c.size,
                    c.batch,
                    c.steps,
                    c.parameters as f64 / 1e6
                );
                println!("  positions/s           {:.0}", c.positions_per_s);
                println!(
                    "  achieved              {:.1} GFLOP/s = {:.1}% of peak",
                    c.train_gflops,
                    100.0 * r.chess_fraction_of_peak
                );
            }
        }
    }
    Ok(0)
}
