//! `podwarden audit`: the real binary over a journal written through the library, then
//! tampered with directly in SQLite.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use chrono::{DateTime, TimeZone, Utc};
use podwarden::state::journal::{Journal, NewRecord, Stage};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::support::*;

fn at(h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 11, 21, h, 0, 0)
        .single()
        .expect("valid time")
}

#[allow(clippy::too_many_arguments)]
fn record(
    run: &str,
    key: &str,
    provider: &str,
    target: &str,
    action: &str,
    policy: &str,
    stage: Stage,
    h: u32,
) -> NewRecord {
    NewRecord {
        run_id: run.into(),
        action_id: format!("act-{key}"),
        idempotency_key: key.into(),
        provider: provider.into(),
        target: target.into(),
        pod_id: format!("pod-of-{target}"),
        kind: if action == "terminate" {
            "orphan"
        } else {
            "pod"
        }
        .into(),
        action: action.into(),
        policy: policy.into(),
        reason: format!("{action} {target}: idle 9h, burning $59.76/day (policy {policy})"),
        stage,
        http_status: None,
        operation_id: None,
        audit_id: None,
        detail: None,
        est_savings_per_day: Some("59.76".into()),
        currency: Some("USD".into()),
        at: at(h),
    }
}

/// Two runs, five actions, thirteen records:
/// run-a: wkr_1 stop planned → sent → accepted → verified; wkr_2 stop planned → skipped;
///        pod_9 terminate planned → skipped. run-b: ps_1 stop planned → sent → failed (409);
///        wkr_2 stop planned again → sent.
fn fill(path: &Path) {
    let mut j = Journal::open(path).expect("journal opens");
    let stop = |run, key, provider, target, stage, h| {
        record(run, key, provider, target, "stop", "stop-idle", stage, h)
    };
    let mut accepted = stop("run-a", "k1", "argus", "wkr_1", Stage::Accepted, 3);
    accepted.http_status = Some(202);
    accepted.operation_id = Some("op_1".into());
    accepted.audit_id = Some("aud_1".into());
    let mut skipped = stop("run-a", "k2", "argus", "wkr_2", Stage::Skipped, 4);
    skipped.detail = Some("precondition: wkr_2 turned busy since the plan".into());
    let mut no_yes = record(
        "run-a",
        "k3",
        "argus",
        "pod_9",
        "terminate",
        "terminate-orphans",
        Stage::Skipped,
        4,
    );
    no_yes.detail = Some("terminate needs --yes".into());
    let mut failed = stop("run-b", "k4", "podstack", "ps_1", Stage::Failed, 12);
    failed.http_status = Some(409);
    failed.detail = Some("409 conflict: pod is transitioning".into());
    let records = vec![
        stop("run-a", "k1", "argus", "wkr_1", Stage::Planned, 1),
        stop("run-a", "k2", "argus", "wkr_2", Stage::Planned, 1),
        record(
            "run-a",
            "k3",
            "argus",
            "pod_9",
            "terminate",
            "terminate-orphans",
            Stage::Planned,
            1,
        ),
        stop("run-a", "k1", "argus", "wkr_1", Stage::Sent, 2),
        accepted,
        skipped,
        no_yes,
        stop("run-a", "k1", "argus", "wkr_1", Stage::Verified, 5),
        stop("run-b", "k4", "podstack", "ps_1", Stage::Planned, 10),
        stop("run-b", "k4", "podstack", "ps_1", Stage::Sent, 11),
        failed,
        stop("run-b", "k5", "argus", "wkr_2", Stage::Planned, 13),
    ];
    for r in records {
        j.append(r).expect("append");
    }
    let mut sent = stop("run-b", "k5", "argus", "wkr_2", Stage::Sent, 14);
    sent.detail = None;
    j.append(sent).expect("append");
}

/// A temp folder with a filled journal at `state/podwarden.db`.
fn journal() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().expect("temp dir");
    let path = dir.path().join("state/podwarden.db");
    fill(&path);
    (dir, path)
}

fn audit(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    podwarden(dir, &all)
}

