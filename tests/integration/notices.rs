//! Notice periods. A notice policy's pod is pending on the run that first
//! plans it, acted on only by a run a notice later that finds it still matching, and its
//! notice is dropped by a run that does not plan it; `plan` reads notices but never records
//! them, `run` does.

use chrono::{DateTime, Duration, Utc};
use podwarden::plan::notice::NoticeKey;
use podwarden::plan::{Plan, PlanSettings};
use podwarden::sandbox::world::Profile;
use podwarden::state::store::Store;

use crate::support::*;

const SCENARIO: &str = r#"
# Idle throughout: pending, still pending 12 h later, stopped a day later.
[[worker]]
id = "wkr_idle"
last_started = "-40d"
activity = { idle_since = "-9h" }

# Idle at the first run, busy at the second (its notice is dropped), idle again later.
[[worker]]
id = "wkr_flaky"
last_started = "-40d"
activity = { idle_since = "-9h" }
"#;

const POLICY: &str = "[[policy]]\nname = \"stop-idle\"\naction = \"stop\"\nnotice = \"24h\"\n[policy.match]\nstatus = \"running\"\nidle_for = \"6h\"\n";

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .expect("time")
        .with_timezone(&Utc)
}

/// Collects over HTTP (recording sightings) and plans with the notices the store holds, as
/// every live command does; `record` as `podwarden run` does (the others never record).
async fn night(cfg: &podwarden::config::Config, now: DateTime<Utc>, record: bool) -> Plan {
    night_limited(cfg, now, record, Default::default()).await
}

/// [`night`] under the global `[limits]` `limits`.
async fn night_limited(
    cfg: &podwarden::config::Config,
    now: DateTime<Utc>,
    record: bool,
    limits: podwarden::policy::Limits,
) -> Plan {
    let set = podwarden::policy::load_dir(&cfg.policies).expect("policies");
    let reads = podwarden::pipeline::inputs::Reads::Candidates(&set);
    let (fleet, errors) = podwarden::pipeline::inputs::collect(cfg, now, reads)
        .await
        .expect("collects");
    assert!(errors.is_empty(), "{errors:?}");
    let mut store = Store::open(&cfg.state).expect("store");
    let settings = PlanSettings {
        notices: store.notices().expect("notices"),
        limits,
        ..PlanSettings::default()
    };
    let plan = podwarden::plan::make(&fleet, &set, &settings, now, "night", now).expect("plan");
    if record {
        store.record_notices(&plan).expect("recorded");
    }
    plan
}

/// (first matched, due) of the target's pending entry.
fn pending(plan: &Plan, target: &str) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
    plan.pending
        .iter()
        .find(|p| p.target == target)
        .map(|p| (p.first_matched, p.due_at))
}

/// The first match behind the target's stop, if it is in the plan.
fn stopped_after_notice(plan: &Plan, target: &str) -> Option<DateTime<Utc>> {
    plan.actions
        .iter()
        .find(|a| a.target == target && a.action.as_str() == "stop")
        .map(|a| a.notice.as_ref().expect("served a notice").first_matched)
}

fn held(cfg: &podwarden::config::Config, target: &str) -> bool {
    Store::open(&cfg.state)
        .expect("store")
        .notices()
        .expect("notices")
        .contains_key(&NoticeKey {
            provider: "argus".into(),
            target: target.into(),
            policy: "stop-idle".into(),
            action: "stop".into(),
        })
}

