//! Each safety rule of the policy engine, on a fleet built for it. Every test here fails
//! if its rule is broken.

use std::path::PathBuf;

use chrono::{DateTime, Duration, Utc};
use podwarden::fleet::{Activity, Fleet, Pod, PodStatus, ProviderStatus, ResourceKind, Since};
use podwarden::money::{Currency, Money};
use podwarden::plan::{Plan, PlanSettings};
use podwarden::policy::load::load_sources;
use podwarden::policy::PolicySet;
use podwarden::state::store::Store;

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-18T22:30:00Z")
        .expect("time")
        .with_timezone(&Utc)
}

/// A running, busy Argus worker, 30 days old, $2.49/h.
fn pod(target: &str) -> Pod {
    Pod {
        provider: "argus".into(),
        kind: ResourceKind::Pod,
        target: target.into(),
        pod_id: format!("pod_{target}"),
        name: target.into(),
        status: PodStatus::Running,
        project: Some("research".into()),
        owner: Some("li.wei".into()),
        gpu_type: Some("H100-80GB".into()),
        gpu_count: 1,
        region: None,
        labels: Default::default(),
        hourly_rate: Money::parse("2.49", Currency::usd()).expect("money"),
        created_at: now() - Duration::days(30),
        last_started_at: Some(now() - Duration::days(2)),
        ttl_expires_at: None,
        orphaned_since: None,
        orphaned_since_source: None,
        stopped_since: None,
        reading: None,
        health: None,
        activity: Activity::Busy,
    }
}

fn idle(mut p: Pod, since: Duration) -> Pod {
    p.activity = Activity::Idle {
        since: Some(now() - since),
        source: Some(Since::Provider),
        start_seen: true,
        evidence: "0 cameras".into(),
    };
    p
}

fn orphan(target: &str, orphaned: Option<Duration>) -> Pod {
    let mut p = pod(target);
    p.kind = ResourceKind::Orphan;
    p.created_at = now() - Duration::days(60);
    p.orphaned_since = orphaned.map(|d| now() - d);
    p.orphaned_since_source = orphaned.map(|_| Since::Provider);
    p.activity = Activity::Unknown {
        why: "orphan".into(),
    };
    p
}

fn fleet(pods: Vec<Pod>) -> Fleet {
    let mut f = Fleet {
        taken_at: now(),
        providers: vec![
            ProviderStatus {
                activity_reads: None,
                cost_reads: None,
                name: "argus".into(),
                complete: true,
                pods: pods.len(),
                error: None,
                gaps: vec![],
            },
            ProviderStatus {
                activity_reads: None,
                cost_reads: None,
                name: "podstack".into(),
                complete: true,
                pods: 0,
                error: None,
                gaps: vec![],
            },
        ],
        pods,
        costs: vec![],
        wallets: vec![],
        idle_costs: Vec::new(),
        facts: Default::default(),
    };
    f.normalize_order();
    f
}

fn policies(toml: &str) -> PolicySet {
    load_sources(&[(PathBuf::from("test.toml"), toml.to_string())])
        .unwrap_or_else(|d| panic!("{d:#?}"))
}

fn plan_at(fleet: &Fleet, set: &PolicySet, settings: &PlanSettings, at: DateTime<Utc>) -> Plan {
    podwarden::plan::make(fleet, set, settings, at, "test", at).expect("evaluates")
}

fn plan(fleet: &Fleet, set: &PolicySet) -> Plan {
    plan_at(fleet, set, &PlanSettings::default(), now())
}

fn targets(plan: &Plan) -> Vec<(&str, &str, &str)> {
    plan.actions
        .iter()
        .map(|a| (a.target.as_str(), a.action.as_str(), a.policy.as_str()))
        .collect()
}

const IDLE: &str = r#"
[[policy]]
name = "stop-idle"
action = "stop"
reason = "idle {idle_hours}h, burning {per_day} (policy {policy})"
[policy.match]
status = "running"
idle_for = "6h"
"#;

const ORPHANS: &str = r#"
[[policy]]
name = "orphans"
resource = "orphan"
action = "terminate"
allow_terminate = true
reason = "orphan for {orphan_days}d (policy {policy})"
[policy.match]
orphaned_for = "7d"
"#;

