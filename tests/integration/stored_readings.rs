//! Utilisation readings kept between runs and reads spent where a decision can change: an
//! observe run stores what it read, a later plan judges pods on it while it is young enough,
//! apply reads every target again, and a short deadline cuts the cheapest pods.

use chrono::{DateTime, Duration, Utc};
use podwarden::fleet::{Activity, Fleet, Reading};
use podwarden::pipeline::inputs::{collect, Reads};
use podwarden::plan::Plan;
use podwarden::sandbox::SandboxConfig;

use crate::support::apply::*;
use crate::support::*;

const STATS: &str = "/pods/{id}/stats/history";

const STOP_IDLE_PODSTACK: &str = "[[policy]]\nname = \"stop-idle\"\naction = \"stop\"\n\
    providers = [\"podstack\"]\n[policy.match]\nstatus = \"running\"\nidle_for = \"6h\"\n";

fn pod<'a>(fleet: &'a Fleet, target: &str) -> &'a podwarden::fleet::Pod {
    fleet
        .pods
        .iter()
        .find(|p| p.target == target)
        .unwrap_or_else(|| panic!("{target} in the fleet"))
}

async fn plan_at(cfg: &podwarden::config::Config, now: DateTime<Utc>) -> (Fleet, Plan) {
    let set = podwarden::policy::load_dir(&cfg.policies).expect("policies");
    let (fleet, errors) = collect(cfg, now, Reads::Candidates(&set))
        .await
        .expect("collects");
    assert!(errors.is_empty(), "{errors:?}");
    let plan =
        podwarden::plan::make(&fleet, &set, &Default::default(), now, "t", now).expect("evaluates");
    (fleet, plan)
}

fn reads_of(fleet: &Fleet) -> podwarden::fleet::ReadCounts {
    fleet
        .providers
        .iter()
        .find(|p| p.name == "podstack")
        .and_then(|p| p.activity_reads.clone())
        .expect("podstack's read counts")
}

