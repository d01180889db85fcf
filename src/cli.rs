//! The command line (clap derive). Commands are implemented in `app`.

use std::path::PathBuf;

use clap::{Parser, Subcommand, ValueEnum};

use crate::report::ProgressMode;

const EXIT_CODES: &str = "Exit codes:
  0  success
  1  the run failed (or a gate found a regression)
  2  invalid usage or invalid pipeline
  3  internal error";

#[derive(Debug, Parser)]
#[command(name = "pmflow", version, about = "Predictive-maintenance ML pipelines from YAML: run, track, register, schedule.", after_help = EXIT_CODES)]
pub struct Cli {
    /// How to show progress.
    #[arg(long, value_enum, default_value_t = ProgressMode::Auto, global = true)]
    pub progress: ProgressMode,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check a pipeline without running it; prints every problem as FILE:LINE:COL.
    #[command(after_help = EXIT_CODES)]
    Validate(PipelineArgs),
    /// Run a pipeline and record it in the registry.
    #[command(after_help = EXIT_CODES)]
    Run(RunArgs),
    /// Registered models: versions, aliases, promotion, rollback and the alias history.
    #[command(subcommand)]
    Models(ModelsCommand),
    /// Score new readings with a registered model (or a run's): each machine's latest window
    /// with its risk level, most at risk first.
    #[command(after_help = EXIT_CODES)]
    Predict(PredictArgs),
    /// Write a run's report as one self-contained HTML file (every run also writes its own
    /// `report.html` among its artifacts when it ends).
    #[command(after_help = EXIT_CODES)]
    Report(ReportArgs),
    /// Compare a candidate with a baseline metric by metric (runs or model versions); exit 1
    /// on a regression beyond the tolerance, 2 on an error.
    Compare(CompareArgs),
    /// Run every enabled schedule of the given pipelines (files or folders of them) as a
    /// foreground daemon; `--list` prints the next fire times and exits.
    Schedule(ScheduleArgs),
    /// Inspect recorded runs.
    #[command(subcommand)]
    Runs(RunsCommand),
    /// Registry maintenance: copy one registry into another (a local SQLite file into the
    /// PostgreSQL registry a team shares).
    #[command(subcommand)]
    Registry(RegistryCommand),
    /// Print a run's full metric history: every point, per-epoch series included.
    #[command(after_help = EXIT_CODES)]
    Metrics(MetricsArgs),
    /// Remove artifact files nothing needs: what killed runs left behind, incomplete run
    /// folders (no pipeline.json) the registry does not know, old runs' files (with
    /// --keep-last / --older-than), and complete runs it does not know (with --unknown-runs).
    #[command(after_help = EXIT_CODES)]
    Gc(GcArgs),
    /// Show versions and what libtorch offers here (threads, CUDA), with a self-check.
    Info,
    /// Generate a synthetic sensor fleet with real failure mechanics (CSV or Parquet).
    GenData(GenDataArgs),
    /// Log N metric points (batched, as a run does) and M single points into a fresh run of a
    /// registry and print the times as JSON (for `just bench`).
    #[command(hide = true)]
    BenchRegistry {
        points: i64,
        /// `sqlite://FILE` (removed first) or `postgres://...` (a new run in it).
        registry: String,
        /// Single metric writes, one transaction each, after the batched ones.
        #[arg(long, default_value_t = 0)]
        single: i64,
    },
    /// Train the LSTM on random windows and print sequences/s (for `just bench`).
    #[command(hide = true)]
    BenchLstm(BenchLstmArgs),
}

/// The shape of the LSTM throughput benchmark (defaults: the reference setting).
#[derive(Debug, clap::Args)]
pub struct BenchLstmArgs {
    #[arg(long, default_value_t = 64)]
    pub batch: usize,
    #[arg(long, default_value_t = 24)]
    pub window: usize,
    #[arg(long, default_value_t = 18)]
    pub features: usize,
    #[arg(long, default_value_t = 64)]
    pub hidden: i64,
    #[arg(long, default_value_t = 2)]
    pub layers: i64,
    /// Training windows per timed epoch.
    #[arg(long, default_value_t = 20_000)]
    pub windows: usize,
    #[arg(long, default_value_t = 1)]
    pub threads: usize,
}

