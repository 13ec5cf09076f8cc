//! What evaluation starts from ([`Inputs`]): the fleet, the instant, the guards, and how
//! collection went; from a live collection ([`live`]) or, built by the caller, a saved fleet.
//!
//! A live collection reads every provider's inventory, then spends per-pod activity reads
//! (Podstack's utilisation, one request of the rate budget each) as [`Reads`] says, judging
//! the other pods on the readings kept in the state store where one may stand
//! ([`crate::collect::readings`]). It records what it read there, then the sightings.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::Error;
use crate::collect::readings;
use crate::config::Config;
use crate::fleet::{Fleet, Reading};
use crate::plan::PlanSettings;
use crate::policy::PolicySet;
use crate::providers::ProviderError;
use crate::state::evidence::NewReading;
use crate::state::store::Store;

/// Which pods' activity a live collection reads, one request each.
#[derive(Clone, Copy)]
pub enum Reads<'a> {
    /// Every pod, now, whatever is stored: the unhurried full read (`snapshot save`).
    Everything,
    /// Every pod without a usable stored reading (`report`, `diff`: the whole fleet known).
    Unknown,
    /// Only the pods without a usable stored reading that some acting policy of the set
    /// could act on ([`crate::plan::candidates`]), most $/day first; the others stay unknown
    /// (`run`, `plan`, `explain`, `apply`).
    Candidates(&'a PolicySet),
    /// `podwarden observe`: the never-read, then the oldest readings, as many as the
    /// configured share of the rate budget allows over `[collect] observe_span`.
    Observe,
}

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
pub async fn live(config: &Config, now: DateTime<Utc>, reads: Reads<'_>) -> Result<Inputs, Error> {
    let (fleet, errors) = collect(config, now, reads).await?;
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

/// Collects every provider, spends the activity reads as `reads` says, and merges this
/// run's observations into the state store: what `run`, `plan`, `observe` and `snapshot save`
/// start from (public for the multi-night tests).
pub async fn collect(
    cfg: &Config,
    now: DateTime<Utc>,
    reads: Reads<'_>,
) -> Result<(Fleet, Vec<ProviderError>), Error> {
    let observing = matches!(reads, Reads::Observe);
    // An observe run spreads its reads over its span and ends with it.
    let span = if observing {
        cfg.collect.observe_span
    } else {
        cfg.deadline
    };
    let deadline = tokio::time::Instant::now() + span;
    let providers = crate::collect::providers(cfg, deadline)?;
    // The state file first: one that cannot be opened stops the run before any request.
    let mut store = Store::open(&cfg.state)?;
    let mut c = crate::collect::inventories(&providers, now).await;
    // `observe` reads no costs.
    if !observing {
        let window = crate::providers::cost_window(now, cfg.cost_days_at(now));
        let revision_days = cfg.collect.cost_revision_days;
        crate::collect::read_costs(&providers, &mut c, &mut store, window, revision_days, now)
            .await?;
    }
    let mut stored = HashMap::new();
    for status in c.fleet.providers.iter().filter(|p| p.complete) {
        for (target, r) in store.readings(&status.name)? {
            stored.insert((status.name.clone(), target), r);
        }
    }
    let unread = c.unread.clone();
    let max_age = readings::MaxAge {
        proof: cfg.collect.max_evidence_age,
        unknown: chrono::Duration::from_std(cfg.collect.observe_span)
            .unwrap_or(chrono::Duration::hours(1)),
    };
    let (to_read, failed) = match reads {
        Reads::Everything => {
            let failed = crate::collect::read_activity(&providers, &mut c, &unread, now).await;
            (unread, failed)
        }
        Reads::Unknown => {
            let left = readings::use_stored(&mut c.fleet, &unread, &stored, now, max_age);
            let failed = crate::collect::read_activity(&providers, &mut c, &left, now).await;
            (left, failed)
        }
        Reads::Candidates(set) => {
            let left = readings::use_stored(&mut c.fleet, &unread, &stored, now, max_age);
            // Notices held: a notice policy outside its schedule re-checks only their pods.
            let mut plan_settings = settings(Some(cfg));
            plan_settings.notices = store.notices()?;
            let wanted =
                crate::plan::candidates::needing_signals(&c.fleet, set, &plan_settings, now)?;
            let (needed, not_needed): (Vec<usize>, Vec<usize>) =
                left.into_iter().partition(|r| wanted.contains(r));
            readings::skip(&mut c.fleet, &not_needed, readings::NOT_NEEDED);
            let ordered = readings::by_savings(&c.fleet, &needed, &cfg.currency);
            tracing::info!(
                candidates = ordered.len(),
                not_needed = not_needed.len(),
                "utilisation to read: the pods some acting policy could act on, most $/day first"
            );
            let failed = crate::collect::read_activity(&providers, &mut c, &ordered, now).await;
            (ordered, failed)
        }
        Reads::Observe => {
            observe(cfg, &providers, &mut c, &unread, &stored, now, &mut store).await?;
            (Vec::new(), HashSet::new())
        }
    };
    record_readings(&mut store, &c, &to_read, &failed, now)?;
    crate::collect::count_readings(&mut c.fleet);
    for status in &c.fleet.providers {
        if let Some(counts) = &status.activity_reads {
            tracing::info!(provider = %status.name, "activity: {}", counts.describe(now));
        }
    }
    store.observe(&mut c.fleet, now)?;
    Ok((c.fleet, c.errors))
}

/// `podwarden observe`'s reads: the never-read, then the oldest readings, paced at the
/// configured share of each provider's rate limit over `[collect] observe_span` (one batch of
/// `share × calls` reads per rate window), as many as the span holds; the rest wait for a
/// later run. A provider whose limit is not configured or documented reads none (decision:
/// observing blind could starve the people sharing the token). The inventory's own requests
/// (Podstack: one per 100 pods) are not subtracted: about 1 % of an hour's budget at 3,000 pods.
/// Each batch is dated when it is read and stored at once, so that a run stopped midway (a
/// SIGTERM, a crash, its span's end) keeps what it read.
async fn observe(
    cfg: &Config,
    providers: &[Box<dyn crate::providers::Provider>],
    c: &mut crate::collect::Collected,
    unread: &[usize],
    stored: &HashMap<(String, String), crate::state::evidence::StoredReading>,
    now: DateTime<Utc>,
    store: &mut Store,
) -> Result<(), Error> {
    let ordered = readings::oldest_first(&c.fleet, unread, stored);
    let share = cfg.collect.observe_budget;
    let span = cfg.collect.observe_span;
    // Per provider: its rows in order, its batch per window, and its window.
    let mut queues: Vec<(
        std::collections::VecDeque<usize>,
        usize,
        std::time::Duration,
    )> = Vec::new();
    let mut later = Vec::new();
    for p in providers {
        let rows: Vec<usize> = ordered
            .iter()
            .copied()
            .filter(|&r| c.fleet.pods[r].provider == p.name())
            .collect();
        let Some(limit) = p.write_limit() else {
            later.extend(rows);
            continue;
        };
        let batch = ((f64::from(limit.calls) * share).floor() as usize).max(1);
        let windows = (span.as_secs_f64() / limit.window.as_secs_f64()).floor() as usize;
        let fits = batch * windows.max(1);
        let (now_rows, rest) = rows.split_at(fits.min(rows.len()));
        tracing::info!(
            provider = p.name(),
            "observe: {} of {} pods this run, {batch} per {}s ({:.0} % of {} per {}s)",
            now_rows.len(),
            rows.len(),
            limit.window.as_secs(),
            share * 100.0,
            limit.calls,
            limit.window.as_secs()
        );
        later.extend_from_slice(rest);
        queues.push((now_rows.iter().copied().collect(), batch, limit.window));
    }
    readings::skip(&mut c.fleet, &later, readings::LATER);
    let began = tokio::time::Instant::now();
    while queues.iter().any(|(q, _, _)| !q.is_empty()) {
        let started = tokio::time::Instant::now();
        let at = now + chrono::Duration::from_std(began.elapsed()).unwrap_or_default();
        let mut rows = Vec::new();
        let mut window = std::time::Duration::ZERO;
        for (q, batch, w) in &mut queues {
            let n = (*batch).min(q.len());
            rows.extend(q.drain(..n));
            window = window.max(*w);
        }
        let failed = crate::collect::read_activity(providers, c, &rows, at).await;
        record_readings(store, c, &rows, &failed, at)?;
        if queues.iter().any(|(q, _, _)| !q.is_empty()) {
            tokio::time::sleep_until(started + window).await;
        }
    }
    Ok(())
}

/// Stores what this run read (see [`crate::state::evidence`]), per complete provider, and
/// forgets the pods it no longer lists.
fn record_readings(
    store: &mut Store,
    c: &crate::collect::Collected,
    rows: &[usize],
    failed: &HashSet<usize>,
    now: DateTime<Utc>,
) -> Result<(), Error> {
    for status in c.fleet.providers.iter().filter(|p| p.complete) {
        let new: Vec<NewReading> = rows
            .iter()
            .map(|&r| (r, &c.fleet.pods[r]))
            .filter(|(_, p)| p.provider == status.name && p.reading == Some(Reading::Read))
            .map(|(r, p)| NewReading {
                target: p.target.clone(),
                incarnation: p.incarnation(),
                activity: p.activity.clone(),
                failed: failed.contains(&r),
            })
            .collect();
        let listed: HashSet<String> = c
            .fleet
            .pods
            .iter()
            .filter(|p| p.provider == status.name)
            .map(|p| p.target.clone())
            .collect();
        store.record_readings(&status.name, &new, now, Some(&listed))?;
    }
    Ok(())
}
