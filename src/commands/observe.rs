//! `podwarden observe`: reads a rotating share of the fleet's utilisation within
//! `[collect] observe_budget` of each provider's rate limit and stores it in the state file, so
//! that the nightly plan needs few or no reads of its own. It never acts, plans or writes a
//! report.

use std::path::Path;

use chrono::Utc;

use super::setup::live_setup;
use super::Error;
use crate::exit::Exit;
use crate::fleet::Fleet;
use crate::pipeline::evaluate::collection_exit;
use crate::pipeline::inputs::{collect, Reads};

pub async fn observe(config: Option<&Path>) -> Result<Exit, Error> {
    let setup = live_setup(config).await?;
    setup.config().check_tokens()?;
    let now = Utc::now();
    let (fleet, errors) = collect(setup.config(), now, Reads::Observe).await?;
    print!("{}", summary(&fleet, now));
    setup.finish().await;
    Ok(collection_exit(&fleet, &errors).unwrap_or(Exit::Success))
}

/// One line per provider whose pods need reads of their own: what this run read and stored.
fn summary(fleet: &Fleet, now: chrono::DateTime<Utc>) -> String {
    let mut out = String::new();
    for status in &fleet.providers {
        match &status.activity_reads {
            Some(c) => out.push_str(&format!(
                "{}: utilisation of {} running pods: {}\n",
                status.name,
                c.read + c.stored + c.skipped,
                c.describe(now)
            )),
            None if status.complete => out.push_str(&format!(
                "{}: nothing to observe (its activity comes with the inventory)\n",
                status.name
            )),
            None => out.push_str(&format!(
                "{}: not read: {}\n",
                status.name,
                status.error.as_deref().unwrap_or("incomplete")
            )),
        }
    }
    out
}