#[derive(Debug, clap::Args)]
pub struct GenDataArgs {
    /// Number of machines.
    #[arg(long, default_value_t = 50)]
    pub equipment: u32,
    /// Days of data per machine.
    #[arg(long, default_value_t = 90.0)]
    pub days: f64,
    /// Samples per machine (instead of --days).
    #[arg(long, conflicts_with = "days")]
    pub samples: Option<u64>,
    /// Sampling interval (30s, 10m, 1h).
    #[arg(long, default_value = "10m")]
    pub interval: String,
    /// Mean failures per machine per year.
    #[arg(long, default_value_t = 6.0)]
    pub failure_rate: f64,
    /// Label horizon: `failure` is 1 when a failure happens within it.
    #[arg(long, default_value = "24h")]
    pub horizon: String,
    /// Fraction of sensor values missing (in short dropouts).
    #[arg(long, default_value_t = 0.01)]
    pub missing_rate: f64,
    /// Probability that a value is a spike (an outlier, 2-4x).
    #[arg(long, default_value_t = 0.001)]
    pub spike_rate: f64,
    /// Same seed, same options: byte-identical output.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Output file: .csv or .parquet.
    #[arg(long)]
    pub out: PathBuf,
    /// Generator threads [default: number of cores].
    #[arg(long)]
    pub threads: Option<usize>,
}

#[derive(Debug, clap::Args)]
pub struct PipelineArgs {
    /// The pipeline YAML file.
    pub file: PathBuf,
    /// Override a value: `params.seed=7`, `clean.with.impute=mean` (repeatable).
    #[arg(long = "set", value_name = "PATH=VALUE")]
    pub overrides: Vec<String>,
    /// Directory that relative paths resolve against [default: parent of the enclosing
    /// `pipelines/` folder, else the file's folder].
    #[arg(long)]
    pub root: Option<PathBuf>,
    /// Registry URL to use instead of the pipeline's `storage.registry` (`sqlite://PATH`,
    /// relative to the current directory, or `postgres://USER@HOST:5432/DATABASE`). A password
    /// given here is used to connect and stored nowhere.
    #[arg(long, env = "PMFLOW_REGISTRY")]
    pub registry: Option<String>,
}

#[derive(Debug, clap::Args)]
pub struct RunArgs {
    #[command(flatten)]
    pub pipeline: PipelineArgs,
    /// Steps run at the same time when the graph allows [default: number of cores].
    #[arg(long, short = 'j', value_parser = at_least_one)]
    pub jobs: Option<usize>,
    /// Re-run STEP and everything after it without the cache; without STEP, re-run all
    /// (repeatable).
    #[arg(long, value_name = "STEP", num_args = 0..=1, default_missing_value = "*")]
    pub force: Vec<String>,
    /// Continue a failed or interrupted run (id, unique prefix or `latest`) from its first
    /// unfinished step.
    #[arg(long, value_name = "RUN")]
    pub resume: Option<String>,
    /// Print the plan (each step: cached or to run, and why) and run nothing.
    #[arg(long)]
    pub dry_run: bool,
}

