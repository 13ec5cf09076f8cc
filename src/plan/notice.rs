//! Notice periods (mark → wait → re-check → act, as Cloud Custodian's mark-for-op and
//! Netflix's Swabbie): a policy with `notice = "24h"` does not act on a pod the first time it
//! would; it lists the pod as *pending* with the time it becomes due, and acts only once the
//! pod has been planned by that policy on every run through the notice period.
//!
//! Planning stays pure: the notices held so far ([`Notices`], read from the state store) are an
//! input of the plan (in `PlanSettings`), and the plan says what to hold next (its `pending`
//! list and the [`NoticeServed`] of its due actions); the store replaces its notices with those
//! afterwards (`Store::record_notices`). A notice is keyed by (provider, target, policy, action)
//! and belongs to one incarnation of the pod ([`incarnation`]): a restart starts a new one.
//!
//! A notice is *dropped* on any recorded run that does not plan the pod by that policy — it
//! turned busy, became unknown, protected, guarded, left the fleet, lost on precedence, its
//! policy or the whole plan was refused by a circuit breaker — and a later match starts a new
//! one. Outside its schedule window a notice policy starts no notice and acts on none, but
//! re-checks the ones it holds: those whose pod it still matches (past the guards) are kept
//! and listed pending, even when already due; the rest are dropped.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

use rust_decimal::Decimal;

use super::PlannedAction;
use crate::fleet::{Pod, ResourceKind};
use crate::money::Currency;
use crate::policy::schedule::Schedule;
use crate::policy::Action;
use crate::providers::OpKind;

/// What a notice is about: one policy's action on one target.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct NoticeKey {
    pub provider: String,
    pub target: String,
    pub policy: String,
    pub action: String,
}

/// A notice held between runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The pod's incarnation the notice belongs to ([`incarnation`]).
    pub incarnation: DateTime<Utc>,
    /// The run that first planned the pod by the policy.
    pub first_matched: DateTime<Utc>,
    /// The last run that planned it.
    pub last_matched: DateTime<Utc>,
    /// `first_matched` + the policy's notice, as that run's policy said.
    pub due_at: DateTime<Utc>,
}

/// Every notice held, as read from the state store (empty for a fleet read from a snapshot).
pub type Notices = BTreeMap<NoticeKey, Notice>;

/// An action that waits for its notice period: a plan-file entry (fields may be added, never
/// renamed).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pending {
    pub policy: String,
    pub provider: String,
    pub target: String,
    pub pod_id: String,
    /// `pod` or `orphan` in the file.
    pub kind: ResourceKind,
    /// `stop`, `resume` or `terminate` in the file.
    pub action: OpKind,
    /// The reason the action will be sent with if it were due now.
    pub reason: String,
    pub first_matched: DateTime<Utc>,
    /// When it becomes an action, if the pod keeps matching on every run until then.
    pub due_at: DateTime<Utc>,
    /// The pod's incarnation the notice belongs to (its last start, or for a resume the
    /// stopped period): a restart starts a new notice.
    pub incarnation: DateTime<Utc>,
    /// Savings per day in the pod's currency, for the owners' digest.
    #[serde(with = "super::file::daily_text")]
    pub est_savings_per_day: Decimal,
    pub currency: Currency,
}

/// On a planned action: the notice it has served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NoticeServed {
    pub first_matched: DateTime<Utc>,
    pub due_at: DateTime<Utc>,
    pub incarnation: DateTime<Utc>,
}

/// What a notice belongs to: the pod's last start (or creation), and for a resume the stopped
/// period podwarden first saw (a resume-and-stop in between is another stopped period).
pub fn incarnation(pod: &Pod, action: Action) -> DateTime<Utc> {
    match (action, pod.stopped_since) {
        (Action::Resume, Some(t)) => t.max(pod.incarnation()),
        _ => pod.incarnation(),
    }
}

