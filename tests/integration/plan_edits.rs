//! Apply never widens a plan: every action of a plan file is derived again from the policies
//! on disk and the fleet as it is when applying. Hand edits — a stop turned into a terminate,
//! a target swapped for a busy pod, rewritten preconditions, an added action, a policy name
//! changed to one that may terminate — are reported as not re-derived and never sent (the
//! sandbox's audit stays empty for them); a plan with only deletions applies the rest.

use std::path::Path;
use std::process::Output;

use podwarden::state::journal::Filter;
use serde_json::Value;

use crate::support::apply::*;
use crate::support::*;

const SCENARIO: &str = r#"
[[worker]]
id = "wkr_idle_a"
last_started = "-20d"
activity = { idle_since = "-9h" }

[[worker]]
id = "wkr_idle_b"
last_started = "-20d"
activity = { idle_since = "-9h" }

[[worker]]
id = "wkr_busy"
last_started = "-20d"
activity = "busy"

[[worker]]
id = "wkr_protected"
last_started = "-20d"
activity = { idle_since = "-9h" }
labels = { "podwarden/protect" = "true" }

# Resumed with a TTL that ran out two hours ago: stop-expired-ttl stops it (no terminate).
[[worker]]
id = "wkr_ttl"
last_started = "-5h"
ttl_expires = "-2h"
activity = "busy"

[[orphan]]
pod_id = "pod_left"
orphaned_since = "-10d"
"#;

const STOP_EXPIRED_TTL: &str = "[[policy]]\nname = \"stop-expired-ttl\"\naction = \"stop\"\n\
    priority = 20\n[policy.match]\nstatus = \"running\"\nttl = \"expired\"\n";

fn policies() -> String {
    format!("{STOP_IDLE}{STOP_EXPIRED_TTL}{TERMINATE_ORPHANS}")
}

fn action_on(plan: &Value, target: &str) -> Value {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["target"] == target)
        .unwrap_or_else(|| panic!("an action on {target}: {plan}"))
        .clone()
}

/// Writes `plan` with exactly `actions` and applies it with `--yes`.
fn apply_with(dir: &Path, plan: &Value, actions: Vec<Value>) -> Output {
    let mut edited = plan.clone();
    edited["actions"] = Value::Array(actions);
    std::fs::write(dir.join("plan.json"), edited.to_string()).expect("plan written");
    apply(dir, &["--yes"])
}

