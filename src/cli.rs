//! Command-line definitions (clap). Raw arguments only; commands check and derive them.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::sandbox::Fault;

#[derive(Debug, Parser)]
#[command(
    name = "podwarden",
    version,
    about = "Cost governance for rented GPU pod fleets: stop idle pods, terminate orphans, honour resume TTLs, report spend.",
    long_about = "podwarden collects pods, utilisation and cost from GPU providers, evaluates TOML policies, \
and plans stop / resume / terminate actions. Dry-run is the default: nothing is changed unless you \
ask for it.\n\nWith no configuration at all, `podwarden run` starts a simulated provider sandbox \
in-process and plans against it, so you can see a full run with one command.",
    after_help = "Exit codes: 0 success · 1 internal error · 2 usage, config or policy error · 3 some actions failed · \
4 a circuit breaker refused a policy · 5 forbidden (token lacks a scope) · 6 rate limited past the run's deadline · \
7 provider data incomplete or unreachable."
)]
pub struct Cli {
    /// Log format on stderr. The level is set with PODWARDEN_LOG (default: warn,podwarden=info).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PlanFormat {
    Table,
    Json,
    Markdown,
}

#[derive(Debug, Clone, Args)]
pub struct Source {
    /// podwarden.toml to use. Default: $PODWARDEN_CONFIG, else ./podwarden.toml, else the built-in demo.
    #[arg(long, short, env = "PODWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// Use a saved fleet (`podwarden snapshot save`) instead of asking the providers.
    #[arg(long)]
    pub snapshot: Option<PathBuf>,
    /// With --snapshot: evaluate at this instant (RFC 3339) instead of the snapshot's time.
    /// Refused with a live collection, which is always evaluated and recorded at the real time.
    #[arg(long)]
    pub now: Option<String>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// The nightly job: collect, evaluate, plan and summarise spend (dry-run).
    ///
    /// With no configuration it runs the built-in demo against an in-process sandbox.
    Run {
        #[command(flatten)]
        source: Source,
        /// Also write the plan file here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the run's mails as .eml files into DIR instead of sending them (dry-run review).
        #[arg(long, value_name = "DIR")]
        email_to_dir: Option<PathBuf>,
    },
    /// Long-running: run the nightly job at `[schedule] cron` in `[schedule] timezone`.
    ///
    /// Five-field (`0 2 * * *`) or six-field, seconds first (`0 0 2 * * *`) expressions; the run
    /// happens at that local wall-clock time across DST changes. A fire while a run is still in
    /// progress is skipped (logged). SIGTERM lets a run in progress finish within
    /// `[schedule] grace` (default 5m), then exits.
    Schedule {
        /// podwarden.toml with a [schedule] section. Default: $PODWARDEN_CONFIG, else ./podwarden.toml.
        #[arg(long, short, env = "PODWARDEN_CONFIG")]
        config: Option<PathBuf>,
        /// Each run also writes the plan file here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Each run writes its mails as .eml files into DIR instead of sending them.
        #[arg(long, value_name = "DIR")]
        email_to_dir: Option<PathBuf>,
        /// Exit after N runs, with the last run's exit code (for tests and one-off checks).
        #[arg(long, value_name = "N")]
        max_runs: Option<u32>,
    },
    /// Dry-run review: print the plan and optionally write the plan file.
    ///
    /// With --snapshot the plan is deterministic: the same snapshot, policies and --now give
    /// byte-identical JSON apart from run_id and generated_at.
    Plan {
        #[command(flatten)]
        source: Source,
        /// Policy directory. Default: the config's `policies`, else ./policies, else the shipped ones.
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
        /// Write the plan file (JSON, the contract of design.md) here.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// For one pod: every policy and each condition's verdict with the values it saw.
    Explain {
        /// Target id, pod id or name.
        target: String,
        #[command(flatten)]
        source: Source,
        #[arg(long)]
        policies: Option<PathBuf>,
    },
    /// Check policies: every problem, each with file:line:column, a code and a hint.
    ///
    /// Provider names in policies are checked against the configured providers' types when a
    /// configuration is found (--config, $PODWARDEN_CONFIG, ./podwarden.toml), else against the
    /// built-in names "argus" (Argus) and "podstack" (Podstack).
    Validate {
        /// Policy directory. Default: the config's `policies`, else ./policies.
        dir: Option<PathBuf>,
        /// podwarden.toml whose providers the policies are checked against.
        #[arg(long, short, env = "PODWARDEN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Run the policy test cases in DIR/tests/*.toml (fixed fleets, fixed clock).
    ///
    /// Prints each case and "policy cases: N passed, M failed"; exits 2 when a case fails
    /// or there is none.
    Test {
        /// Policy directory. Default: ./policies.
        dir: Option<PathBuf>,
    },
    /// How a policy change alters the plan, as Markdown for a review comment.
    Diff {
        /// Policy directory before the change.
        #[arg(long)]
        base: PathBuf,
        /// Policy directory after the change.
        #[arg(long)]
        head: PathBuf,
        #[command(flatten)]
        source: Source,
    },
    /// Save the collected fleet, so that plan, explain and diff can be repeated offline.
    Snapshot {
        #[command(subcommand)]
        action: SnapshotAction,
    },
    /// Serve the simulated Argus and Podstack APIs on loopback.
    Sandbox(SandboxArgs),
}

#[derive(Debug, Subcommand)]
pub enum SnapshotAction {
    /// Collect the fleet and write it to FILE (JSON, with the time it was taken).
    Save {
        file: PathBuf,
        #[arg(long, short, env = "PODWARDEN_CONFIG")]
        config: Option<PathBuf>,
    },
}

#[derive(Debug, Args)]
pub struct SandboxArgs {
    /// Address to listen on (port 0 picks a free port and prints it).
    #[arg(long, default_value = "127.0.0.1:8181")]
    pub listen: SocketAddr,
    /// Seed of the generated fleet (same seed, same fleet).
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Fleet size across both providers (70 % Argus, 30 % Podstack).
    #[arg(long, default_value_t = 300)]
    pub pods: usize,
    /// Argus operations allowed per window and token.
    #[arg(long, default_value_t = 20)]
    pub ops_limit: u32,
    /// Length of the Argus operations window, in seconds.
    #[arg(long, default_value_t = 60)]
    pub ops_window_secs: u64,
    /// Argus reads allowed per window and token.
    #[arg(long, default_value_t = 600)]
    pub read_limit: u32,
    /// Length of the Argus read window, in seconds.
    #[arg(long, default_value_t = 60)]
    pub read_window_secs: u64,
    /// Podstack requests allowed per window and token.
    #[arg(long, default_value_t = 120)]
    pub podstack_limit: u32,
    /// Length of the Podstack window, in seconds.
    #[arg(long, default_value_t = 60)]
    pub podstack_window_secs: u64,
    /// Token with every scope (Argus `admin-full`).
    #[arg(long, default_value = "pw-admin")]
    pub admin_token: String,
    /// Token with read scopes only (compute:read, cost:read).
    #[arg(long, default_value = "pw-readonly")]
    pub read_token: String,
    /// Seconds a stop / resume / terminate takes to complete.
    #[arg(long, default_value_t = 3)]
    pub transition_secs: u64,
    /// Fixed start time of the simulated clock (RFC 3339); it then advances in real time.
    #[arg(long)]
    pub now: Option<String>,
    /// Inject a fault (repeatable); each is described below.
    #[arg(long, value_enum)]
    pub fault: Vec<Fault>,
    /// Add the pods of a scenario file (TOML; see examples/scenario.toml) to the generated
    /// fleet; with `--pods 0` only the scenario's pods are served.
    #[arg(long, value_name = "FILE")]
    pub scenario: Option<PathBuf>,
}