fn planned(plan: &Plan) -> Vec<&str> {
    plan.actions.iter().map(|a| a.target.as_str()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stored_reading_stands_until_max_evidence_age_then_the_pod_is_read_again() {
    let start = DateTime::parse_from_rfc3339("2026-11-16T02:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    let s = scenario_sandbox(
        start,
        "[[podstack]]\nid = \"pd_idle\"\nstarted = \"-3d\"\nactivity = { idle_since = \"-9h\" }\n",
    )
    .await;
    let dir = workspace(&format!("http://{}", s.addr), STOP_IDLE_PODSTACK);
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    assert!(
        config.contains("max_evidence_age = \"12h\""),
        "the example sets it"
    );
    let config = config.replace("max_evidence_age = \"12h\"", "max_evidence_age = \"1h\"");
    std::fs::write(&path, config).expect("config written");
    let cfg = admin_config(dir.path());

    // An observe run reads the pod and stores what it proved.
    let (observed, _) = collect(&cfg, start, Reads::Observe)
        .await
        .expect("observes");
    assert_eq!(pod(&observed, "pd_idle").reading, Some(Reading::Read));
    assert_eq!(s.sandbox.requests_to(STATS), 1);
    // From now on the agent reports no GPU readings: a new read proves nothing.
    for p in s.sandbox.world().podstack.pods.values_mut() {
        p.telemetry.gpu_readings = false;
    }

    // 30 minutes later: judged on the stored reading, no request spent, the stop planned.
    let t1 = start + Duration::minutes(30);
    s.sandbox.clock.set(t1);
    let (fleet, plan) = plan_at(&cfg, t1).await;
    assert_eq!(s.sandbox.requests_to(STATS), 1, "no utilisation read");
    // Observe dates a reading when it is read: the start, give or take its own run.
    let near_start = |t: DateTime<Utc>| (t - start).abs() < Duration::seconds(5);
    assert!(
        matches!(pod(&fleet, "pd_idle").reading, Some(Reading::Stored { at }) if near_start(at)),
        "{:?}",
        pod(&fleet, "pd_idle").reading
    );
    assert_eq!(planned(&plan), vec!["pd_idle"]);
    assert!(
        plan.actions[0].activity_read_at.is_some_and(near_start),
        "the plan says when the activity it rests on was read: {:?}",
        plan.actions[0].activity_read_at
    );
    let counts = reads_of(&fleet);
    assert_eq!((counts.read, counts.stored), (0, 1));

    // Two hours after the reading: older than max_evidence_age, so not used. Read again, the
    // pod is unknown (no GPU readings) and nothing is planned.
    let t2 = start + Duration::hours(2);
    s.sandbox.clock.set(t2);
    let (fleet, plan) = plan_at(&cfg, t2).await;
    assert_eq!(s.sandbox.requests_to(STATS), 2, "read again");
    assert_eq!(pod(&fleet, "pd_idle").reading, Some(Reading::Read));
    assert!(matches!(
        pod(&fleet, "pd_idle").activity,
        Activity::Unknown { .. }
    ));
    assert!(planned(&plan).is_empty(), "{plan:?}");
    assert!(plan.blocked.iter().any(|b| b.target == "pd_idle"));
    // The read that proved nothing is stored too: while it is young enough the pod stays
    // unknown without a request; once it is older, the pod is read again.
    let t3 = t2 + Duration::minutes(5);
    s.sandbox.clock.set(t3);
    let (fleet, plan) = plan_at(&cfg, t3).await;
    assert_eq!(s.sandbox.requests_to(STATS), 2);
    assert!(
        matches!(&pod(&fleet, "pd_idle").activity, Activity::Unknown { why } if why.ends_with("(read 5m ago)")),
        "{:?}",
        pod(&fleet, "pd_idle").activity
    );
    assert!(planned(&plan).is_empty());
    assert_eq!(reads_of(&fleet).stored_unknown, 1);
    let t4 = t2 + Duration::minutes(61);
    s.sandbox.clock.set(t4);
    plan_at(&cfg, t4).await;
    assert_eq!(s.sandbox.requests_to(STATS), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_pod_busy_since_its_last_reading_is_planned_on_it_and_skipped_at_apply() {
    // Busy from two minutes after the start for two hours, every day: idle since yesterday's
    // end.
    let t0 = Utc::now();
    let from = (t0 + Duration::minutes(2)).format("%H:%M");
    let to = (t0 + Duration::hours(2)).format("%H:%M");
    let scenario = format!(
        "[[podstack]]\nid = \"pd_turns\"\nstarted = \"-3d\"\nactivity = {{ daily = \"{from}-{to}\" }}\n\
         [[podstack]]\nid = \"pd_quiet\"\nstarted = \"-3d\"\nactivity = {{ idle_since = \"-9h\" }}\n"
    );
    let s = sandbox_with(&scenario, 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE_PODSTACK, &[]);
    let cfg = admin_config(dir.path());
    collect(&cfg, t0, Reads::Observe).await.expect("observes");
    assert_eq!(s.sandbox.requests_to(STATS), 2);

    // The busy window opens (10 minutes hold a busy sample of the 5-minute grid); the plan
    // still judges on the stored readings (no read).
    s.sandbox.clock.advance(Duration::minutes(10));
    let plan = plan_file(dir.path());
    assert_eq!(
        s.sandbox.requests_to(STATS),
        2,
        "planned on stored readings"
    );
    let mut targets: Vec<&str> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["target"].as_str())
        .collect();
    targets.sort_unstable();
    assert_eq!(targets, vec!["pd_quiet", "pd_turns"]);

    // Apply reads each target again right before acting: the busy one is skipped.
    let out = apply(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let line = |target: &str| line_of(&stdout, target);
    assert!(
        line("pd_turns").starts_with("skipped") && line("pd_turns").contains("busy now"),
        "{stdout}"
    );
    assert!(line("pd_quiet").starts_with("accepted"), "{stdout}");
    assert!(s.sandbox.requests_to(STATS) >= 4, "apply read both again");
}

#[tokio::test(flavor = "multi_thread")]
async fn under_a_short_deadline_the_dearest_candidates_are_read_and_others_never() {
    let start = DateTime::parse_from_rfc3339("2026-11-16T02:00:00Z")
        .expect("time")
        .with_timezone(&Utc);
    // Ten idle candidates at 1..10 USD/h, and three protected pods no policy may act on.
    let mut scenario = String::new();
    for i in 1..=10 {
        scenario.push_str(&format!(
            "[[podstack]]\nid = \"pd_rate{i:02}\"\nstarted = \"-3d\"\nrate = \"{i}.00\"\n\
             activity = {{ idle_since = \"-9h\" }}\n"
        ));
    }
    for i in 1..=3 {
        scenario.push_str(&format!(
            "[[podstack]]\nid = \"pd_kept{i}\"\nstarted = \"-3d\"\nrate = \"50.00\"\n\
             labels = {{ \"podwarden/protect\" = \"true\" }}\nactivity = {{ idle_since = \"-9h\" }}\n"
        ));
    }
    let s = sandbox(SandboxConfig {
        pods: 0,
        now: Some(start),
        transition_secs: 0,
        podstack_limit: 10,
        scenario: Some(podwarden::sandbox::Scenario::parse(&scenario).expect("scenario")),
        ..SandboxConfig::default()
    })
    .await;
    let dir = workspace(&format!("http://{}", s.addr), STOP_IDLE_PODSTACK);
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path)
        .expect("config")
        .replace("deadline = \"20m\"", "deadline = \"3s\"")
        .replace(
            "token_env = \"PODSTACK_API_TOKEN\"",
            "token_env = \"PODSTACK_API_TOKEN\"\nops_rate = \"10/60s\"",
        );
    std::fs::write(&path, config).expect("config written");
    let cfg = admin_config(dir.path());
    let set = podwarden::policy::load_dir(&cfg.policies).expect("policies");
    let (fleet, errors) = collect(&cfg, start, Reads::Candidates(&set))
        .await
        .expect("collects");
    assert!(!errors.is_empty(), "the deadline cut the reads");
    // The inventory took 4 requests (projects, pods, wallet, usage); the window's rest went to
    // the dearest pods, in order: every pod read is dearer than every pod cut.
    let rate = |target: &str| {
        target
            .trim_start_matches("pd_rate")
            .parse::<u32>()
            .expect("rate")
    };
    let (known, cut): (Vec<&str>, Vec<&str>) = fleet
        .pods
        .iter()
        .filter(|p| p.target.starts_with("pd_rate"))
        .map(|p| p.target.as_str())
        .partition(|t| matches!(pod(&fleet, t).activity, Activity::Idle { .. }));
    assert!(!known.is_empty() && !cut.is_empty(), "{known:?} {cut:?}");
    let cheapest_read = known.iter().map(|t| rate(t)).min().expect("one");
    let dearest_cut = cut.iter().map(|t| rate(t)).max().expect("one");
    assert!(cheapest_read > dearest_cut, "read {known:?}, cut {cut:?}");
    for kept in ["pd_kept1", "pd_kept2", "pd_kept3"] {
        assert!(
            matches!(&pod(&fleet, kept).reading, Some(Reading::Skipped { why }) if why.contains("no acting policy")),
            "{kept}: {:?}",
            pod(&fleet, kept).reading
        );
    }
    let counts = reads_of(&fleet);
    assert_eq!((counts.read, counts.read_unknown), (known.len(), 0));
    assert_eq!(counts.skipped, 3 + cut.len());
    assert_eq!(
        counts.skipped_why.get(podwarden::collect::DEADLINE),
        Some(&cut.len()),
        "{:?}",
        counts.skipped_why
    );
    assert!(
        s.sandbox.requests_to(STATS) <= 6,
        "within the window's 10 requests"
    );
}
