//! `podwarden run`: the nightly job. Turns the flags into the run pipeline's inputs
//! ([`crate::pipeline::run`] does the rest) and returns its exit code.

use std::path::PathBuf;

use super::inputs::{start, FleetSource};
use super::setup::{finish, policy_dir, Setup};
use super::Error;
use crate::cli::Source;
use crate::exit::Exit;
use crate::pipeline::{Run, Start};

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

/// The nightly job on the machine's clock: `podwarden run` and every `podwarden schedule`
/// run call this.
pub async fn run(options: &RunOptions) -> Result<Exit, Error> {
    let (setup, start) = match start(&options.source).await? {
        FleetSource::Saved { setup, inputs } => (setup, Start::Replay(inputs)),
        FleetSource::Live(setup) => (Some(setup), Start::Collect),
    };
    let run = Run {
        config: setup.as_ref().map(Setup::config),
        demo: setup.as_ref().and_then(Setup::demo),
        policies: policy_dir(None, setup.as_ref()),
        out: options.out.clone(),
        reports: options.reports.clone(),
        email_to_dir: options.email_to_dir.clone(),
        act: options.act.clone(),
    };
    let outcome = crate::pipeline::run(start, &run, &crate::execute::wall_clock()).await;
    finish(setup).await;
    Ok(outcome?.exit)
}
