//! `podwarden apply PLAN.json` and `podwarden run --apply`: the checks a plan file must pass
//! before anything is sent (format, age, policies), `--print-requests`, SIGTERM, and the
//! printed outcome. The act stage itself is the library's `pipeline::act`.

use std::path::PathBuf;

use chrono::Utc;
use tokio::time::Instant;

use super::setup::{config_path, load_policies, Setup};
use super::Error;
use crate::cli::ActArgs;
use crate::config::Config;
use crate::exit::Exit;
use crate::pipeline::act::act;
use crate::pipeline::evaluate::{collection_exit, make_plan};
use crate::pipeline::inputs::settings;
use crate::pipeline::requests::print_requests;

/// `podwarden apply`'s arguments.
pub struct FileArgs {
    pub plan: PathBuf,
    pub config: Option<PathBuf>,
    pub policies: Option<PathBuf>,
    pub allow_stale: bool,
    pub allow_policy_change: bool,
    pub act: ActArgs,
}

/// `podwarden apply PLAN.json`.
pub async fn apply_file(args: FileArgs) -> Result<Exit, Error> {
    let started = Instant::now();
    let plan = crate::plan::file::read(&args.plan)?;
    let Some(path) = config_path(args.config.as_deref()) else {
        return Err(Error::usage(
            "apply acts on the providers of a configuration: pass --config podwarden.toml \
             (or set PODWARDEN_CONFIG)",
        ));
    };
    let cfg = Config::load(&path)?;
    let age = Utc::now() - plan.generated_at;
    if age > cfg.apply.max_plan_age && !args.allow_stale {
        return Err(Error::usage(format!(
            "{}: the plan was made at {} ({} ago), longer ago than [apply] max_plan_age ({}): \
             the fleet has moved on; make a new plan, or pass --allow-stale",
            args.plan.display(),
            plan.generated_at.to_rfc3339(),
            crate::duration::format(age),
            crate::duration::format(cfg.apply.max_plan_age)
        )));
    }
    if age < -chrono::Duration::minutes(5) && !args.allow_stale {
        return Err(Error::usage(format!(
            "{}: the plan is dated in the future ({}): check the clocks, or pass --allow-stale",
            args.plan.display(),
            plan.generated_at.to_rfc3339()
        )));
    }
    let setup = Setup::File(cfg);
    let set = load_policies(args.policies.as_deref(), Some(&setup))?;
    if set.sha256 != plan.policies_sha256 && !args.allow_policy_change {
        return Err(Error::usage(format!(
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
        return Ok(print_requests(
            setup.config(),
            &plan,
            Some(&set),
            args.act.yes,
        )?);
    }
    // The file is a request, not the truth: every action is derived again from the policies
    // on disk and the fleet as it is now, and only those that re-derive are acted on.
    let loaded = super::inputs::live(setup, super::inputs::Wanted::Set(&set)).await?;
    let inputs = &loaded.inputs;
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
    let fresh = make_plan(inputs, loaded.config(), &set, &crate::execute::wall_clock())?;
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
    let Some(Setup::File(cfg)) = &loaded.setup else {
        return Err(Error::usage("apply needs a configuration file"));
    };
    let (exit, _) = act(
        cfg,
        &admitted,
        &rejected,
        &args.act,
        settings(Some(cfg)),
        started + cfg.deadline,
        &crate::execute::wall_clock(),
    )
    .await?;
    // A provider that could not be read completely: its actions did not re-derive.
    Ok(match collection_exit(&inputs.fleet, &inputs.errors) {
        Some(collected) if exit == Exit::Success => collected,
        _ => exit,
    })
}

fn short(hash: &str) -> &str {
    hash.char_indices()
        .nth(12)
        .map_or(hash, |(i, _)| &hash[..i])
}