const TTL: &str = r#"
[[policy]]
name = "ttl"
action = "stop"
priority = 20
reason = "resume TTL expired at {ttl_expires_at} (policy {policy})"
[policy.match]
status = "running"
ttl = "expired"
"#;

// polars runs its work on tokio's blocking pool when a runtime is present; these tests
// have none, so plain #[test] is right.

#[test]
fn unknown_activity_never_matches_idle_and_the_plan_says_why() {
    let mut unknown = pod("wkr_unknown");
    unknown.activity = Activity::Unknown {
        why: "no row in /compute/served".into(),
    };
    let mut since_unknown = pod("wkr_since_unknown");
    since_unknown.activity = Activity::Idle {
        since: None,
        source: None,
        start_seen: false,
        evidence: "0 cameras".into(),
    };
    let f = fleet(vec![
        unknown,
        since_unknown,
        idle(pod("wkr_idle"), Duration::hours(9)),
    ]);
    let p = plan(&f, &policies(IDLE));
    assert_eq!(targets(&p), vec![("wkr_idle", "stop", "stop-idle")]);
    let why = |t: &str| {
        p.blocked
            .iter()
            .find(|b| b.target == t)
            .map(|b| b.why.clone())
            .unwrap_or_default()
    };
    assert!(
        why("wkr_unknown").contains("unknown") && why("wkr_unknown").contains("compute/served"),
        "{}",
        why("wkr_unknown")
    );
    assert!(
        why("wkr_since_unknown").contains("not known"),
        "{}",
        why("wkr_since_unknown")
    );
}

#[test]
fn a_provider_with_incomplete_data_gets_no_actions() {
    let mut f = fleet(vec![idle(pod("wkr_idle"), Duration::hours(9))]);
    f.providers[0].complete = false;
    let p = plan(&f, &policies(IDLE));
    assert!(p.actions.is_empty());
    assert!(p.blocked.iter().any(|b| b.why.contains("incomplete")));
}

#[test]
fn idle_since_comes_from_the_state_store_when_the_provider_does_not_say() {
    let dir = tempfile::tempdir().expect("temp");
    let db = dir.path().join("state.db");
    let set = policies(IDLE);
    let silent = || {
        let mut p = pod("wkr_silent");
        p.activity = Activity::Idle {
            since: None,
            source: None,
            start_seen: false,
            evidence: "0 cameras, never served or not known".into(),
        };
        p
    };
    // First seen idle now: not idle for 6h yet.
    let mut first = fleet(vec![silent()]);
    Store::open(&db)
        .expect("store")
        .observe(&mut first, now())
        .expect("observe");
    assert!(plan(&first, &set).actions.is_empty());
    // Seven hours later (a new process, the same SQLite file): idle since the first sighting.
    let later = now() + Duration::hours(7);
    let mut second = fleet(vec![silent()]);
    Store::open(&db)
        .expect("store")
        .observe(&mut second, later)
        .expect("observe");
    let p = plan_at(&second, &set, &PlanSettings::default(), later);
    assert_eq!(targets(&p), vec![("wkr_silent", "stop", "stop-idle")]);
    assert!(
        p.actions[0].reason.contains("idle 7h"),
        "{}",
        p.actions[0].reason
    );
    // Seen busy in between: the count starts again.
    let mut busy = fleet(vec![pod("wkr_silent")]);
    Store::open(&db)
        .expect("store")
        .observe(&mut busy, later)
        .expect("observe");
    let mut again = fleet(vec![silent()]);
    let even_later = later + Duration::hours(1);
    Store::open(&db)
        .expect("store")
        .observe(&mut again, even_later)
        .expect("observe");
    assert!(plan_at(&again, &set, &PlanSettings::default(), even_later)
        .actions
        .is_empty());
}

