//! The nightly run as one library function, [`run`]: collect → record sightings → plan →
//! act → report → notify. `podwarden run` and every `podwarden schedule` run call it; so
//! can a test or another front end, with its own configuration and clock.
//!
//! The stages the reviews share live beside it, one file each: [`inputs`] (a live
//! collection), [`evaluate`] (policies, plan, exit code), [`act`] and [`requests`] (acting,
//! `--print-requests`), [`outputs`] (plan file, report folder). The run prints its progress
//! as it goes, as `podwarden run` shows it (the plan table before acting, the outcome of
//! acting, the report's headline), and returns what it produced as a [`RunOutcome`].

pub mod act;
mod error;
pub mod evaluate;
pub mod inputs;
pub mod outputs;
pub mod requests;

use std::path::PathBuf;

pub use error::Error;
pub use inputs::Inputs;

use crate::cli::ActArgs;
use crate::config::Config;
use crate::execute::Clock;
use crate::exit::Exit;
use crate::plan::Plan;
use crate::sandbox::RunningSandbox;
use crate::state::store::Store;

/// Where a run's fleet comes from.
pub enum Start {
    /// Collect the configured providers now (the clock's time), recording sightings.
    Collect,
    /// A saved fleet: a review, which records no notices, mails only with `email_to_dir`
    /// and pushes no metrics, so that the day's finance mail and the last-success
    /// timestamp stay the nightly run's.
    Replay(Box<Inputs>),
}

/// What a run is asked to do, and with which configuration.
pub struct Run<'a> {
    /// The configuration; `None` only for a replay without one.
    pub config: Option<&'a Config>,
    /// The built-in demo's sandbox: acting uses its admin token (the plan is made with the
    /// read-only one), and no mail goes over SMTP.
    pub demo: Option<&'a RunningSandbox>,
    /// The policy folder; `None`: the shipped policies.
    pub policies: Option<PathBuf>,
    /// Also write the plan file here.
    pub out: Option<PathBuf>,
    /// Write the report here (`None`: a live run writes into the config's `reports`, a
    /// replay writes none).
    pub reports: Option<PathBuf>,
    /// Write the mails as `.eml` files here instead of sending them.
    pub email_to_dir: Option<PathBuf>,
    /// Act on the plan (with `yes`: terminates too); `None`: a dry-run.
    pub act: Option<ActArgs>,
}

/// What a run produced.
pub struct RunOutcome {
    pub plan: Plan,
    /// The printed spend summary and plan table (the finance mail quotes them).
    pub summary: String,
    /// The exit code of the run.
    pub exit: Exit,
    pub report: crate::report::Report,
    /// The report files written (none for a replay without `reports`).
    pub written: Vec<PathBuf>,
    /// What acting did (`None`: no act stage, or nothing was sent).
    pub applied: Option<crate::execute::apply::Outcome>,
}

impl RunOutcome {
    /// What the notification channels read of it.
    fn produced(&self) -> crate::notify::Produced<'_> {
        crate::notify::Produced {
            plan: &self.plan,
            summary: &self.summary,
            exit: self.exit,
            report: &self.report,
            written: &self.written,
            applied: self.applied.as_ref(),
        }
    }
}

/// The nightly job: collect (for [`Start::Collect`]), plan, print the plan and the spend
/// summary, act when asked, write the report, then notify through every channel of
/// [`crate::notify::channels`]. A failed collection ends the run at once; a failure after it
/// still notifies (the metrics carry its exit code), and a failed delivery never fails the
/// run. `clock` dates the collection, the plan, the acting and the mail.
pub async fn run(start: Start, run: &Run<'_>, clock: &Clock) -> Result<RunOutcome, Error> {
    let started = std::time::Instant::now();
    let deadline_base = tokio::time::Instant::now();
    // The tokens, then the policies: a live collection reads utilisation only where they
    // could act.
    if let (Start::Collect, Some(config)) = (&start, run.config) {
        config.check_tokens().map_err(Error::Config)?;
    }
    let set = evaluate::policies(run.policies.as_deref(), run.config)?;
    let inputs = match (start, run.config) {
        (Start::Replay(inputs), _) => *inputs,
        (Start::Collect, Some(config)) => {
            inputs::live(config, clock(), inputs::Reads::Candidates(&set)).await?
        }
        (Start::Collect, None) => {
            return Err(Error::Usage(
                "a live run collects the providers of a configuration: none given".into(),
            ))
        }
    };
    let outcome = plan_act_report(&inputs, &set, run, clock, deadline_base).await;
    notify(&inputs, run, &outcome, started, clock).await;
    outcome
}

