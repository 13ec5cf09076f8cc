//! Reading the plan file (`plan::file`) as other tools and people write it: what it accepts
//! as podwarden always did (USD fields left out, blanks around an amount), what it refuses
//! with exit 2 before anything is sent (a key twice, an amount that is not a plain decimal),
//! and the tables that print its typed actions keeping their columns.

use std::path::Path;

use serde_json::Value;

use crate::support::apply::*;
use crate::support::*;

fn stop_idle_workspace_plan(s: &podwarden::sandbox::RunningSandbox) -> (tempfile::TempDir, Value) {
    let dir = apply_workspace(s, STOP_IDLE, &[]);
    let plan = plan_file(dir.path());
    assert_eq!(plan["actions"].as_array().map(Vec::len), Some(2), "{plan}");
    (dir, plan)
}

fn parse(text: &str) -> Result<podwarden::plan::Plan, podwarden::plan::file::PlanFileError> {
    podwarden::plan::file::parse(text, Path::new("plan.json"))
}

/// `hourly_rate_usd` / `est_savings_usd_per_day` left out (a tool that omits nulls, a person
/// who deleted them) read as `null`, as they always did.
#[tokio::test(flavor = "multi_thread")]
async fn an_action_without_its_usd_fields_is_applied() {
    let s = sandbox_with(&idle_workers(2), 60, 0).await;
    let (dir, mut plan) = stop_idle_workspace_plan(&s);
    for a in plan["actions"].as_array_mut().expect("actions") {
        let a = a.as_object_mut().expect("an action");
        a.remove("hourly_rate_usd");
        a.remove("est_savings_usd_per_day");
    }
    let text = plan.to_string();
    if let Err(e) = parse(&text) {
        // Show the exit code too, so that the report can quote it.
        std::fs::write(dir.path().join("plan.json"), &text).expect("plan written");
        let out = apply(dir.path(), &[]);
        panic!(
            "refused (exit {:?}), read before the change: {e}\n{}",
            out.status.code(),
            text_of(&out)
        );
    }
    std::fs::write(dir.path().join("plan.json"), &text).expect("plan written");
    let out = apply(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));
}

/// A key twice: a file whose first `actions` is the empty list a reviewer approved and whose
/// second (appended by a tool or a merge) holds stops is refused (exit 2), nothing is sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_file_with_a_key_twice_is_refused_and_nothing_is_sent() {
    let s = sandbox_with(&idle_workers(2), 60, 0).await;
    let (dir, plan) = stop_idle_workspace_plan(&s);
    let stops = plan["actions"].clone();
    let mut reviewed = plan.clone();
    reviewed["actions"] = Value::Array(Vec::new());
    let mut text = serde_json::to_string_pretty(&reviewed).expect("json");
    let end = text.rfind('}').expect("an object");
    text.truncate(end);
    text.push_str(&format!(",\n  \"actions\": {stops}\n}}\n"));
    assert_eq!(text.matches("\"actions\"").count(), 2, "{text}");
    std::fs::write(dir.path().join("plan.json"), &text).expect("plan written");
    let parsed = parse(&text);
    let out = apply(dir.path(), &[]);
    let sent = audit_by_target(&s).await;
    assert!(
        parsed.is_err(),
        "a duplicated key is read (last wins: {} actions); apply exit {:?}, sent {:?}\n{}",
        parsed.as_ref().map(|p| p.actions.len()).unwrap_or(0),
        out.status.code(),
        sent.keys().collect::<Vec<_>>(),
        text_of(&out)
    );
    assert_eq!(out.status.code(), Some(2), "{}", text_of(&out));
    assert!(sent.is_empty(), "nothing sent: {sent:?}");
}

/// The same inside one action: `"action": "stop"` first, `"action": "terminate"` last.
#[test]
fn an_action_with_a_word_twice_is_refused() {
    let text = r#"{"version": 1, "run_id": "r", "generated_at": "2026-11-21T02:00:00Z",
        "evaluated_at": "2026-11-21T02:00:00Z", "policies_sha256": "0", "blocked": [],
        "actions": [{"id": "act_1", "provider": "argus", "target": "wkr_1", "pod_id": "pod_1",
          "kind": "pod", "action": "stop", "policy": "p", "reason": "idle 9h",
          "hourly_rate_usd": "2.4900", "est_savings_usd_per_day": "59.76",
          "hourly_rate": "2.4900", "est_savings_per_day": "59.76", "currency": "USD",
          "idempotency_key": "k1", "preconditions": {}, "action": "terminate"}]}"#;
    match parse(text) {
        Ok(plan) => panic!("read, with action {}", plan.actions[0].action),
        Err(e) => assert!(e.to_string().contains("\"action\" appears twice"), "{e}"),
    }
}