/// The key of `action`'s notice.
pub fn key_of(action: &PlannedAction) -> NoticeKey {
    NoticeKey {
        provider: action.provider.clone(),
        target: action.target.clone(),
        policy: action.policy.clone(),
        action: action.action.to_string(),
    }
}

/// The notice held for `key` that still applies to the pod at `now`: same incarnation, and
/// not dated after `now` (a clock set back never makes a notice older than it is).
pub fn held<'a>(
    notices: &'a Notices,
    key: &NoticeKey,
    incarnation: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Option<&'a Notice> {
    notices
        .get(key)
        .filter(|n| n.incarnation == incarnation && n.first_matched <= now)
}

/// The notice of an action its policy plans at `now`: the one held (else one starting now),
/// due at its first match plus the policy's *current* notice (so lengthening a policy's
/// notice delays what it holds, and shortening it hastens them) — or, for a policy with a
/// schedule, at the first instant after that inside its window: the due time is when the
/// policy can really act, which owners and reviewers are told. `None` for a policy without
/// a notice.
pub fn judge(
    notices: &Notices,
    action: &PlannedAction,
    incarnation: DateTime<Utc>,
    notice: Option<Duration>,
    schedule: Option<&Schedule>,
    now: DateTime<Utc>,
) -> Option<NoticeServed> {
    let notice = notice?;
    let first_matched =
        held(notices, &key_of(action), incarnation, now).map_or(now, |n| n.first_matched);
    let served = first_matched + notice;
    Some(NoticeServed {
        first_matched,
        due_at: schedule
            .and_then(|s| s.first_open_from(served))
            .unwrap_or(served),
        incarnation,
    })
}

/// How early a run may be and still find a notice due: 1/24 of the notice, at most an hour.
/// A nightly job's start jitters by seconds to minutes, so without it a `notice = "24h"` first
/// matched at 02:00:05 would not be due at 02:00:03 the next night and would wait a second
/// night (Cloud Custodian's mark-for-op avoids the same trap by dating marks to the day).
pub fn slack(notice: Duration) -> Duration {
    (notice / 24).min(Duration::hours(1))
}

/// Whether a notice is due at `now`: at its `due_at`, less the [`slack`] of its period.
pub fn is_due(n: &NoticeServed, now: DateTime<Utc>) -> bool {
    now >= n.due_at - slack(n.due_at - n.first_matched)
}