fn set_profile(s: &podwarden::sandbox::RunningSandbox, target: &str, profile: Profile) {
    let mut w = s.sandbox.world();
    w.argus
        .workers
        .get_mut(target)
        .expect("worker in the scenario")
        .profile = profile;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_notice_policy_acts_only_on_a_pod_that_matched_on_every_run_through_its_notice() {
    let t0 = at("2026-11-16T02:00:00Z");
    let s = scenario_sandbox(t0, SCENARIO).await;
    let dir = workspace(&format!("http://{}", s.addr), POLICY);
    let cfg = admin_config(dir.path());
    let day = Duration::hours(24);

    // A dry-run review before any run: pending in its plan, but no notice is started.
    let review = night(&cfg, t0, false).await;
    assert_eq!(pending(&review, "wkr_idle"), Some((t0, t0 + day)));
    assert!(!held(&cfg, "wkr_idle"), "a review starts no notice");

    // Run 1: both pending, due a day later; nothing is acted on.
    let run1 = night(&cfg, t0, true).await;
    assert!(run1.actions.is_empty(), "{:?}", run1.actions);
    assert_eq!(pending(&run1, "wkr_idle"), Some((t0, t0 + day)));
    assert_eq!(pending(&run1, "wkr_flaky"), Some((t0, t0 + day)));
    assert!(held(&cfg, "wkr_idle") && held(&cfg, "wkr_flaky"));

    // wkr_flaky turns busy. A review sees it no longer matches, but drops nothing.
    let t_review = t0 + Duration::hours(6);
    s.sandbox.clock.set(t_review);
    set_profile(&s, "wkr_flaky", Profile::Busy);
    let review = night(&cfg, t_review, false).await;
    assert_eq!(pending(&review, "wkr_flaky"), None);
    assert!(held(&cfg, "wkr_flaky"), "a review drops no notice");

    // Run 2, 12 h later: wkr_idle still pending from run 1; wkr_flaky's notice is dropped.
    let t2 = t0 + Duration::hours(12);
    s.sandbox.clock.set(t2);
    let run2 = night(&cfg, t2, true).await;
    assert!(run2.actions.is_empty(), "{:?}", run2.actions);
    assert_eq!(pending(&run2, "wkr_idle"), Some((t0, t0 + day)));
    assert_eq!(pending(&run2, "wkr_flaky"), None);
    assert!(
        !held(&cfg, "wkr_flaky"),
        "busy on a run: the notice is dropped"
    );

    // wkr_flaky goes quiet again. Run 3, a day and an hour after run 1: wkr_idle, which
    // matched on every run, is stopped; wkr_flaky matches again and starts a new notice.
    set_profile(&s, "wkr_flaky", Profile::IdleSince(t2 + Duration::hours(1)));
    let t3 = t0 + Duration::hours(25);
    s.sandbox.clock.set(t3);
    let run3 = night(&cfg, t3, true).await;
    assert_eq!(stopped_after_notice(&run3, "wkr_idle"), Some(t0));
    assert_eq!(pending(&run3, "wkr_idle"), None);
    assert_eq!(
        pending(&run3, "wkr_flaky"),
        Some((t3, t3 + day)),
        "the notice restarts: counted from run 3, not from run 1"
    );
    // Applying run 3's plan stops wkr_idle, and only it, at the provider.
    let providers = podwarden::collect::providers(
        &cfg,
        tokio::time::Instant::now() + std::time::Duration::from_secs(60),
    )
    .expect("providers");
    let mut journal = podwarden::state::journal::Journal::open(&cfg.state).expect("journal opens");
    let options = podwarden::execute::apply::Options {
        yes: false,
        deadline: tokio::time::Instant::now() + std::time::Duration::from_secs(60),
        verify_timeout: std::time::Duration::from_secs(10),
        settings: PlanSettings::default(),
        rate: Box::new(|_| None),
        // The sandbox's clock, not the machine's: journal times and the audit window follow it.
        clock: {
            let sandbox = s.sandbox.clone();
            std::sync::Arc::new(move || sandbox.clock.now())
        },
    };
    let outcome = podwarden::execute::apply::apply(
        &run3,
        &providers,
        &mut journal,
        &[],
        &options,
        &Default::default(),
    )
    .await
    .expect("applies");
    assert_eq!(
        outcome.exit(),
        podwarden::exit::Exit::Success,
        "{:?} {:?}",
        outcome.lines,
        outcome.unverified
    );
    let audit = providers[0]
        .audit(t0 - day)
        .await
        .expect("audit reads")
        .expect("Argus keeps one");
    let acted: Vec<(&str, &str)> = audit
        .iter()
        .map(|e| (e.target.as_str(), e.action.as_str()))
        .collect();
    assert_eq!(
        acted,
        [("wkr_idle", "stop")],
        "acted on after its notice only"
    );
    assert_eq!(stopped_after_notice(&run3, "wkr_flaky"), None);
    let tally = run3
        .policies
        .iter()
        .find(|t| t.policy == "stop-idle")
        .expect("tally");
    assert_eq!((tally.counted, tally.planned, tally.pending), (2, 1, 1));

    // Run 4, a day after run 3: wkr_flaky has served its new notice.
    let t4 = t3 + day;
    s.sandbox.clock.set(t4);
    let run4 = night(&cfg, t4, true).await;
    assert_eq!(stopped_after_notice(&run4, "wkr_flaky"), Some(t3));
    assert!(run4.pending.is_empty(), "{:?}", run4.pending);
}

#[tokio::test(flavor = "multi_thread")]
async fn due_notices_count_toward_the_global_breaker_and_a_refused_plan_drops_every_notice() {
    let t0 = at("2026-11-16T02:00:00Z");
    let s = scenario_sandbox(t0, SCENARIO).await;
    let dir = workspace(&format!("http://{}", s.addr), POLICY);
    let cfg = admin_config(dir.path());
    let one = podwarden::policy::Limits {
        max_actions: Some(1),
        ..Default::default()
    };
    // Two pending pods are not two actions: the global breaker lets run 1 through.
    let run1 = night_limited(&cfg, t0, true, one.clone()).await;
    assert!(!run1.summary.breaker_tripped);
    assert_eq!(run1.pending.len(), 2);
    // A day later both are due: two actions trip it, and nothing is planned or held.
    let t1 = t0 + Duration::hours(25);
    s.sandbox.clock.set(t1);
    let run2 = night_limited(&cfg, t1, true, one).await;
    assert!(run2.summary.breaker_tripped);
    assert!(run2.actions.is_empty() && run2.pending.is_empty());
    assert!(!held(&cfg, "wkr_idle") && !held(&cfg, "wkr_flaky"));
    // The next run starts both notices afresh.
    let t2 = t1 + Duration::hours(24);
    s.sandbox.clock.set(t2);
    let run3 = night(&cfg, t2, true).await;
    assert!(run3.actions.is_empty());
    assert_eq!(
        pending(&run3, "wkr_idle"),
        Some((t2, t2 + Duration::hours(24)))
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn plan_reads_notices_and_run_records_them_with_the_real_executable() {
    // The executable evaluates at the real time, so the sandbox's clock is the real time too.
    let s = scenario_sandbox(Utc::now(), SCENARIO).await;
    let dir = workspace(&format!("http://{}", s.addr), POLICY);
    let plan_json = |args: &[&str]| -> serde_json::Value {
        let out = podwarden_in(dir.path(), args);
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).expect("plan"))
            .expect("plan JSON")
    };
    let first_matched = |plan: &serde_json::Value, target: &str| -> String {
        plan["pending"]
            .as_array()
            .and_then(|p| p.iter().find(|p| p["target"] == target))
            .map(|p| p["first_matched"].as_str().expect("time").to_string())
            .unwrap_or_else(|| panic!("{target} not pending: {plan}"))
    };
    let cfg = admin_config(dir.path());

    let planned = plan_json(&["plan", "--format", "json", "--out", "plan.json"]);
    assert!(planned["actions"].as_array().expect("actions").is_empty());
    first_matched(&planned, "wkr_idle");
    assert!(!held(&cfg, "wkr_idle"), "plan starts no notice");

    let out = podwarden_in(dir.path(), &["run", "--out", "plan.json"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("Pending: waiting for their notice period (2)") && stdout.contains("DUE"),
        "{stdout}"
    );
    let ran: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("plan.json")).expect("plan"))
            .expect("plan JSON");
    let started = first_matched(&ran, "wkr_idle");
    assert!(held(&cfg, "wkr_idle"), "run starts the notice");

    // A later plan counts from the run's first match, not from its own time.
    let again = plan_json(&["plan", "--format", "json", "--out", "plan.json"]);
    assert_eq!(first_matched(&again, "wkr_idle"), started);
    let explained = text(&podwarden_in(dir.path(), &["explain", "wkr_idle"]).stdout);
    assert!(
        explained.contains("stop by stop-idle is pending its notice period: first matched"),
        "{explained}"
    );
    let md = podwarden_in(dir.path(), &["plan", "--format", "markdown"]);
    assert!(
        text(&md.stdout).contains("**Pending**")
            && text(&md.stdout).contains("| stop | argus | `wkr_idle` | stop-idle |"),
        "{}",
        text(&md.stdout)
    );
}

#[test]
fn the_notice_cases_pass_through_podwarden_test() {
    let out = podwarden(&repo(), &["test", "tests/fixtures/notices"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("policy cases: 10 passed, 0 failed"));
}