/// An amount is never guessed: one that is not a plain decimal refuses the file (exit 2,
/// nothing sent) wherever it stands, also where apply does not read it (the summary, a pending
/// entry: a file that says "about 120" was not written by podwarden); blanks around an amount
/// are only blanks.
#[tokio::test(flavor = "multi_thread")]
async fn an_amount_that_is_not_a_decimal_refuses_the_plan_and_blanks_do_not() {
    let s = sandbox_with(&idle_workers(2), 60, 0).await;
    let (dir, plan) = stop_idle_workspace_plan(&s);
    let mut trailing = plan.clone();
    trailing["actions"][0]["est_savings_per_day"] = "59.76 ".into();
    std::fs::write(dir.path().join("plan.json"), trailing.to_string()).expect("plan written");
    let out = apply(dir.path(), &["--print-requests"]);
    assert_eq!(out.status.code(), Some(0), "{}", text_of(&out));

    let mut summary = plan.clone();
    summary["summary"]["est_savings_per_day"]["USD"] = "about 120".into();
    let mut pending = plan.clone();
    pending["pending"] = serde_json::json!([{
        "policy": "stop-idle", "provider": "argus", "target": "wkr_9", "pod_id": "pod_9",
        "kind": "pod", "action": "stop", "reason": "idle", "first_matched": "2026-11-20T02:00:00Z",
        "due_at": "2026-11-23T02:00:00Z",
        "incarnation": "2026-11-01T00:00:00Z", "est_savings_per_day": "n/a", "currency": "USD"
    }]);
    for (what, edited, place) in [
        (
            "the summary's savings",
            summary,
            "summary.est_savings_per_day",
        ),
        (
            "a pending entry's savings",
            pending,
            "pending[0].est_savings_per_day",
        ),
    ] {
        std::fs::write(dir.path().join("plan.json"), edited.to_string()).expect("plan written");
        let out = apply(dir.path(), &[]);
        let said = text_of(&out);
        assert_eq!(out.status.code(), Some(2), "{what}: {said}");
        assert!(
            said.contains(place) && said.contains("is not a decimal amount"),
            "{what}: {said}"
        );
    }
    assert!(audit_by_target(&s).await.is_empty(), "nothing sent");
}

/// Exponents and digit separators are not plain decimals (`Decimal::from_str` would read
/// `"1e3"` as 1000 and `"1_000"` too).
#[test]
fn an_exponent_or_separator_in_an_amount_is_refused() {
    let text = r#"{"version": 1, "run_id": "r", "generated_at": "2026-11-21T02:00:00Z",
        "evaluated_at": "2026-11-21T02:00:00Z", "policies_sha256": "0", "blocked": [],
        "actions": [{"id": "act_1", "provider": "argus", "target": "wkr_1", "pod_id": "pod_1",
          "kind": "pod", "action": "stop", "policy": "p", "reason": "idle 9h",
          "hourly_rate_usd": null, "est_savings_usd_per_day": null,
          "hourly_rate": "1e3", "est_savings_per_day": "1_000", "currency": "USD",
          "idempotency_key": "k1", "preconditions": {}}]}"#;
    match parse(text) {
        Ok(plan) => panic!(
            "read: hourly_rate {} est_savings_per_day {}",
            plan.actions[0].hourly_rate, plan.actions[0].est_savings_per_day
        ),
        Err(e) => {
            let said = e.to_string();
            // One problem per entry: its first field in key order.
            assert!(
                said.contains("actions[0].est_savings_per_day: \"1_000\" is not a decimal"),
                "{said}"
            );
        }
    }
}

fn text_of(out: &std::process::Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

/// The typed action pads as its word did: the plan table (which `plan`, `run` and the finance
/// mail print) and the outcome table of `apply` keep their columns.
#[tokio::test(flavor = "multi_thread")]
async fn the_plan_and_apply_tables_keep_their_columns() {
    let s = sandbox_with(&idle_workers(2), 60, 0).await;
    let (dir, _plan) = stop_idle_workspace_plan(&s);
    let out = podwarden_as(dir.path(), READER, &["plan", "--config", "podwarden.toml"]);
    let stdout = text(&out.stdout);
    let line = stdout
        .lines()
        .find(|l| l.contains("wkr_0000"))
        .unwrap_or_else(|| panic!("a line for wkr_0000:\n{stdout}"));
    let want = format!("{:<10} {:<9} {:<16} ", "stop", "argus", "wkr_0000");
    let applied = apply(dir.path(), &[]);
    let applied_out = text(&applied.stdout);
    let applied_line = applied_out
        .lines()
        .find(|l| l.contains("wkr_0000"))
        .unwrap_or_else(|| panic!("an outcome line for wkr_0000:\n{applied_out}"));
    let want_applied = format!(
        "{:<12} {:<10} {:<9} {:<18} ",
        "accepted", "stop", "argus", "wkr_0000"
    );
    assert!(
        line.starts_with(&want) && applied_line.starts_with(&want_applied),
        "plan table:\n  {line:?}\nwanted it to start with\n  {want:?}\napply table:\n  \
         {applied_line:?}\nwanted it to start with\n  {want_applied:?}"
    );
}
