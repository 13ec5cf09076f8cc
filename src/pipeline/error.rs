//! What can stop a run's stages (configuration, policies, state file, journal, acting,
//! report), and the documented exit code each failure maps to.

use crate::exit::Exit;
use crate::policy::Diagnostic;

/// A failed stage of a run. Every command goes through these stages too, so this is also
/// most of what a command can fail with; `commands::Error` wraps it for the rest.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error("{} problem(s) in the policies:\n{}", .0.len(), .0.iter().map(|d| d.to_string()).collect::<Vec<_>>().join("\n"))]
    Policies(Vec<Diagnostic>),
    #[error("{0}")]
    Usage(String),
    #[error(transparent)]
    Store(#[from] crate::state::store::StoreError),
    #[error(transparent)]
    Journal(#[from] crate::state::journal::JournalError),
    #[error(transparent)]
    Apply(#[from] crate::execute::apply::ApplyError),
    #[error(transparent)]
    Plan(#[from] crate::execute::operation::PlanError),
    #[error(transparent)]
    PlanFile(#[from] crate::plan::file::PlanFileError),
    #[error(transparent)]
    Eval(#[from] crate::policy::evaluate::EvalError),
    #[error("report: {0}")]
    Report(#[from] polars::error::PolarsError),
    #[error("report: {0}")]
    ReportFiles(#[from] crate::report::write::WriteError),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

impl Error {
    /// The exit code this failure ends the process with (docs/design.md).
    pub fn exit(&self) -> Exit {
        match self {
            Error::Config(_) | Error::Policies(_) | Error::Usage(_) => Exit::Usage,
            // A record that cannot be read, or a missing head: the journal is broken.
            Error::Journal(
                crate::state::journal::JournalError::Corrupt { .. }
                | crate::state::journal::JournalError::HeadMissing { .. }
                | crate::state::journal::JournalError::NotADatabase { .. },
            ) => Exit::JournalBroken,
            // The state file holds the journal: one SQLite cannot read is a broken journal.
            Error::Store(crate::state::store::StoreError::NotADatabase { .. }) => {
                Exit::JournalBroken
            }
            // A plan that cannot be applied as written (a hand-edited file): the user's input.
            Error::Apply(crate::execute::apply::ApplyError::Plan(_))
            | Error::Plan(_)
            | Error::PlanFile(
                crate::plan::file::PlanFileError::Syntax { .. }
                | crate::plan::file::PlanFileError::Version { .. }
                | crate::plan::file::PlanFileError::Invalid { .. },
            ) => Exit::Usage,
            _ => Exit::Internal,
        }
    }
}

/// A configuration the providers cannot be built from is the user's to fix (exit 2).
impl From<crate::collect::SetupError> for Error {
    fn from(e: crate::collect::SetupError) -> Self {
        match e {
            crate::collect::SetupError::Config(c) => Error::Config(c),
            crate::collect::SetupError::Provider(p) => Error::Usage(p.to_string()),
        }
    }
}
