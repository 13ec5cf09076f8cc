//! Reason templates: `{placeholder}`s filled from the pod and the evidence, 3–500 characters.
//!
//! The providers refuse a reason under [`MIN_LEN`] or over [`MAX_LEN`] characters (Argus:
//! 400 `invalid_reason`). Two guards keep every rendered reason inside that range:
//! `validate` refuses a template whose *shortest possible* rendering ([`shortest_rendering`])
//! is under [`MIN_LEN`] (P017), and [`render`] cuts a rendering over [`MAX_LEN`] on a
//! character boundary, ending it with [`CUT_MARKER`]; a rendering that still came out too
//! short (only possible for a policy that bypassed validation) gets the policy's name added.

use chrono::{DateTime, Utc};

use super::{Action, Policy};
use crate::fleet::{Activity, Pod};

/// The shortest text a placeholder can render to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shortest {
    /// The policy's own name: known exactly when the template is checked.
    PolicyName,
    /// The policy's action: known exactly when the template is checked.
    Action,
    /// A value that depends on the pod: the shortest rendering [`render`] can give it.
    Text(&'static str),
}

/// A placeholder a reason template may use.
#[derive(Debug, Clone, Copy)]
pub struct Placeholder {
    pub name: &'static str,
    pub about: &'static str,
    pub shortest: Shortest,
}

const fn ph(name: &'static str, about: &'static str, shortest: Shortest) -> Placeholder {
    Placeholder {
        name,
        about,
        shortest,
    }
}

/// Free text from the provider (ids, names, projects, evidence) is never empty in a reason:
/// [`render`] writes "unknown" for an empty value, so one character is the shortest.
const ANY_TEXT: Shortest = Shortest::Text("x");

/// Placeholders a reason template may use, each with its shortest rendering.
pub const PLACEHOLDERS: &[Placeholder] = &[
    ph("policy", "the policy's name", Shortest::PolicyName),
    ph(
        "action",
        "stop, resume, terminate or report",
        Shortest::Action,
    ),
    ph("target", "the id acted on", ANY_TEXT),
    ph("name", "the pod or worker name", ANY_TEXT),
    ph("status", "the pod's status", Shortest::Text("error")),
    ph("project", "project", ANY_TEXT),
    ph("owner", "owner", ANY_TEXT),
    ph("gpu_type", "GPU model", ANY_TEXT),
    ph("idle_hours", "whole hours idle", Shortest::Text("0")),
    // An unknown activity renders its reason (free text) here.
    ph("idle_since", "when it became idle (UTC)", ANY_TEXT),
    ph("evidence", "what the activity signal showed", ANY_TEXT),
    ph(
        "per_day",
        "cost per day at the current rate, e.g. $59.76/day",
        Shortest::Text("$0.00/day"),
    ),
    ph(
        "hourly_rate",
        "hourly rate, e.g. $2.49",
        Shortest::Text("$0.00"),
    ),
    ph(
        "orphan_days",
        "whole days as an orphan",
        Shortest::Text("0"),
    ),
    ph(
        "orphaned_since",
        "when it became an orphan (UTC)",
        Shortest::Text("unknown"),
    ),
    ph(
        "ttl_expires_at",
        "when the resume TTL expires or expired (UTC)",
        Shortest::Text("unknown"),
    ),
    ph(
        "ttl_expired_hours",
        "whole hours since the TTL expired",
        Shortest::Text("0"),
    ),
    ph("age_days", "whole days since creation", Shortest::Text("0")),
];

/// The names of [`PLACEHOLDERS`].
pub fn names() -> Vec<&'static str> {
    PLACEHOLDERS.iter().map(|p| p.name).collect()
}

/// The reason used when a policy gives none.
pub const DEFAULT: &str = "{action} {name} ({per_day}) by policy {policy}";

/// Shortest reason the providers accept.
pub const MIN_LEN: usize = 3;

/// Longest reason the providers accept.
pub const MAX_LEN: usize = 500;

