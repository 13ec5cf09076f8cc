//! The commands behind the CLI, one file each: each turns its arguments into what the
//! library needs, runs it and returns the exit code. `main` only parses, sets up logging and
//! exits with what comes back. This file holds what every command shares: the error type
//! with its exit codes, and [`dispatch`].
//!
//! The plumbing the commands share is in files named after it: [`setup`] (config file or
//! demo, policies), [`inputs`] (a snapshot or a live collection). The nightly run itself is
//! the library's [`crate::pipeline`].

pub mod apply;
pub mod audit;
pub mod diff;
pub mod explain;
pub mod inputs;
pub mod merge;
pub mod observe;
pub mod plan;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod schedule;
pub mod setup;
pub mod snapshot;
pub mod test;
pub mod validate;

use std::path::PathBuf;

use crate::cli::{Command, SnapshotAction};
use crate::exit::Exit;

/// What a command can fail with: a failed stage (most of it, [`crate::pipeline::Error`],
/// which maps its own exit codes), or what only the commands read.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Run(#[from] crate::pipeline::Error),
    #[error(transparent)]
    Cases(#[from] crate::review::cases::CaseError),
    #[error(transparent)]
    Snapshot(#[from] crate::snapshot::SnapshotError),
    #[error(transparent)]
    Schedule(#[from] crate::schedule::ScheduleError),
    #[error(transparent)]
    Merge(#[from] crate::report::merge::MergeError),
    #[error(transparent)]
    ShardFile(#[from] crate::report::shard_file::ShardFileError),
}

impl Error {
    /// The exit code this failure ends the process with (docs/design.md).
    pub fn exit(&self) -> Exit {
        match self {
            Error::Run(e) => e.exit(),
            Error::Cases(_)
            | Error::Snapshot(_)
            | Error::Schedule(crate::schedule::ScheduleError::NeverFires(_)) => Exit::Usage,
            Error::Schedule(_) => Exit::Internal,
            // Mistakes in what to merge are the caller's; a shard's report missing, older or
            // unreadable is the fleet's data incomplete.
            Error::Merge(
                crate::report::merge::MergeError::Nothing
                | crate::report::merge::MergeError::Twice { .. }
                | crate::report::merge::MergeError::SameProvider { .. },
            ) => Exit::Usage,
            Error::Merge(_) | Error::ShardFile(_) => Exit::ProviderIncomplete,
        }
    }

    /// A mistake in the command line or its files (exit 2).
    pub fn usage(message: impl Into<String>) -> Error {
        Error::Run(crate::pipeline::Error::Usage(message.into()))
    }

    /// A file or socket that failed, with what the command was doing.
    pub fn io(what: impl Into<String>, source: std::io::Error) -> Error {
        Error::Run(crate::pipeline::Error::Io {
            what: what.into(),
            source,
        })
    }
}

/// The stages' own errors reach a command through [`crate::pipeline::Error`], which holds
/// their exit codes.
macro_rules! through_pipeline {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for Error {
            fn from(e: $error) -> Self {
                Error::Run(e.into())
            }
        }
    )*};
}

through_pipeline!(
    crate::config::ConfigError,
    crate::collect::SetupError,
    crate::state::store::StoreError,
    crate::state::journal::JournalError,
    crate::execute::apply::ApplyError,
    crate::execute::operation::PlanError,
    crate::plan::file::PlanFileError,
    crate::policy::evaluate::EvalError,
    polars::error::PolarsError,
    crate::report::write::WriteError,
);

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
            run::run(&run::RunOptions {
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
        Command::Report {
            source,
            reports,
            merge: Some(dirs),
            email_to_dir,
        } => merge::merge(source, dirs, reports, email_to_dir).await,
        Command::Report {
            source, reports, ..
        } => report::report(source, reports).await,
        Command::Schedule {
            config,
            out,
            email_to_dir,
            max_runs,
            apply,
            act,
        } => schedule::schedule(config, out, email_to_dir, max_runs, apply.then_some(act)).await,
        Command::Observe { config } => observe::observe(config.as_deref()).await,
        Command::Plan {
            source,
            policies,
            format,
            out,
            reports,
        } => plan::plan(source, policies, format, out, reports).await,
        Command::Explain {
            target,
            source,
            policies,
        } => explain::explain(&target, source, policies).await,
        Command::Validate { dir, config } => validate::validate(dir, config),
        Command::Test { dir } => test::test(dir.unwrap_or_else(|| PathBuf::from("policies"))),
        Command::Diff { base, head, source } => diff::diff(&base, &head, source).await,
        Command::Snapshot {
            action: SnapshotAction::Save { file, config },
        } => snapshot::save(&file, config).await,
        Command::Sandbox(args) => sandbox::sandbox(args).await,
        Command::Audit(args) => audit::run(args),
    }
}
