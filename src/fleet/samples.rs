//! Test-only fleet values shared by the unit tests of the modules that read the fleet: a fixed
//! instant and a plain pod each test changes as it needs.

use chrono::{DateTime, Duration, Utc};

use super::{Activity, Pod, PodStatus, ResourceKind};
use crate::money::{Currency, Money};

/// `h` hours after 2026-11-01T00:00:00Z (negative: before).
pub fn at(h: i64) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-01T00:00:00Z")
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
        + Duration::hours(h)
}

/// A running pod of provider `p`, 1 USD/h, created at `at(-1000)` and last started at
/// `at(-500)`, its activity unknown.
pub fn pod(target: &str) -> Pod {
    Pod {
        provider: "p".into(),
        kind: ResourceKind::Pod,
        target: target.into(),
        pod_id: target.into(),
        name: target.into(),
        status: PodStatus::Running,
        project: None,
        owner: None,
        gpu_type: None,
        gpu_count: 1,
        region: None,
        labels: Default::default(),
        hourly_rate: Money::new(rust_decimal::Decimal::ONE, Currency::usd()),
        created_at: at(-1000),
        last_started_at: Some(at(-500)),
        ttl_expires_at: None,
        orphaned_since: None,
        orphaned_since_source: None,
        stopped_since: None,
        reading: None,
        health: None,
        activity: Activity::Unknown {
            why: "not read".into(),
        },
    }
}
