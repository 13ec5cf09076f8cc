//! The evaluate stage of a run and of every review: the policies checked against the
//! configured providers, the plan made from them, and the exit code the collection and the
//! plan call for.

use std::path::Path;

use super::{Error, Inputs};
use crate::config::{Config, ProviderTypes};
use crate::execute::Clock;
use crate::exit::Exit;
use crate::fleet::Fleet;
use crate::plan::Plan;
use crate::policy::PolicySet;
use crate::providers::ProviderError;

/// The policies of folder `dir` (`None`: the shipped ones), checked against `config`'s
/// providers (also the demo's), else against the built-in provider names.
pub fn policies(dir: Option<&Path>, config: Option<&Config>) -> Result<PolicySet, Error> {
    let providers = config.map_or_else(ProviderTypes::builtin, Config::provider_types);
    match dir {
        Some(d) => crate::policy::load::load_dir_for(d, &providers).map_err(Error::Policies),
        None => crate::policy::builtin::load_for(&providers).map_err(Error::Policies),
    }
}

/// The plan of `inputs` under `set`, dated by `clock`. A live plan (a `config`, no snapshot)
/// also says what earlier runs left unfinished; a saved fleet is reviewed alone.
pub fn make_plan(
    inputs: &Inputs,
    config: Option<&Config>,
    set: &PolicySet,
    clock: &Clock,
) -> Result<Plan, Error> {
    let run_id = uuid::Uuid::now_v7().to_string();
    let mut plan = crate::plan::make(
        &inputs.fleet,
        set,
        &inputs.settings,
        inputs.now,
        &run_id,
        clock(),
    )?;
    if let (Some(config), false) = (config, inputs.from_snapshot) {
        plan.unfinished = crate::execute::history::unfinished(&config.state)?;
    }
    Ok(plan)
}

/// The exit a collection calls for: the most specific error behind a failed provider or
/// a data gap (401→2, 403→5, 429/deadline→6, else 7), else 7 when a provider is incomplete
/// or has gaps (also in a fleet read from a snapshot), else none.
pub fn collection_exit(fleet: &Fleet, errors: &[ProviderError]) -> Option<Exit> {
    let incomplete = fleet.has_gaps().then_some(Exit::ProviderIncomplete);
    errors.iter().map(Exit::for_provider).min().or(incomplete)
}

/// Collection problems outrank a tripped breaker: the plan itself is partial then.
pub fn exit_of(plan: &Plan, fleet: &Fleet, errors: &[ProviderError]) -> Exit {
    collection_exit(fleet, errors)
        .or(plan.summary.breaker_tripped.then_some(Exit::CircuitBreaker))
        .unwrap_or(Exit::Success)
}
