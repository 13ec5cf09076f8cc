//! `podwarden apply PLAN.json` and `podwarden run --apply`: the checks a plan file must pass
//! before anything is sent (format, age, policies), `--print-requests`, SIGTERM, and the
//! printed outcome. The acting itself is `execute::apply`.

use std::path::{Path, PathBuf};

use chrono::Utc;
use tokio::time::Instant;

use super::{config_path, load_policies, settings, Error, Setup};
use crate::cli::ActArgs;
use crate::config::{Config, TokenSource};
use crate::execute::apply::{self, ActionResult, Options, Outcome};
use crate::execute::queue::StopSignal;
use crate::exit::Exit;
use crate::plan::{Plan, PlanSettings, Unfinished};
use crate::secret::Secret;
use crate::state::journal::Journal;

/// `podwarden apply`'s arguments.
pub struct FileArgs {
    pub plan: PathBuf,
    pub config: Option<PathBuf>,
    pub policies: Option<PathBuf>,
    pub allow_stale: bool,
    pub allow_policy_change: bool,
    pub act: ActArgs,
}

/// What the state file's journal holds as unfinished (none when there is no journal yet).
pub fn unfinished(state: &Path) -> Result<Vec<Unfinished>, Error> {
    let Some(journal) = Journal::open_existing(state)? else {
        return Ok(Vec::new());
    };
    Ok(journal
        .unfinished()?
        .into_iter()
        .map(|r| Unfinished {
            run_id: r.new.run_id,
            action_id: r.new.action_id,
            provider: r.new.provider,
            target: r.new.target,
            action: r.new.action,
            policy: r.new.policy,
            stage: r.new.stage.as_str().to_string(),
            at: r.new.at,
        })
        .collect())
}

/// Whether the journal holds actions of earlier runs that apply settles even under a plan
/// with no actions: planned and never sent (closed as superseded), sent before a crash
/// (recovered), or accepted and never verified.
fn unsettled(state: &Path) -> Result<bool, Error> {
    let Some(journal) = Journal::open_existing(state)? else {
        return Ok(false);
    };
    Ok(!journal.unfinished()?.is_empty() || !journal.accepted_unverified()?.is_empty())
}

/// The actions the journal holds, each with its latest status, for the report.
pub fn taken(state: &Path) -> Result<Vec<crate::report::TakenAction>, Error> {
    let Some(journal) = Journal::open_existing(state)? else {
        return Ok(Vec::new());
    };
    let latest = journal.query(&crate::state::journal::Filter {
        latest_only: true,
        ..Default::default()
    })?;
    Ok(latest
        .into_iter()
        .map(|r| crate::report::TakenAction {
            at: r.new.at,
            provider: r.new.provider,
            target: r.new.target,
            action: r.new.action,
            policy: r.new.policy,
            est_savings_per_day: r
                .new
                .est_savings_per_day
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            currency: crate::money::Currency::new(r.new.currency.as_deref().unwrap_or("USD")),
            status: r.new.stage.as_str().to_string(),
        })
        .collect())
}

/// The targets run `run_id` acted on (accepted or verified), with when.
pub fn acted_in(state: &Path, run_id: &str) -> Result<Vec<(String, chrono::DateTime<Utc>)>, Error> {
    let Some(journal) = Journal::open_existing(state)? else {
        return Ok(Vec::new());
    };
    let latest = journal.query(&crate::state::journal::Filter {
        run_id: Some(run_id.to_string()),
        latest_only: true,
        ..Default::default()
    })?;
    Ok(latest
        .into_iter()
        .filter(|r| {
            matches!(
                r.new.stage,
                crate::state::journal::Stage::Accepted | crate::state::journal::Stage::Verified
            )
        })
        .map(|r| (r.new.target, r.new.at))
        .collect())
}

