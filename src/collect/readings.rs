//! Whose activity a run reads, pod by pod, and what stands for the rest: the pure half of
//! spending reads where a decision can change (the I/O is in [`super`] and
//! [`crate::pipeline::inputs`]).
//!
//! A pod whose signal needs a read of its own (a Podstack pod's utilisation, one request of
//! the rate budget each) is, this run, one of:
//! - **stored**: judged on the newest reading an earlier run stored ([`use_stored`]) when it
//!   is of the pod's current incarnation, not from the future, and no older than
//!   `max_evidence_age` — also a reading that proved nothing (stale samples, a GPU not read),
//!   for at most an observe run's span ([`MaxAge::unknown`]): the pod stays unknown without a
//!   request spent to learn it again. An idle reading keeps its start: the pod counts as idle from then to
//!   now, and its evidence says how old the reading is. Decision: the plan assumes the pod
//!   stayed as it was read, so that a plan on fresh-enough readings equals the plan of a full
//!   read; apply reads every target again right before acting and skips one that turned busy,
//!   so no stop rests on an old reading;
//! - **read** now, in the order of [`by_savings`] (most $/day first), so that a deadline cuts
//!   the cheapest;
//! - **skipped**: unknown, with the reason ([`skip`]).

use std::cmp::Ordering;
use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};
use rust_decimal::Decimal;

use crate::fleet::{Activity, Fleet, PodStatus, Reading};
use crate::report::currency::Conversion;
use crate::state::evidence::StoredReading;

/// Why a pod was not read: no acting policy could act on it whatever its activity.
pub const NOT_NEEDED: &str = "no acting policy could act on them whatever their activity";
/// Why a pod was not read by `podwarden observe`: its share of the budget went to older ones.
pub const LATER: &str = "left for a later observe run (older readings went first)";

/// How old a stored reading may be to stand for a pod.
#[derive(Debug, Clone, Copy)]
pub struct MaxAge {
    /// `[collect] max_evidence_age`.
    pub proof: Duration,
    /// A reading that proved nothing (stale samples, too few since a restart) may have been a
    /// passing state: it stands no longer than an observe run's span, so the next run after a
    /// missed observe reads the pod again.
    pub unknown: Duration,
}

/// Judges the pods of `rows` on their stored reading where one may stand (see the module
/// doc); returns the rows still without a usable one, in their order.
pub fn use_stored(
    fleet: &mut Fleet,
    rows: &[usize],
    stored: &HashMap<(String, String), StoredReading>,
    now: DateTime<Utc>,
    max_age: MaxAge,
) -> Vec<usize> {
    let mut left = Vec::new();
    for &row in rows {
        let pod = &mut fleet.pods[row];
        let usable = stored
            .get(&(pod.provider.clone(), pod.target.clone()))
            .filter(|s| {
                pod.status == PodStatus::Running
                    && s.incarnation == pod.incarnation()
                    && s.read_at >= pod.incarnation()
                    && s.read_at <= now
                    && now - s.read_at
                        <= if matches!(s.activity, Activity::Unknown { .. }) {
                            max_age.unknown.min(max_age.proof)
                        } else {
                            max_age.proof
                        }
            });
        let Some(s) = usable else {
            left.push(row);
            continue;
        };
        let mut activity = s.activity.clone();
        let age = format!(" (read {} ago)", crate::duration::format(now - s.read_at));
        match &mut activity {
            Activity::Idle { evidence, .. } => evidence.push_str(&age),
            Activity::Unknown { why } => why.push_str(&age),
            Activity::Busy => {}
        }
        pod.activity = activity;
        pod.reading = Some(Reading::Stored { at: s.read_at });
    }
    left
}

/// `rows` ordered by what a stop saves per day, most first (ties by provider and target). An
/// amount is converted into the report currency where a rate is configured; without one it is
/// compared as it is (decision: an unconverted INR pod may sort ahead of a dearer USD one;
/// configure `[currency] rates` to order them exactly).
pub fn by_savings(fleet: &Fleet, rows: &[usize], conversion: &Conversion) -> Vec<usize> {
    let value = |row: usize| -> Decimal {
        let daily = fleet.pods[row].daily_rate();
        conversion
            .rate(&daily.currency)
            .map_or(daily.amount, |r| daily.amount * r)
    };
    let mut out = rows.to_vec();
    out.sort_by(|&a, &b| {
        value(b)
            .partial_cmp(&value(a))
            .unwrap_or(Ordering::Equal)
            .then_with(|| {
                let (pa, pb) = (&fleet.pods[a], &fleet.pods[b]);
                (&pa.provider, &pa.target).cmp(&(&pb.provider, &pb.target))
            })
    });
    out
}

