//! `podwarden schedule`: runs the nightly job on `[schedule] cron` in `[schedule] timezone`.
//!
//! tokio-cron-scheduler drives the waiting, but every fire time is computed by
//! [`next_fire::CronSchedule`] in local wall-clock time and handed to the scheduler as a
//! one-shot job; when it fires, the next one is armed. So the job runs at the configured local
//! time before and after both DST changes (the crate's own zone jobs drift by an hour), a
//! nonexistent local time runs once right after the gap and a repeated one runs once.
//!
//! - **Never two runs at once**: a fire that finds the previous run still going is skipped
//!   and logged (a warning); the next fire is armed as usual.
//! - **SIGTERM / Ctrl-C**: no new run starts; a run in progress may finish within
//!   `[schedule] grace` (default 5m), then the process exits with that run's exit code (0 when
//!   none was running), or 1 when the grace period cut it.
//! - The one-shot jobs carry whole seconds (a fire may come up to a second early): a fire that
//!   arrives early waits for its due instant, so a run never starts before its time.
//! - `--max-runs N` (for tests and one-off checks) exits after N runs with the last run's
//!   exit code.

pub mod next_fire;

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use tokio::sync::mpsc;
use tokio_cron_scheduler::{Job, JobScheduler, JobSchedulerError};

use crate::exit::Exit;
pub use next_fire::{CronError, CronSchedule};

/// `[schedule]` as written in podwarden.toml.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScheduleToml {
    /// Five fields (`"0 2 * * *"`) or six with seconds first (`"0 0 2 * * *"`).
    pub cron: String,
    /// IANA time zone the cron fields are read in (default UTC).
    #[serde(default = "default_timezone")]
    pub timezone: String,
    /// How long SIGTERM waits for a run in progress (default 5m).
    #[serde(default = "default_grace")]
    pub grace: String,
    /// When to run `podwarden observe` (same time zone), e.g. `"5 0,1,3-23 * * *"`: hourly
    /// but in the nightly run's hour. Unset: no observe runs.
    #[serde(default)]
    pub observe: Option<String>,
}

fn default_timezone() -> String {
    "UTC".into()
}
fn default_grace() -> String {
    "5m".into()
}

/// `[schedule]`, checked.
#[derive(Debug, Clone)]
pub struct ScheduleConfig {
    pub cron: CronSchedule,
    pub grace: Duration,
    /// `observe`'s schedule, if any.
    pub observe: Option<CronSchedule>,
}

