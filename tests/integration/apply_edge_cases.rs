//! Acting when things go wrong: hand-edited plans, crashes that lost an answer, a
//! provider down during re-check or verification, journal records of earlier runs the plan no
//! longer carries, terminates without `--yes` after a crash, and two applies at once. The real
//! executable against an in-process sandbox over HTTP; the journal is prepared through its
//! own API where a crash must be staged at an exact point.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Output, Stdio};
use std::time::Duration;

use chrono::Utc;
use podwarden::fleet::ResourceKind;
use podwarden::providers::{OpKind, Operation, Provider, Receipt};
use podwarden::sandbox::RunningSandbox;
use podwarden::state::journal::{Filter, Journal, NewRecord, Record, Stage};

use crate::support::apply::*;
use crate::support::*;

fn write_plan(dir: &Path, plan: &serde_json::Value) {
    std::fs::write(dir.join("plan.json"), plan.to_string()).expect("plan written");
}

fn all_output(out: &Output) -> String {
    format!("{}{}", text(&out.stdout), text(&out.stderr))
}

fn db(dir: &Path) -> std::path::PathBuf {
    dir.join("state/podwarden.db")
}

fn records(dir: &Path) -> Vec<Record> {
    Journal::open_existing(&db(dir))
        .expect("journal opens")
        .map(|j| j.query(&Filter::default()).expect("journal reads"))
        .unwrap_or_default()
}

/// Latest stage per target.
fn last_stages(dir: &Path) -> BTreeMap<String, Stage> {
    records(dir)
        .into_iter()
        .map(|r| (r.new.target.clone(), r.new.stage))
        .collect()
}

/// A journal record of the plan action `a` (plan JSON) at `stage`, as run `run_id`.
fn staged(a: &serde_json::Value, run_id: &str, stage: Stage) -> NewRecord {
    let s = |k: &str| a[k].as_str().unwrap_or_default().to_string();
    NewRecord {
        run_id: run_id.into(),
        action_id: s("id"),
        idempotency_key: s("idempotency_key"),
        provider: s("provider"),
        target: s("target"),
        pod_id: s("pod_id"),
        kind: s("kind"),
        action: s("action"),
        policy: s("policy"),
        reason: s("reason"),
        stage,
        http_status: None,
        operation_id: None,
        audit_id: None,
        detail: None,
        est_savings_per_day: Some(s("est_savings_per_day")),
        currency: Some(s("currency")),
        at: Utc::now(),
    }
}

/// Sends the plan action `a` (a stop of a worker) to the sandbox with its own key, as a run
/// that crashed would have: the provider acted, podwarden never journalled the answer.
async fn send_behind_podwardens_back(s: &RunningSandbox, a: &serde_json::Value) -> Receipt {
    argus(s, ADMIN)
        .execute(&Operation {
            kind: ResourceKind::Pod,
            target: a["target"].as_str().expect("target").into(),
            op: OpKind::Stop,
            reason: a["reason"].as_str().expect("reason").into(),
            ttl_hours: None,
            idempotency_key: a["idempotency_key"].as_str().expect("key").into(),
            confirm: false,
        })
        .await
        .expect("the stop is accepted")
}

fn action_for<'a>(plan: &'a serde_json::Value, target: &str) -> &'a serde_json::Value {
    plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .find(|a| a["target"] == target)
        .unwrap_or_else(|| panic!("an action on {target}: {plan}"))
}

/// Finding: two actions of a hand-edited plan sharing one idempotency key. The provider
/// replays the first one's answer for the second, so the second target was journalled as
/// accepted (with the first one's operation id) although nothing was done to it.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_whose_actions_share_an_idempotency_key_is_refused_before_anything_is_sent() {
    let s = sandbox_with(&idle_workers(2), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let mut plan = plan_file(dir.path());
    let key = plan["actions"][0]["idempotency_key"].clone();
    plan["actions"][1]["idempotency_key"] = key;
    write_plan(dir.path(), &plan);
    let out = apply(dir.path(), &[]);
    let all = all_output(&out);
    assert_eq!(out.status.code(), Some(2), "{all}");
    assert!(all.contains("idempotency_key"), "{all}");
    assert!(audit_by_target(&s).await.is_empty(), "nothing sent");
    assert!(records(dir.path()).is_empty(), "nothing journalled");
    s.stop().await;
}

