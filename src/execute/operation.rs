//! The provider operation a planned action asks for, and why a plan's action cannot be
//! turned into one (a hand-edited file): what `plan_check` refuses and `apply` sends.

use crate::fleet::ResourceKind;
use crate::plan::PlannedAction;
use crate::providers::{OpKind, Operation};

/// A plan that cannot be applied as written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the plan names provider {0:?}, which is not configured")]
    UnknownProvider(String),
    #[error("the plan's action {id} has an unknown action or kind ({what:?})")]
    BadAction { id: String, what: String },
    #[error("the plan's action {id} cannot be applied: {why}")]
    BadPlan { id: String, why: String },
}

/// The operation that carries out `a`; a terminate is confirmed only with `yes`.
pub fn operation(a: &PlannedAction, yes: bool) -> Result<Operation, PlanError> {
    let bad = || PlanError::BadAction {
        id: a.id.clone(),
        what: format!("{} {}", a.action, a.kind),
    };
    let op = match a.action.as_str() {
        "stop" => OpKind::Stop,
        "resume" => OpKind::Resume,
        "terminate" => OpKind::Terminate,
        _ => return Err(bad()),
    };
    let kind = match a.kind.as_str() {
        "pod" => ResourceKind::Pod,
        "orphan" => ResourceKind::Orphan,
        _ => return Err(bad()),
    };
    Ok(Operation {
        kind,
        target: a.target.clone(),
        op,
        reason: a.reason.clone(),
        ttl_hours: a.ttl_hours,
        idempotency_key: a.idempotency_key.clone(),
        confirm: op == OpKind::Terminate && yes,
    })
}