fn read_plan(path: &Path) -> Result<Plan, Error> {
    let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
        what: format!("reading the plan file {}", path.display()),
        source,
    })?;
    let plan: Plan = serde_json::from_str(&text).map_err(|e| {
        Error::Usage(format!(
            "{}:{}:{}: not a podwarden plan file: {e}; write one with `podwarden plan --out {}`",
            path.display(),
            e.line(),
            e.column(),
            path.display()
        ))
    })?;
    if plan.version != crate::plan::VERSION {
        return Err(Error::Usage(format!(
            "{}: plan file version {} is not supported (this podwarden reads version {})",
            path.display(),
            plan.version,
            crate::plan::VERSION
        )));
    }
    Ok(plan)
}

/// `podwarden apply PLAN.json`.
pub async fn apply_file(args: FileArgs) -> Result<Exit, Error> {
    let started = Instant::now();
    let plan = read_plan(&args.plan)?;
    let Some(path) = config_path(args.config.as_deref()) else {
        return Err(Error::Usage(
            "apply acts on the providers of a configuration: pass --config podwarden.toml \
             (or set PODWARDEN_CONFIG)"
                .into(),
        ));
    };
    let cfg = Config::load(&path)?;
    let age = Utc::now() - plan.generated_at;
    if age > cfg.apply.max_plan_age && !args.allow_stale {
        return Err(Error::Usage(format!(
            "{}: the plan was made at {} ({} ago), longer ago than [apply] max_plan_age ({}): \
             the fleet has moved on; make a new plan, or pass --allow-stale",
            args.plan.display(),
            plan.generated_at.to_rfc3339(),
            crate::duration::format(age),
            crate::duration::format(cfg.apply.max_plan_age)
        )));
    }
    if age < -chrono::Duration::minutes(5) && !args.allow_stale {
        return Err(Error::Usage(format!(
            "{}: the plan is dated in the future ({}): check the clocks, or pass --allow-stale",
            args.plan.display(),
            plan.generated_at.to_rfc3339()
        )));
    }
    let setup = Setup::File(cfg);
    let set = load_policies(args.policies.as_deref(), Some(&setup))?;
    if set.sha256 != plan.policies_sha256 && !args.allow_policy_change {
        return Err(Error::Usage(format!(
            "{}: the plan was made from other policies (policies_sha256 {}…) than those on disk \
             ({}…): review the new plan (`podwarden plan`), or pass --allow-policy-change",
            args.plan.display(),
            short(&plan.policies_sha256),
            short(&set.sha256)
        )));
    }
    let names: Vec<&str> = setup
        .config()
        .providers
        .iter()
        .map(|p| p.name.as_str())
        .collect();
    crate::execute::plan_check::check(&plan, &names)?;
    if args.act.print_requests {
        return print_requests(setup.config(), &plan, Some(&set), args.act.yes);
    }
    // The file is a request, not the truth: every action is derived again from the policies
    // on disk and the fleet as it is now, and only those that re-derive are acted on.
    let inputs = super::live_inputs(setup).await?;
    // A token the provider rejects (401) or that may not read (403): nothing can be derived
    // and nothing is marked, as the write-access check would stop it.
    if let Some(e) = inputs.errors.iter().find(|e| {
        matches!(
            e,
            crate::providers::ProviderError::Unauthorized { .. }
                | crate::providers::ProviderError::Forbidden { .. }
        )
    }) {
        eprintln!("error: {e}; nothing was sent or journalled");
        return Ok(Exit::for_provider(e));
    }
    let fresh = super::make_plan(&inputs, &set)?;
    let (admitted, rejected) = crate::execute::rederive::rederive(
        &plan,
        &fresh,
        &inputs.fleet,
        &set,
        &inputs.settings,
        inputs.now,
    );
    for r in &rejected {
        tracing::warn!(
            target = %r.action.target,
            action = %r.action.action,
            policy = %r.action.policy,
            "not re-derived, not sent: {}",
            r.why
        );
    }
    let Some(super::Setup::File(cfg)) = &inputs.setup else {
        return Err(Error::Usage("apply needs a configuration file".into()));
    };
    let (exit, _) = act(
        cfg,
        &admitted,
        &rejected,
        &args.act,
        settings(Some(cfg)),
        started + cfg.deadline,
    )
    .await?;
    // A provider that could not be read completely: its actions did not re-derive.
    Ok(
        match super::collection_exit(&inputs.fleet, &inputs.errors) {
            Some(collected) if exit == Exit::Success => collected,
            _ => exit,
        },
    )
}