/// Finding: other hand edits. An unknown provider or kind exited 1 (an internal error) instead
/// of 2; a key over 64 characters was sent (400) and a non-ASCII one could not be sent as a
/// header and was retried as a network failure; a target that is not one path segment went
/// into the operation's URL; a duplicated action id was acted on twice.
#[tokio::test(flavor = "multi_thread")]
async fn hand_edited_plans_that_cannot_be_applied_exit_2_and_send_nothing() {
    let s = sandbox_with(&idle_workers(2), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let plan = plan_file(dir.path());
    let first_id = plan["actions"][0]["id"].clone();
    type Edit = Box<dyn Fn(&mut serde_json::Value)>;
    let edits: Vec<(&str, Edit)> = vec![
        (
            "unknown provider",
            Box::new(|p| p["actions"][0]["provider"] = "azure".into()),
        ),
        (
            "unknown kind",
            Box::new(|p| p["actions"][0]["kind"] = "vm".into()),
        ),
        (
            "long key",
            Box::new(|p| p["actions"][0]["idempotency_key"] = "k".repeat(65).into()),
        ),
        (
            "non-ASCII key",
            Box::new(|p| p["actions"][0]["idempotency_key"] = "schlüssel-ключ".into()),
        ),
        (
            "empty key",
            Box::new(|p| p["actions"][0]["idempotency_key"] = "".into()),
        ),
        (
            "path target",
            Box::new(|p| p["actions"][0]["target"] = "../pods/pod_x".into()),
        ),
        (
            "duplicate id",
            Box::new(move |p| p["actions"][1]["id"] = first_id.clone()),
        ),
    ];
    for (what, edit) in edits {
        let mut edited = plan.clone();
        edit(&mut edited);
        write_plan(dir.path(), &edited);
        let out = apply(dir.path(), &[]);
        assert_eq!(out.status.code(), Some(2), "{what}: {}", all_output(&out));
        assert!(audit_by_target(&s).await.is_empty(), "{what}: nothing sent");
        assert!(records(dir.path()).is_empty(), "{what}: nothing journalled");
    }
    s.stop().await;
}

/// Finding: a terminate journalled as sent before a crash that did not arrive was re-sent by
/// a restart without `--yes` (as a terminate without confirmation, refused 428 and reported
/// as FAILED): without `--yes` no terminate may be sent.
#[tokio::test(flavor = "multi_thread")]
async fn a_terminate_sent_before_a_crash_is_held_back_by_a_restart_without_yes() {
    let s = sandbox_with(
        "[[orphan]]\npod_id = \"pod_lost\"\norphaned_since = \"-9d\"\n",
        60,
        0,
    )
    .await;
    let dir = apply_workspace(&s, TERMINATE_ORPHANS, &[]);
    let plan = plan_file(dir.path());
    let a = action_for(&plan, "pod_lost");
    let run = plan["run_id"].as_str().expect("run id");
    {
        let mut j = Journal::open(&db(dir.path())).expect("journal");
        j.append(staged(a, run, Stage::Planned)).expect("planned");
        j.append(staged(a, run, Stage::Sent)).expect("sent");
    }
    let out = apply(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{}", all_output(&out));
    let line = stdout
        .lines()
        .find(|l| l.contains("pod_lost"))
        .unwrap_or_else(|| panic!("pod_lost in {stdout}"));
    assert!(line.starts_with("held back"), "{stdout}");
    assert_eq!(last_stages(dir.path())["pod_lost"], Stage::Skipped);
    assert!(audit_by_target(&s).await.is_empty());
    // With --yes it goes, once.
    let out = apply(dir.path(), &["--yes"]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(audit_by_target(&s).await["pod_lost"].len(), 1);
    s.stop().await;
}

/// Finding: a stop whose request arrived but whose answer was lost (a timeout after the
/// provider acted) was journalled as failed; the next run re-sent it fresh, found the worker
/// stopped and journalled a skip: the journal never recorded the operation the provider
/// accepted.
#[tokio::test(flavor = "multi_thread")]
async fn a_stop_whose_answer_was_lost_is_recovered_by_the_next_run_not_skipped() {
    let s = sandbox_with(&idle_workers(1), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let plan = plan_file(dir.path());
    let a = action_for(&plan, "wkr_0000");
    let receipt = send_behind_podwardens_back(&s, a).await;
    {
        let mut j = Journal::open(&db(dir.path())).expect("journal");
        j.append(staged(a, "run-before", Stage::Planned))
            .expect("planned");
        j.append(staged(a, "run-before", Stage::Sent))
            .expect("sent");
        let mut failed = staged(a, "run-before", Stage::Failed);
        failed.detail = Some("argus: operation timed out".into());
        j.append(failed).expect("failed");
    }
    let out = apply(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(last_stages(dir.path())["wkr_0000"], Stage::Verified);
    let ops: Vec<String> = records(dir.path())
        .into_iter()
        .filter_map(|r| r.new.operation_id)
        .collect();
    assert!(
        receipt
            .operation_id
            .as_ref()
            .is_some_and(|op| ops.contains(op)),
        "the accepted operation is journalled: {ops:?}"
    );
    assert_eq!(audit_by_target(&s).await["wkr_0000"].len(), 1, "once");
    s.stop().await;
}

/// Finding: a re-apply of the same plan after a provider was down (re-check failed) reported
/// the failed actions as "done before" and exited 0, never sending them.
#[tokio::test(flavor = "multi_thread")]
async fn a_re_apply_after_a_provider_was_down_sends_what_failed_and_exits_by_the_outcome() {
    let s = sandbox_with(&idle_workers(1), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    plan_file(dir.path());
    let config = dir.path().join("podwarden.toml");
    let good = std::fs::read_to_string(&config).expect("config");
    let argus_url = format!("http://{}/argus/v1", s.addr);
    assert!(good.contains(&argus_url));
    std::fs::write(
        &config,
        good.replace(&argus_url, "http://127.0.0.1:9/argus/v1"),
    )
    .expect("config");
    let down = apply(dir.path(), &[]);
    assert_eq!(down.status.code(), Some(3), "{}", all_output(&down));
    assert_eq!(last_stages(dir.path())["wkr_0000"], Stage::Failed);
    std::fs::write(&config, &good).expect("config");
    let again = apply(dir.path(), &[]);
    assert_eq!(again.status.code(), Some(0), "{}", all_output(&again));
    assert_eq!(audit_by_target(&s).await["wkr_0000"].len(), 1, "sent now");
    assert_eq!(last_stages(dir.path())["wkr_0000"], Stage::Verified);
    s.stop().await;
}

/// Finding: a re-apply of a plan whose action the provider refused for good (400) reported it
/// as "done before" and exited 0; it must still say failed (exit 3), without re-sending.
#[tokio::test(flavor = "multi_thread")]
async fn a_re_apply_of_a_plan_whose_action_was_refused_still_exits_3() {
    // The provider refuses every operation for good (400). (A hand-edited reason no longer
    // provokes one: apply sends the reason it derives itself.)
    let s = crate::support::sandbox(podwarden::sandbox::SandboxConfig {
        pods: 0,
        now: Some(chrono::Utc::now()),
        faults: vec![podwarden::sandbox::Fault::RefuseOps],
        scenario: Some(podwarden::sandbox::Scenario::parse(&idle_workers(1)).expect("scenario")),
        ..podwarden::sandbox::SandboxConfig::default()
    })
    .await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    plan_file(dir.path());
    let first = apply(dir.path(), &[]);
    assert_eq!(first.status.code(), Some(3), "{}", all_output(&first));
    let sent_before = records(dir.path())
        .iter()
        .filter(|r| r.new.stage == Stage::Sent)
        .count();
    let again = apply(dir.path(), &[]);
    assert_eq!(again.status.code(), Some(3), "{}", all_output(&again));
    assert!(
        text(&again.stdout).contains("FAILED"),
        "{}",
        text(&again.stdout)
    );
    let sent_after = records(dir.path())
        .iter()
        .filter(|r| r.new.stage == Stage::Sent)
        .count();
    assert_eq!(sent_before, sent_after, "not re-sent");
    s.stop().await;
}

/// Finding: an action verified as unverified because the provider could not be read at the
/// time was never looked at again: every later apply called it "done before" (exit 0).
#[tokio::test(flavor = "multi_thread")]
async fn an_action_left_unverified_while_the_provider_was_down_is_verified_again() {
    let s = sandbox_with(&idle_workers(1), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let plan = plan_file(dir.path());
    let a = action_for(&plan, "wkr_0000");
    let run = plan["run_id"].as_str().expect("run id");
    let receipt = send_behind_podwardens_back(&s, a).await;
    {
        let mut j = Journal::open(&db(dir.path())).expect("journal");
        j.append(staged(a, run, Stage::Planned)).expect("planned");
        j.append(staged(a, run, Stage::Sent)).expect("sent");
        let mut accepted = staged(a, run, Stage::Accepted);
        accepted.http_status = Some(202);
        accepted.operation_id = receipt.operation_id.clone();
        accepted.audit_id = receipt.audit_id.clone();
        j.append(accepted).expect("accepted");
        let mut unverified = staged(a, run, Stage::Unverified);
        unverified.detail = Some("could not re-read the target: argus unreachable".into());
        j.append(unverified).expect("unverified");
    }
    let out = apply(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(last_stages(dir.path())["wkr_0000"], Stage::Verified);
    assert_eq!(
        audit_by_target(&s).await["wkr_0000"].len(),
        1,
        "not re-sent"
    );
    s.stop().await;
}

/// Finding: journal records of earlier runs that the current plan no longer carries were
/// never settled: an action accepted before a crash (not verified) stayed `accepted`, and one
/// sent before a crash stayed `sent` for ever (with `run --apply`, the next plan no longer
/// holds a pod that was stopped). Now the accepted one is verified, the sent one that arrived
/// is recovered (its operation id through the same key) and the one that did not is closed as
/// skipped, never sent on the old plan's approval.
#[tokio::test(flavor = "multi_thread")]
async fn actions_of_earlier_runs_missing_from_the_plan_are_verified_recovered_or_closed() {
    let s = sandbox_with(&idle_workers(4), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let mut plan = plan_file(dir.path());
    let old = "run-crashed";
    let (accepted_a, sent_a, unsent_a) = (
        action_for(&plan, "wkr_0000").clone(),
        action_for(&plan, "wkr_0001").clone(),
        action_for(&plan, "wkr_0002").clone(),
    );
    let accepted_receipt = send_behind_podwardens_back(&s, &accepted_a).await;
    let sent_receipt = send_behind_podwardens_back(&s, &sent_a).await;
    {
        let mut j = Journal::open(&db(dir.path())).expect("journal");
        for a in [&accepted_a, &sent_a, &unsent_a] {
            j.append(staged(a, old, Stage::Planned)).expect("planned");
            j.append(staged(a, old, Stage::Sent)).expect("sent");
        }
        let mut accepted = staged(&accepted_a, old, Stage::Accepted);
        accepted.http_status = Some(202);
        accepted.operation_id = accepted_receipt.operation_id.clone();
        accepted.audit_id = accepted_receipt.audit_id.clone();
        j.append(accepted).expect("accepted");
    }
    // This run's plan carries only wkr_0003.
    plan["actions"] = serde_json::Value::Array(vec![action_for(&plan, "wkr_0003").clone()]);
    write_plan(dir.path(), &plan);
    let out = apply(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    let stages = last_stages(dir.path());
    assert_eq!(stages["wkr_0000"], Stage::Verified, "{stages:?}");
    assert_eq!(stages["wkr_0001"], Stage::Verified, "{stages:?}");
    assert_eq!(stages["wkr_0002"], Stage::Skipped, "{stages:?}");
    assert_eq!(stages["wkr_0003"], Stage::Verified, "{stages:?}");
    let ops: Vec<String> = records(dir.path())
        .into_iter()
        .filter_map(|r| r.new.operation_id)
        .collect();
    assert!(
        sent_receipt
            .operation_id
            .as_ref()
            .is_some_and(|op| ops.contains(op)),
        "the operation accepted before the crash is journalled: {ops:?}"
    );
    let audit = audit_by_target(&s).await;
    assert!(
        !audit.contains_key("wkr_0002"),
        "never sent on the old plan"
    );
    assert!(audit.values().all(|ops| ops.len() == 1), "{audit:?}");
    s.stop().await;
}

/// Finding: two `apply` processes on one state file at once both worked through the same
/// actions: each journalled them as sent and accepted (the provider replaying the second) and
/// both spent the one rate budget. The second is now refused (exit 2) while the first runs.
#[tokio::test(flavor = "multi_thread")]
async fn a_second_apply_on_the_same_state_file_is_refused_while_the_first_runs() {
    let n = 30;
    let s = sandbox_with(&idle_workers(n), 2, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[(ARGUS_TOKEN_LINE, &ops_rate("10/2s"))]);
    plan_file(dir.path());
    let first = command_as(
        dir.path(),
        ADMIN,
        &["apply", "plan.json", "--config", "podwarden.toml"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("first apply starts");
    // Once the first has begun sending.
    let started = std::time::Instant::now();
    while !records(dir.path())
        .iter()
        .any(|r| r.new.stage == Stage::Sent)
    {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "the first apply sends"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let second = apply(dir.path(), &[]);
    let first = first.wait_with_output().expect("first exits");
    assert_eq!(first.status.code(), Some(0), "{}", all_output(&first));
    assert_eq!(second.status.code(), Some(2), "{}", all_output(&second));
    assert!(
        all_output(&second).contains("another podwarden apply"),
        "{}",
        all_output(&second)
    );
    let mut sent: BTreeMap<String, usize> = BTreeMap::new();
    for r in records(dir.path())
        .into_iter()
        .filter(|r| r.new.stage == Stage::Sent)
    {
        *sent.entry(r.new.idempotency_key).or_default() += 1;
    }
    assert_eq!(sent.len(), n);
    assert!(
        sent.values().all(|c| *c == 1),
        "each action sent once: {sent:?}"
    );
    s.stop().await;
}

/// Finding: with no actions in the plan (a quiet night of `run --apply`), apply returned
/// before reading the journal, so an action accepted before a crash stayed unverified.
#[tokio::test(flavor = "multi_thread")]
async fn a_plan_with_no_actions_still_verifies_an_earlier_runs_accepted_action() {
    let s = sandbox_with(&idle_workers(1), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let mut plan = plan_file(dir.path());
    let a = action_for(&plan, "wkr_0000").clone();
    let receipt = send_behind_podwardens_back(&s, &a).await;
    {
        let mut j = Journal::open(&db(dir.path())).expect("journal");
        j.append(staged(&a, "run-crashed", Stage::Planned))
            .expect("planned");
        j.append(staged(&a, "run-crashed", Stage::Sent))
            .expect("sent");
        let mut accepted = staged(&a, "run-crashed", Stage::Accepted);
        accepted.http_status = Some(202);
        accepted.operation_id = receipt.operation_id.clone();
        accepted.audit_id = receipt.audit_id.clone();
        j.append(accepted).expect("accepted");
    }
    plan["actions"] = serde_json::Value::Array(vec![]);
    write_plan(dir.path(), &plan);
    let out = apply(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(0), "{}", all_output(&out));
    assert_eq!(last_stages(dir.path())["wkr_0000"], Stage::Verified);
    s.stop().await;
}