#[test]
fn orphan_age_counts_from_becoming_an_orphan_never_from_creation() {
    let dir = tempfile::tempdir().expect("temp");
    let db = dir.path().join("state.db");
    let set = policies(ORPHANS);
    // The provider says it became an orphan yesterday: one day, though created 60 days ago.
    let f = fleet(vec![
        orphan("pod_yesterday", Some(Duration::days(1))),
        orphan("pod_old", Some(Duration::days(9))),
    ]);
    assert_eq!(
        targets(&plan(&f, &set)),
        vec![("pod_old", "terminate", "orphans")]
    );
    // The provider does not know: podwarden counts from its own first observation.
    let mut first = fleet(vec![orphan("pod_unknown_age", None)]);
    Store::open(&db)
        .expect("store")
        .observe(&mut first, now())
        .expect("observe");
    assert_eq!(first.pods[0].orphaned_since, Some(now()));
    assert!(
        plan(&first, &set).actions.is_empty(),
        "not terminated on first sight"
    );
    let later = now() + Duration::days(8);
    let mut second = fleet(vec![orphan("pod_unknown_age", None)]);
    Store::open(&db)
        .expect("store")
        .observe(&mut second, later)
        .expect("observe");
    let p = plan_at(&second, &set, &PlanSettings::default(), later);
    assert_eq!(
        targets(&p),
        vec![("pod_unknown_age", "terminate", "orphans")]
    );
    assert!(
        p.actions[0].reason.contains("orphan for 8d"),
        "{}",
        p.actions[0].reason
    );
}

#[test]
fn an_active_resume_ttl_is_a_lease_and_an_expired_one_is_stopped_quoting_the_expiry() {
    let mut leased = idle(pod("wkr_leased"), Duration::hours(8));
    leased.ttl_expires_at = Some(now() + Duration::hours(14));
    let mut expired = idle(pod("wkr_expired"), Duration::hours(8));
    expired.ttl_expires_at = Some(now() - Duration::hours(2));
    let f = fleet(vec![leased, expired]);
    let set = policies(&format!("{IDLE}{TTL}"));
    let p = plan(&f, &set);
    assert_eq!(targets(&p), vec![("wkr_expired", "stop", "ttl")]);
    assert!(
        p.actions[0].reason.contains("2026-11-18 20:30 UTC"),
        "{}",
        p.actions[0].reason
    );
    assert_eq!(
        p.actions[0].also_matched,
        vec!["stop-idle".to_string()],
        "the losing policy is recorded"
    );
}

#[test]
fn orphans_are_terminate_only_and_terminate_needs_allow_terminate() {
    let bad = r#"
[[policy]]
name = "stop-orphans"
resource = "orphan"
action = "stop"
[policy.match]
orphaned_for = "7d"

[[policy]]
name = "terminate-without-permission"
resource = "orphan"
action = "terminate"
[policy.match]
orphaned_for = "7d"
"#;
    let diags = load_sources(&[(PathBuf::from("bad.toml"), bad.into())]).unwrap_err();
    let codes: Vec<&str> = diags.iter().map(|d| d.code).collect();
    assert_eq!(codes, vec!["P011", "P007"], "{diags:#?}");
    // A pod-kind policy never selects orphans, even with matching conditions.
    let f = fleet(vec![orphan("pod_orphan", Some(Duration::days(30)))]);
    let stop_anything = policies("[[policy]]\nname = \"stop-all\"\naction = \"stop\"\n[policy.match]\nstatus = \"running\"\n");
    assert!(plan(&f, &stop_anything).actions.is_empty());
}

#[test]
fn protection_label_and_new_pod_grace_exempt_pods_from_every_policy() {
    let mut labelled = idle(pod("wkr_labelled"), Duration::hours(20));
    labelled
        .labels
        .insert("podwarden/protect".into(), "true".into());
    let mut young = idle(pod("wkr_young"), Duration::hours(7));
    young.created_at = now() - Duration::minutes(90);
    young.ttl_expires_at = Some(now() - Duration::minutes(10));
    let f = fleet(vec![
        labelled,
        young,
        idle(pod("wkr_plain"), Duration::hours(20)),
    ]);
    let p = plan(&f, &policies(&format!("{IDLE}{TTL}")));
    assert_eq!(targets(&p), vec![("wkr_plain", "stop", "stop-idle")]);
    assert!(p
        .blocked
        .iter()
        .any(|b| b.target == "wkr_labelled" && b.why.contains("podwarden/protect=true")));
    assert!(p
        .blocked
        .iter()
        .any(|b| b.target == "wkr_young" && b.why.contains("grace")));
    // A custom label from podwarden.toml.
    let custom = PlanSettings {
        protect_label: ("keep".into(), "yes".into()),
        ..PlanSettings::default()
    };
    let mut kept = idle(pod("wkr_kept"), Duration::hours(20));
    kept.labels.insert("keep".into(), "yes".into());
    assert!(plan_at(&fleet(vec![kept]), &policies(IDLE), &custom, now())
        .actions
        .is_empty());
}

