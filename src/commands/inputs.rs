//! What a command evaluates, from its `--config` / `--snapshot` / `--now` flags: a saved
//! fleet at the instant asked for (with a warning when the two are far apart), or a live
//! collection at the real time.

use std::path::Path;

use chrono::{DateTime, Utc};

use super::setup::{config_path, live_setup, Setup};
use super::Error;
use crate::cli::Source;
use crate::config::Config;
use crate::pipeline::Inputs;

/// A command's inputs and the setup they came from (held until the command ends: the
/// demo's sandbox runs as long).
pub struct Loaded {
    pub setup: Option<Setup>,
    pub inputs: Inputs,
    /// The policies a live collection chose its reads by ([`Wanted::Policies`]): the command
    /// evaluates the same set instead of loading it again.
    pub policies: Option<crate::policy::PolicySet>,
}

impl Loaded {
    /// The configuration, when there is one.
    pub fn config(&self) -> Option<&Config> {
        self.setup.as_ref().map(Setup::config)
    }

    /// The policies of `dir` for this command: the set the collection was read by, else
    /// loaded now (a saved fleet).
    pub fn take_policies(&mut self, dir: Option<&Path>) -> Result<crate::policy::PolicySet, Error> {
        match self.policies.take() {
            Some(set) => Ok(set),
            None => super::setup::load_policies(dir, self.setup.as_ref()),
        }
    }

    /// Ends the command's setup (stops the demo's sandbox).
    pub async fn finish(self) {
        super::setup::finish(self.setup).await;
    }
}

/// `--now`: an RFC 3339 instant.
pub fn parse_now(now: Option<&str>) -> Result<Option<DateTime<Utc>>, Error> {
    now.map(|s| {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| {
                Error::usage(format!(
                    "--now {s:?} is not an RFC 3339 instant ({e}); write e.g. 2026-11-21T02:00:00Z"
                ))
            })
    })
    .transpose()
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

/// Where a command's fleet comes from.
pub enum FleetSource {
    /// A snapshot, read, with the config file when one is found.
    Saved {
        setup: Option<Setup>,
        inputs: Box<Inputs>,
    },
    /// A live collection with this setup's providers, not made yet (the run pipeline makes
    /// its own).
    Live(Setup),
}

/// Where `source` says the fleet comes from.
pub async fn start(source: &Source) -> Result<FleetSource, Error> {
    let now = parse_now(source.now.as_deref())?;
    if let Some(file) = &source.snapshot {
        return saved(file, source.config.as_deref(), now);
    }
    // Sightings are facts recorded at the instant they are made: a live collection is always
    // evaluated and recorded at the real time. Another instant is for saved fleets only.
    if let Some(at) = now {
        return Err(Error::usage(format!(
            "--now {} applies only with --snapshot: a live collection is evaluated and recorded at \
             the real time, so that no sighting is ever dated in the past or future. To review the \
             fleet at another instant: `podwarden snapshot save fleet.json`, then \
             `podwarden plan --snapshot fleet.json --now {}`",
            at.to_rfc3339(),
            at.to_rfc3339()
        )));
    }
    Ok(FleetSource::Live(
        live_setup(source.config.as_deref()).await?,
    ))
}

/// The saved fleet of `file` at `now` (default: when it was taken).
fn saved(
    file: &Path,
    config: Option<&Path>,
    now: Option<DateTime<Utc>>,
) -> Result<FleetSource, Error> {
    let fleet = crate::snapshot::load(file)?;
    let setup = match config_path(config) {
        // A review reads a sharded file whole unless a shard is picked; acting from it
        // (`run --snapshot --apply`) needs one (`Config::require_shard` at the act stage).
        Some(p) => Some(Setup::File(Config::load_for_review(&p)?)),
        None => None,
    };
    let settings = crate::pipeline::inputs::settings(setup.as_ref().map(Setup::config));
    if let Some(at) = now {
        replay_warning(at, fleet.taken_at);
    }
    let inputs = Inputs {
        now: now.unwrap_or(fleet.taken_at),
        fleet,
        settings,
        errors: vec![],
        from_snapshot: true,
    };
    Ok(FleetSource::Saved {
        setup,
        inputs: Box::new(inputs),
    })
}

/// Which pods' utilisation a live collection of a command reads.
#[derive(Clone, Copy)]
pub enum Wanted<'a> {
    /// The pods the policies of this folder (`None`: the setup's) could act on; the set is
    /// kept in [`Loaded::policies`].
    Policies(Option<&'a Path>),
    /// The pods the policies of a set the command has loaded could act on.
    Set(&'a crate::policy::PolicySet),
    /// Every pod without a usable stored reading: the whole fleet (a report, a diff).
    Whole,
}

/// What the reviews (`plan`, `explain`, `diff`, `report`) evaluate: [`start`], with a live
/// collection made at once, at the real time.
pub async fn load(source: &Source, wanted: Wanted<'_>) -> Result<Loaded, Error> {
    match start(source).await? {
        FleetSource::Saved { setup, inputs } => Ok(Loaded {
            setup,
            inputs: *inputs,
            policies: None,
        }),
        FleetSource::Live(setup) => live(setup, wanted).await,
    }
}

/// A live collection with `setup`'s providers, at the real time.
pub async fn live(setup: Setup, wanted: Wanted<'_>) -> Result<Loaded, Error> {
    use crate::pipeline::inputs::Reads;
    setup.config().check_tokens()?;
    let loaded = match wanted {
        Wanted::Policies(dir) => Some(super::setup::load_policies(dir, Some(&setup))?),
        Wanted::Set(_) | Wanted::Whole => None,
    };
    let reads = match (wanted, &loaded) {
        (Wanted::Set(set), _) => Reads::Candidates(set),
        (_, Some(set)) => Reads::Candidates(set),
        (_, None) => Reads::Unknown,
    };
    let inputs = crate::pipeline::inputs::live(setup.config(), Utc::now(), reads).await?;
    Ok(Loaded {
        setup: Some(setup),
        inputs,
        policies: loaded,
    })
}