/// The printed line of `target`'s action.
fn line_of(out: &Output, target: &str) -> String {
    let stdout = text(&out.stdout);
    stdout
        .lines()
        .find(|l| l.contains(target) && !l.starts_with("  "))
        .unwrap_or_else(|| panic!("a line for {target} in:\n{stdout}"))
        .to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn edited_plan_actions_are_not_re_derived_and_never_sent() {
    let s = sandbox_with(SCENARIO, 60, 0).await;
    let dir = apply_workspace(&s, &policies(), &[]);
    let plan = plan_file(dir.path());
    let idle_a = action_on(&plan, "wkr_idle_a");
    let ttl = action_on(&plan, "wkr_ttl");
    assert_eq!(ttl["policy"], "stop-expired-ttl");

    // (edit, target, expected exit, words the line must hold)
    let mut cases: Vec<(&str, Vec<Value>, &str, i32, &str)> = Vec::new();

    let mut terminate = ttl.clone();
    terminate["action"] = "terminate".into();
    cases.push((
        "a stop turned into a terminate",
        vec![terminate],
        "wkr_ttl",
        3,
        "plans stop, not terminate",
    ));

    let mut swapped = idle_a.clone();
    swapped["target"] = "wkr_busy".into();
    swapped["pod_id"] = "pod_busy".into();
    cases.push((
        "the target swapped for a busy pod",
        vec![swapped.clone()],
        "wkr_busy",
        3,
        "idempotency key does not belong to a stop of wkr_busy",
    ));

    let mut rewritten = swapped;
    rewritten["preconditions"] = serde_json::json!({ "status": "running" });
    cases.push((
        "a busy target with its preconditions rewritten to pass",
        vec![rewritten],
        "wkr_busy",
        0,
        "conditions do not hold",
    ));

    let mut widened = idle_a.clone();
    widened["preconditions"]["lease"] = "override".into();
    cases.push((
        "preconditions rewritten to override a lease",
        vec![widened],
        "wkr_idle_a",
        3,
        "precondition lease",
    ));

    let mut added = idle_a.clone();
    added["id"] = "act_added".into();
    added["target"] = "wkr_protected".into();
    added["pod_id"] = "pod_protected".into();
    added["idempotency_key"] = "added-by-hand".into();
    cases.push((
        "an added action",
        vec![added],
        "wkr_protected",
        3,
        "idempotency key does not belong",
    ));

    let mut renamed = idle_a.clone();
    renamed["policy"] = "terminate-orphans".into();
    renamed["action"] = "terminate".into();
    cases.push((
        "the policy renamed to one that may terminate",
        vec![renamed],
        "wkr_idle_a",
        3,
        "acts on orphans, not on a pod",
    ));

    let mut rekeyed = idle_a.clone();
    rekeyed["idempotency_key"] = "f".repeat(64).into();
    cases.push((
        "a forged idempotency key",
        vec![rekeyed],
        "wkr_idle_a",
        3,
        "idempotency key does not belong",
    ));

    for (edit, actions, target, exit, words) in cases {
        let key = actions[0]["idempotency_key"]
            .as_str()
            .expect("a key")
            .to_string();
        let out = apply_with(dir.path(), &plan, actions);
        let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
        assert_eq!(out.status.code(), Some(exit), "{edit}:\n{all}");
        let line = line_of(&out, target);
        assert!(
            line.contains("not re-derived") && line.contains(words),
            "{edit}: {line}\n{all}"
        );
        assert!(
            text(&out.stdout).contains("did not re-derive"),
            "{edit}: counted\n{all}"
        );
        // Refused edits are not journalled (their key may be forged); a skip is, only under
        // a key that is provably the target's own.
        let records = journal(dir.path()).map_or_else(Vec::new, |j| {
            j.query(&Filter::default()).expect("journal reads")
        });
        let under_key: Vec<_> = records
            .iter()
            .filter(|r| r.new.idempotency_key == key)
            .collect();
        if exit == 3 {
            assert!(under_key.is_empty(), "{edit}: journalled {under_key:?}");
        }
        assert!(
            records
                .iter()
                .all(|r| r.new.target != "wkr_busy" && r.new.target != "wkr_protected"),
            "{edit}: no record under another target's key"
        );
    }
    // Nothing any edit asked for reached the provider.
    let audit = audit_by_target(&s).await;
    assert!(audit.is_empty(), "{audit:?}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_plan_with_only_deletions_applies_the_rest() {
    let s = sandbox_with(SCENARIO, 60, 0).await;
    let dir = apply_workspace(&s, &policies(), &[]);
    let plan = plan_file(dir.path());
    // Kept: two stops, one with its start spelled `Z` instead of `+00:00` (the same instant).
    let mut idle_a = action_on(&plan, "wkr_idle_a");
    let started = idle_a["preconditions"]["started_at"]
        .as_str()
        .expect("a start")
        .to_string();
    assert!(started.ends_with("+00:00"), "{started}");
    idle_a["preconditions"]["started_at"] = started.replace("+00:00", "Z").into();
    let ttl = action_on(&plan, "wkr_ttl");
    let out = apply_with(dir.path(), &plan, vec![idle_a, ttl]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("2 accepted (2 verified"), "{stdout}");
    assert!(!stdout.contains("did not re-derive"), "{stdout}");
    let audit = audit_by_target(&s).await;
    let acted: Vec<&str> = audit.keys().map(String::as_str).collect();
    assert_eq!(acted, ["wkr_idle_a", "wkr_ttl"], "deleted ones untouched");
    assert!(audit.values().all(|ops| ops.len() == 1));
    s.stop().await;
}

/// A token the provider rejects at apply time: nothing can be derived, so nothing is sent
/// or journalled, and the exit is the configuration error's (2), not "actions failed".
#[tokio::test(flavor = "multi_thread")]
async fn a_rejected_token_at_apply_exits_2_and_journals_nothing() {
    let s = sandbox_with(SCENARIO, 60, 0).await;
    let dir = apply_workspace(&s, &policies(), &[]);
    plan_file(dir.path());
    let out = podwarden_as(
        dir.path(),
        "not-a-token",
        &["apply", "plan.json", "--config", "podwarden.toml"],
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("nothing was sent or journalled"), "{all}");
    let records = journal(dir.path()).map_or(0, |j| {
        j.query(&Filter::default()).expect("journal reads").len()
    });
    assert_eq!(records, 0);
    assert!(audit_by_target(&s).await.is_empty());
    s.stop().await;
}

/// The global breaker would refuse the plan now (`[limits] max_actions` lowered after the
/// review): nothing is sent, each action says why, and the exit is the breaker's (4).
#[tokio::test(flavor = "multi_thread")]
async fn a_breaker_that_refuses_the_plan_at_apply_time_exits_4_and_sends_nothing() {
    let s = sandbox_with(SCENARIO, 60, 0).await;
    let dir = apply_workspace(&s, &policies(), &[]);
    let plan = plan_file(dir.path());
    assert!(plan["actions"].as_array().expect("actions").len() >= 3);
    let config = dir.path().join("podwarden.toml");
    let text_of = std::fs::read_to_string(&config).expect("config");
    assert!(text_of.contains("max_actions = 1000"));
    std::fs::write(
        &config,
        text_of.replacen("max_actions = 1000", "max_actions = 1", 1),
    )
    .expect("config");
    let out = apply(dir.path(), &["--yes"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(4), "{stdout}{}", text(&out.stderr));
    assert!(
        stdout.contains("not re-derived: global circuit breaker"),
        "{stdout}"
    );
    assert!(audit_by_target(&s).await.is_empty());
    s.stop().await;
}
