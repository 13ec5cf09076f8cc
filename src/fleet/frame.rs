//! The fleet as a polars table: one row per pod, with durations derived at a given instant.
//!
//! Policy filters compile to expressions over these columns (see `policy::compile`), so
//! the column names below are the field names a policy's `where` clause may use.
//! Durations are whole seconds as of `now`; money is integer micro-units.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use polars::prelude::*;

use super::{Activity, Pod};

/// Columns every fleet frame has, with their meaning (for `--help`, docs/policies.md and validation).
pub const FIELDS: &[(&str, &str)] = &[
    ("provider", "configured provider name"),
    ("kind", "pod | orphan"),
    ("target", "the id an action addresses"),
    ("pod_id", "the provider's pod id"),
    ("name", "pod or worker name"),
    (
        "status",
        "running | starting | stopping | stopped | restarting | error | unknown",
    ),
    ("project", "project name or id"),
    ("owner", "owner (Argus)"),
    ("gpu_type", "GPU model, e.g. H100-80GB"),
    ("gpu_count", "number of GPUs"),
    ("region", "region (Argus)"),
    ("currency", "currency of the hourly rate"),
    ("hourly_rate", "hourly rate (compare with a decimal: 2.49)"),
    ("age", "time since creation (compare with a duration: 7d)"),
    ("activity", "busy | idle | unknown"),
    ("idle", "time idle (null unless idle with a known start)"),
    ("orphaned", "time as an orphan (null unless known)"),
    ("ttl_state", "none | active | expired"),
    (
        "ttl_expired",
        "time since the resume TTL expired (null unless expired)",
    ),
];

/// Name of the column holding a label's value.
pub fn label_column(key: &str) -> String {
    format!("label.{key}")
}

fn secs_since(now: DateTime<Utc>, then: Option<DateTime<Utc>>) -> Option<i64> {
    then.map(|t| (now - t).num_seconds())
}

/// Builds the frame for `pods` as of `now`, with one `label.<key>` column per requested key.
pub fn build(
    pods: &[Pod],
    now: DateTime<Utc>,
    label_keys: &BTreeSet<String>,
) -> PolarsResult<DataFrame> {
    let str_col = |name: &str, f: &dyn Fn(&Pod) -> String| -> Column {
        Column::new(name.into(), pods.iter().map(f).collect::<Vec<String>>())
    };
    let opt_col = |name: &str, f: &dyn Fn(&Pod) -> Option<String>| -> Column {
        Column::new(
            name.into(),
            pods.iter().map(f).collect::<Vec<Option<String>>>(),
        )
    };
    let int_col = |name: &str, f: &dyn Fn(&Pod) -> Option<i64>| -> Column {
        Column::new(
            name.into(),
            pods.iter().map(f).collect::<Vec<Option<i64>>>(),
        )
    };

    let mut columns = vec![
        Column::new("row".into(), (0..pods.len() as u32).collect::<Vec<u32>>()),
        str_col("provider", &|p| p.provider.clone()),
        str_col("kind", &|p| p.kind.as_str().to_string()),
        str_col("target", &|p| p.target.clone()),
        str_col("pod_id", &|p| p.pod_id.clone()),
        str_col("name", &|p| p.name.clone()),
        str_col("status", &|p| p.status.as_str().to_string()),
        opt_col("project", &|p| p.project.clone()),
        opt_col("owner", &|p| p.owner.clone()),
        opt_col("gpu_type", &|p| p.gpu_type.clone()),
        int_col("gpu_count", &|p| Some(i64::from(p.gpu_count))),
        opt_col("region", &|p| p.region.clone()),
        str_col("currency", &|p| p.hourly_rate.currency.to_string()),
        int_col("hourly_rate", &|p| Some(p.hourly_rate.micros())),
        int_col("age", &|p| Some((now - p.created_at).num_seconds())),
        str_col("activity", &|p| {
            match p.activity {
                Activity::Busy => "busy",
                Activity::Idle { .. } => "idle",
                Activity::Unknown { .. } => "unknown",
            }
            .to_string()
        }),
        int_col("idle", &|p| match &p.activity {
            Activity::Idle { since, .. } => secs_since(now, *since),
            _ => None,
        }),
        int_col("orphaned", &|p| secs_since(now, p.orphaned_since)),
        str_col("ttl_state", &|p| ttl_state(p, now).to_string()),
        int_col("ttl_expired", &|p| match p.ttl_expires_at {
            Some(t) if t <= now => Some((now - t).num_seconds()),
            _ => None,
        }),
    ];
    for key in label_keys {
        columns.push(opt_col(&label_column(key), &|p| p.labels.get(key).cloned()));
    }
    DataFrame::new(pods.len(), columns)
}

/// A resume TTL's state at `now`: `none`, `active` (still leased) or `expired`.
pub fn ttl_state(pod: &Pod, now: DateTime<Utc>) -> &'static str {
    match pod.ttl_expires_at {
        None => "none",
        Some(t) if t > now => "active",
        Some(_) => "expired",
    }
}
