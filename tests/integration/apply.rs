//! Acting: `podwarden apply PLAN.json` and `run --apply`, the real executable against an
//! in-process sandbox over HTTP: the rate budget, re-checks right before acting, exactly
//! once across SIGKILL and SIGTERM, the write-access check, terminate's `--yes`, and the plan
//! file's admission checks.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use chrono::{DateTime, Utc};
use podwarden::providers::Provider;
use podwarden::state::journal::{Filter, Stage};

use crate::support::apply::*;
use crate::support::*;

/// The figures line of a provider: (write calls, seconds, 429s, share in percent if printed).
fn figures(stdout: &str, provider: &str) -> (u64, f64, u64, Option<f64>) {
    let line = stdout
        .lines()
        .find(|l| l.trim_start().starts_with(&format!("{provider}: ")))
        .unwrap_or_else(|| panic!("no figures for {provider} in:\n{stdout}"));
    let num = |after: &str| -> f64 {
        let (_, rest) = line.split_once(after).expect("figure present");
        rest.split_whitespace()
            .next()
            .and_then(|w| w.trim_end_matches(['%', ',', ';']).parse().ok())
            .expect("number")
    };
    let writes = num(&format!("{provider}: ")) as u64;
    let secs = num("write calls in ");
    let (before_429, _) = line.split_once(" × 429").expect("429 count");
    let r429 = before_429
        .rsplit(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .expect("429 count");
    let share = line.contains("% of the budget").then(|| num("; "));
    (writes, secs, r429, share)
}

#[tokio::test(flavor = "multi_thread")]
async fn two_hundred_stops_use_the_configured_budget_fully_and_learn_it_with_few_429s() {
    for (rate, expect_share) in [("20/2s", true), ("learn", false)] {
        let s = sandbox_with(&idle_workers(200), 2, 0).await;
        let dir = apply_workspace(&s, STOP_IDLE, &[(ARGUS_TOKEN_LINE, &ops_rate(rate))]);
        let plan = plan_file(dir.path());
        assert_eq!(plan["actions"].as_array().map(Vec::len), Some(200));
        let out = apply(dir.path(), &[]);
        let stdout = text(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
        assert!(stdout.contains("200 accepted (200 verified"), "{stdout}");
        let (writes, secs, r429, share) = figures(&stdout, "argus");
        let windows = writes.div_ceil(20);
        let computed = ((windows - 1) * 2) as f64 / secs;
        println!(
            "ops_rate {rate}: {writes} write calls (200 stops + the access check) in {secs:.1} s, \
             {r429} × 429, {:.1} % of the allowed rate; the sandbox counted {} × 429",
            computed * 100.0,
            s.sandbox.rate_limited_count()
        );
        assert_eq!(writes, 201, "one call per stop and one access check");
        assert!(computed >= 0.95, "{computed} of the allowed rate");
        if expect_share {
            assert_eq!(r429, 0, "configured: no 429 at all");
            assert_eq!(s.sandbox.rate_limited_count(), 0);
            assert!(share.is_some_and(|p| p >= 95.0), "{stdout}");
        } else {
            assert!(r429 <= windows, "learnt: at most one 429 per window");
        }
        let audit = audit_by_target(&s).await;
        assert_eq!(audit.len(), 200);
        assert!(audit.values().all(|ops| ops.len() == 1));
        s.stop().await;
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_token_exits_5_naming_the_scope_and_marks_nothing() {
    let s = sandbox_with(&idle_workers(3), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    plan_file(dir.path());
    let out = podwarden_as(
        dir.path(),
        READER,
        &["apply", "plan.json", "--config", "podwarden.toml"],
    );
    let all = format!("{}{}", text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(5), "{all}");
    assert!(all.contains("compute:write"), "{all}");
    let records = journal(dir.path()).map_or(0, |j| {
        j.query(&Filter::default()).expect("journal reads").len()
    });
    assert_eq!(records, 0, "nothing journalled, nothing marked done");
    assert!(audit_by_target(&s).await.is_empty());
    s.stop().await;
}

/// Both providers have work and the token may act on neither: one apply names both missing
/// scopes (it used to name whichever provider answered 403 first), still journalling nothing.
#[tokio::test(flavor = "multi_thread")]
async fn a_read_only_token_on_two_providers_names_every_missing_scope_at_once() {
    let scenario = format!(
        "{}[[podstack]]\nid = \"pd_quiet\"\nstarted = \"-3h\"\nactivity = {{ idle_since = \"-3h\" }}\n",
        idle_workers(1)
    );
    let s = sandbox_with(&scenario, 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let plan = plan_file(dir.path());
    let providers: BTreeSet<&str> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["provider"].as_str())
        .collect();
    assert_eq!(providers, BTreeSet::from(["argus", "podstack"]));
    let out = podwarden_as(
        dir.path(),
        READER,
        &["apply", "plan.json", "--config", "podwarden.toml"],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(5), "{stdout}{}", text(&out.stderr));
    let stopped = stdout
        .lines()
        .find(|l| l.starts_with("Stopped:"))
        .unwrap_or_else(|| panic!("a Stopped line in:\n{stdout}"));
    assert!(
        stopped.contains("compute:write") && stopped.contains("pods:write"),
        "{stopped}"
    );
    let records = journal(dir.path()).map_or(0, |j| {
        j.query(&Filter::default()).expect("journal reads").len()
    });
    assert_eq!(records, 0, "nothing journalled");
    assert!(audit_by_target(&s).await.is_empty());
    s.stop().await;
}

/// A worker busy by day (from `busy_from`, UTC) and one idle for 9 hours, a Podstack pod idle
/// since its start, and a worker that will be restarted between plan and apply.
fn changing_scenario(busy_from: DateTime<Utc>) -> String {
    let from = busy_from.format("%H:%M");
    let to = (busy_from + chrono::Duration::hours(2)).format("%H:%M");
    format!(
        "[[worker]]\nid = \"wkr_turns_busy\"\nlast_started = \"-20d\"\nactivity = {{ daily = \"{from}-{to}\" }}\n\
         [[worker]]\nid = \"wkr_quiet\"\nlast_started = \"-20d\"\nactivity = {{ idle_since = \"-9h\" }}\n\
         [[worker]]\nid = \"wkr_restarted\"\nlast_started = \"-20d\"\nactivity = {{ idle_since = \"-9h\" }}\n\
         [[podstack]]\nid = \"pd_a\"\nstarted = \"-3h\"\nactivity = {{ idle_since = \"-3h\" }}\n\
         [[podstack]]\nid = \"pd_b\"\nstarted = \"-3h\"\nactivity = {{ idle_since = \"-3h\" }}\n"
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn targets_that_changed_since_the_plan_are_skipped_with_their_reason() {
    // The daily busy window opens a minute from now (sandbox time): idle at plan time.
    let now = Utc::now();
    let busy_from = now + chrono::Duration::minutes(1);
    let s = sandbox_with(&changing_scenario(busy_from), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let plan = plan_file(dir.path());
    let planned: BTreeSet<&str> = plan["actions"]
        .as_array()
        .expect("actions")
        .iter()
        .filter_map(|a| a["target"].as_str())
        .collect();
    assert_eq!(
        planned,
        BTreeSet::from([
            "wkr_turns_busy",
            "wkr_quiet",
            "wkr_restarted",
            "pd_a",
            "pd_b"
        ])
    );
    // Between plan and apply: the busy window opens, and a worker is stopped and resumed.
    s.sandbox.clock.advance(chrono::Duration::minutes(2));
    let client = argus(&s, ADMIN);
    for (op, key) in [
        (podwarden::providers::OpKind::Stop, "t-stop"),
        (podwarden::providers::OpKind::Resume, "t-resume"),
    ] {
        client
            .execute(&podwarden::providers::Operation {
                kind: podwarden::fleet::ResourceKind::Pod,
                target: "wkr_restarted".into(),
                op,
                reason: "a person restarts it".into(),
                ttl_hours: None,
                idempotency_key: key.into(),
                confirm: false,
            })
            .await
            .expect("operation accepted");
    }
    let out = apply(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    let line = |target: &str| line_of(&stdout, target);
    assert!(
        line("wkr_turns_busy").starts_with("skipped")
            && line("wkr_turns_busy").contains("busy now"),
        "{stdout}"
    );
    assert!(
        line("wkr_restarted").starts_with("skipped")
            && line("wkr_restarted").contains("restarted since the plan"),
        "{stdout}"
    );
    assert!(line("wkr_quiet").starts_with("accepted"), "{stdout}");
    let stages = latest_stages(dir.path());
    assert_eq!(stages["wkr_turns_busy"], Stage::Skipped);
    assert_eq!(stages["wkr_restarted"], Stage::Skipped);
    assert_eq!(stages["wkr_quiet"], Stage::Verified);
    assert_eq!(stages["pd_a"], Stage::Verified);
    assert_eq!(stages["pd_b"], Stage::Verified);
    // Podstack's two stops went out as one bulk call, each id journalled on its own.
    let (writes, ..) = figures(&stdout, "podstack");
    assert_eq!(writes, 1, "{stdout}");
    let audit = audit_by_target(&s).await;
    assert!(!audit.contains_key("wkr_turns_busy"));
    assert_eq!(
        audit["wkr_restarted"].len(),
        2,
        "only the person's stop and resume"
    );
    // A second apply of the same plan sends nothing again.
    let again = apply(dir.path(), &[]);
    let stdout = text(&again.stdout);
    assert!(stdout.contains("0 accepted"), "{stdout}");
    assert_eq!(audit_by_target(&s).await["wkr_quiet"].len(), 1);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_terminate_is_sent_only_with_yes_and_print_requests_sends_nothing() {
    let s = sandbox_with(
        "[[orphan]]\npod_id = \"pod_lost\"\norphaned_since = \"-9d\"\n",
        60,
        0,
    )
    .await;
    let dir = apply_workspace(&s, TERMINATE_ORPHANS, &[]);
    let plan = plan_file(dir.path());
    assert_eq!(plan["actions"][0]["action"], "terminate", "{plan}");

    let printed = apply(dir.path(), &["--print-requests", "--yes"]);
    let stdout = text(&printed.stdout);
    assert_eq!(
        printed.status.code(),
        Some(0),
        "{stdout}{}",
        text(&printed.stderr)
    );
    assert!(
        stdout.contains("POST http://") && stdout.contains("/compute/ops/pods/pod_lost/terminate"),
        "{stdout}"
    );
    assert!(
        stdout.contains("Idempotency-Key: ") && stdout.contains("\"confirm\":true"),
        "{stdout}"
    );
    assert!(
        !stdout.contains(ADMIN) && !text(&printed.stderr).contains(ADMIN),
        "no token shown"
    );
    assert!(
        audit_by_target(&s).await.is_empty(),
        "print-requests sends nothing"
    );

    let held = apply(dir.path(), &[]);
    let stdout = text(&held.stdout);
    assert_eq!(
        held.status.code(),
        Some(3),
        "{stdout}{}",
        text(&held.stderr)
    );
    assert!(
        stdout.contains("held back") && stdout.contains("--yes"),
        "{stdout}"
    );
    assert!(
        audit_by_target(&s).await.is_empty(),
        "not sent without --yes"
    );

    let sent = apply(dir.path(), &["--yes"]);
    let stdout = text(&sent.stdout);
    assert_eq!(
        sent.status.code(),
        Some(0),
        "{stdout}{}",
        text(&sent.stderr)
    );
    assert_eq!(audit_by_target(&s).await["pod_lost"].len(), 1);
    assert_eq!(latest_stages(dir.path())["pod_lost"], Stage::Verified);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stale_plan_or_one_from_other_policies_is_refused() {
    let s = sandbox_with(&idle_workers(2), 60, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[]);
    let mut plan = plan_file(dir.path());
    let fresh = serde_json::to_string(&plan).expect("JSON");
    plan["generated_at"] =
        serde_json::json!((Utc::now() - chrono::Duration::hours(30)).to_rfc3339());
    std::fs::write(dir.path().join("plan.json"), plan.to_string()).expect("written");
    let out = apply(dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("max_plan_age") && stderr.contains("--allow-stale"),
        "{stderr}"
    );

    std::fs::write(dir.path().join("plan.json"), &fresh).expect("written");
    std::fs::write(
        dir.path().join("policies/p.toml"),
        STOP_IDLE.replace("idle_for = \"1h\"", "idle_for = \"2h\""),
    )
    .expect("policy edited");
    let out = apply(dir.path(), &[]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("policies_sha256") && stderr.contains("--allow-policy-change"),
        "{stderr}"
    );
    assert!(audit_by_target(&s).await.is_empty());

    std::fs::write(dir.path().join("plan.json"), "{\"version\": 1,").expect("written");
    let out = apply(dir.path(), &[]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("plan.json:1:"),
        "{}",
        text(&out.stderr)
    );
    s.stop().await;
}

/// The stage of the journal's last record, and how many records it holds.
fn journal_tail(db: &Path) -> Option<(i64, String)> {
    Tail::new(db).get()
}

/// A reader of the journal's last record that keeps its connection open, so that polling
/// it every millisecond sees (nearly) every record a running apply writes.
struct Tail<'a> {
    db: &'a Path,
    conn: Option<rusqlite::Connection>,
}

impl<'a> Tail<'a> {
    fn new(db: &'a Path) -> Self {
        Tail { db, conn: None }
    }

    /// The number of records and the stage of the last one.
    fn get(&mut self) -> Option<(i64, String)> {
        if self.conn.is_none() {
            self.conn = rusqlite::Connection::open_with_flags(
                self.db,
                rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY,
            )
            .ok();
        }
        let answer = Self::query(self.conn.as_ref()?);
        if answer.is_none() {
            self.conn = None; // not created yet: open again next time
        }
        answer
    }

    fn query(conn: &rusqlite::Connection) -> Option<(i64, String)> {
        conn.query_row(
            "SELECT COUNT(*), (SELECT stage FROM journal ORDER BY seq DESC LIMIT 1) FROM journal",
            [],
            |r| {
                Ok((
                    r.get(0)?,
                    r.get::<_, Option<String>>(1)?.unwrap_or_default(),
                ))
            },
        )
        .ok()
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn killed_at_random_points_and_restarted_every_target_is_acted_on_exactly_once() {
    let n = 60;
    let s = sandbox_with(&idle_workers(n), 2, 1).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[(ARGUS_TOKEN_LINE, &ops_rate("20/2s"))]);
    plan_file(dir.path());
    let db = dir.path().join("state/podwarden.db");
    // Kill points, phase by phase: after a *planned* record (4 kills), after a *sent* or an
    // *accepted* one (10 of each, alternating), after a *verified* one (4). Each kill waits for
    // a pseudo-random number (0-3) of further records of its stage first, so the points
    // spread over the run rather than sitting at the phase's first record.
    let targets: Vec<&str> = std::iter::repeat_n("planned", 4)
        .chain(std::iter::repeat_n(["sent", "accepted"], 10).flatten())
        .chain(std::iter::repeat_n("verified", 4))
        .collect();
    let phase = |stage: &str| match stage {
        "planned" => 0,
        "verified" | "unverified" => 2,
        _ => 1,
    };
    let mut seed: u64 = 0x5eed;
    let mut next_skip = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) % 4
    };
    let mut killed_at: Vec<(i64, String)> = Vec::new();
    let mut finished = None;
    let mut t = 0;
    let mut skip = next_skip();
    while t < targets.len() {
        let mut child = command_as(
            dir.path(),
            ADMIN,
            &["apply", "plan.json", "--config", "podwarden.toml"],
        )
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("apply starts");
        let mut tail = Tail::new(&db);
        let mut seen = tail.get().map_or(0, |(count, _)| count);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                finished = Some(status);
                break;
            }
            match tail.get() {
                Some((count, stage)) if count > seen => {
                    seen = count;
                    // The run has moved past this target's phase: on to the next target.
                    while t < targets.len() && phase(&stage) > phase(targets[t]) {
                        t += 1;
                        skip = next_skip();
                    }
                    if t < targets.len() && stage == targets[t] {
                        if skip == 0 {
                            child.kill().expect("SIGKILL");
                            child.wait().expect("reaped");
                            // The last record as the process died (a write may have landed
                            // between the look and the kill).
                            killed_at.push(tail.get().expect("journal"));
                            t += 1;
                            skip = next_skip();
                            break;
                        }
                        skip -= 1;
                    }
                }
                _ => {}
            }
            std::thread::sleep(Duration::from_micros(200));
        }
        if finished.is_some_and(|s| s.success()) {
            break;
        }
    }
    // Restarted until it completes.
    for _ in 0..5 {
        let out = apply(dir.path(), &[]);
        if out.status.success() {
            finished = Some(out.status);
            break;
        }
    }
    assert!(
        finished.is_some_and(|s| s.success()),
        "apply completes after the kills"
    );
    let stages: BTreeSet<&str> = killed_at.iter().map(|(_, s)| s.as_str()).collect();
    println!(
        "killed {} times, at (records, last stage): {killed_at:?}",
        killed_at.len()
    );
    let distinct: BTreeSet<i64> = killed_at.iter().map(|(count, _)| *count).collect();
    assert!(
        distinct.len() >= 20,
        "20 different kill points: {killed_at:?}"
    );
    for stage in ["planned", "sent", "accepted", "verified"] {
        assert!(
            stages.contains(stage),
            "a kill after a {stage} record: {killed_at:?}"
        );
    }
    // The provider's audit: every target once. The journal: every accepted operation.
    let audit = audit_by_target(&s).await;
    assert_eq!(audit.len(), n, "every target stopped");
    for (target, ops) in &audit {
        assert_eq!(ops.len(), 1, "{target} acted on exactly once: {ops:?}");
    }
    let j = journal(dir.path()).expect("journal");
    let journalled: BTreeSet<String> = j
        .query(&Filter::default())
        .expect("reads")
        .into_iter()
        .filter_map(|r| r.new.operation_id)
        .collect();
    for ops in audit.values() {
        assert!(
            journalled.contains(&ops[0].operation_id),
            "{} journalled",
            ops[0].operation_id
        );
    }
    assert!(latest_stages(dir.path())
        .values()
        .all(|s| *s == Stage::Verified));
    let verify = podwarden_as(
        dir.path(),
        ADMIN,
        &["audit", "verify", "--config", "podwarden.toml"],
    );
    assert!(
        verify.status.success(),
        "{}{}",
        text(&verify.stdout),
        text(&verify.stderr)
    );
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_finishes_the_request_in_flight_and_the_next_run_completes_the_rest() {
    let n = 60;
    let s = sandbox_with(&idle_workers(n), 2, 0).await;
    let dir = apply_workspace(&s, STOP_IDLE, &[(ARGUS_TOKEN_LINE, &ops_rate("20/2s"))]);
    plan_file(dir.path());
    let db = dir.path().join("state/podwarden.db");
    let child = command_as(
        dir.path(),
        ADMIN,
        &["apply", "plan.json", "--config", "podwarden.toml"],
    )
    .stdout(Stdio::piped())
    .stderr(Stdio::piped())
    .spawn()
    .expect("apply starts");
    // Once some stops are accepted (the queue is in its first or second window).
    loop {
        if journal_tail(&db).is_some_and(|(count, _)| count > n as i64 + 30) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let pid = child.id().to_string();
    assert!(Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .expect("kill")
        .success());
    let out = child.wait_with_output().expect("exits");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(3), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("Stopped by a signal"), "{stdout}");
    let stages = latest_stages(dir.path());
    assert!(
        stages
            .values()
            .all(|s| matches!(s, Stage::Planned | Stage::Accepted)),
        "the request in flight was recorded: {stages:?}"
    );
    let accepted = stages.values().filter(|s| **s == Stage::Accepted).count();
    assert!(
        accepted > 0 && accepted < n,
        "{accepted} of {n} before the signal"
    );
    // The next plan says what is unfinished; the next apply completes it, once per target.
    let review = podwarden_as(dir.path(), READER, &["plan", "--config", "podwarden.toml"]);
    assert!(
        text(&review.stdout).contains("Unfinished from earlier runs"),
        "{}",
        text(&review.stdout)
    );
    let done = apply(dir.path(), &[]);
    assert_eq!(done.status.code(), Some(0), "{}", text(&done.stdout));
    let audit = audit_by_target(&s).await;
    assert_eq!(audit.len(), n);
    assert!(audit.values().all(|ops| ops.len() == 1));
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_deadline_that_cuts_the_queue_exits_6_and_leaves_the_rest_pending() {
    let s = sandbox_with(&idle_workers(30), 60, 0).await;
    let dir = apply_workspace(
        &s,
        STOP_IDLE,
        &[
            ("deadline = \"20m\"", "deadline = \"4s\""),
            (ARGUS_TOKEN_LINE, &ops_rate("20/60s")),
        ],
    );
    plan_file(dir.path());
    let out = apply(dir.path(), &[]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(6), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("deadline"), "{stdout}");
    let stages = latest_stages(dir.path());
    let accepted = stages
        .values()
        .filter(|s| matches!(s, Stage::Accepted | Stage::Verified))
        .count();
    assert_eq!(
        accepted, 19,
        "one window's calls, less the access check: {stages:?}"
    );
    let review = podwarden_as(dir.path(), READER, &["plan", "--config", "podwarden.toml"]);
    assert!(
        text(&review.stdout).contains("Unfinished from earlier runs (11)"),
        "{}",
        text(&review.stdout)
    );
    // A later plan that no longer carries them supersedes them: applying it closes them as
    // skipped (never sent on the old plan's approval), and no plan lists them again.
    std::fs::write(
        dir.path().join("policies/p.toml"),
        STOP_IDLE.replace("idle_for = \"1h\"", "idle_for = \"100h\""),
    )
    .expect("policy edited");
    let plan = plan_file(dir.path());
    assert!(plan["actions"].as_array().is_some_and(Vec::is_empty));
    let out = apply(dir.path(), &[]);
    assert!(
        out.status.success(),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stages = latest_stages(dir.path());
    assert_eq!(
        stages.values().filter(|s| **s == Stage::Skipped).count(),
        11,
        "{stages:?}"
    );
    let review = podwarden_as(dir.path(), READER, &["plan", "--config", "podwarden.toml"]);
    assert!(
        !text(&review.stdout).contains("Unfinished"),
        "{}",
        text(&review.stdout)
    );
    assert_eq!(audit_by_target(&s).await.len(), 19, "nothing more was sent");
    s.stop().await;
}
