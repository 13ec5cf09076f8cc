//! The job as it is really used: once a night, one state database, against a sandbox whose
//! clock moves between runs and whose pods restart, resume and change state in between.

use chrono::{DateTime, Duration, Utc};
use podwarden::fleet::{Activity, Fleet};
use podwarden::plan::Plan;
use podwarden::providers::{OpKind, Operation, Provider};

use crate::support::*;

const SCENARIO: &str = r#"
# Busy 08:00-23:00 UTC every day, idle at night (case 1 and the multi-night acceptance).
[[worker]]
id = "wkr_daytime"
last_started = "-40d"
activity = { daily = "08:00-23:00" }

# Stopped for five days, resumed 30 minutes ago without a TTL (case 2).
[[worker]]
id = "wkr_resumed"
last_started = "-30m"
activity = { idle_since = "-5d" }

# Idle for 9 hours: the positive control, stopped every night.
[[worker]]
id = "wkr_quiet"
last_started = "-40d"
activity = { idle_since = "-9h" }

# Zero cameras and no last-served time: only podwarden's own sighting can date it.
[[worker]]
id = "wkr_never"
last_started = "-40d"
activity = "never_served"

[[podstack]]
id = "pd_daytime"
started = "-40d"
activity = { daily = "08:00-23:00" }
"#;

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

fn idle_since(fleet: &Fleet, target: &str) -> Option<DateTime<Utc>> {
    let pod = fleet
        .pods
        .iter()
        .find(|p| p.target == target)
        .unwrap_or_else(|| panic!("{target} in the fleet"));
    match &pod.activity {
        Activity::Idle { since, .. } => *since,
        other => panic!("{target} should be idle, is {other:?}"),
    }
}

fn stopped(plan: &Plan) -> Vec<&str> {
    plan.actions
        .iter()
        .filter(|a| a.action.as_str() == "stop")
        .map(|a| a.target.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn five_nights_never_stop_a_worker_busy_by_day_and_sightings_follow_restarts() {
    let start = at("2026-11-16T02:00:00Z");
    let s = scenario_sandbox(start, SCENARIO).await;
    // The shipped idle policies' rule without their breakers (sized for real fleets, not five pods).
    let dir = workspace(
        &format!("http://{}", s.addr),
        "[[policy]]\nname = \"stop-idle\"\naction = \"stop\"\n[policy.match]\nstatus = \"running\"\nidle_for = \"6h\"\n",
    );
    let cfg = admin_config(dir.path());

    for n in 0..6 {
        let now = start + Duration::days(n);
        s.sandbox.clock.set(now);
        let (fleet, plan) = plan_night(&cfg, now).await;
        let targets = stopped(&plan);
        let last_night_23 = now - Duration::hours(3);
        // Case 1: whatever was sighted on earlier nights, the provider's last-served time wins.
        assert_eq!(
            idle_since(&fleet, "wkr_daytime"),
            Some(last_night_23),
            "night {n}"
        );
        let pd = idle_since(&fleet, "pd_daytime").expect("a start");
        assert!(
            pd >= last_night_23 && pd <= last_night_23 + Duration::minutes(10),
            "night {n}: pd_daytime idle since {pd}"
        );
        assert!(!targets.contains(&"wkr_daytime"), "night {n}: {targets:?}");
        assert!(!targets.contains(&"pd_daytime"), "night {n}: {targets:?}");
        assert!(
            targets.contains(&"wkr_quiet"),
            "night {n}: the control is stopped: {:?}",
            plan.blocked
        );
        match n {
            0 => {
                // Case 2: idle since the resume, not since the last camera five days ago.
                assert_eq!(
                    idle_since(&fleet, "wkr_resumed"),
                    Some(now - Duration::minutes(30))
                );
                assert!(!targets.contains(&"wkr_resumed"));
                // First sighting of a worker the provider cannot date.
                assert!(!targets.contains(&"wkr_never"));
            }
            1 => {
                // Sighted idle a day ago, never busy since: its own sighting dates it.
                assert_eq!(idle_since(&fleet, "wkr_never"), Some(start));
                assert!(targets.contains(&"wkr_never"), "{targets:?}");
                // Someone restarts it before the next night.
                let client = argus(&s, ADMIN);
                for (op, key) in [
                    (OpKind::Stop, "restart-stop"),
                    (OpKind::Resume, "restart-go"),
                ] {
                    client
                        .execute(&Operation {
                            kind: podwarden::fleet::ResourceKind::Pod,
                            target: "wkr_never".into(),
                            op,
                            reason: "restarted by its owner".into(),
                            ttl_hours: None,
                            idempotency_key: key.into(),
                            confirm: false,
                        })
                        .await
                        .expect("operation accepted");
                    let mut w = s.sandbox.world();
                    w.settle(s.sandbox.clock.now());
                }
                // The sandbox marks a resumed worker busy; make it quiet again (still no
                // last-served time) so only the restart can end the sighting.
                let mut w = s.sandbox.world();
                if let Some(worker) = w.argus.workers.get_mut("wkr_never") {
                    worker.profile = podwarden::sandbox::world::Profile::Silent;
                }
            }
            2 => {
                // The restart ended the old sighting: idle from the restart on, not for 2 days.
                let since = idle_since(&fleet, "wkr_never").expect("a start");
                assert!(since >= start + Duration::days(1), "{since}");
                assert!(!targets.contains(&"wkr_never"), "{targets:?}");
            }
            _ => {}
        }
    }
}