#[test]
fn one_action_per_pod_with_documented_precedence() {
    let set = policies(
        r#"
[[policy]]
name = "b-terminate"
action = "terminate"
allow_terminate = true
[policy.match]
idle_for = "6h"

[[policy]]
name = "a-stop"
action = "stop"
[policy.match]
idle_for = "6h"

[[policy]]
name = "report-idle"
action = "report"
[policy.match]
idle_for = "1h"
"#,
    );
    let f = fleet(vec![idle(pod("wkr_1"), Duration::hours(9))]);
    let p = plan(&f, &set);
    // Same priority: the least destructive action wins; the other is recorded.
    assert_eq!(targets(&p), vec![("wkr_1", "stop", "a-stop")]);
    assert_eq!(p.actions[0].also_matched, vec!["b-terminate".to_string()]);
    assert_eq!(
        p.reported.len(),
        1,
        "report-only policies never take the action slot"
    );
    // A higher priority wins over a less destructive action.
    let raised = policies(
        r#"
[[policy]]
name = "b-terminate"
action = "terminate"
allow_terminate = true
priority = 5
[policy.match]
idle_for = "6h"

[[policy]]
name = "a-stop"
action = "stop"
[policy.match]
idle_for = "6h"
"#,
    );
    assert_eq!(
        targets(&plan(&f, &raised)),
        vec![("wkr_1", "terminate", "b-terminate")]
    );
}

#[test]
fn a_circuit_breaker_refuses_the_whole_policy_never_a_subset() {
    let many: Vec<Pod> = (0..6)
        .map(|i| idle(pod(&format!("wkr_{i}")), Duration::hours(9)))
        .collect();
    let f = fleet(many);
    for limits in [
        "max_actions = 5",
        "max_fleet_share = \"50%\"",
        "max_per_day = { USD = \"200.00\" }",
        "max_per_day = { INR = \"1.00\" }",
    ] {
        let set = policies(&format!("{IDLE}[policy.limits]\n{limits}\n"));
        let p = plan(&f, &set);
        assert!(p.actions.is_empty(), "{limits}: no partial subset");
        assert!(p.summary.breaker_tripped, "{limits}");
        assert!(
            p.blocked.iter().any(|b| b.policy == "stop-idle"
                && b.target == "*"
                && b.why.contains("circuit breaker")),
            "{limits}: {:?}",
            p.blocked
        );
    }
    // Within the limits, everything is planned.
    let set = policies(&format!(
        "{IDLE}[policy.limits]\nmax_actions = 6\nmax_per_day = {{ USD = \"400.00\" }}\n"
    ));
    let p = plan(&f, &set);
    assert_eq!((p.actions.len(), p.summary.breaker_tripped), (6, false));
    // The global breaker refuses the whole plan.
    let global = PlanSettings {
        limits: podwarden::policy::Limits {
            max_actions: Some(3),
            ..Default::default()
        },
        ..PlanSettings::default()
    };
    let p = plan_at(&f, &policies(IDLE), &global, now());
    assert!(p.actions.is_empty() && p.summary.breaker_tripped);
    assert!(p
        .blocked
        .iter()
        .any(|b| b.policy == "*" && b.why.contains("global")));
}

