//! The commands behind the CLI: each checks its arguments, runs the pipeline and returns
//! the exit code. `main` only parses, sets up logging and exits with what comes back.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::cli::{Command, PlanFormat, SandboxArgs, SnapshotAction, Source};
use crate::config::{Config, ConfigError, ProviderTypes};
use crate::exit::Exit;
use crate::fleet::Fleet;
use crate::plan::{Plan, PlanSettings};
use crate::policy::{Diagnostic, PolicySet};
use crate::providers::ProviderError;
use crate::sandbox::{RunningSandbox, SandboxConfig};
use crate::state::store::{Store, StoreError};

pub mod apply;
pub mod audit;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{} problem(s) in the policies:\n{}", .0.len(), .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Policies(Vec<Diagnostic>),
    #[error(transparent)]
    Cases(#[from] crate::review::cases::CaseError),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Journal(#[from] crate::state::journal::JournalError),
    #[error(transparent)]
    Apply(#[from] crate::execute::apply::ApplyError),
    #[error(transparent)]
    Plan(#[from] crate::execute::operation::PlanError),
    #[error(transparent)]
    Eval(#[from] crate::policy::evaluate::EvalError),
    #[error("report: {0}")]
    Report(#[from] polars::error::PolarsError),
    #[error("report: {0}")]
    ReportFiles(#[from] crate::report::write::WriteError),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_)
            | Error::Policies(_)
            | Error::Cases(_)
            | Error::Usage(_)
            | Error::Snapshot(_)
            | Error::Schedule(crate::schedule::ScheduleError::NeverFires(_)) => Exit::Usage,
            // A record that cannot be read, or a missing head: the journal is broken.
            Error::Journal(
                crate::state::journal::JournalError::Corrupt { .. }
                | crate::state::journal::JournalError::HeadMissing { .. },
            ) => Exit::JournalBroken,
            // A plan that cannot be applied as written (a hand-edited file): the user's input.
            Error::Apply(crate::execute::apply::ApplyError::Plan(_)) | Error::Plan(_) => {
                Exit::Usage
            }
            _ => Exit::Internal,
        }
    }
}

impl From<crate::collect::SetupError> for Error {
    fn from(e: crate::collect::SetupError) -> Self {
        match e {
            crate::collect::SetupError::Config(c) => Error::Config(c),
            crate::collect::SetupError::Provider(p) => Error::Usage(p.to_string()),
        }
    }
}

/// Runs one command to its exit code.
pub async fn dispatch(command: Command) -> Result<Exit, Error> {
    match command {
        Command::Run {
            source,
            out,
            reports,
            email_to_dir,
            apply,
            act,
        } => {
            run(&RunOptions {
                source,
                out,
                reports,
                email_to_dir,
                act: apply.then_some(act),
            })
            .await
        }
        Command::Apply {
            plan,
            config,
            policies,
            allow_stale,
            allow_policy_change,
            act,
        } => {
            apply::apply_file(apply::FileArgs {
                plan,
                config,
                policies,
                allow_stale,
                allow_policy_change,
                act,
            })
            .await
        }
        Command::Report { source, reports } => report(source, reports).await,
        Command::Schedule {
            config,
            out,
            email_to_dir,
            max_runs,
            apply,
            act,
        } => schedule(config, out, email_to_dir, max_runs, apply.then_some(act)).await,
        Command::Plan {
            source,
            policies,
            format,
            out,
            reports,
        } => plan(source, policies, format, out, reports).await,
        Command::Explain {
            target,
            source,
            policies,
        } => explain(&target, source, policies).await,
        Command::Validate { dir, config } => validate(dir, config),
        Command::Test { dir } => test(dir.unwrap_or_else(|| PathBuf::from("policies"))),
        Command::Diff { base, head, source } => diff(&base, &head, source).await,
        Command::Snapshot {
            action: SnapshotAction::Save { file, config },
        } => snapshot_save(&file, config).await,
        Command::Sandbox(args) => sandbox(args).await,
        Command::Audit(args) => audit::run(args),
    }
}

fn parse_now(now: Option<&str>) -> Result<Option<DateTime<Utc>>, Error> {
    now.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Error::Usage(format!(
                    "--now {s:?} is not an RFC 3339 instant ({e}); write e.g. 2026-11-21T02:00:00Z"
                ))
            })
    })
    .transpose()
}

