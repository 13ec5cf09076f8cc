//! Verification after the queue drains: did each accepted action reach its expected state
//! (stopped; running, with its TTL when one was asked; gone), and, where the provider keeps
//! an audit log (Argus `/audit`), does every accepted operation appear there with the same
//! reason? The reason is audited at both ends.
//!
//! Targets are re-read every [`POLL`] until each reached its state or `until` passes.
//!
//! The audit log is read from the earliest acceptance being verified, as the journal dated it,
//! less [`AUDIT_SKEW`]: the window follows the actions (an earlier run's too), never the date
//! the machine shows when verifying.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::time::Instant;

use super::preconditions::{took_effect, Effect};
use crate::fleet::Pod;
use crate::plan::PlannedAction;
use crate::providers::{OpKind, Provider, Receipt};

/// How often the targets are re-read while waiting.
const POLL: Duration = Duration::from_secs(1);

/// How far the provider's clock may run behind ours: the audit log is read from this long
/// before the earliest acceptance.
pub const AUDIT_SKEW: chrono::Duration = chrono::Duration::hours(24);

/// An accepted action to verify: what was asked, the provider's answer, and when the journal
/// recorded the acceptance.
#[derive(Debug, Clone)]
pub struct Accepted {
    pub action: PlannedAction,
    pub receipt: Receipt,
    pub at: DateTime<Utc>,
}

/// Where the provider's audit log must be read from to hold every acceptance of `accepted`.
pub fn audit_since<'a>(accepted: impl IntoIterator<Item = &'a Accepted>) -> Option<DateTime<Utc>> {
    accepted
        .into_iter()
        .map(|a| a.at)
        .min()
        .map(|t| t - AUDIT_SKEW)
}

/// The verdict per action: `Ok(how it was verified)` or `Err(why it is not)`.
pub type Verdict = Result<String, String>;

pub async fn verify(
    accepted: &[Accepted],
    providers: &[Box<dyn Provider>],
    until: Instant,
    clock: &super::Clock,
) -> Vec<(PlannedAction, Verdict)> {
    let per_provider = providers.iter().map(|p| {
        let mine: Vec<&Accepted> = accepted
            .iter()
            .filter(|a| a.action.provider == p.name())
            .collect();
        verify_provider(p.as_ref(), mine, until, clock)
    });
    futures::future::join_all(per_provider)
        .await
        .into_iter()
        .flatten()
        .collect()
}

/// The state an action should leave its target in, when `pod` shows it.
fn reached(a: &PlannedAction, pod: Option<&Pod>) -> Option<String> {
    if took_effect(a.action, pod) != Effect::Done {
        return None;
    }
    match (a.ttl_hours, pod) {
        (Some(_), Some(p)) if a.action == OpKind::Resume => p
            .ttl_expires_at
            .map(|t| format!("running with its TTL until {}", t.to_rfc3339())),
        (_, Some(p)) => Some(p.status.to_string()),
        (_, None) => Some("gone".into()),
    }
}

async fn verify_provider(
    provider: &dyn Provider,
    accepted: Vec<&Accepted>,
    until: Instant,
    clock: &super::Clock,
) -> Vec<(PlannedAction, Verdict)> {
    let Some(since) = audit_since(accepted.iter().copied()) else {
        return Vec::new();
    };
    let mut states: HashMap<String, String> = HashMap::new();
    let mut last_error = None;
    loop {
        let targets: Vec<String> = accepted
            .iter()
            .filter(|a| !states.contains_key(&a.action.id))
            .map(|a| a.action.target.clone())
            .collect();
        if targets.is_empty() {
            break;
        }
        match provider.recheck(&targets, clock()).await {
            Ok(pods) => {
                let by_target: HashMap<&str, &Pod> =
                    pods.iter().map(|p| (p.target.as_str(), p)).collect();
                for Accepted { action: a, .. } in &accepted {
                    if states.contains_key(&a.id) {
                        continue;
                    }
                    if let Some(s) = reached(a, by_target.get(a.target.as_str()).copied()) {
                        states.insert(a.id.clone(), s);
                    }
                }
                last_error = None;
            }
            Err(e) => last_error = Some(e.to_string()),
        }
        if Instant::now() + POLL > until {
            break;
        }
        if accepted.iter().all(|a| states.contains_key(&a.action.id)) {
            break;
        }
        tokio::time::sleep(POLL).await;
    }
    let audit = match provider.audit(since).await {
        Ok(Some(entries)) => Some(Ok(entries
            .into_iter()
            .map(|e| (e.operation_id.clone(), e))
            .collect::<HashMap<_, _>>())),
        Ok(None) => None,
        Err(e) => Some(Err(e.to_string())),
    };
    accepted
        .into_iter()
        .map(
            |Accepted {
                 action: a, receipt, ..
             }| {
                let verdict = match states.get(&a.id) {
                    None => Err(match &last_error {
                        Some(e) => format!("could not re-read the target: {e}"),
                        None => format!("did not reach the state a {} leads to in time", a.action),
                    }),
                    Some(state) => match (&audit, &receipt.operation_id) {
                        (None, _) => Ok(format!("{state} (the provider keeps no audit log)")),
                        (Some(Err(e)), _) => {
                            Err(format!("{state}, but its audit log failed to load: {e}"))
                        }
                        (Some(Ok(_)), None) => Err(format!(
                            "{state}, but no operation id was recorded to find in its audit log"
                        )),
                        (Some(Ok(log)), Some(op)) => match log.get(op) {
                            None => Err(format!(
                                "{state}, but operation {op} is not in its audit log"
                            )),
                            Some(e) if e.reason != a.reason => Err(format!(
                                "{state}, but its audit log has another reason for {op}: {:?}",
                                e.reason
                            )),
                            Some(e) => Ok(format!(
                                "{state}; in its audit log as {} with the same reason",
                                e.audit_id
                            )),
                        },
                    },
                };
                (a.clone(), verdict)
            },
        )
        .collect()
}