async fn plan_act_report(
    inputs: &Inputs,
    set: &crate::policy::PolicySet,
    run: &Run<'_>,
    clock: &Clock,
    started: tokio::time::Instant,
) -> Result<RunOutcome, Error> {
    let plan = evaluate::make_plan(inputs, run.config, set, clock)?;
    // The nightly run is what starts, confirms and drops notices (a snapshot run writes nothing).
    if let (false, Some(config)) = (inputs.from_snapshot, run.config) {
        Store::open(&config.state)?.record_notices(&plan)?;
    }
    let table = crate::plan::render::table(&plan);
    print!("{table}");
    println!();
    let cost_days = run.config.map_or(30, |c| c.cost_days_at(inputs.now));
    let summary = crate::report::summary::text(&inputs.fleet, cost_days, inputs.now)?;
    print!("{summary}");
    outputs::write_plan(&plan, run.out.as_deref())?;
    let mut exit = evaluate::exit_of(&plan, &inputs.fleet, &inputs.errors);
    let mut applied = None;
    if let (Some(act), Some(config)) = (&run.act, run.config) {
        // Acting journals into the state file: a shard's own, never the whole fleet's.
        config.require_shard().map_err(Error::Config)?;
        // The demo plans with the sandbox's read-only token and acts with its admin token.
        let cfg = match run.demo {
            Some(sandbox) => crate::demo::acting(config, sandbox),
            None => config.clone(),
        };
        let deadline = started + cfg.deadline;
        let (acted, outcome) = act::act(
            &cfg,
            &plan,
            &[],
            act,
            inputs.settings.clone(),
            deadline,
            clock,
        )
        .await?;
        if acted != Exit::Success {
            exit = acted;
        }
        applied = outcome;
    } else if run.act.is_some() {
        return Err(Error::Usage(
            "--apply acts on live providers: it needs a configuration, not --snapshot alone".into(),
        ));
    }
    // After acting, so that the report's actions include this run's.
    let folder = outputs::report_folder(inputs, run.config, run.reports.as_deref(), true);
    let (report, written) =
        outputs::write_report(inputs, run.config, Some(&plan), folder.as_deref())?;
    println!();
    print!("{}", crate::report::markdown::headline(&report));
    outputs::print_written(&written, false);
    if folder.is_none() {
        eprintln!("{}", outputs::REPLAY_WRITES_NO_REPORT);
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

/// The end of a run: every notification channel, in the order of the list. Each decides
/// what this run has for it (a replay mails only into `email_to_dir` and pushes nothing); a
/// failed delivery is a warning, never a failed run.
async fn notify(
    inputs: &Inputs,
    run: &Run<'_>,
    outcome: &Result<RunOutcome, Error>,
    started: std::time::Instant,
    clock: &Clock,
) {
    let Some(config) = run.config else {
        return;
    };
    if inputs.from_snapshot && run.email_to_dir.is_none() {
        eprintln!(
            "A replay of a saved fleet: no mail sent and no metrics pushed (--email-to-dir DIR \
             writes its mails)."
        );
        return;
    }
    let finished = crate::notify::Finished {
        fleet: &inputs.fleet,
        result: outcome
            .as_ref()
            .map(RunOutcome::produced)
            .map_err(Error::exit),
        started,
        now: clock(),
        replay: inputs.from_snapshot,
    };
    let settings = crate::notify::ChannelSettings {
        email: config.email.as_ref(),
        metrics: config.metrics.as_ref(),
        state: &config.state,
        protect_label: &config.protect_label,
        email_to_dir: run.email_to_dir.as_deref(),
        demo: run.demo.is_some(),
        shard: config.shard.as_deref(),
    };
    for channel in crate::notify::channels(&settings) {
        match channel.deliver(&finished).await {
            Ok(delivery) => tracing::debug!(channel = channel.name(), ?delivery, "notified"),
            Err(e) => tracing::warn!("{e}"),
        }
    }
}