/// Where the configuration comes from: a file, or the built-in demo. Offline work from a
/// snapshot without a config file has no `Setup` at all (`Option<Setup>`).
enum Setup {
    File(Config),
    Demo {
        config: Config,
        sandbox: RunningSandbox,
        _state: tempfile::TempDir,
    },
}

impl Setup {
    fn config(&self) -> &Config {
        match self {
            Setup::File(c) | Setup::Demo { config: c, .. } => c,
        }
    }
    async fn finish(self) {
        if let Setup::Demo { sandbox, .. } = self {
            sandbox.stop().await;
        }
    }
}

fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| Some(PathBuf::from("podwarden.toml")).filter(|p| p.exists()))
}

/// The configuration for a live collection: a file, else the built-in demo.
async fn live_setup(config: Option<&Path>) -> Result<Setup, Error> {
    if let Some(p) = config_path(config) {
        return Ok(Setup::File(Config::load(&p)?));
    }
    let sandbox = crate::sandbox::spawn(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .map_err(|source| Error::Io {
            what: "starting the demo sandbox".into(),
            source,
        })?;
    let state = tempfile::tempdir().map_err(|source| Error::Io {
        what: "creating a temporary state folder".into(),
        source,
    })?;
    let config = crate::demo::config(&sandbox, state.path())?;
    eprintln!(
        "No configuration found: running the built-in demo against a sandbox on {} (dry-run unless --apply).",
        sandbox.addr
    );
    Ok(Setup::Demo {
        config,
        sandbox,
        _state: state,
    })
}

/// The provider names and types policies are checked against: the configuration's (also
/// the demo's), else the built-in names.
fn provider_types(setup: Option<&Setup>) -> ProviderTypes {
    setup.map_or_else(ProviderTypes::builtin, |s| s.config().provider_types())
}

/// Policies from `--policies`, else the config's folder, else ./policies, else the shipped
/// ones; checked against the configured providers.
fn load_policies(dir: Option<&Path>, setup: Option<&Setup>) -> Result<PolicySet, Error> {
    let from_config = match setup {
        Some(Setup::File(c)) => Some(c.policies.clone()),
        _ => None,
    };
    let dir = dir
        .map(Path::to_path_buf)
        .or(from_config)
        .or_else(|| Some(PathBuf::from("policies")).filter(|p| p.is_dir()));
    let providers = provider_types(setup);
    match dir {
        Some(d) => crate::policy::load::load_dir_for(&d, &providers).map_err(Error::Policies),
        None => crate::policy::builtin::load_for(&providers).map_err(Error::Policies),
    }
}

/// Everything evaluation needs: the fleet, the instant, the guards, and how collection went.
struct Inputs {
    setup: Option<Setup>,
    fleet: Fleet,
    now: DateTime<Utc>,
    settings: PlanSettings,
    errors: Vec<ProviderError>,
    from_snapshot: bool,
}

/// A saved fleet evaluated at another instant than it was taken is what it was then: say so
/// when the two are far apart, since states, rates and idle runs are the snapshot's, and its
/// cost rows stop at the day it was taken.
fn replay_warning(at: DateTime<Utc>, taken_at: DateTime<Utc>) {
    let gap = at - taken_at;
    if gap < -chrono::Duration::hours(1) {
        eprintln!(
            "warning: --now {} is {} before the snapshot was taken ({}): pod states, rates and \
             idle runs are the snapshot's, not those at --now; only cost rows are cut to --now",
            at.to_rfc3339(),
            crate::duration::format(-gap),
            taken_at.to_rfc3339()
        );
    } else if gap > chrono::Duration::hours(24) {
        eprintln!(
            "warning: --now {} is {} after the snapshot was taken ({}): its cost rows stop on {}, \
             so later days count as zero",
            at.to_rfc3339(),
            crate::duration::format(gap),
            taken_at.to_rfc3339(),
            taken_at.date_naive()
        );
    }
}

async fn inputs(source: &Source) -> Result<Inputs, Error> {
    let now = parse_now(source.now.as_deref())?;
    if let Some(file) = &source.snapshot {
        let fleet = crate::snapshot::load(file)?;
        let setup = match config_path(source.config.as_deref()) {
            Some(p) => Some(Setup::File(Config::load(&p)?)),
            None => None,
        };
        let settings = settings(setup.as_ref().map(Setup::config));
        if let Some(at) = now {
            replay_warning(at, fleet.taken_at);
        }
        return Ok(Inputs {
            now: now.unwrap_or(fleet.taken_at),
            fleet,
            setup,
            settings,
            errors: vec![],
            from_snapshot: true,
        });
    }
    // Sightings are facts recorded at the instant they are made: a live collection is always
    // evaluated and recorded at the real time. Another instant is for saved fleets only.
    if let Some(at) = now {
        return Err(Error::Usage(format!(
            "--now {} applies only with --snapshot: a live collection is evaluated and recorded at \
             the real time, so that no sighting is ever dated in the past or future. To review the \
             fleet at another instant: `podwarden snapshot save fleet.json`, then \
             `podwarden plan --snapshot fleet.json --now {}`",
            at.to_rfc3339(),
            at.to_rfc3339()
        )));
    }
    live_inputs(live_setup(source.config.as_deref()).await?).await
}

/// A live collection with `setup`'s providers, at the real time.
async fn live_inputs(setup: Setup) -> Result<Inputs, Error> {
    let now = Utc::now();
    let (fleet, errors) = collect(setup.config(), now).await?;
    // Notices held from earlier runs are read by every live command; only `run` records them.
    let mut settings = settings(Some(setup.config()));
    settings.notices = Store::open(&setup.config().state)?.notices()?;
    Ok(Inputs {
        settings,
        setup: Some(setup),
        fleet,
        now,
        errors,
        from_snapshot: false,
    })
}

fn settings(config: Option<&Config>) -> PlanSettings {
    config.map_or_else(PlanSettings::default, |c| PlanSettings {
        protect_label: c.protect_label.clone(),
        new_pod_grace: c.new_pod_grace,
        limits: c.limits.clone(),
        ..PlanSettings::default()
    })
}

/// Collects every provider and merges this run's observations from the state store: what
/// `run`, `plan` and `snapshot save` start from (public for the multi-night tests).
pub async fn collect(
    cfg: &Config,
    now: DateTime<Utc>,
) -> Result<(Fleet, Vec<ProviderError>), Error> {
    let deadline = tokio::time::Instant::now() + cfg.deadline;
    let providers = crate::collect::providers(cfg, deadline)?;
    let (mut fleet, errors) = crate::collect::collect(&providers, now, cfg.cost_days_at(now)).await;
    Store::open(&cfg.state)?.observe(&mut fleet, now)?;
    Ok((fleet, errors))
}

fn make_plan(inputs: &Inputs, set: &PolicySet) -> Result<Plan, Error> {
    let run_id = uuid::Uuid::now_v7().to_string();
    let mut plan = crate::plan::make(
        &inputs.fleet,
        set,
        &inputs.settings,
        inputs.now,
        &run_id,
        Utc::now(),
    )?;
    // A live plan says what earlier runs left unfinished (a saved fleet is reviewed alone).
    if let (Some(setup), false) = (&inputs.setup, inputs.from_snapshot) {
        plan.unfinished = apply::unfinished(&setup.config().state)?;
    }
    Ok(plan)
}

/// The exit a collection calls for: the most specific error behind a failed provider or
/// a data gap (401→2, 403→5, 429/deadline→6, else 7), else 7 when a provider is incomplete
/// or has gaps (also in a fleet read from a snapshot), else none.
fn collection_exit(fleet: &Fleet, errors: &[ProviderError]) -> Option<Exit> {
    let incomplete = fleet.has_gaps().then_some(Exit::ProviderIncomplete);
    errors.iter().map(Exit::for_provider).min().or(incomplete)
}

/// Collection problems outrank a tripped breaker: the plan itself is partial then.
fn exit_of(plan: &Plan, fleet: &Fleet, errors: &[ProviderError]) -> Exit {
    collection_exit(fleet, errors)
        .or(plan.summary.breaker_tripped.then_some(Exit::CircuitBreaker))
        .unwrap_or(Exit::Success)
}

async fn finish(setup: Option<Setup>) {
    if let Some(setup) = setup {
        setup.finish().await;
    }
}

fn write_plan(plan: &Plan, out: Option<&Path>) -> Result<(), Error> {
    if let Some(path) = out {
        plan.write(path).map_err(|source| Error::Io {
            what: format!("writing the plan file {}", path.display()),
            source,
        })?;
        eprintln!("Plan written to {}", path.display());
    }
    Ok(())
}

/// Where a command writes the dated report folder: `--reports DIR` when given, else, for a
/// live collection by `run` or `report` (`config_default`), the config's `reports`. A replay
/// from a snapshot and `plan` write none unless told where: a review must never replace the
/// report of the live run that made it.
fn report_folder(
    inputs: &Inputs,
    explicit: Option<&Path>,
    config_default: bool,
) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        (config_default && !inputs.from_snapshot)
            .then(|| inputs.setup.as_ref().map(|s| s.config().reports.clone()))
            .flatten()
    })
}

