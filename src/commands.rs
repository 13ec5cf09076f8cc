//! The commands behind the CLI: each checks its arguments, runs the pipeline and returns
//! the exit code. `main` only parses, sets up logging and exits with what comes back.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::cli::{Command, PlanFormat, SandboxArgs, Source};
use crate::config::{Config, ConfigError};
use crate::exit::Exit;
use crate::fleet::Fleet;
use crate::plan::{Plan, PlanSettings};
use crate::policy::{Diagnostic, PolicySet};
use crate::sandbox::{RunningSandbox, SandboxConfig};
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("{} problem(s) in the policies:\n{}", .0.len(), .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Policies(Vec<Diagnostic>),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Eval(#[from] crate::policy::evaluate::EvalError),
    #[error("report: {0}")]
    Report(#[from] polars::error::PolarsError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl Error {
    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_) | Error::Policies(_) | Error::Usage(_) => Exit::Usage,
            _ => Exit::Internal,
        }
    }
}

/// Runs one command to its exit code.
pub async fn dispatch(command: Command) -> Result<Exit, Error> {
    match command {
        Command::Run { source, out } => run(source, out).await,
        Command::Plan {
            source,
            format,
            out,
        } => plan(source, format, out).await,
        Command::Validate { dir } => validate(dir.unwrap_or_else(|| PathBuf::from("policies"))),
        Command::Sandbox(args) => sandbox(args).await,
    }
}

fn parse_now(now: Option<&str>) -> Result<DateTime<Utc>, Error> {
    match now {
        None => Ok(Utc::now()),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Error::Usage(format!(
                    "--now {s:?} is not an RFC 3339 instant ({e}); write e.g. 2026-11-21T02:00:00Z"
                ))
            }),
    }
}

/// Where the configuration comes from: a file, or the built-in demo (a sandbox in-process).
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
}

async fn setup(source: &Source) -> Result<Setup, Error> {
    let path = source
        .config
        .clone()
        .or_else(|| Some(PathBuf::from("podwarden.toml")).filter(|p| p.exists()));
    match path {
        Some(p) => Ok(Setup::File(Config::load(&p)?)),
        None => {
            let sandbox =
                crate::sandbox::spawn(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
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
            eprintln!("No configuration found: running the built-in demo against a sandbox on {} (dry-run).", sandbox.addr);
            Ok(Setup::Demo {
                config,
                sandbox,
                _state: state,
            })
        }
    }
}

fn policies(setup: &Setup) -> Result<PolicySet, Error> {
    match setup {
        Setup::Demo { .. } if !setup.config().policies.exists() => {
            crate::policy::builtin::load().map_err(Error::Policies)
        }
        _ => crate::policy::load_dir(&setup.config().policies).map_err(Error::Policies),
    }
}

/// What one pass of collect → evaluate → plan produced.
struct Outcome {
    fleet: Fleet,
    plan: Plan,
    exit: Exit,
}

async fn collect_and_plan(setup: &Setup, now: DateTime<Utc>) -> Result<Outcome, Error> {
    let cfg = setup.config();
    let set = policies(setup)?;
    let deadline = tokio::time::Instant::now() + cfg.deadline;
    let providers =
        crate::collect::providers(cfg, deadline).map_err(|e| Error::Usage(e.to_string()))?;
    let (mut fleet, errors) = crate::collect::collect(&providers, now, cfg.cost_days).await;
    let mut store = Store::open(&cfg.state)?;
    store.observe(&mut fleet, now)?;
    let eval = crate::policy::evaluate::evaluate(&fleet.pods, &set, now)?;
    let settings = PlanSettings {
        protect_label: cfg.protect_label.clone(),
        new_pod_grace: cfg.new_pod_grace,
        limits: cfg.limits.clone(),
    };
    let run_id = uuid::Uuid::now_v7().to_string();
    let plan = crate::plan::build(&fleet, &set, &eval, &settings, now, &run_id, Utc::now());
    // Collection problems outrank a tripped breaker: the plan itself is partial then.
    let exit = errors
        .iter()
        .map(Exit::for_provider)
        .min()
        .or(plan.summary.breaker_tripped.then_some(Exit::CircuitBreaker))
        .unwrap_or(Exit::Success);
    Ok(Outcome { fleet, plan, exit })
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

async fn run(source: Source, out: Option<PathBuf>) -> Result<Exit, Error> {
    let now = parse_now(source.now.as_deref())?;
    let setup = setup(&source).await?;
    let outcome = collect_and_plan(&setup, now).await?;
    print!("{}", crate::plan::render::table(&outcome.plan));
    println!();
    print!(
        "{}",
        crate::report::summary::text(&outcome.fleet, setup.config().cost_days, now)?
    );
    write_plan(&outcome.plan, out.as_deref())?;
    if let Setup::Demo { sandbox, .. } = setup {
        sandbox.stop().await;
    }
    Ok(outcome.exit)
}

async fn plan(source: Source, format: PlanFormat, out: Option<PathBuf>) -> Result<Exit, Error> {
    let now = parse_now(source.now.as_deref())?;
    let setup = setup(&source).await?;
    let outcome = collect_and_plan(&setup, now).await?;
    match format {
        PlanFormat::Table => print!("{}", crate::plan::render::table(&outcome.plan)),
        PlanFormat::Markdown => print!("{}", crate::plan::render::markdown(&outcome.plan)),
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&outcome.plan).unwrap_or_default()
        ),
    }
    write_plan(&outcome.plan, out.as_deref())?;
    if let Setup::Demo { sandbox, .. } = setup {
        sandbox.stop().await;
    }
    Ok(outcome.exit)
}

fn validate(dir: PathBuf) -> Result<Exit, Error> {
    match crate::policy::load_dir(&dir) {
        Ok(set) => {
            println!(
                "{}: {} policies in {} files, no problems.",
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

async fn sandbox(args: SandboxArgs) -> Result<Exit, Error> {
    let config = SandboxConfig {
        seed: args.seed,
        pods: args.pods,
        ops_limit: args.ops_limit,
        ops_window_secs: args.ops_window_secs,
        podstack_limit: args.podstack_limit,
        podstack_window_secs: args.podstack_window_secs,
        admin_token: args.admin_token,
        read_token: args.read_token,
        transition_secs: args.transition_secs,
        now: args
            .now
            .as_deref()
            .map(|s| parse_now(Some(s)))
            .transpose()?,
        faults: args.fault,
        ..SandboxConfig::default()
    };
    let pods = config.pods;
    let running = crate::sandbox::spawn(config, args.listen)
        .await
        .map_err(|source| Error::Io {
            what: format!("listening on {}", args.listen),
            source,
        })?;
    println!("podwarden sandbox: {pods} pods");
    println!("  Argus:    {}", running.argus_url());
    println!("  Podstack: {}", running.podstack_url());
    println!("Press Ctrl-C to stop.");
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    Ok(Exit::Success)
}