#[derive(Debug, Subcommand)]
pub enum RegistryCommand {
    /// Copy every run (steps, params, metrics, tags, artifact records), model version, alias
    /// and alias decision of FROM into TO, in one transaction. Refused when TO already holds
    /// one of the runs or model versions, or while a run of FROM is still running.
    #[command(after_help = EXIT_CODES)]
    Copy {
        /// The registry to read: `sqlite://experiments/registry.db`, `postgres://...`.
        from: String,
        /// The registry to write (migrated first if new).
        to: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum RunsCommand {
    /// List runs, newest first (or in --order-by order).
    #[command(after_help = EXIT_CODES)]
    List {
        #[arg(long)]
        experiment: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        /// At most this many runs (counted after --where and --order-by).
        #[arg(long, default_value_t = 50)]
        limit: i64,
        /// Only runs for which every comparison holds, joined with `and`: `evaluate.f1 >= 0.8
        /// and params.train.epochs = 20 and status = 'succeeded'`. Names: a metric (its last
        /// value; full name or a unique suffix such as `f1`), `params.<key>`, `tags.<key>`,
        /// `status`, `pipeline`, `experiment`, `trigger`, `started_at`. Operators: `=`, `!=`,
        /// `<`, `<=`, `>`, `>=`, and LIKE and ILIKE for text. Values: numbers or 'quoted' text.
        /// A run without the value does not match.
        #[arg(long = "where", value_name = "EXPR")]
        filter: Option<String>,
        /// Sort by a metric, param, tag or column, ascending unless `:desc` (repeatable: later
        /// keys break ties). Runs without the value come last.
        #[arg(long, value_name = "NAME[:asc|:desc]")]
        order_by: Vec<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Show one run: status, params, metrics, steps, artifacts.
    Show {
        /// A run id, a unique prefix of one, or `latest`.
        run: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct ScheduleArgs {
    /// Pipeline files, or folders whose `*.yaml` files are read.
    #[arg(required = true)]
    pub pipelines: Vec<std::path::PathBuf>,
    /// Print each scheduled pipeline's next three fire times (its zone and UTC) and exit.
    #[arg(long)]
    pub list: bool,
    #[arg(long, value_enum, default_value_t = LogFormat::Plain)]
    pub log_format: LogFormat,
    /// On SIGINT/SIGTERM, how long a running run may take to finish before it is interrupted.
    #[arg(long, default_value_t = 60)]
    pub grace_secs: u64,
    /// Registry URL for every pipeline, instead of their `storage.registry`: the one registry
    /// that daemons on several hosts share, so that they split the fires.
    #[arg(long, env = "PMFLOW_REGISTRY")]
    pub registry: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One timestamped line per event.
    Plain,
    /// One JSON object per line, for log shippers.
    Json,
}

#[derive(Debug, Subcommand)]
pub enum ModelsCommand {
    /// Every registered model: versions, the latest, and who holds each alias.
    List {
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// One version (`NAME`, `NAME@ALIAS`, `NAME@vN`): its run, metrics, files (checked
    /// against their recorded sha256) and aliases.
    Show {
        model: String,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Move an alias to a version (its files must be intact).
    Promote {
        name: String,
        /// The version: `7`, `v7` or `latest`.
        version: String,
        #[arg(long)]
        alias: String,
        /// Why, for the alias history.
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Give an alias back to the version that held it before the current holder.
    Rollback {
        name: String,
        #[arg(long)]
        alias: String,
        #[arg(long)]
        reason: Option<String>,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Every alias decision (promoted, refused by a gate, rolled back), oldest first.
    History {
        name: String,
        #[arg(long)]
        alias: Option<String>,
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
        #[command(flatten)]
        registry: RegistryArgs,
    },
}

#[derive(Debug, clap::Args)]
pub struct CompareArgs {
    /// A run id, a unique prefix, `latest`, `latest:EXPERIMENT`, `MODEL@ALIAS` or `MODEL@vN`.
    pub baseline: String,
    /// The same forms as BASELINE.
    pub candidate: String,
    /// A metric to compare (full name or unique suffix), `:lower` or `:higher` to say which
    /// way is better (repeatable) [default: every evaluate metric both sides have].
    #[arg(long = "metric", value_name = "NAME[:lower|:higher]")]
    pub metrics: Vec<String>,
    /// A regression is a metric worse by more than this, absolutely.
    #[arg(long, conflicts_with_all = ["rtol", "atol"])]
    pub max_drop: Option<f64>,
    /// A regression is a metric worse by more than atol + rtol * |baseline|.
    #[arg(long)]
    pub rtol: Option<f64>,
    #[arg(long)]
    pub atol: Option<f64>,
    #[arg(long, value_enum, default_value_t = CompareFormat::Table)]
    pub format: CompareFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CompareFormat {
    Table,
    /// A markdown table for a pull-request comment.
    Md,
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ReportArgs {
    /// A run id, a unique prefix of one, or `latest`.
    pub run: String,
    /// Where to write the page.
    #[arg(long, default_value = "report.html")]
    pub out: PathBuf,
    /// Show the metrics beside another run's or a model version's (`MODEL@ALIAS`, `MODEL@vN`,
    /// a run id).
    #[arg(long, value_name = "RUN|MODEL@ALIAS")]
    pub vs: Option<String>,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct PredictArgs {
    /// `MODEL@ALIAS`, `MODEL@vN`, `MODEL` (its latest version), or a run id (a unique prefix,
    /// `latest`) to try a model before it is registered.
    #[arg(long)]
    pub model: String,
    /// The new readings (CSV, Parquet, or any file the model's `load` step reads); no label
    /// needed. Relative paths start at the current directory.
    #[arg(long)]
    pub data: String,
    /// Write every scored window (entity, time, score, alarm, risk) here: `.parquet` or `.csv`.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// What to print: the machines by risk as a table, or as JSON or CSV for other tools.
    #[arg(long, value_enum, default_value_t = PredictFormat::Table)]
    pub format: PredictFormat,
    /// Score each machine's latest window only, or every window (for `--out`).
    #[arg(long, value_enum, default_value_t = PredictAt::Latest)]
    pub at: PredictAt,
    /// `warning` from this multiple of the model's threshold (`critical` from 1x).
    #[arg(long, default_value_t = 0.5)]
    pub warning: f64,
    /// Score the other machines when some have too few rows for one window (default: error).
    #[arg(long)]
    pub skip_short: bool,
    /// Windows per forward pass.
    #[arg(long, default_value_t = 4096)]
    pub batch_size: usize,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PredictFormat {
    Table,
    Json,
    Csv,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PredictAt {
    Latest,
    All,
}

#[derive(Debug, clap::Args)]
pub struct MetricsArgs {
    /// A run id, a unique prefix of one, or `latest`.
    pub run: String,
    #[arg(long, value_enum, default_value_t = MetricsFormat::Csv)]
    pub format: MetricsFormat,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

/// `pmflow metrics --format`: rows for spreadsheets and pandas, or JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MetricsFormat {
    /// A header `step_id,key,step,value,time`, then one row per point.
    Csv,
    /// An array of `{step_id, key, step, value, time}`.
    Json,
}

#[derive(Debug, clap::Args)]
pub struct GcArgs {
    /// Keep the files of the newest N runs of each pipeline; older runs' files go.
    #[arg(long, value_name = "N")]
    pub keep_last: Option<usize>,
    /// Remove the files of runs started longer ago than this (`30d`, `12h`, `2w`). With
    /// --keep-last, a run goes only when both say so.
    #[arg(long, value_name = "AGE")]
    pub older_than: Option<String>,
    /// Print what would be removed, and remove nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// Also remove complete runs this registry does not know. They are kept by default: they
    /// are most likely another registry's (same artifact folder, other `--registry`).
    #[arg(long)]
    pub unknown_runs: bool,
    /// Artifact store URL; relative paths resolve against the current directory.
    #[arg(long, env = "PMFLOW_ARTIFACTS", default_value = crate::pipeline::DEFAULT_ARTIFACTS)]
    pub artifacts: String,
    #[command(flatten)]
    pub registry: RegistryArgs,
}

#[derive(Debug, clap::Args)]
pub struct RegistryArgs {
    /// Registry URL; relative paths resolve against the current directory.
    #[arg(long, env = "PMFLOW_REGISTRY", default_value = crate::pipeline::DEFAULT_REGISTRY)]
    pub registry: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Table,
    Json,
}

/// `-j N`: zero jobs would run nothing, so it is refused rather than read as one.
fn at_least_one(text: &str) -> Result<usize, String> {
    match text.parse::<usize>() {
        Ok(0) => Err("must be at least 1 (steps run at the same time)".into()),
        Ok(n) => Ok(n),
        Err(e) => Err(e.to_string()),
    }
}
