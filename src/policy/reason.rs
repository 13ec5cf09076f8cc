//! Reason templates: `{placeholder}`s filled from the pod and the evidence, 3–500 characters.

use chrono::{DateTime, Utc};

use super::Policy;
use crate::fleet::{Activity, Pod};

/// Placeholders a reason template may use.
pub const PLACEHOLDERS: &[(&str, &str)] = &[
    ("policy", "the policy's name"),
    ("action", "stop, resume, terminate or report"),
    ("target", "the id acted on"),
    ("name", "the pod or worker name"),
    ("status", "the pod's status"),
    ("project", "project"),
    ("owner", "owner"),
    ("gpu_type", "GPU model"),
    ("idle_hours", "whole hours idle"),
    ("idle_since", "when it became idle (UTC)"),
    ("evidence", "what the activity signal showed"),
    (
        "per_day",
        "cost per day at the current rate, e.g. $59.76/day",
    ),
    ("hourly_rate", "hourly rate, e.g. $2.49"),
    ("orphan_days", "whole days as an orphan"),
    ("orphaned_since", "when it became an orphan (UTC)"),
    (
        "ttl_expires_at",
        "when the resume TTL expires or expired (UTC)",
    ),
    ("ttl_expired_hours", "whole hours since the TTL expired"),
    ("age_days", "whole days since creation"),
];

/// The reason used when a policy gives none.
pub const DEFAULT: &str = "{action} {name} ({per_day}) by policy {policy}";

/// Longest reason the providers accept.
pub const MAX_LEN: usize = 500;

/// Names of the placeholders used in `template`.
pub fn placeholders(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = template;
    while let Some(start) = rest.find('{') {
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push(after[..end].trim().to_string());
                rest = &after[end + 1..];
            }
            None => break,
        }
    }
    out
}

fn when(t: Option<DateTime<Utc>>) -> String {
    t.map_or_else(
        || "unknown".into(),
        |t| t.format("%Y-%m-%d %H:%M UTC").to_string(),
    )
}

fn whole(secs: i64, unit: i64) -> String {
    (secs / unit).to_string()
}

/// Renders `policy.reason` for `pod` at `now`, cut to [`MAX_LEN`] characters.
pub fn render(policy: &Policy, pod: &Pod, now: DateTime<Utc>) -> String {
    let value = |name: &str| -> String {
        match name {
            "policy" => policy.name.clone(),
            "action" => policy.action.as_str().into(),
            "target" => pod.target.clone(),
            "name" => pod.name.clone(),
            "status" => pod.status.to_string(),
            "project" => pod.project.clone().unwrap_or_else(|| "unknown".into()),
            "owner" => pod.owner.clone().unwrap_or_else(|| "unknown".into()),
            "gpu_type" => pod.gpu_type.clone().unwrap_or_else(|| "unknown".into()),
            "idle_hours" | "idle_since" | "evidence" => match &pod.activity {
                Activity::Idle {
                    since, evidence, ..
                } => match name {
                    "idle_hours" => since.map_or_else(
                        || "unknown".into(),
                        |s| whole((now - s).num_seconds(), 3600),
                    ),
                    "idle_since" => when(*since),
                    _ => evidence.clone(),
                },
                Activity::Busy => "busy".into(),
                Activity::Unknown { why } => why.clone(),
            },
            "per_day" => format!("{}/day", pod.daily_rate()),
            "hourly_rate" => pod.hourly_rate.to_string(),
            "orphan_days" => pod.orphaned_since.map_or_else(
                || "unknown".into(),
                |s| whole((now - s).num_seconds(), 86_400),
            ),
            "orphaned_since" => when(pod.orphaned_since),
            "ttl_expires_at" => when(pod.ttl_expires_at),
            "ttl_expired_hours" => pod
                .ttl_expires_at
                .filter(|t| *t <= now)
                .map_or_else(|| "0".into(), |t| whole((now - t).num_seconds(), 3600)),
            "age_days" => whole((now - pod.created_at).num_seconds(), 86_400),
            other => format!("{{{other}}}"),
        }
    };
    let mut out = String::new();
    let mut rest = policy.reason.as_str();
    while let Some(start) = rest.find('{') {
        out.push_str(&rest[..start]);
        let after = &rest[start + 1..];
        match after.find('}') {
            Some(end) => {
                out.push_str(&value(after[..end].trim()));
                rest = &after[end + 1..];
            }
            None => {
                rest = &rest[start..];
                break;
            }
        }
    }
    out.push_str(rest);
    if out.chars().count() > MAX_LEN {
        out = out.chars().take(MAX_LEN - 1).collect::<String>() + "…";
    }
    out
}