fn short(hash: &str) -> &str {
    hash.char_indices()
        .nth(12)
        .map_or(hash, |(i, _)| &hash[..i])
}

/// Applies `plan` with `cfg`'s providers and journal (or prints its requests): the exit code,
/// and what applying did (none when nothing was sent).
/// `rejected`: the plan file's actions that did not re-derive (none for `run --apply`, whose
/// plan was made in this process).
pub async fn act(
    cfg: &Config,
    plan: &Plan,
    rejected: &[apply::Rejected],
    act: &ActArgs,
    settings: PlanSettings,
    deadline: Instant,
) -> Result<(Exit, Option<Outcome>), Error> {
    if act.print_requests {
        return Ok((print_requests(cfg, plan, None, act.yes)?, None));
    }
    if plan.actions.is_empty() && rejected.is_empty() && !unsettled(&cfg.state)? {
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
        clock: apply::wall_clock(),
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

/// `--print-requests`: the requests, exactly as they would be sent, and nothing sent. No
/// token is needed or shown; terminates appear only with `--yes`. For a plan file (`set`:
/// the policies on disk), actions whose claims no fleet can make true under these policies
/// (`rederive::claims`) are listed as refused instead; the rest still has to re-derive
/// against the fleet when applied.
fn print_requests(
    cfg: &Config,
    plan: &Plan,
    set: Option<&crate::policy::PolicySet>,
    yes: bool,
) -> Result<Exit, Error> {
    let mut offline = cfg.clone();
    for p in &mut offline.providers {
        p.token = TokenSource::Value(Secret::new("not-used"));
    }
    let providers = crate::collect::providers(&offline, Instant::now())?;
    let names: Vec<&str> = providers.iter().map(|p| p.name()).collect();
    crate::execute::plan_check::check(plan, &names)?;
    let mut held = 0;
    let mut refused = 0;
    for provider in &providers {
        let mine: Vec<_> = plan
            .actions
            .iter()
            .filter(|a| a.provider == provider.name())
            .filter(
                |a| match set.map(|set| crate::execute::rederive::claims(a, set)) {
                    Some(Err(why)) => {
                        println!(
                            "# REFUSED {} {} ({}): not re-derived: {why}\n",
                            a.action, a.target, a.policy
                        );
                        refused += 1;
                        false
                    }
                    _ => true,
                },
            )
            .filter(|a| {
                let send = yes || a.action != "terminate";
                held += usize::from(!send);
                send
            })
            .collect();
        let ops = mine
            .iter()
            .map(|a| apply::operation(a, yes))
            .collect::<Result<Vec<_>, _>>()?;
        for r in provider.requests(&ops) {
            println!("{} {}", r.method, r.url);
            println!("Idempotency-Key: {}", r.idempotency_key);
            if let Some(body) = &r.body {
                println!("{body}");
            }
            let what: Vec<String> = r
                .ops
                .iter()
                .map(|&i| format!("{} ({})", mine[i].id, mine[i].policy))
                .collect();
            println!("# carries {}\n", what.join(", "));
        }
    }
    if held > 0 {
        println!("# {held} terminate(s) held back: add --yes to send them");
    }
    if set.is_some() {
        println!(
            "# These are the plan file's requests as written; `apply` first derives each action \
             again from the policies on disk and the fleet as it is then, and sends only those \
             that do, in the words it derives (reason included)."
        );
    }
    Ok(if refused > 0 {
        Exit::ActionsFailed
    } else {
        Exit::Success
    })
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