#[test]
fn schedules_restrict_a_policy_to_its_window_in_its_time_zone() {
    let set = policies(&format!(
        "{IDLE}[policy.schedule]\ndays = [\"mon\", \"tue\", \"wed\", \"thu\", \"fri\"]\nfrom = \"19:00\"\nto = \"07:00\"\ntimezone = \"Europe/Berlin\"\n"
    ));
    let f = fleet(vec![idle(pod("wkr_idle"), Duration::hours(30))]);
    let at = |s: &str| {
        DateTime::parse_from_rfc3339(s)
            .expect("time")
            .with_timezone(&Utc)
    };
    // Wednesday 23:30 in Berlin (22:30 UTC): inside.
    assert_eq!(
        plan_at(
            &f,
            &set,
            &PlanSettings::default(),
            at("2026-11-18T22:30:00Z")
        )
        .actions
        .len(),
        1
    );
    // Thursday 06:30 in Berlin: still Wednesday's window.
    assert_eq!(
        plan_at(
            &f,
            &set,
            &PlanSettings::default(),
            at("2026-11-19T05:30:00Z")
        )
        .actions
        .len(),
        1
    );
    // Wednesday 12:00 in Berlin: outside, and the plan says so.
    let p = plan_at(
        &f,
        &set,
        &PlanSettings::default(),
        at("2026-11-18T11:00:00Z"),
    );
    assert!(p.actions.is_empty());
    assert!(p
        .blocked
        .iter()
        .any(|b| b.target == "*" && b.why.contains("outside its schedule")));
    // Saturday 23:30 in Berlin: not a listed day.
    assert!(plan_at(
        &f,
        &set,
        &PlanSettings::default(),
        at("2026-11-21T22:30:00Z")
    )
    .actions
    .is_empty());
    // Saturday 01:00 in Berlin: Friday's window, still open.
    assert_eq!(
        plan_at(
            &f,
            &set,
            &PlanSettings::default(),
            at("2026-11-21T00:00:00Z")
        )
        .actions
        .len(),
        1
    );
}

#[test]
fn generic_where_conditions_and_labels_select_what_they_say() {
    let mut big = idle(pod("wkr_big"), Duration::hours(9));
    big.gpu_count = 8;
    big.labels.insert("team".into(), "vision".into());
    let mut small = idle(pod("wkr_small"), Duration::hours(9));
    small.project = None;
    let f = fleet(vec![big, small]);
    let select = |cond: &str| {
        let set = policies(&format!(
            "[[policy]]\nname = \"p\"\naction = \"report\"\n[policy.match]\n{cond}\n"
        ));
        let mut t: Vec<String> = plan(&f, &set)
            .reported
            .iter()
            .map(|r| r.target.clone())
            .collect();
        t.sort();
        t
    };
    assert_eq!(
        select("where = [{ field = \"gpu_count\", op = \">=\", value = 2 }]"),
        vec!["wkr_big"]
    );
    assert_eq!(
        select("where = [{ field = \"project\", op = \"!=\", value = \"research\" }]"),
        vec!["wkr_small"],
        "a missing project is not equal"
    );
    assert_eq!(
        select("where = [{ field = \"project\", op = \"not in\", value = [\"research\"] }]"),
        vec!["wkr_small"]
    );
    assert_eq!(
        select("where = [{ field = \"name\", op = \"glob\", value = \"wkr_b*\" }]"),
        vec!["wkr_big"]
    );
    assert_eq!(
        select("where = [{ field = \"hourly_rate\", op = \">\", value = \"2.00 USD\" }]"),
        vec!["wkr_big", "wkr_small"]
    );
    assert_eq!(
        select("where = [{ field = \"idle\", op = \">\", value = \"10h\" }]"),
        Vec::<String>::new()
    );
    assert_eq!(select("labels = { team = \"vision\" }"), vec!["wkr_big"]);
    assert_eq!(select("labels_absent = [\"team\"]"), vec!["wkr_small"]);
}

#[test]
fn validation_collects_every_problem_across_files_with_stable_codes() {
    let a =
        "[[policy]]\nname = \"same\"\naction = \"stop\"\n[policy.match]\nstatus = \"running\"\n";
    let b = r#"[[policy]]
name = "same"
action = "stop"
priority = "high"
reason = "idle {idle_hourz}h"
[policy.match]
where = [{ field = "gpu_cnt", op = ">=", value = 2 }]
status = "sleeping"
"#;
    let diags = load_sources(&[
        (PathBuf::from("a.toml"), a.into()),
        (PathBuf::from("b.toml"), b.into()),
    ])
    .unwrap_err();
    let found: Vec<(String, usize, usize, &str)> = diags
        .iter()
        .map(|d| (d.file.display().to_string(), d.line, d.column, d.code))
        .collect();
    assert_eq!(
        found,
        vec![
            ("b.toml".into(), 2, 8, "P008"),
            ("b.toml".into(), 4, 12, "P003"),
            ("b.toml".into(), 5, 10, "P009"),
            ("b.toml".into(), 7, 20, "P010"),
            ("b.toml".into(), 8, 10, "P006"),
        ],
        "{diags:#?}"
    );
    assert!(diags
        .iter()
        .any(|d| d.hint.as_deref() == Some("did you mean `idle_hours`?")));
    assert!(diags
        .iter()
        .any(|d| d.hint.as_deref() == Some("did you mean `gpu_count`?")));
    let duplicate = diags
        .iter()
        .find(|d| d.code == "P008")
        .expect("duplicate reported");
    assert!(
        duplicate
            .hint
            .as_deref()
            .is_some_and(|h| h.contains("a.toml:1")),
        "{:?}",
        duplicate.hint
    );
}

