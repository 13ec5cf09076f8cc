//! Review tools for people changing policies: `explain` (why a pod is or is not in the plan),
//! policy test `cases` (`podwarden test`) and `diff` (how a policy change alters the plan).
//! They use both [`crate::policy`] and [`crate::plan`]; neither of those imports this module,
//! so the dependencies run one way: policy ← plan ← review.

pub mod cases;
pub mod diff;
pub mod explain;