impl ScheduleToml {
    /// Checks the expression, zone and grace; the message names the key.
    pub fn check(&self) -> Result<ScheduleConfig, String> {
        let cron = CronSchedule::parse(&self.cron, &self.timezone)
            .map_err(|e| format!("[schedule]: {e}"))?;
        let grace = crate::duration::parse(&self.grace)
            .and_then(|d| d.to_std().map_err(|_| "negative duration".to_string()))
            .map_err(|e| format!("[schedule] grace: {e}"))?;
        let observe = self
            .observe
            .as_deref()
            .map(|expr| CronSchedule::parse(expr, &self.timezone))
            .transpose()
            .map_err(|e| format!("[schedule] observe: {e}"))?;
        Ok(ScheduleConfig {
            cron,
            grace,
            observe,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ScheduleError {
    #[error("scheduler: {0}")]
    Scheduler(#[from] JobSchedulerError),
    #[error("cron {0:?} never fires again")]
    NeverFires(String),
    #[error("cannot listen for SIGTERM: {0}")]
    Signal(std::io::Error),
}

/// How the loop ends early (tests, one-off checks).
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub max_runs: Option<u32>,
}

/// Arms a one-shot job of `scheduler` that reports `due` on `fires` at that instant.
async fn arm(
    scheduler: &JobScheduler,
    due: DateTime<Utc>,
    fires: &mpsc::UnboundedSender<DateTime<Utc>>,
) -> Result<(), ScheduleError> {
    let wait = (due - Utc::now()).to_std().unwrap_or(Duration::ZERO);
    let fires = fires.clone();
    let job = Job::new_one_shot_at_instant_async(std::time::Instant::now() + wait, move |_, _| {
        let fires = fires.clone();
        Box::pin(async move {
            // Whole-second ticks may fire early: wait for the due instant itself.
            if let Ok(early) = (due - Utc::now()).to_std() {
                tokio::time::sleep(early).await;
            }
            let _ = fires.send(due);
        })
    })?;
    scheduler.add(job).await?;
    Ok(())
}

fn local(schedule: &CronSchedule, t: DateTime<Utc>) -> String {
    t.with_timezone(&schedule.timezone())
        .format("%Y-%m-%d %H:%M:%S %Z")
        .to_string()
}

/// Runs `job` at every fire of `config` until SIGTERM / Ctrl-C (or `max_runs` runs), and
/// `observe` at every fire of `config.observe`. An observe fire while an observe run is going
/// is skipped like a run's; an observe run and a nightly run may overlap (observe spends only
/// its share of the rate budget). SIGTERM ends an observe run at once: it stores each batch
/// as it reads it.
pub async fn serve<F, Fut, G, Gut>(
    config: &ScheduleConfig,
    options: Options,
    job: F,
    observe: G,
) -> Result<Exit, ScheduleError>
where
    F: Fn() -> Fut,
    Fut: Future<Output = Exit> + Send + 'static,
    G: Fn() -> Gut,
    Gut: Future<Output = Exit> + Send + 'static,
{
    let cron = &config.cron;
    let mut scheduler = JobScheduler::new().await?;
    scheduler.start().await?;
    let (fires_tx, mut fires) = mpsc::unbounded_channel();
    let first = cron
        .next_after(Utc::now())
        .ok_or_else(|| ScheduleError::NeverFires(cron.expr().into()))?;
    arm(&scheduler, first, &fires_tx).await?;
    let (observe_tx, mut observe_fires) = mpsc::unbounded_channel();
    if let Some(oc) = &config.observe {
        let first = oc
            .next_after(Utc::now())
            .ok_or_else(|| ScheduleError::NeverFires(oc.expr().into()))?;
        arm(&scheduler, first, &observe_tx).await?;
        tracing::info!(cron = oc.expr(), next = %local(oc, first), "observe runs scheduled");
    }
    let mut observing: Option<tokio::task::JoinHandle<Exit>> = None;
    tracing::info!(
        cron = cron.expr(),
        timezone = %cron.timezone(),
        next = %local(cron, first),
        "scheduler started"
    );
    let mut terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .map_err(ScheduleError::Signal)?;
    let mut running: Option<tokio::task::JoinHandle<Exit>> = None;
    let mut runs = 0u32;
    let outcome = loop {
        tokio::select! {
            Some(due) = fires.recv() => {
                match cron.next_after(due.max(Utc::now())) {
                    Some(next) => {
                        arm(&scheduler, next, &fires_tx).await?;
                        tracing::debug!(next = %local(cron, next), "next run armed");
                    }
                    None => tracing::warn!(cron = cron.expr(), "the schedule never fires again"),
                }
                if running.is_some() {
                    tracing::warn!(
                        due = %local(cron, due),
                        "skipped a scheduled run: the previous run is still in progress"
                    );
                    continue;
                }
                tracing::info!(due = %local(cron, due), "scheduled run started");
                running = Some(tokio::spawn(job()));
            }
            Some(due) = observe_fires.recv() => {
                let Some(oc) = &config.observe else { continue };
                if let Some(next) = oc.next_after(due.max(Utc::now())) {
                    arm(&scheduler, next, &observe_tx).await?;
                }
                if observing.as_ref().is_some_and(|h| !h.is_finished()) {
                    tracing::warn!(due = %local(oc, due), "skipped an observe run: the previous one is still in progress");
                    continue;
                }
                tracing::info!(due = %local(oc, due), "observe run started");
                observing = Some(tokio::spawn(observe()));
            }
            done = async { running.as_mut().expect("guarded by the select condition").await }, if running.is_some() => {
                running = None;
                runs += 1;
                let last = done.unwrap_or(Exit::Internal);
                if last == Exit::Success {
                    tracing::info!(runs, "scheduled run finished");
                } else {
                    tracing::warn!(runs, exit = last.code(), "scheduled run finished with a non-zero exit");
                }
                if options.max_runs.is_some_and(|max| runs >= max) {
                    break last;
                }
            }
            _ = terminate.recv() => break shutdown(running.take(), config.grace, "SIGTERM").await,
            _ = tokio::signal::ctrl_c() => break shutdown(running.take(), config.grace, "Ctrl-C").await,
        }
    };
    if let Some(o) = observing.take() {
        o.abort();
    }
    let _ = scheduler.shutdown().await;
    Ok(outcome)
}

/// Lets a run in progress finish within `grace`; 1 when it had to be cut.
async fn shutdown(
    running: Option<tokio::task::JoinHandle<Exit>>,
    grace: Duration,
    signal: &str,
) -> Exit {
    let Some(mut run) = running else {
        tracing::info!("{signal}: no run in progress, exiting");
        return Exit::Success;
    };
    tracing::info!(
        grace = %crate::duration::format(chrono::Duration::from_std(grace).unwrap_or_default()),
        "{signal}: finishing the run in progress before exiting"
    );
    match tokio::time::timeout(grace, &mut run).await {
        Ok(done) => done.unwrap_or(Exit::Internal),
        Err(_) => {
            run.abort();
            tracing::error!("{signal}: the grace period ended before the run finished; it was cut");
            Exit::Internal
        }
    }
}
