//! The re-check right before an action: do the plan's preconditions still hold on the target
//! as the provider shows it now? Pure: (planned action, fresh state, settings, clock).
//!
//! What is checked (the keys `plan::build` writes):
//! - the target still exists, and its status still fits the action (`status`);
//! - it has not restarted since the plan (`started_at`): the idle evidence belonged to that
//!   incarnation;
//! - a stop's or terminate's target is still idle, and idle since before the activity the plan
//!   rests on was read — the plan's evaluation, or the stored reading it took
//!   (`activity_read_at`) when earlier (`activity = idle`): a pod that served in between, even
//!   if quiet again now, is skipped;
//! - an orphan is still an orphan;
//! - protection (label, new-pod grace) and the resume-TTL lease, as the plan's guards apply them.

use chrono::{DateTime, Utc};

use crate::fleet::{Activity, Pod, PodStatus, ResourceKind};
use crate::plan::build::{lease, protection};
use crate::plan::{PlanSettings, PlannedAction};
use crate::providers::OpKind;

/// `Ok` when the action may be sent now; else why not (recorded as the skip's reason).
pub fn check(
    planned: &PlannedAction,
    fresh: Option<&Pod>,
    evaluated_at: DateTime<Utc>,
    settings: &PlanSettings,
    now: DateTime<Utc>,
) -> Result<(), String> {
    let Some(pod) = fresh else {
        return Err(format!(
            "{} no longer exists at the provider",
            planned.target
        ));
    };
    let action = crate::plan::action_of(planned.action);
    let want = |key: &str| planned.preconditions.get(key).map(String::as_str);
    crate::plan::build::fits(action, pod.status)?;
    if let Some(status) = want("status") {
        if pod.status.as_str() != status {
            return Err(format!(
                "status changed since the plan: {} (planned on {status})",
                pod.status
            ));
        }
    }
    if let Some(started) = want("started_at") {
        // As instants: `…Z` and `…+00:00` are the same start.
        let now_started = pod.last_started_at.map(|t| t.to_rfc3339());
        let same = now_started
            .as_deref()
            .is_some_and(|now| same_instant(now, started));
        if !same {
            return Err(format!(
                "restarted since the plan (last start {}, planned on {started}): its evidence is void",
                now_started.as_deref().unwrap_or("unknown")
            ));
        }
    }
    // The plan knew the pod's activity as of this instant: any busy spell after it is news.
    let known_at = planned
        .activity_read_at
        .map_or(evaluated_at, |read| read.min(evaluated_at));
    match want("activity") {
        Some("idle") => match &pod.activity {
            Activity::Idle { since, .. } => match since {
                Some(s) if *s > known_at => {
                    return Err(format!(
                        "was active after the plan: idle only since {}",
                        s.to_rfc3339()
                    ))
                }
                _ => {}
            },
            Activity::Busy => return Err("busy now: no longer idle".into()),
            Activity::Unknown { why } => {
                return Err(format!("activity unknown now ({why}): treated as active"))
            }
        },
        Some("orphan") if pod.kind != ResourceKind::Orphan => {
            return Err("no longer an orphan: a worker owns it now".into())
        }
        _ => {}
    }
    if let Some(why) = protection(pod, settings, now) {
        return Err(why);
    }
    if let Some(why) = lease(pod, action, want("lease") == Some("override"), now) {
        return Err(why);
    }
    Ok(())
}

/// Two precondition values are the same when equal as text or, for times, as instants
/// (`2026-11-22T23:13:00Z` is `2026-11-22T23:13:00+00:00`).
pub fn same_value(a: Option<&String>, b: Option<&String>) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => a == b || same_instant(a, b),
        _ => false,
    }
}

