//! What the audit journal says about earlier actions, for the stages around acting: the
//! actions left unfinished (the plan lists them), whether any still need settling (apply
//! runs even for an empty plan then), and which targets a run acted on (the owner notices).
//! Each read is of the state file's journal and finds nothing when there is none yet.

use std::path::Path;

use chrono::{DateTime, Utc};

use crate::plan::Unfinished;
use crate::state::journal::{Filter, Journal, JournalError, Stage};

/// What the state file's journal holds as unfinished (none when there is no journal yet).
pub fn unfinished(state: &Path) -> Result<Vec<Unfinished>, JournalError> {
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
pub fn unsettled(state: &Path) -> Result<bool, JournalError> {
    let Some(journal) = Journal::open_existing(state)? else {
        return Ok(false);
    };
    Ok(!journal.unfinished()?.is_empty() || !journal.accepted_unverified()?.is_empty())
}

/// The targets run `run_id` acted on (accepted or verified), with when.
pub fn acted_in(state: &Path, run_id: &str) -> Result<Vec<(String, DateTime<Utc>)>, JournalError> {
    let Some(journal) = Journal::open_existing(state)? else {
        return Ok(Vec::new());
    };
    let latest = journal.query(&Filter {
        run_id: Some(run_id.to_string()),
        latest_only: true,
        ..Default::default()
    })?;
    Ok(latest
        .into_iter()
        .filter(|r| matches!(r.new.stage, Stage::Accepted | Stage::Verified))
        .map(|r| (r.new.target, r.new.at))
        .collect())
}