#[test]
fn a_policy_without_a_reason_gets_a_readable_default() {
    let set = policies(
        "[[policy]]\nname = \"plain\"\naction = \"stop\"\n[policy.match]\nidle_for = \"6h\"\n",
    );
    let p = plan(&fleet(vec![idle(pod("wkr_1"), Duration::hours(9))]), &set);
    assert_eq!(
        p.actions[0].reason,
        "stop wkr_1 ($59.76/day) by policy plain"
    );
}

#[test]
fn a_terminate_that_rests_on_idleness_carries_the_activity_precondition_apply_checks() {
    let set = policies(
        r#"
[[policy]]
name = "terminate-long-idle"
action = "terminate"
allow_terminate = true
[policy.match]
status = "running"
idle_for = "3d"
"#,
    );
    let f = fleet(vec![idle(pod("wkr_idle"), Duration::days(4))]);
    let p = plan(&f, &set);
    let a = p.actions.first().expect("a terminate");
    assert_eq!(a.action.as_str(), "terminate");
    assert_eq!(
        a.preconditions.get("activity").map(String::as_str),
        Some("idle"),
        "{:?}",
        a.preconditions
    );
    assert!(a.preconditions.contains_key("idle_since"));
}

#[test]
fn only_pods_a_policy_could_act_on_need_their_utilisation_read() {
    use podwarden::plan::candidates::needing_signals;
    use podwarden::plan::notice::{Notice, NoticeKey};
    let unread = |target: &str| {
        let mut p = pod(target);
        p.activity = Activity::Unknown {
            why: "utilisation not read".into(),
        };
        p
    };
    let mut protected = unread("wkr_protected");
    protected
        .labels
        .insert("podwarden/protect".into(), "true".into());
    let mut stopped = unread("wkr_stopped");
    stopped.status = PodStatus::Stopped;
    let f = fleet(vec![unread("wkr_a"), unread("wkr_b"), protected, stopped]);
    let settings = PlanSettings::default();
    let set = policies(IDLE);
    let rows = needing_signals(&f, &set, &settings, now()).expect("evaluates");
    let names: Vec<&str> = rows.iter().map(|&r| f.pods[r].target.as_str()).collect();
    assert_eq!(
        names,
        vec!["wkr_a", "wkr_b"],
        "not the protected, not the stopped"
    );
    // A report-only policy needs no reads.
    let report = policies(
        "[[policy]]\nname = \"r\"\naction = \"report\"\n[policy.match]\nstatus = \"running\"\nidle_for = \"6h\"\n",
    );
    assert!(needing_signals(&f, &report, &settings, now())
        .expect("evaluates")
        .is_empty());
    // A notice policy outside its schedule (now is 22:30 UTC) re-checks only the pods it holds
    // a notice for.
    let noticed = policies(
        "[[policy]]\nname = \"n\"\naction = \"stop\"\nnotice = \"24h\"\n\
         [policy.schedule]\nfrom = \"08:00\"\nto = \"18:00\"\ntimezone = \"UTC\"\n\
         [policy.match]\nstatus = \"running\"\nidle_for = \"6h\"\n",
    );
    assert!(needing_signals(&f, &noticed, &settings, now())
        .expect("evaluates")
        .is_empty());
    let mut held = settings.clone();
    held.notices.insert(
        NoticeKey {
            provider: "argus".into(),
            target: "wkr_b".into(),
            policy: "n".into(),
            action: "stop".into(),
        },
        Notice {
            incarnation: now() - Duration::days(2),
            first_matched: now() - Duration::hours(3),
            last_matched: now() - Duration::hours(3),
            due_at: now() + Duration::hours(21),
        },
    );
    let rows = needing_signals(&f, &noticed, &held, now()).expect("evaluates");
    let names: Vec<&str> = rows.iter().map(|&r| f.pods[r].target.as_str()).collect();
    assert_eq!(names, vec!["wkr_b"]);
}