/// Whether both are RFC 3339 times of the same instant.
pub fn same_instant(a: &str, b: &str) -> bool {
    match (
        DateTime::parse_from_rfc3339(a),
        DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}

/// Whether `pod` shows that `action` took effect (or is taking effect): what a verification
/// waits for, and how a request sent before a crash is recognised as having arrived.
/// `None` (the target is gone) counts for terminate only.
pub fn took_effect(action: OpKind, pod: Option<&Pod>) -> Effect {
    match (action, pod) {
        (OpKind::Terminate, None) => Effect::Done,
        (OpKind::Terminate, Some(_)) => Effect::NotYet,
        (_, None) => Effect::Gone,
        (OpKind::Stop, Some(p)) => match p.status {
            PodStatus::Stopped => Effect::Done,
            PodStatus::Stopping => Effect::InProgress,
            _ => Effect::NotYet,
        },
        (OpKind::Resume, Some(p)) => match p.status {
            PodStatus::Running => Effect::Done,
            PodStatus::Starting => Effect::InProgress,
            _ => Effect::NotYet,
        },
    }
}

/// How far an action's effect shows on its target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Done,
    InProgress,
    NotYet,
    /// The target vanished although the action does not remove it.
    Gone,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn t(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    }

    fn pod(status: PodStatus, activity: Activity) -> Pod {
        Pod {
            provider: "argus".into(),
            kind: ResourceKind::Pod,
            target: "wkr_1".into(),
            pod_id: "pod_1".into(),
            name: "one".into(),
            status,
            project: None,
            owner: None,
            gpu_type: None,
            gpu_count: 1,
            region: None,
            labels: BTreeMap::new(),
            hourly_rate: crate::money::Money::new(
                rust_decimal::Decimal::TWO,
                crate::money::Currency::usd(),
            ),
            created_at: t("2026-11-01T00:00:00Z"),
            last_started_at: Some(t("2026-11-20T00:00:00Z")),
            ttl_expires_at: None,
            orphaned_since: None,
            orphaned_since_source: None,
            stopped_since: None,
            reading: None,
            activity,
            health: None,
        }
    }

    fn stop() -> PlannedAction {
        let mut pre = BTreeMap::new();
        pre.insert("status".into(), "running".into());
        pre.insert("activity".into(), "idle".into());
        pre.insert("started_at".into(), t("2026-11-20T00:00:00Z").to_rfc3339());
        PlannedAction {
            id: "act_1".into(),
            pod_id: "pod_1".into(),
            policy: "p".into(),
            reason: "idle".into(),
            idempotency_key: "k1".into(),
            preconditions: pre,
            ..crate::plan::sample_action("wkr_1")
        }
    }

    fn idle(since: &str) -> Activity {
        Activity::Idle {
            since: Some(t(since)),
            source: None,
            start_seen: true,
            evidence: "0 cameras".into(),
        }
    }

    const PLAN: &str = "2026-11-21T02:00:00Z";
    const NOW: &str = "2026-11-21T02:10:00Z";

    fn run(p: &PlannedAction, pod: Option<&Pod>) -> Result<(), String> {
        check(p, pod, t(PLAN), &PlanSettings::default(), t(NOW))
    }

    #[test]
    fn still_idle_since_before_the_plan_passes() {
        let p = pod(PodStatus::Running, idle("2026-11-20T12:00:00Z"));
        assert_eq!(run(&stop(), Some(&p)), Ok(()));
    }

    #[test]
    fn busy_or_active_in_between_or_unknown_is_skipped() {
        let busy = pod(PodStatus::Running, Activity::Busy);
        assert!(run(&stop(), Some(&busy)).unwrap_err().contains("busy"));
        let again = pod(PodStatus::Running, idle("2026-11-21T02:05:00Z"));
        assert!(run(&stop(), Some(&again))
            .unwrap_err()
            .contains("active after the plan"));
        let unknown = pod(PodStatus::Running, Activity::Unknown { why: "x".into() });
        assert!(run(&stop(), Some(&unknown))
            .unwrap_err()
            .contains("unknown"));
    }

    #[test]
    fn on_a_stored_reading_a_busy_spell_after_the_reading_is_caught() {
        // The plan (02:00) rested on a reading of 01:05; the pod served 01:10-01:45.
        let mut on_stored = stop();
        on_stored.activity_read_at = Some(t("2026-11-21T01:05:00Z"));
        let quiet_again = pod(PodStatus::Running, idle("2026-11-21T01:45:00Z"));
        assert!(run(&on_stored, Some(&quiet_again))
            .unwrap_err()
            .contains("active after the plan"));
        // Without the stored reading the same pod was known idle at 02:00: a start before it
        // is the plan's own evidence.
        assert_eq!(run(&stop(), Some(&quiet_again)), Ok(()));
        let all_along = pod(PodStatus::Running, idle("2026-11-20T12:00:00Z"));
        assert_eq!(run(&on_stored, Some(&all_along)), Ok(()));
    }

    #[test]
    fn a_restart_a_status_change_protection_or_a_lease_is_skipped() {
        let mut restarted = pod(PodStatus::Running, idle("2026-11-21T01:00:00Z"));
        restarted.last_started_at = Some(t("2026-11-21T01:00:00Z"));
        assert!(run(&stop(), Some(&restarted))
            .unwrap_err()
            .contains("restarted"));
        let stopped = pod(PodStatus::Stopped, idle("2026-11-20T12:00:00Z"));
        assert!(run(&stop(), Some(&stopped)).is_err());
        let mut protected = pod(PodStatus::Running, idle("2026-11-20T12:00:00Z"));
        protected
            .labels
            .insert("podwarden/protect".into(), "true".into());
        assert!(run(&stop(), Some(&protected))
            .unwrap_err()
            .contains("protected"));
        let mut leased = pod(PodStatus::Running, idle("2026-11-20T12:00:00Z"));
        leased.ttl_expires_at = Some(t("2026-11-21T05:00:00Z"));
        assert!(run(&stop(), Some(&leased)).unwrap_err().contains("lease"));
        assert!(run(&stop(), None).unwrap_err().contains("no longer exists"));
    }

    /// A plan file written by another tool (or by hand) may spell UTC as `+00:00`.
    #[test]
    fn a_start_in_another_spelling_of_the_same_instant_is_not_a_restart() {
        let p = pod(PodStatus::Running, idle("2026-11-20T12:00:00Z"));
        let mut plan = stop();
        plan.preconditions
            .insert("started_at".into(), "2026-11-20T00:00:00+00:00".into());
        assert_eq!(run(&plan, Some(&p)), Ok(()));
        plan.preconditions
            .insert("started_at".into(), "2026-11-20T01:00:00+01:00".into());
        assert_eq!(run(&plan, Some(&p)), Ok(()));
        plan.preconditions
            .insert("started_at".into(), "2026-11-20T00:00:01Z".into());
        assert!(run(&plan, Some(&p)).unwrap_err().contains("restarted"));
    }

    #[test]
    fn times_compare_as_instants() {
        assert!(same_instant(
            "2026-11-22T23:13:00Z",
            "2026-11-22T23:13:00+00:00"
        ));
        assert!(same_instant(
            "2026-11-23T00:43:00+01:30",
            "2026-11-22T23:13:00Z"
        ));
        assert!(!same_instant(
            "2026-11-22T23:13:00Z",
            "2026-11-22T23:13:01Z"
        ));
        let (z, plus) = (
            "2026-11-22T23:13:00Z".to_string(),
            "2026-11-22T23:13:00+00:00".to_string(),
        );
        assert!(same_value(Some(&z), Some(&plus)));
        assert!(!same_value(Some(&z), None));
        assert!(same_value(Some(&"idle".into()), Some(&"idle".into())));
        assert!(!same_value(Some(&"idle".into()), Some(&"busy".into())));
    }

    #[test]
    fn effects_by_action() {
        let stopped = pod(PodStatus::Stopped, Activity::Busy);
        assert_eq!(took_effect(OpKind::Stop, Some(&stopped)), Effect::Done);
        assert_eq!(took_effect(OpKind::Terminate, None), Effect::Done);
        assert_eq!(took_effect(OpKind::Stop, None), Effect::Gone);
        let running = pod(PodStatus::Running, Activity::Busy);
        assert_eq!(took_effect(OpKind::Stop, Some(&running)), Effect::NotYet);
        assert_eq!(took_effect(OpKind::Resume, Some(&running)), Effect::Done);
    }
}