fn audit_state(dir: &Path, state: &Path, args: &[&str]) -> Output {
    let state = state.to_str().expect("utf-8 path");
    let mut all = vec!["audit"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--state", state]);
    podwarden(dir, &all)
}

fn tamper(path: &Path, sql: &str) {
    let conn = rusqlite::Connection::open(path).expect("open the state file");
    conn.execute_batch(sql).expect("tamper");
}

fn code(out: &Output) -> i32 {
    out.status.code().expect("exit code")
}

fn lines(out: &Output) -> Vec<Value> {
    assert_eq!(code(out), 0, "stderr: {}", text(&out.stderr));
    text(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("each line is a JSON object"))
        .collect()
}

fn seqs(values: &[Value]) -> Vec<i64> {
    values
        .iter()
        .map(|v| v["seq"].as_i64().expect("seq"))
        .collect()
}

#[test]
fn verify_passes_untouched_then_names_an_edited_record() {
    let (dir, path) = journal();
    let ok = audit_state(dir.path(), &path, &["verify"]);
    let said = text(&ok.stdout);
    assert_eq!(code(&ok), 0, "{said}{}", text(&ok.stderr));
    assert!(said.contains("intact: 13 records"), "{said}");

    tamper(
        &path,
        "UPDATE journal SET reason = 'stopped for no reason' WHERE seq = 5",
    );
    let bad = audit_state(dir.path(), &path, &["verify"]);
    let said = text(&bad.stdout);
    assert_eq!(code(&bad), 8, "{said}{}", text(&bad.stderr));
    assert!(
        said.contains("FAILED verification at record 5")
            && said.contains("record 5 (run run-a, accepted stop of argus wkr_1) was edited"),
        "{said}"
    );
}

#[test]
fn verify_names_a_deleted_middle_record() {
    let (dir, path) = journal();
    tamper(&path, "DELETE FROM journal WHERE seq = 6");
    let bad = audit_state(dir.path(), &path, &["verify"]);
    let said = text(&bad.stdout);
    assert_eq!(code(&bad), 8, "{said}");
    assert!(
        said.contains("at record 6")
            && said.contains("record 6 is missing (deleted)")
            && said.contains("follows record 5 (run run-a, accepted stop of argus wkr_1)"),
        "{said}"
    );
}

#[test]
fn verify_fails_when_the_last_record_is_deleted() {
    let (dir, path) = journal();
    tamper(&path, "DELETE FROM journal WHERE seq = 13");
    let bad = audit_state(dir.path(), &path, &["verify"]);
    let said = text(&bad.stdout);
    assert_eq!(code(&bad), 8, "{said}");
    assert!(
        said.contains("at record 13") && said.contains("deleted at the end"),
        "{said}"
    );
}

#[test]
fn verify_names_a_record_inserted_after_the_head() {
    let (dir, path) = journal();
    // A copy of the last record, with a made-up acceptance, appended behind podwarden's back.
    tamper(
        &path,
        "INSERT INTO journal SELECT 14, hash, run_id, action_id, idempotency_key, provider, \
         target, pod_id, kind, action, policy, reason, 'accepted', 202, 'op_x', audit_id, detail, \
         est_savings_per_day, currency, at, hash FROM journal WHERE seq = 13",
    );
    let bad = audit_state(dir.path(), &path, &["verify"]);
    let said = text(&bad.stdout);
    assert_eq!(code(&bad), 8, "{said}");
    assert!(
        said.contains("record 14 (run run-b, accepted stop of argus wkr_2)")
            && said.contains("inserted"),
        "{said}"
    );
}

#[test]
fn jsonl_parses_line_by_line_and_the_filters_select() {
    let (dir, path) = journal();
    let d = dir.path();
    let q = |args: &[&str]| seqs(&lines(&audit_state(d, &path, args)));

    let latest = lines(&audit_state(d, &path, &["--format", "jsonl"]));
    assert_eq!(
        seqs(&latest),
        vec![6, 7, 8, 11, 13],
        "one per action, latest status"
    );
    let statuses: Vec<&str> = latest
        .iter()
        .map(|v| v["stage"].as_str().expect("stage"))
        .collect();
    assert_eq!(
        statuses,
        vec!["skipped", "skipped", "verified", "failed", "sent"]
    );
    for v in &latest {
        for key in [
            "seq",
            "prev_hash",
            "hash",
            "run_id",
            "action_id",
            "idempotency_key",
            "provider",
            "target",
            "pod_id",
            "kind",
            "action",
            "policy",
            "reason",
            "stage",
            "http_status",
            "operation_id",
            "audit_id",
            "detail",
            "est_savings_per_day",
            "currency",
            "at",
        ] {
            assert!(v.get(key).is_some(), "{key} missing in {v}");
        }
    }
    // k2 was skipped in run-a and planned again in run-b: two actions, one target.
    assert_eq!(
        q(&["list", "--history", "--format", "jsonl"]),
        (1..=13).collect::<Vec<_>>()
    );
    assert_eq!(q(&["--format", "jsonl", "--run", "run-a"]), vec![6, 7, 8]);
    assert_eq!(
        q(&["list", "--format", "jsonl", "--run", "run-b", "--history"]),
        vec![9, 10, 11, 12, 13]
    );
    assert_eq!(q(&["--format", "jsonl", "--target", "wkr_2"]), vec![6, 13]);
    assert_eq!(
        q(&["--format", "jsonl", "--target", "pod-of-pod_9"]),
        vec![7],
        "a target filter matches the pod id too"
    );
    assert_eq!(
        q(&["--format", "jsonl", "--policy", "terminate-orphans"]),
        vec![7]
    );
    assert_eq!(q(&["--format", "jsonl", "--status", "skipped"]), vec![6, 7]);
    assert_eq!(
        q(&["--format", "jsonl", "--status", "sent"]),
        vec![13],
        "latest status: k1 and k4 went past sent"
    );
    assert_eq!(
        q(&["--format", "jsonl", "--status", "sent", "--history"]),
        vec![4, 10, 13]
    );
    assert_eq!(
        q(&[
            "--format",
            "jsonl",
            "--history",
            "--since",
            "2026-11-21T04:00:00Z",
            "--until",
            "2026-11-21T11:00:00Z"
        ]),
        vec![6, 7, 8, 9],
        "since inclusive, until exclusive"
    );
    assert_eq!(
        q(&["--format", "jsonl", "--since", "2026-11-22"]),
        Vec::<i64>::new()
    );
    let bad = audit_state(d, &path, &["--since", "yesterday"]);
    assert_eq!(code(&bad), 2, "{}", text(&bad.stderr));
    let bad = audit_state(d, &path, &["--status", "done"]);
    assert_eq!(code(&bad), 2, "{}", text(&bad.stderr));
}

#[test]
fn the_table_shows_each_action_once_with_its_latest_status() {
    let (dir, path) = journal();
    let out = audit_state(dir.path(), &path, &[]);
    let said = text(&out.stdout);
    assert_eq!(code(&out), 0, "{said}{}", text(&out.stderr));
    let rows: Vec<&str> = said
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()) && l.contains("2026-11-21"))
        .collect();
    assert_eq!(rows.len(), 5, "{said}");
    assert!(
        rows[0].contains("skipped") && rows[0].contains("turned busy"),
        "{said}"
    );
    assert!(
        rows[1].contains("skipped") && rows[1].contains("terminate needs --yes"),
        "{said}"
    );
    assert!(
        rows[2].contains("verified") && rows[2].contains("wkr_1"),
        "{said}"
    );
    assert!(
        rows[3].contains("failed") && rows[3].contains("409"),
        "{said}"
    );
    assert!(
        rows[4].contains("sent") && rows[4].contains("wkr_2"),
        "{said}"
    );
    assert!(
        said.contains("run run-a\n") && said.contains("run run-b\n"),
        "{said}"
    );
    assert!(
        said.contains("5 actions (latest status of each): 1 sent, 1 failed, 2 skipped, 1 verified"),
        "{said}"
    );
    let history = text(&audit_state(dir.path(), &path, &["--history"]).stdout);
    assert!(
        history
            .contains("13 records: 5 planned, 3 sent, 1 accepted, 1 failed, 2 skipped, 1 verified"),
        "{history}"
    );
    let none = audit_state(dir.path(), &path, &["--run", "run-z"]);
    assert_eq!(code(&none), 0);
    assert!(
        text(&none.stdout)
            .contains("No records match these filters (the journal holds 13 records)"),
        "{}",
        text(&none.stdout)
    );
}