/// Marks the pods of `rows` as not read for `why` (their activity stays unknown).
pub fn skip(fleet: &mut Fleet, rows: &[usize], why: &str) {
    for &row in rows {
        let pod = &mut fleet.pods[row];
        pod.activity = Activity::Unknown {
            why: format!("utilisation not read this run: {why}"),
        };
        pod.reading = Some(Reading::Skipped { why: why.into() });
    }
}

/// `rows` with the pods never read (nothing stored) first, then the oldest readings first:
/// the order in which `podwarden observe` refreshes them.
pub fn oldest_first(
    fleet: &Fleet,
    rows: &[usize],
    stored: &HashMap<(String, String), StoredReading>,
) -> Vec<usize> {
    let read_at = |row: usize| {
        let pod = &fleet.pods[row];
        stored
            .get(&(pod.provider.clone(), pod.target.clone()))
            .filter(|s| s.incarnation == pod.incarnation())
            .map(|s| s.read_at)
    };
    let mut out = rows.to_vec();
    // `None` (never read) sorts before any time.
    out.sort_by_key(|&row| (read_at(row), fleet.pods[row].target.clone()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::fleet::Pod;
    use crate::money::{Currency, Money};

    use crate::fleet::samples::at;

    fn pod(target: &str, rate: &str, currency: &str) -> Pod {
        let mut pod = crate::fleet::samples::pod(target);
        pod.provider = "ps".into();
        pod.hourly_rate = Money::new(rate.parse().unwrap_or_default(), Currency::new(currency));
        pod.created_at = at(-100);
        pod.last_started_at = Some(at(-50));
        pod.activity = Activity::Unknown {
            why: "utilisation not read".into(),
        };
        pod
    }

    fn fleet(pods: Vec<Pod>) -> Fleet {
        Fleet {
            taken_at: at(0),
            providers: vec![],
            pods,
            costs: vec![],
            wallets: vec![],
            idle_costs: vec![],
            facts: Default::default(),
        }
    }

    fn stored(read_at: DateTime<Utc>, incarnation: DateTime<Utc>) -> StoredReading {
        StoredReading {
            incarnation,
            read_at,
            activity: Activity::Idle {
                since: Some(at(-20)),
                source: None,
                start_seen: true,
                evidence: "GPU peak 0%".into(),
            },
        }
    }

    #[test]
    fn a_stored_reading_stands_only_when_fresh_of_this_incarnation_and_not_from_the_future() {
        let mut f = fleet(
            ["fresh", "old", "restarted", "future", "none"]
                .map(|t| pod(t, "1", "USD"))
                .to_vec(),
        );
        let key = |t: &str| ("ps".to_string(), t.to_string());
        let map: HashMap<_, _> = [
            (key("fresh"), stored(at(-11), at(-50))),
            (key("old"), stored(at(-13), at(-50))),
            (key("restarted"), stored(at(-1), at(-60))),
            (key("future"), stored(at(1), at(-50))),
        ]
        .into();
        let ages = MaxAge {
            proof: Duration::hours(12),
            unknown: Duration::hours(1),
        };
        let left = use_stored(&mut f, &[0, 1, 2, 3, 4], &map, at(0), ages);
        assert_eq!(left, vec![1, 2, 3, 4]);
        assert_eq!(f.pods[0].reading, Some(Reading::Stored { at: at(-11) }));
        match &f.pods[0].activity {
            Activity::Idle {
                since, evidence, ..
            } => {
                assert_eq!(*since, Some(at(-20)), "the idle run keeps its start");
                assert!(evidence.ends_with("(read 11h ago)"), "{evidence}");
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(f.pods[1].activity, Activity::Unknown { .. }));
    }

    #[test]
    fn the_dearest_pods_are_read_first_converted_where_a_rate_is_known() {
        let f = fleet(vec![
            pod("cheap", "0.50", "USD"),
            pod("inr", "100", "INR"), // 100 INR at 0.012 = 1.20 USD
            pod("dear", "3.00", "USD"),
            pod("tie", "0.50", "USD"),
        ]);
        let mut conv = Conversion::default();
        conv.rates
            .insert(Currency::new("INR"), "0.012".parse().unwrap_or_default());
        let order = by_savings(&f, &[0, 1, 2, 3], &conv);
        assert_eq!(order, vec![2, 1, 0, 3]);
    }

    #[test]
    fn observe_reads_the_never_read_then_the_oldest() {
        let f = fleet(["a", "b", "c"].map(|t| pod(t, "1", "USD")).to_vec());
        let key = |t: &str| ("ps".to_string(), t.to_string());
        let map: HashMap<_, _> = [
            (key("a"), stored(at(-1), at(-50))),
            (key("b"), stored(at(-3), at(-50))),
        ]
        .into();
        assert_eq!(oldest_first(&f, &[0, 1, 2], &map), vec![2, 1, 0]);
    }
}
