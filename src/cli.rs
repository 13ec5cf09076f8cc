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
7 provider data incomplete or unreachable · 8 audit journal failed verification."
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
    /// The nightly job: collect, plan, report, mail; acts only with --apply (default: dry-run).
    ///
    /// With no configuration it runs the built-in demo against an in-process sandbox.
    /// Records notice periods (policies with `notice`): starts, confirms and drops them.
    /// Writes the spend report under `<reports>/YYYY-MM-DD/` (the config's `reports`, or
    /// --reports DIR), sends the finance mail and owner notices when `[email]` is set, and pushes
    /// metrics when `[metrics]` is set. With --snapshot (a replay) it writes a report only with
    /// --reports DIR, never into the config's folder.
    Run {
        #[command(flatten)]
        source: Source,
        /// Also write the plan file here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Write the spend report under DIR/YYYY-MM-DD/ instead of the config's `reports` (with
        /// --snapshot: the only way a replay writes one).
        #[arg(long, value_name = "DIR")]
        reports: Option<PathBuf>,
        /// Carry out the plan's actions (default: dry-run, nothing is changed).
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        act: ActArgs,
        /// Write the run's mails as .eml files into DIR instead of sending them (dry-run review).
        #[arg(long, value_name = "DIR")]
        email_to_dir: Option<PathBuf>,
    },
    /// Carry out an approved plan file: only what today's policies still plan, re-checked
    /// right before it is sent.
    ///
    /// Refuses a plan older than `[apply] max_plan_age` (24 h) or made from other policies
    /// than those on disk (`policies_sha256`). The file is not trusted: the fleet is collected
    /// again and every action derived afresh from the policies on disk; an action that does
    /// not re-derive exactly as written (edited, widened, added, or the fleet moved on) is
    /// reported as "not re-derived" and never sent, so an edited plan can only remove actions.
    /// Each action is journalled before it is sent (see `podwarden audit`) and never sent
    /// twice, also across crashes and re-runs.
    /// Exit 3 when actions failed, stayed unverified, were held back (terminate without
    /// --yes) or were refused as edited, 4 when a circuit breaker refuses them now, 5 when a
    /// token may not act (every missing scope is named; 2 when it is rejected), 6 when the
    /// deadline left actions pending.
    Apply {
        /// The plan file (`podwarden plan --out plan.json`).
        plan: PathBuf,
        /// podwarden.toml (providers, state, limits). Default: $PODWARDEN_CONFIG, else ./podwarden.toml.
        #[arg(long, short, env = "PODWARDEN_CONFIG")]
        config: Option<PathBuf>,
        /// Policy directory the plan's policies_sha256 is checked against. Default: the config's.
        #[arg(long)]
        policies: Option<PathBuf>,
        /// Apply a plan older than `[apply] max_plan_age`.
        #[arg(long)]
        allow_stale: bool,
        /// Apply a plan made from policies other than those on disk.
        #[arg(long)]
        allow_policy_change: bool,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Build the spend report only: Markdown, HTML, CSV, Parquet and FOCUS files under
    /// `<reports>/YYYY-MM-DD/` (the config's `reports`, or --reports DIR).
    ///
    /// With --snapshot (a replay) the files are written only with --reports DIR: a replay never
    /// replaces the report of a live run. Without it the headline is printed and nothing written.
    ///
    /// With --merge it collects nothing: it combines the reports of shards (`[[shard]]`, one
    /// Kubernetes Indexed Job completion each) into the fleet's one report under the config's
    /// `reports`, and sends the one finance mail when `[email]` is set. Run it after the
    /// shards, e.g. `podwarden report --merge` (every configured shard's newest report, all of
    /// today's) or `podwarden report --merge /data/reports/shards/eu …`.
    Report {
        #[command(flatten)]
        source: Source,
        /// Write under DIR/YYYY-MM-DD/ instead of the config's `reports`.
        #[arg(long, value_name = "DIR")]
        reports: Option<PathBuf>,
        /// Combine shards' reports instead of collecting: each DIR a shard's reports folder
        /// (its newest day is used) or one of its day folders. No DIR: every [[shard]] of the
        /// configuration.
        #[arg(long, value_name = "DIR", num_args = 0.., conflicts_with = "snapshot")]
        merge: Option<Vec<PathBuf>>,
        /// With --merge: write the finance mail as an .eml file into DIR instead of sending it.
        #[arg(long, value_name = "DIR", requires = "merge")]
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
        /// Each run carries out its plan's actions (as `run --apply`).
        #[arg(long)]
        apply: bool,
        #[command(flatten)]
        act: ActArgs,
    },
    /// Read utilisation ahead of the nightly run and keep it in the state file.
    ///
    /// Reads the pods whose activity needs a request of its own (Podstack's utilisation): the
    /// never-read first, then the oldest readings, at `[collect] observe_budget` of each
    /// provider's rate limit (default 50 %, leaving the rest to others using the token), as
    /// many as `[collect] observe_span` holds (default 50m: run it hourly). The nightly `run` /
    /// `plan` then judges pods on readings younger than `[collect] max_evidence_age` (default
    /// 12h) and reads only the rest. Never acts, plans, mails or writes a report.
    Observe {
        /// podwarden.toml. Default: $PODWARDEN_CONFIG, else ./podwarden.toml, else the demo.
        #[arg(long, short, env = "PODWARDEN_CONFIG")]
        config: Option<PathBuf>,
    },
    /// Dry-run review: print the plan and optionally write the plan file.
    ///
    /// With --snapshot the plan is deterministic: the same snapshot, policies and --now give
    /// byte-identical JSON apart from run_id and generated_at. Notice periods recorded by
    /// `run` are read (never started or dropped; none from a snapshot). Writes no spend report
    /// unless --reports DIR is given (the dated report folder is `run`'s and `report`'s).
    Plan {
        #[command(flatten)]
        source: Source,
        /// Policy directory. Default: the config's `policies`, else ./policies, else the shipped ones.
        #[arg(long)]
        policies: Option<PathBuf>,
        #[arg(long, value_enum, default_value_t = PlanFormat::Table)]
        format: PlanFormat,
        /// Write the plan file (JSON, the contract of docs/design.md) here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Also write this plan's spend report under DIR/YYYY-MM-DD/ (paths on stderr).
        #[arg(long, value_name = "DIR")]
        reports: Option<PathBuf>,
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
    /// The audit journal: list and filter what was done, verify its hash chain, export it.
    ///
    /// Without a subcommand: `list`. The journal is in the state file: --state FILE, else the
    /// `state` of --config / $PODWARDEN_CONFIG / ./podwarden.toml.
    Audit(AuditArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum AuditFormat {
    /// One line per record, grouped by run.
    Table,
    /// JSON Lines: one record per line, each carrying its hash (verifiable offline).
    Jsonl,
}

/// `--config` / `--state` go before or after the subcommand; the listing's options before
/// it only when there is none (`audit --run X` is `audit list --run X`).
#[derive(Debug, Args)]
pub struct AuditArgs {
    #[command(subcommand)]
    pub action: Option<AuditAction>,
    #[command(flatten)]
    pub journal: JournalFile,
    #[command(flatten)]
    pub list: AuditList,
}

#[derive(Debug, Subcommand)]
pub enum AuditAction {
    /// List the journal: one line per action with its latest status (--history: every record).
    List(AuditList),
    /// Check the hash chain: exit 0 when intact, 8 when a record was edited, inserted or
    /// deleted (the message names it).
    Verify,
    /// Write every record (or those the filters select) to FILE as JSON Lines.
    Export {
        file: PathBuf,
        #[command(flatten)]
        filter: AuditFilter,
    },
}

/// Where the journal is: the state file (before or after the subcommand).
#[derive(Debug, Args)]
pub struct JournalFile {
    /// podwarden.toml whose `state` file holds the journal. Default: $PODWARDEN_CONFIG, else ./podwarden.toml.
    #[arg(long, short, global = true, env = "PODWARDEN_CONFIG")]
    pub config: Option<PathBuf>,
    /// The state file (SQLite) itself; wins over --config.
    #[arg(long, global = true, value_name = "FILE")]
    pub state: Option<PathBuf>,
}

/// Which records to show.
#[derive(Debug, Args)]
pub struct AuditFilter {
    /// Only this run.
    #[arg(long, value_name = "ID")]
    pub run: Option<String>,
    /// Only this target (target id or pod id).
    #[arg(long, value_name = "T")]
    pub target: Option<String>,
    /// Only this policy.
    #[arg(long, value_name = "P")]
    pub policy: Option<String>,
    /// Only this status: planned, sent, accepted, failed, skipped, verified, unverified. Without
    /// --history: actions whose latest status it is.
    #[arg(long, value_name = "S")]
    pub status: Option<crate::state::journal::Stage>,
    /// Records at or after this time (RFC 3339, or YYYY-MM-DD for midnight UTC).
    #[arg(long, value_name = "TS")]
    pub since: Option<String>,
    /// Records before this time (RFC 3339, or YYYY-MM-DD for midnight UTC).
    #[arg(long, value_name = "TS")]
    pub until: Option<String>,
}

#[derive(Debug, Args)]
pub struct AuditList {
    #[command(flatten)]
    pub filter: AuditFilter,
    /// Every record (each stage of each action), not only each action's latest status.
    #[arg(long)]
    pub history: bool,
    #[arg(long, value_enum, default_value_t = AuditFormat::Table)]
    pub format: AuditFormat,
}

/// How to act (`run --apply`, `apply`).
#[derive(Debug, Clone, Args)]
pub struct ActArgs {
    /// Also send terminates (the policy must allow them too); without it they are held back.
    #[arg(long)]
    pub yes: bool,
    /// Print the plan's HTTP requests (method, URL, Idempotency-Key, body; never the token)
    /// and send nothing. Offline: for a plan file, actions these policies can never plan are
    /// marked REFUSED (exit 3); `apply` re-derives the rest against the fleet, and sends them
    /// with the reason it derives.
    #[arg(long)]
    pub print_requests: bool,
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