/// The pending entry for an action still inside its notice.
pub fn pending(action: &PlannedAction, n: &NoticeServed) -> Pending {
    Pending {
        policy: action.policy.clone(),
        provider: action.provider.clone(),
        target: action.target.clone(),
        pod_id: action.pod_id.clone(),
        kind: action.kind,
        action: action.action,
        reason: action.reason.clone(),
        first_matched: n.first_matched,
        due_at: n.due_at,
        incarnation: n.incarnation,
        est_savings_per_day: action.est_savings_per_day,
        currency: action.currency.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::fleet::samples::at;

    fn action() -> PlannedAction {
        PlannedAction {
            id: "act".into(),
            pod_id: "pod_1".into(),
            policy: "p".into(),
            reason: "idle".into(),
            idempotency_key: "k".into(),
            ..crate::plan::sample_action("wkr_1")
        }
    }

    fn holding(incarnation: DateTime<Utc>, first: DateTime<Utc>) -> Notices {
        let mut n = Notices::new();
        n.insert(
            key_of(&action()),
            Notice {
                incarnation,
                first_matched: first,
                last_matched: first,
                due_at: first + Duration::hours(24),
            },
        );
        n
    }

    #[test]
    fn no_notice_policy_no_notice() {
        assert_eq!(
            judge(&Notices::new(), &action(), at(0), None, None, at(0)),
            None
        );
    }

    #[test]
    fn a_first_match_starts_a_notice_due_a_period_later() {
        let n = judge(
            &Notices::new(),
            &action(),
            at(-5),
            Some(Duration::hours(24)),
            None,
            at(0),
        )
        .expect("a notice");
        assert_eq!((n.first_matched, n.due_at), (at(0), at(24)));
        assert!(!is_due(&n, at(0)));
    }

    #[test]
    fn a_held_notice_keeps_its_first_match_and_is_due_once_the_period_has_passed() {
        let held = holding(at(-5), at(0));
        let day = Some(Duration::hours(24));
        let n = judge(&held, &action(), at(-5), day, None, at(12)).expect("a notice");
        assert_eq!((n.first_matched, n.due_at), (at(0), at(24)));
        assert!(!is_due(&n, at(12)));
        let n = judge(&held, &action(), at(-5), day, None, at(24)).expect("a notice");
        assert!(is_due(&n, at(24)), "due exactly at first match + notice");
    }

    #[test]
    fn a_nightly_run_a_little_early_finds_a_day_long_notice_due() {
        let held = holding(at(-5), at(0));
        let day = Some(Duration::hours(24));
        let early = at(24) - Duration::seconds(2);
        let n = judge(&held, &action(), at(-5), day, None, early).expect("a notice");
        assert!(is_due(&n, early), "2 s of start-time jitter");
        let too_early = at(23) - Duration::seconds(1);
        let n = judge(&held, &action(), at(-5), day, None, too_early).expect("a notice");
        assert!(!is_due(&n, too_early), "more than an hour early");
        assert_eq!(slack(Duration::hours(2)), Duration::minutes(5));
        assert_eq!(slack(Duration::days(7)), Duration::hours(1));
    }

    #[test]
    fn a_restart_or_a_notice_from_the_future_starts_afresh() {
        let day = Some(Duration::hours(24));
        let restarted = judge(&holding(at(-5), at(0)), &action(), at(3), day, None, at(30));
        assert_eq!(restarted.map(|n| n.first_matched), Some(at(30)));
        let future = judge(
            &holding(at(-5), at(40)),
            &action(),
            at(-5),
            day,
            None,
            at(30),
        );
        assert_eq!(future.map(|n| n.first_matched), Some(at(30)));
    }

    /// A notice served outside the policy's window is due when the window next opens: the
    /// first time the policy can really act, which the owner notice and the plan show.
    #[test]
    fn a_notice_of_a_scheduled_policy_is_due_when_its_window_opens() {
        use chrono::Weekday;
        let clock = |s: &str| crate::policy::schedule::ClockTime::parse(s).expect("time");
        // 2026-11-01 is a Sunday; weekday evenings from 19:00 to 07:00 UTC.
        let evenings = Schedule {
            days: vec![
                Weekday::Mon,
                Weekday::Tue,
                Weekday::Wed,
                Weekday::Thu,
                Weekday::Fri,
            ],
            from: clock("19:00"),
            to: clock("07:00"),
            timezone: chrono_tz::UTC,
        };
        let day = Some(Duration::hours(24));
        let n = judge(
            &Notices::new(),
            &action(),
            at(-5),
            day,
            Some(&evenings),
            at(0),
        )
        .expect("a notice");
        assert_eq!(n.due_at, at(24 + 19), "Monday 19:00, not Monday 00:00");
        assert!(!is_due(&n, at(24 + 17)));
        assert!(is_due(&n, at(24 + 19)));
        // Served inside a window (first matched Monday 20:00): due a day later, as usual.
        let n = judge(
            &Notices::new(),
            &action(),
            at(-5),
            day,
            Some(&evenings),
            at(24 + 20),
        )
        .expect("a notice");
        assert_eq!(n.due_at, at(48 + 20));
    }

    #[test]
    fn the_policys_current_notice_sets_the_due_time() {
        let n = judge(
            &holding(at(-5), at(0)),
            &action(),
            at(-5),
            Some(Duration::hours(48)),
            None,
            at(30),
        )
        .expect("a notice");
        assert_eq!(n.due_at, at(48));
        assert!(!is_due(&n, at(30)));
    }
}