/// Builds the spend report of `inputs` (and `plan`) and, given a folder (see
/// [`report_folder`]), writes its files under it. Actions taken come from the state file's
/// audit journal, pending notices from the plan.
fn write_report(
    inputs: &Inputs,
    plan: Option<&Plan>,
    reports: Option<&Path>,
) -> Result<(crate::report::Report, Vec<PathBuf>), Error> {
    let default_conversion = crate::report::currency::Conversion::default();
    let config = inputs.setup.as_ref().map(Setup::config);
    let conversion = config.map_or(&default_conversion, |c| &c.currency);
    let taken = match (&inputs.setup, inputs.from_snapshot) {
        (Some(setup), false) => apply::taken(&setup.config().state)?,
        _ => Vec::new(),
    };
    let pending: Vec<crate::report::PendingNotice> = plan
        .map(|p| {
            p.pending
                .iter()
                .map(|n| crate::report::PendingNotice {
                    provider: n.provider.clone(),
                    target: n.target.clone(),
                    policy: n.policy.clone(),
                    action: n.action.clone(),
                    due_at: n.due_at,
                    reason: n.reason.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let report = crate::report::build(&crate::report::Input {
        fleet: &inputs.fleet,
        plan,
        taken: &taken,
        pending: &pending,
        conversion,
        now: inputs.now,
    })?;
    let written = match reports {
        Some(folder) => crate::report::write::write(&report, &inputs.fleet, plan, folder)?,
        None => Vec::new(),
    };
    Ok((report, written))
}

fn print_written(written: &[PathBuf], to_stderr: bool) {
    if written.is_empty() {
        return;
    }
    let text: String = std::iter::once("Report written:".to_string())
        .chain(written.iter().map(|p| format!("  {}", p.display())))
        .collect::<Vec<_>>()
        .join("\n");
    if to_stderr {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}

async fn report(source: Source, reports: Option<PathBuf>) -> Result<Exit, Error> {
    let inputs = inputs(&source).await?;
    let folder = report_folder(&inputs, reports.as_deref(), true);
    let (report, written) = write_report(&inputs, None, folder.as_deref())?;
    print!("{}", crate::report::markdown::headline(&report));
    print_written(&written, false);
    if folder.is_none() {
        eprintln!("{REPLAY_WRITES_NO_REPORT}");
    }
    let exit = collection_exit(&inputs.fleet, &inputs.errors).unwrap_or(Exit::Success);
    finish(inputs.setup).await;
    Ok(exit)
}

/// What `report` and `run` say on stderr when a replay writes no report files.
const REPLAY_WRITES_NO_REPORT: &str =
    "From a snapshot no report files are written (a replay never \
    replaces a live run's report); --reports DIR writes them under DIR.";

/// What `podwarden run` (and each scheduled run) is asked to do.
#[derive(Debug, Clone)]
pub struct RunOptions {
    pub source: Source,
    /// Also write the plan file here.
    pub out: Option<PathBuf>,
    /// `--reports DIR`: write the report there (a live run defaults to the config's folder,
    /// a replay from a snapshot writes none without it).
    pub reports: Option<PathBuf>,
    /// Write the mails as `.eml` files here instead of sending them.
    pub email_to_dir: Option<PathBuf>,
    /// `--apply`: act on the plan (with `--yes`: terminates too).
    pub act: Option<crate::cli::ActArgs>,
}

/// The nightly job: collect, plan, print the plan and the spend summary, act when asked,
/// write the report, then notify (finance mail, metrics). `podwarden run` and every
/// `podwarden schedule` run call this.
pub async fn run(options: &RunOptions) -> Result<Exit, Error> {
    let started = std::time::Instant::now();
    let deadline_base = tokio::time::Instant::now();
    let inputs = inputs(&options.source).await?;
    let outcome = plan_act_report(&inputs, options, deadline_base).await;
    // A replay of a saved fleet is a review, not the nightly run: it mails finance nothing
    // (only `--email-to-dir` writes its mails where it is told) and pushes no metrics, so the
    // last-success timestamp and the day's finance mail stay the nightly run's.
    match &inputs.setup {
        Some(setup) if !inputs.from_snapshot => {
            notify(setup, &inputs, &outcome, options, started).await
        }
        Some(setup) if options.email_to_dir.is_some() => {
            mail(setup, &inputs, &outcome, options).await
        }
        Some(_) => eprintln!(
            "A replay of a saved fleet: no mail sent and no metrics pushed (--email-to-dir DIR \
             writes its mails)."
        ),
        None => {}
    }
    finish(inputs.setup).await;
    outcome.map(|o| o.exit)
}

/// What a run produced for the notify stage.
struct RunOutcome {
    plan: Plan,
    summary: String,
    exit: Exit,
    report: crate::report::Report,
    written: Vec<PathBuf>,
    /// What `--apply` did.
    applied: Option<crate::execute::apply::Outcome>,
}

async fn plan_act_report(
    inputs: &Inputs,
    options: &RunOptions,
    started: tokio::time::Instant,
) -> Result<RunOutcome, Error> {
    let set = load_policies(None, inputs.setup.as_ref())?;
    let plan = make_plan(inputs, &set)?;
    // The nightly run is what starts, confirms and drops notices (a snapshot run writes nothing).
    if let (None, Some(setup)) = (&options.source.snapshot, &inputs.setup) {
        Store::open(&setup.config().state)?.record_notices(&plan)?;
    }
    let table = crate::plan::render::table(&plan);
    print!("{table}");
    println!();
    let cost_days = inputs
        .setup
        .as_ref()
        .map_or(30, |s| s.config().cost_days_at(inputs.now));
    let summary = crate::report::summary::text(&inputs.fleet, cost_days, inputs.now)?;
    print!("{summary}");
    write_plan(&plan, options.out.as_deref())?;
    let mut exit = exit_of(&plan, &inputs.fleet, &inputs.errors);
    let mut applied = None;
    if let (Some(act), Some(setup)) = (&options.act, &inputs.setup) {
        // The demo plans with the sandbox's read-only token and acts with its admin token.
        let cfg = match setup {
            Setup::Demo {
                config, sandbox, ..
            } => crate::demo::acting(config, sandbox),
            Setup::File(c) => c.clone(),
        };
        let deadline = started + cfg.deadline;
        let (acted, outcome) =
            apply::act(&cfg, &plan, &[], act, inputs.settings.clone(), deadline).await?;
        if acted != Exit::Success {
            exit = acted;
        }
        applied = outcome;
    } else if options.act.is_some() {
        return Err(Error::Usage(
            "--apply acts on live providers: it needs a configuration, not --snapshot alone".into(),
        ));
    }
    // After acting, so that the report's actions include this run's.
    let folder = report_folder(inputs, options.reports.as_deref(), true);
    let (report, written) = write_report(inputs, Some(&plan), folder.as_deref())?;
    println!();
    print!("{}", crate::report::markdown::headline(&report));
    print_written(&written, false);
    if folder.is_none() {
        eprintln!("{REPLAY_WRITES_NO_REPORT}");
    }
    Ok(RunOutcome {
        summary: format!("{summary}\n{table}"),
        plan,
        exit,
        report,
        written,
        applied,
    })
}

/// The end of a run: the finance mail (SMTP, or `.eml` files with `--email-to-dir`) and the
/// metrics push. Neither can fail the run; problems are logged. The built-in demo sends no
/// mail over SMTP: it writes its example mails only with `--email-to-dir`.
async fn notify(
    setup: &Setup,
    inputs: &Inputs,
    outcome: &Result<RunOutcome, Error>,
    options: &RunOptions,
    started: std::time::Instant,
) {
    mail(setup, inputs, outcome, options).await;
    push_metrics(setup.config(), inputs, outcome, started).await;
}

/// The finance mail and owner notices: over SMTP (outbox first), or as `.eml` files with
/// `--email-to-dir`. Never fails the run; problems are logged.
async fn mail(
    setup: &Setup,
    inputs: &Inputs,
    outcome: &Result<RunOutcome, Error>,
    options: &RunOptions,
) {
    let config = setup.config();
    let demo = matches!(setup, Setup::Demo { .. });
    if let (Some(email), Ok(o)) = (&config.email, outcome) {
        if demo && options.email_to_dir.is_none() {
            eprintln!("Demo: no mail sent; `--email-to-dir DIR` writes the example mails.");
        } else {
            let report = crate::notify::report_input(
                &o.report,
                &o.summary,
                &o.written,
                email.max_attachment_bytes,
            );
            let acted = apply::acted_in(&config.state, &o.plan.run_id).unwrap_or_default();
            let notices = crate::notify::owner_notices(
                &inputs.fleet,
                &o.plan,
                &acted,
                email.owner_domain.as_deref(),
                &config.protect_label,
            );
            let finance = crate::notify::finance_mail(&report);
            let delivery = crate::notify::send_run_mail(
                email,
                &config.state,
                options.email_to_dir.as_deref(),
                Some(&finance),
                &notices,
                Utc::now(),
            )
            .await;
            for path in &delivery.written {
                eprintln!("Mail written to {}", path.display());
            }
        }
    } else if options.email_to_dir.is_some() && config.email.is_none() {
        tracing::warn!("--email-to-dir: the configuration has no [email] section, no mail written");
    }
}

/// The run's metrics to the Pushgateway; a failed push is a warning.
async fn push_metrics(
    config: &Config,
    inputs: &Inputs,
    outcome: &Result<RunOutcome, Error>,
    started: std::time::Instant,
) {
    if let Some(m) = &config.metrics {
        let metrics = match outcome {
            Ok(o) => {
                let mut m = crate::notify::metrics::RunMetrics::of_run(
                    started,
                    o.exit,
                    &inputs.fleet,
                    &o.plan,
                );
                m.pending_notices = Some(o.plan.pending.len() as u64);
                if let Some(applied) = &o.applied {
                    m.add_applied(applied);
                }
                m
            }
            Err(e) => crate::notify::metrics::RunMetrics::bare(started, e.exit()),
        };
        match crate::notify::metrics::push(&metrics, m).await {
            Ok(()) => tracing::info!(gateway = m.pushgateway, "metrics pushed"),
            Err(e) => tracing::warn!("{e}"),
        }
    }
}

/// `podwarden schedule`: the job of [`run`] on the config's `[schedule]`.
async fn schedule(
    config: Option<PathBuf>,
    out: Option<PathBuf>,
    email_to_dir: Option<PathBuf>,
    max_runs: Option<u32>,
    act: Option<crate::cli::ActArgs>,
) -> Result<Exit, Error> {
    let path = config_path(config.as_deref()).ok_or_else(|| {
        Error::Usage(
            "podwarden schedule needs a configuration file with a [schedule] section \
             (--config F, $PODWARDEN_CONFIG or ./podwarden.toml)"
                .into(),
        )
    })?;
    let cfg = Config::load(&path)?;
    let Some(sched) = cfg.schedule else {
        return Err(Error::Usage(format!(
            "{}: no [schedule] section; add e.g.\n[schedule]\ncron = \"0 2 * * *\"\ntimezone = \"Europe/Berlin\"",
            path.display()
        )));
    };
    let options = RunOptions {
        source: Source {
            config: Some(path),
            snapshot: None,
            now: None,
        },
        out,
        reports: None,
        email_to_dir,
        act,
    };
    // Each run reads the configuration afresh (a changed ConfigMap applies from the next run);
    // the schedule itself is read once, here.
    crate::schedule::serve(&sched, crate::schedule::Options { max_runs }, || {
        let options = options.clone();
        async move {
            match run(&options).await {
                Ok(exit) => exit,
                Err(e) => {
                    tracing::error!("scheduled run failed: {e}");
                    e.exit()
                }
            }
        }
    })
    .await
    .map_err(Error::from)
}

async fn plan(
    source: Source,
    policies: Option<PathBuf>,
    format: PlanFormat,
    out: Option<PathBuf>,
    reports: Option<PathBuf>,
) -> Result<Exit, Error> {
    let inputs = inputs(&source).await?;
    let set = load_policies(policies.as_deref(), inputs.setup.as_ref())?;
    let plan = make_plan(&inputs, &set)?;
    match format {
        PlanFormat::Table => print!("{}", crate::plan::render::table(&plan)),
        PlanFormat::Markdown => print!("{}", crate::plan::render::markdown(&plan)),
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        ),
    }
    write_plan(&plan, out.as_deref())?;
    // A review writes a report only where it is told to (the dated folder is the live run's);
    // stdout holds the plan (JSON for tools): the report's paths go to stderr.
    if let Some(folder) = &reports {
        let (_, written) = write_report(&inputs, Some(&plan), Some(folder))?;
        print_written(&written, true);
    }
    let exit = exit_of(&plan, &inputs.fleet, &inputs.errors);
    finish(inputs.setup).await;
    Ok(exit)
}

async fn explain(target: &str, source: Source, policies: Option<PathBuf>) -> Result<Exit, Error> {
    let inputs = inputs(&source).await?;
    let set = load_policies(policies.as_deref(), inputs.setup.as_ref())?;
    let plan = make_plan(&inputs, &set)?;
    let pod = inputs
        .fleet
        .pods
        .iter()
        .find(|p| p.target == target || p.pod_id == target || p.name == target);
    let exit = match pod {
        Some(pod) => {
            let verdicts = crate::review::explain::explain(pod, &set, inputs.now)?;
            print!("{}", crate::review::explain::render(pod, &verdicts, &plan));
            Exit::Success
        }
        None => {
            eprintln!(
                "error: no pod {target:?} in the fleet ({} pods); give a target id, pod id or name",
                inputs.fleet.pods.len()
            );
            Exit::Usage
        }
    };
    finish(inputs.setup).await;
    Ok(exit)
}

/// Checks policies against the configured providers when a config is found (an unreadable
/// or invalid one is an error), else against the built-in names. DIR defaults to the
/// config's `policies`, else ./policies.
fn validate(dir: Option<PathBuf>, config: Option<PathBuf>) -> Result<Exit, Error> {
    let config = match config_path(config.as_deref()) {
        Some(p) => Some(Config::load(&p)?),
        None => None,
    };
    let dir = dir
        .or_else(|| config.as_ref().map(|c| c.policies.clone()))
        .unwrap_or_else(|| PathBuf::from("policies"));
    let providers = config
        .as_ref()
        .map_or_else(ProviderTypes::builtin, Config::provider_types);
    if let Some(email) = config.as_ref().and_then(|c| c.email.as_ref()) {
        for w in email.warnings() {
            println!("warning: {w}");
        }
    }
    match crate::policy::load::load_dir_for(&dir, &providers) {
        Ok(set) => {
            let against = providers.source.as_ref().map_or_else(
                || "the built-in provider names".to_string(),
                |p| format!("the providers of {}", p.display()),
            );
            println!(
                "{}: {} policies in {} files, no problems (checked against {against}).",
                dir.display(),
                set.policies.len(),
                set.files.len()
            );
            Ok(Exit::Success)
        }
        Err(diags) => {
            for d in &diags {
                println!("{d}");
            }
            println!("{} problem(s) found.", diags.len());
            Ok(Exit::Usage)
        }
    }
}

fn test(dir: PathBuf) -> Result<Exit, Error> {
    let set = crate::policy::load_dir(&dir).map_err(Error::Policies)?;
    let results = crate::review::cases::run_dir(&dir, &set)?;
    print!("{}", crate::review::cases::render(&results));
    // No case at all is a failure too: an empty test folder proves nothing.
    let passed = !results.is_empty() && results.iter().all(|r| r.passed());
    Ok(if passed { Exit::Success } else { Exit::Usage })
}

async fn diff(base: &Path, head: &Path, source: Source) -> Result<Exit, Error> {
    let inputs = inputs(&source).await?;
    let providers = provider_types(inputs.setup.as_ref());
    let base_set = crate::policy::load::load_dir_for(base, &providers).map_err(Error::Policies)?;
    let head_set = crate::policy::load::load_dir_for(head, &providers).map_err(Error::Policies)?;
    let (before, after) = (
        make_plan(&inputs, &base_set)?,
        make_plan(&inputs, &head_set)?,
    );
    print!("{}", crate::review::diff::markdown(&before, &after));
    finish(inputs.setup).await;
    Ok(Exit::Success)
}

async fn snapshot_save(file: &Path, config: Option<PathBuf>) -> Result<Exit, Error> {
    let setup = live_setup(config.as_deref()).await?;
    let now = Utc::now();
    let (fleet, errors) = collect(setup.config(), now).await?;
    crate::snapshot::save(&fleet, file)?;
    eprintln!(
        "Snapshot of {} pods taken at {} written to {}",
        fleet.pods.len(),
        now.to_rfc3339(),
        file.display()
    );
    setup.finish().await;
    Ok(collection_exit(&fleet, &errors).unwrap_or(Exit::Success))
}

async fn sandbox(args: SandboxArgs) -> Result<Exit, Error> {
    // Every field is a flag today; the default stays for fields added without one.
    #[allow(clippy::needless_update)]
    let config = SandboxConfig {
        seed: args.seed,
        pods: args.pods,
        ops_limit: args.ops_limit,
        ops_window_secs: args.ops_window_secs,
        read_limit: args.read_limit,
        read_window_secs: args.read_window_secs,
        podstack_limit: args.podstack_limit,
        podstack_window_secs: args.podstack_window_secs,
        admin_token: args.admin_token,
        read_token: args.read_token,
        transition_secs: args.transition_secs,
        now: parse_now(args.now.as_deref())?,
        faults: args.fault,
        scenario: match &args.scenario {
            Some(path) => Some(
                crate::sandbox::Scenario::load(path).map_err(|e| Error::Usage(e.to_string()))?,
            ),
            None => None,
        },
        ..SandboxConfig::default()
    };
    let pods = config.pods
        + config
            .scenario
            .as_ref()
            .map_or(0, |s| s.worker.len() + s.orphan.len() + s.podstack.len());
    let running = crate::sandbox::spawn(config, args.listen)
        .await
        .map_err(|source| Error::Io {
            what: format!("listening on {}", args.listen),
            source,
        })?;
    // A closed stdout (a parent that stopped reading) must not take the server down.
    let banner = format!(
        "podwarden sandbox: {pods} pods\n  Argus:    {}\n  Podstack: {}\nPress Ctrl-C to stop.\n",
        running.argus_url(),
        running.podstack_url()
    );
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|_| stdout.flush());
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    Ok(Exit::Success)
}
