//! The act stage of `run --apply` and of `podwarden apply`: the providers with their write
//! tokens, one apply per state file at a time (the lock), the journal, SIGTERM and Ctrl-C,
//! then the printed outcome. The acting itself is `execute::apply`.

use tokio::time::Instant;

use super::Error;
use crate::cli::ActArgs;
use crate::config::Config;
use crate::execute::apply::{self, ActionResult, Options, Outcome};
use crate::execute::queue::StopSignal;
use crate::execute::Clock;
use crate::exit::Exit;
use crate::plan::{Plan, PlanSettings};
use crate::state::journal::Journal;

/// Applies `plan` with `cfg`'s providers and journal (or prints its requests): the exit code,
/// and what applying did (none when nothing was sent).
/// `rejected`: the plan file's actions that did not re-derive (none for `run --apply`, whose
/// plan was made in this process). `clock` dates the journal's records and the re-checks.
pub async fn act(
    cfg: &Config,
    plan: &Plan,
    rejected: &[apply::Rejected],
    act: &ActArgs,
    settings: PlanSettings,
    deadline: Instant,
    clock: &Clock,
) -> Result<(Exit, Option<Outcome>), Error> {
    if act.print_requests {
        return Ok((
            super::requests::print_requests(cfg, plan, None, act.yes)?,
            None,
        ));
    }
    if plan.actions.is_empty()
        && rejected.is_empty()
        && !crate::execute::history::unsettled(&cfg.state)?
    {
        println!("Nothing to apply: the plan has no actions.");
        return Ok((Exit::Success, None));
    }
    let providers = crate::collect::providers(cfg, deadline)?;
    // One apply per state file at a time (exit 2 when another holds it); held until the end.
    let _lock =
        crate::execute::lock::acquire(&cfg.state).map_err(|e| Error::Usage(e.to_string()))?;
    let mut journal = Journal::open(&cfg.state)?;
    let stop = StopSignal::default();
    let listener = tokio::spawn(stop_on_signals(stop.clone()));
    let options = Options {
        yes: act.yes,
        deadline,
        verify_timeout: cfg.apply.verify_timeout,
        settings,
        rate: {
            let conversion = cfg.currency.clone();
            Box::new(move |c: &str| conversion.rate(&crate::money::Currency::new(c)))
        },
        clock: clock.clone(),
    };
    let outcome = apply::apply(plan, &providers, &mut journal, rejected, &options, &stop).await;
    listener.abort();
    let outcome = outcome?;
    print!("{}", render(&outcome));
    Ok((outcome.exit(), Some(outcome)))
}

/// SIGTERM (a CronJob's end, `kill`) and Ctrl-C stop the queue after the request in flight.
async fn stop_on_signals(stop: StopSignal) {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        } else {
            let _ = tokio::signal::ctrl_c().await;
        }
    }
    #[cfg(not(unix))]
    let _ = tokio::signal::ctrl_c().await;
    tracing::warn!("stop requested: finishing the request in flight, then stopping; the rest stays pending for the next run");
    stop.stop();
}

fn render(o: &Outcome) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\n{:<12} {:<10} {:<9} {:<18} DETAIL",
        "RESULT", "ACTION", "PROVIDER", "TARGET"
    );
    let mut lines: Vec<_> = o.lines.iter().collect();
    lines.sort_by_key(|l| l.result);
    for l in lines {
        let result = l.result.as_str();
        let _ = writeln!(
            out,
            "{:<12} {:<10} {:<9} {:<18} {}",
            result, l.action.action, l.action.provider, l.action.target, l.detail
        );
    }
    for (target, why) in &o.unverified {
        let _ = writeln!(out, "UNVERIFIED   {target}: {why}");
    }
    let _ = writeln!(
        out,
        "\nApplied in {:.1} s: {} accepted ({} verified, {} unverified), {} skipped, {} held back, \
         {} refused, {} failed, {} pending, {} done in earlier runs.",
        o.elapsed.as_secs_f64(),
        o.count(ActionResult::Accepted),
        o.verified,
        o.unverified.len(),
        o.count(ActionResult::Skipped),
        o.count(ActionResult::HeldBack),
        o.count(ActionResult::Refused),
        o.count(ActionResult::Failed),
        o.count(ActionResult::Pending),
        o.count(ActionResult::AlreadyDone)
    );
    if o.not_derived > 0 {
        let _ = writeln!(
            out,
            "{} action(s) of the plan file did not re-derive from the policies on disk and the \
             fleet as it is now, and were not sent ({} refused: the file says what these policies \
             cannot plan).",
            o.not_derived,
            o.count(ActionResult::Refused)
        );
    }
    for f in &o.figures {
        let _ = writeln!(out, "  {}", f.render());
    }
    if !o.forbidden.is_empty() {
        let each: Vec<String> = o.forbidden.iter().map(ToString::to_string).collect();
        let _ = writeln!(
            out,
            "Stopped: {}. Nothing more was sent; grant the scope{} and run again.",
            each.join("; "),
            if each.len() > 1 { "s" } else { "" }
        );
    }
    if let Some(e) = &o.deadline {
        let _ = writeln!(
            out,
            "Stopped at the run's deadline ({e}); the rest stays pending in the journal for the next run."
        );
    }
    if o.interrupted {
        let _ = writeln!(
            out,
            "Stopped by a signal after the request in flight; the rest stays pending for the next run."
        );
    }
    out
}