/// Ends a reason that was cut to [`MAX_LEN`] characters.
pub const CUT_MARKER: &str = "…";

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

/// Fills `template`'s placeholders with `value` (an unclosed `{` is kept as written).
fn fill(template: &str, mut value: impl FnMut(&str) -> String) -> String {
    let mut out = String::new();
    let mut rest = template;
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
    out
}

/// The shortest text `template` can render to for a policy called `policy` doing `action`:
/// every placeholder at its [`Shortest`] (an unknown placeholder stays as written).
pub fn shortest_rendering(template: &str, policy: &str, action: Action) -> String {
    fill(template, |name| {
        match PLACEHOLDERS.iter().find(|p| p.name == name) {
            Some(p) => match p.shortest {
                Shortest::PolicyName => policy.to_string(),
                Shortest::Action => action.as_str().to_string(),
                Shortest::Text(t) => t.to_string(),
            },
            None => format!("{{{name}}}"),
        }
    })
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

/// Free text as it goes into a reason: "unknown" when missing or blank.
fn text(value: Option<&str>) -> String {
    match value {
        Some(v) if !v.trim().is_empty() => v.to_string(),
        _ => "unknown".into(),
    }
}

/// Pads a reason under [`MIN_LEN`] characters with the policy's name, then cuts one over
/// [`MAX_LEN`] on a character boundary, ending it with [`CUT_MARKER`].
fn fit(mut reason: String, policy: &str) -> String {
    if reason.chars().count() < MIN_LEN {
        reason = if reason.trim().is_empty() {
            format!("policy {policy}")
        } else {
            format!("{reason} (policy {policy})")
        };
    }
    if reason.chars().count() > MAX_LEN {
        let keep = MAX_LEN - CUT_MARKER.chars().count();
        reason = reason.chars().take(keep).collect::<String>() + CUT_MARKER;
    }
    reason
}

/// The text of placeholder `name` for `pod` at `now`.
fn value(name: &str, policy: &Policy, pod: &Pod, now: DateTime<Utc>) -> String {
    match name {
        "policy" => policy.name.clone(),
        "action" => policy.action.as_str().into(),
        "target" => text(Some(&pod.target)),
        "name" => text(Some(&pod.name)),
        "status" => pod.status.to_string(),
        "project" => text(pod.project.as_deref()),
        "owner" => text(pod.owner.as_deref()),
        "gpu_type" => text(pod.gpu_type.as_deref()),
        "idle_hours" | "idle_since" | "evidence" => match &pod.activity {
            Activity::Idle {
                since, evidence, ..
            } => match name {
                "idle_hours" => since.map_or_else(
                    || "unknown".into(),
                    |s| whole((now - s).num_seconds(), 3600),
                ),
                "idle_since" => when(*since),
                _ => text(Some(evidence)),
            },
            Activity::Busy => "busy".into(),
            Activity::Unknown { why } => text(Some(why)),
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
}

/// Renders `policy.reason` for `pod` at `now`: always [`MIN_LEN`] to [`MAX_LEN`] characters.
pub fn render(policy: &Policy, pod: &Pod, now: DateTime<Utc>) -> String {
    let filled = fill(&policy.reason, |name| value(name, policy, pod, now));
    fit(filled, &policy.name)
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use chrono::{Duration, TimeZone};

    use super::*;
    use crate::fleet::{PodStatus, ResourceKind};
    use crate::money::{Currency, Money};

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 21, 2, 0, 0)
            .single()
            .expect("time")
    }

    fn policy(reason: &str) -> Policy {
        let toml = format!(
            "[[policy]]\nname = \"p\"\naction = \"stop\"\nreason = {reason:?}\n[policy.match]\nstatus = \"running\"\n"
        );
        let set = super::super::load::load_sources(&[(PathBuf::from("t.toml"), toml)])
            .unwrap_or_else(|d| panic!("{d:#?}"));
        set.policies[0].clone()
    }

    fn pod(name: &str, activity: Activity) -> Pod {
        Pod {
            provider: "argus".into(),
            kind: ResourceKind::Pod,
            target: "wkr_1".into(),
            pod_id: "pod_1".into(),
            name: name.into(),
            status: PodStatus::Running,
            project: None,
            owner: Some(String::new()),
            gpu_type: Some(" ".into()),
            gpu_count: 1,
            region: None,
            labels: Default::default(),
            hourly_rate: Money::parse("0", Currency::usd()).expect("money"),
            created_at: now(),
            last_started_at: None,
            ttl_expires_at: None,
            orphaned_since: None,
            orphaned_since_source: None,
            stopped_since: None,
            reading: None,
            health: None,
            activity,
        }
    }

    #[test]
    fn the_shortest_rendering_uses_each_placeholders_minimum() {
        assert_eq!(shortest_rendering("{idle_hours}", "p", Action::Stop), "0");
        assert_eq!(
            shortest_rendering(DEFAULT, "p", Action::Stop),
            "stop x ($0.00/day) by policy p"
        );
        assert_eq!(
            shortest_rendering("{ policy }: {status}", "stop-idle", Action::Resume),
            "stop-idle: error"
        );
    }

    /// Every placeholder, on pods built to render it as short as possible, is at least as
    /// long as its declared [`Shortest`]: the minimums validation relies on are real.
    #[test]
    fn no_placeholder_renders_shorter_than_its_declared_minimum() {
        let pods = [
            pod("", Activity::Busy),
            pod("a", Activity::Unknown { why: String::new() }),
            pod(
                "a",
                Activity::Idle {
                    since: Some(now()),
                    source: None,
                    start_seen: true,
                    evidence: String::new(),
                },
            ),
            pod(
                "a",
                Activity::Idle {
                    since: None,
                    source: None,
                    start_seen: false,
                    evidence: "e".into(),
                },
            ),
        ];
        for p in PLACEHOLDERS {
            let declared = match p.shortest {
                Shortest::PolicyName => "p".len(),
                Shortest::Action => "stop".len(),
                Shortest::Text(t) => t.chars().count(),
            };
            let policy = policy("xxx");
            for (i, pod) in pods.iter().enumerate() {
                let mut pod = pod.clone();
                pod.status = PodStatus::Error;
                let rendered = value(p.name, &policy, &pod, now());
                assert!(
                    rendered.chars().count() >= declared,
                    "{{{}}} on pod {i} rendered {rendered:?}, shorter than declared {declared}",
                    p.name
                );
            }
        }
    }

    #[test]
    fn a_reason_over_500_characters_is_cut_on_a_character_boundary_with_a_marker() {
        // 2-byte "é" and 4-byte emoji: a cut by bytes would split a sequence.
        let name = "é🚀".repeat(300);
        let p = policy("idle é {name} é {name}");
        let full_len = format!("idle é {name} é {name}").chars().count();
        assert!(full_len > MAX_LEN);
        let out = render(&p, &pod(&name, Activity::Busy), now());
        assert_eq!(out.chars().count(), MAX_LEN);
        assert!(
            out.len() > MAX_LEN,
            "multi-byte: more bytes than characters"
        );
        assert!(out.ends_with(CUT_MARKER), "{out}");
        let kept = out.trim_end_matches(CUT_MARKER);
        assert!(format!("idle é {name} é {name}").starts_with(kept));
        assert!(std::str::from_utf8(out.as_bytes()).is_ok());
    }

    #[test]
    fn a_reason_is_never_shorter_than_3_characters_at_plan_time() {
        // A policy that bypassed validation (e.g. built in code) with a 1-character rendering.
        let mut p = policy("xxx");
        p.reason = "{idle_hours}".into();
        let idle = Activity::Idle {
            since: Some(now() - Duration::hours(7)),
            source: None,
            start_seen: true,
            evidence: "0 cameras".into(),
        };
        assert_eq!(render(&p, &pod("a", idle.clone()), now()), "7 (policy p)");
        p.reason = " ".into();
        assert_eq!(render(&p, &pod("a", idle), now()), "policy p");
    }
}
