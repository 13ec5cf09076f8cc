//! What evaluation starts from ([`Inputs`]): the fleet, the instant, the guards, and how
//! collection went; from a live collection ([`live`]) or, built by the caller, a saved fleet.

use chrono::{DateTime, Utc};

use super::Error;
use crate::config::Config;
use crate::fleet::Fleet;
use crate::plan::PlanSettings;
use crate::providers::ProviderError;
use crate::state::store::Store;

/// Everything evaluation needs: the fleet, the instant, the guards, and how collection went.
pub struct Inputs {
    pub fleet: Fleet,
    pub now: DateTime<Utc>,
    pub settings: PlanSettings,
    /// The providers that could not be read (their pods are missing from the fleet).
    pub errors: Vec<ProviderError>,
    /// A saved fleet: a review, which records, mails and pushes nothing of its own.
    pub from_snapshot: bool,
}

/// A live collection with `config`'s providers at `now`, the real time: sightings are
/// facts recorded at the instant they are made, so a live collection is never dated in the
/// past or future (the commands refuse `--now` without `--snapshot`).
pub async fn live(config: &Config, now: DateTime<Utc>) -> Result<Inputs, Error> {
    let (fleet, errors) = collect(config, now).await?;
    // Notices held from earlier runs are read by every live command; only `run` records them.
    let mut settings = settings(Some(config));
    settings.notices = Store::open(&config.state)?.notices()?;
    Ok(Inputs {
        settings,
        fleet,
        now,
        errors,
        from_snapshot: false,
    })
}

/// The guards a configuration sets (the defaults without one).
pub fn settings(config: Option<&Config>) -> PlanSettings {
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