#[test]
fn export_writes_every_record_as_self_verifying_json_lines() {
    let (dir, path) = journal();
    let out = audit_state(dir.path(), &path, &["export", "journal.jsonl"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    let exported = std::fs::read_to_string(dir.path().join("journal.jsonl")).expect("exported");
    let history = audit_state(dir.path(), &path, &["--history", "--format", "jsonl"]);
    assert_eq!(exported, text(&history.stdout));
    let mut prev = "0".repeat(64);
    for line in exported.lines() {
        let v: Value = serde_json::from_str(line).expect("JSON");
        let hash = v["hash"].as_str().expect("hash");
        // The line without its hash field is the canonical form the hash covers.
        let canonical = line
            .strip_suffix(&format!(",\"hash\":\"{hash}\"}}"))
            .expect("hash is the last field")
            .to_string()
            + "}";
        assert_eq!(hex::encode(Sha256::digest(canonical.as_bytes())), hash);
        assert_eq!(v["prev_hash"].as_str(), Some(prev.as_str()));
        prev = hash.to_string();
    }
    assert_eq!(exported.lines().count(), 13);
}

#[test]
fn a_missing_or_empty_journal_is_said_plainly_and_exits_0() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("state/nothing.db");
    for args in [&[][..], &["verify"][..], &["--format", "jsonl"][..]] {
        let out = audit_state(dir.path(), &missing, args);
        assert_eq!(code(&out), 0, "{}", text(&out.stderr));
        let said = text(&out.stdout) + &text(&out.stderr);
        assert!(said.contains("No audit journal in"), "{args:?}: {said}");
        if args.contains(&"jsonl") {
            assert!(out.stdout.is_empty(), "JSON Lines stay clean");
        }
    }
    assert!(!missing.exists(), "audit creates no state file");

    // A state file the store made, before any apply.
    let store_only = dir.path().join("store.db");
    podwarden::state::store::Store::open(&store_only).expect("store");
    let out = audit_state(dir.path(), &store_only, &["verify"]);
    assert_eq!(code(&out), 0);
    assert!(
        text(&out.stdout).contains("No audit journal in"),
        "{}",
        text(&out.stdout)
    );

    // A journal with no records yet.
    let empty = dir.path().join("empty.db");
    Journal::open(&empty).expect("journal");
    let out = audit_state(dir.path(), &empty, &[]);
    assert_eq!(code(&out), 0);
    assert!(
        text(&out.stdout).contains("is empty"),
        "{}",
        text(&out.stdout)
    );
    let out = audit_state(dir.path(), &empty, &["verify"]);
    assert_eq!(code(&out), 0);
    assert!(
        text(&out.stdout).contains("is empty: nothing to verify"),
        "{}",
        text(&out.stdout)
    );
}

#[test]
fn the_state_file_comes_from_the_configuration() {
    let dir = workspace("http://127.0.0.1:9", "");
    fill(&dir.path().join("state/podwarden.db"));
    // ./podwarden.toml
    let out = audit(dir.path(), &["verify"]);
    assert_eq!(code(&out), 0, "{}{}", text(&out.stdout), text(&out.stderr));
    assert!(text(&out.stdout).contains("intact: 13 records"));
    // --config from elsewhere, before the subcommand.
    let elsewhere = tempfile::tempdir().expect("temp dir");
    let config = dir.path().join("podwarden.toml");
    let config = config.to_str().expect("utf-8");
    let out = audit(elsewhere.path(), &["--config", config, "verify"]);
    assert_eq!(code(&out), 0, "{}", text(&out.stderr));
    // $PODWARDEN_CONFIG
    let out = Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["audit", "--format", "jsonl"])
        .current_dir(elsewhere.path())
        .env("PODWARDEN_CONFIG", config)
        .env("PODWARDEN_LOG", "warn")
        .output()
        .expect("podwarden runs");
    assert_eq!(lines(&out).len(), 5);
    // Neither: say which flags name the journal.
    let out = audit(elsewhere.path(), &["verify"]);
    assert_eq!(code(&out), 2);
    assert!(
        text(&out.stderr).contains("--state FILE"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn an_unreadable_record_makes_the_listing_exit_8_and_verify_names_it() {
    let (dir, path) = journal();
    tamper(&path, "UPDATE journal SET stage = 'done' WHERE seq = 13");
    let out = audit_state(dir.path(), &path, &[]);
    assert_eq!(code(&out), 8, "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("record 13 cannot be read"),
        "{}",
        text(&out.stderr)
    );
    let out = audit_state(dir.path(), &path, &["verify"]);
    assert_eq!(code(&out), 8);
    assert!(
        text(&out.stdout).contains("record 13 (run run-b, done stop of argus wkr_2) was edited"),
        "{}",
        text(&out.stdout)
    );
}
