//! The provider operation a planned action asks for, and why a plan's action cannot be
//! applied (a hand-edited file): what `plan_check` refuses and `apply` sends.

use crate::plan::PlannedAction;
use crate::providers::{OpKind, Operation};

/// A plan that cannot be applied as written.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    #[error("the plan names provider {0:?}, which is not configured")]
    UnknownProvider(String),
    #[error("the plan's action {id} cannot be applied: {why}")]
    BadPlan { id: String, why: String },
    /// More than one of the above, in the order of the file's actions.
    #[error("{} problems in the plan:\n{}", .0.len(), .0.iter().map(|p| format!("  {p}")).collect::<Vec<_>>().join("\n"))]
    Many(Vec<PlanError>),
}

/// The operation that carries out `a`; a terminate is confirmed only with `yes`. (Action and
/// kind are types since the plan file was read, so every planned action has one.)
pub fn operation(a: &PlannedAction, yes: bool) -> Operation {
    Operation {
        kind: a.kind,
        target: a.target.clone(),
        op: a.action,
        reason: a.reason.clone(),
        ttl_hours: a.ttl_hours,
        idempotency_key: a.idempotency_key.clone(),
        confirm: a.action == OpKind::Terminate && yes,
    }
}
