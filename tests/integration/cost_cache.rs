//! Cost rows read once: across nights with a moving clock, each run reads only the days it
//! does not hold and the revisable ones, spot-checks one stored day, and a provider that
//! rewrites an old day is caught and the window read again.

use chrono::{DateTime, Duration, NaiveDate, Utc};
use podwarden::fleet::CostReads;
use podwarden::fleet::Fleet;
use podwarden::pipeline::inputs::{collect, Reads};

use crate::support::*;

const SCENARIO: &str = "[[worker]]\nid = \"wkr_a\"\nlast_started = \"-40d\"\ncreated = \"-60d\"\n\
    [[worker]]\nid = \"wkr_b\"\nlast_started = \"-40d\"\ncreated = \"-60d\"\n\
    [[podstack]]\nid = \"pd_a\"\nstarted = \"-40d\"\ncreated = \"-60d\"\n";

fn cost_reads(fleet: &Fleet, provider: &str) -> CostReads {
    fleet
        .providers
        .iter()
        .find(|p| p.name == provider)
        .and_then(|p| p.cost_reads.clone())
        .unwrap_or_else(|| panic!("{provider}'s cost reads"))
}

fn day(t: DateTime<Utc>, back: i64) -> NaiveDate {
    t.date_naive() - Duration::days(back)
}

/// The window's rows read straight from the providers (no state file).
async fn direct(
    cfg: &podwarden::config::Config,
    now: DateTime<Utc>,
) -> Vec<podwarden::fleet::CostRow> {
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    let providers = podwarden::collect::providers(cfg, deadline).expect("providers");
    podwarden::collect::collect(&providers, now, 10)
        .await
        .0
        .costs
}

#[tokio::test(flavor = "multi_thread")]
async fn cost_days_are_read_once_across_nights_and_a_revised_day_is_read_again() {
    let start = DateTime::parse_from_rfc3339("2026-11-16T02:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let s = scenario_sandbox(start, SCENARIO).await;
    let dir = workspace(
        &format!("http://{}", s.addr),
        "[[policy]]\nname = \"report-running\"\naction = \"report\"\n[policy.match]\nstatus = \"running\"\n",
    );
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path)
        .expect("config")
        .replace("# cost_days = 30", "cost_days = 10");
    std::fs::write(&path, config).expect("config written");
    let cfg = admin_config(dir.path());
    let set = podwarden::policy::load_dir(&cfg.policies).expect("policies");
    let daily = "GET /argus/v1/cost/daily";
    let usage = "GET /podstack/v1/billing/usage";

    // Night 1: the whole window, from both providers.
    let (fleet, errors) = collect(&cfg, start, Reads::Candidates(&set))
        .await
        .expect("collects");
    assert!(errors.is_empty(), "{errors:?}");
    let first = cost_reads(&fleet, "argus");
    assert_eq!(first.read, Some((day(start, 9), day(start, 0))));
    assert_eq!((first.stored_days, first.spot_checked), (0, None));
    let counts = s.sandbox.request_counts();
    assert_eq!((counts[daily], counts[usage]), (1, 1));
    // The rows are those a direct read of the window gives.
    assert_eq!(fleet.costs, direct(&cfg, start).await);

    // Nights 2 and 3: the two revisable days, and one stored day checked again: the one read
    // longest ago, the window's first (read on night 1; the day checked on night 2 has left
    // the window by night 3).
    for n in [1, 2] {
        let now = start + Duration::days(n);
        s.sandbox.clock.set(now);
        let before = s.sandbox.request_counts();
        let (fleet, errors) = collect(&cfg, now, Reads::Candidates(&set))
            .await
            .expect("collects");
        assert!(errors.is_empty(), "{errors:?}");
        for provider in ["argus", "podstack"] {
            let reads = cost_reads(&fleet, provider);
            assert_eq!(
                reads.read,
                Some((day(now, 1), day(now, 0))),
                "{provider} night {n}"
            );
            assert_eq!(reads.stored_days, 8);
            assert_eq!(
                reads.spot_checked,
                Some(day(now, 9)),
                "{provider} night {n}"
            );
            assert!(reads.revised.is_empty());
        }
        let after = s.sandbox.request_counts();
        assert_eq!(
            after[daily] - before[daily],
            2,
            "the revisable days and the spot check"
        );
        assert_eq!(after[usage] - before[usage], 2);
        assert_eq!(fleet.costs, direct(&cfg, now).await, "night {n}");
    }

    // Night 4: Argus has rewritten its history of wkr_a (a new rate): the spot check catches
    // it, the window is read again, and the rows are the provider's new ones.
    for basis in &mut s.sandbox.world().argus.costs {
        if basis.worker_id.as_deref() == Some("wkr_a") {
            basis.rate_micros *= 2;
        }
    }
    let now = start + Duration::days(3);
    s.sandbox.clock.set(now);
    let (fleet, _) = collect(&cfg, now, Reads::Candidates(&set))
        .await
        .expect("collects");
    let reads = cost_reads(&fleet, "argus");
    assert_eq!(reads.revised, vec![day(now, 9)]);
    assert_eq!(
        reads.read,
        Some((day(now, 9), day(now, 0))),
        "the window read again"
    );
    assert_eq!(fleet.costs, direct(&cfg, now).await);
    assert!(cost_reads(&fleet, "podstack").revised.is_empty());
}
