//! The policy commands through the real executable: validate, test, plan --snapshot
//! determinism, explain, diff, and the circuit breaker's exit code.

use std::path::Path;

use serde_json::Value;

use crate::support::*;

#[test]
fn validate_reports_every_mistake_with_its_location_and_exits_2() {
    let dir = repo().join("tests/fixtures/three-mistakes");
    let out = podwarden(&repo(), &["validate", &dir.display().to_string()]);
    assert_eq!(out.status.code(), Some(2));
    let report = text(&out.stdout).replace(&repo().display().to_string(), "<repo>");
    insta::assert_snapshot!("validate_three_mistakes", report);
}

#[test]
fn validate_accepts_the_shipped_policies() {
    let out = podwarden(&repo(), &["validate", "policies"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
}

#[test]
fn the_shipped_policy_tests_pass_and_cover_every_shipped_policy() {
    let out = podwarden(&repo(), &["test", "policies"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains(" passed, 0 failed"), "{stdout}");
    let cases = std::fs::read_to_string(repo().join("policies/tests/shipped.toml")).expect("cases");
    let set = podwarden::policy::load_dir(&repo().join("policies")).expect("policies");
    for p in &set.policies {
        assert!(
            cases.contains(&format!("policy = \"{}\"", p.name)),
            "no case expects an action from {}",
            p.name
        );
    }
}

#[test]
fn a_failing_policy_test_shows_a_readable_difference() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::copy(
        repo().join("policies/stop-idle-argus-workers.toml"),
        dir.path().join("p.toml"),
    )
    .expect("copy");
    std::fs::create_dir(dir.path().join("tests")).expect("dir");
    let case = "[[case]]\nname = \"expects the wrong pod\"\nnow = \"2026-11-21T02:00:00Z\"\n\
        [[case.pod]]\ntarget = \"wkr_a\"\nidle_for = \"9h\"\n[[case.pod]]\ntarget = \"wkr_b\"\n[[case.pod]]\ntarget = \"wkr_c\"\n[[case.pod]]\ntarget = \"wkr_d\"\n\
        [[case.expect]]\ntarget = \"wkr_b\"\naction = \"stop\"\npolicy = \"stop-idle-argus-workers\"\n";
    std::fs::write(dir.path().join("tests/case.toml"), case).expect("write");
    let out = podwarden(dir.path(), &["test", "."]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(2), "{stdout}");
    assert!(
        stdout.contains("FAIL")
            && stdout.contains("- expected stop wkr_b")
            && stdout.contains("+ unexpected stop wkr_a"),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed, 1 failed"), "{stdout}");
}

/// Saves a snapshot of a fresh sandbox fleet into `dir/fleet.json`.
fn snapshot(dir: &Path) {
    let sandbox = SandboxProcess::start(&["--seed", "11"]);
    let config = format!(
        "[providers.argus]\ntype = \"argus\"\nbase_url = \"{0}/argus/v1\"\ntoken_env = \"ARGUS_TOKEN\"\n\
         [providers.podstack]\ntype = \"podstack\"\nbase_url = \"{0}/podstack/v1\"\ntoken_env = \"PODSTACK_API_TOKEN\"\n",
        sandbox.base
    );
    std::fs::write(dir.join("live.toml"), config).expect("config");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["snapshot", "save", "fleet.json", "--config", "live.toml"])
        .current_dir(dir)
        .env("ARGUS_TOKEN", READER)
        .env("PODSTACK_API_TOKEN", READER)
        .output()
        .expect("snapshot runs");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
}

fn without_run_identity(json: &str) -> Value {
    let mut v: Value = serde_json::from_str(json).expect("json");
    let obj = v.as_object_mut().expect("object");
    obj.remove("run_id").expect("run_id");
    obj.remove("generated_at").expect("generated_at");
    v
}

#[test]
fn plans_from_a_snapshot_are_identical_apart_from_run_identity_and_diff_and_explain_read_it() {
    let dir = tempfile::tempdir().expect("temp");
    snapshot(dir.path());
    let policies = repo().join("policies").display().to_string();
    let plan = |name: &str| {
        let out = podwarden(
            dir.path(),
            &[
                "plan",
                "--snapshot",
                "fleet.json",
                "--policies",
                &policies,
                "--format",
                "json",
                "--out",
                name,
            ],
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        std::fs::read_to_string(dir.path().join(name)).expect("plan")
    };
    let (a, b) = (plan("a.json"), plan("b.json"));
    assert_ne!(a, b, "run_id differs");
    assert_eq!(without_run_identity(&a), without_run_identity(&b));
    let strip = |s: &str| {
        s.lines()
            .filter(|l| !l.contains("\"run_id\"") && !l.contains("\"generated_at\""))
            .collect::<Vec<_>>()
            .join("\n")
    };
    assert_eq!(
        strip(&a),
        strip(&b),
        "byte-identical apart from run_id and generated_at"
    );
    let plan_a: Value = serde_json::from_str(&a).expect("json");
    let snap: Value = serde_json::from_str(
        &std::fs::read_to_string(dir.path().join("fleet.json")).expect("snapshot"),
    )
    .expect("json");
    assert_eq!(
        plan_a["evaluated_at"], snap["fleet"]["taken_at"],
        "evaluated at the snapshot's time"
    );

    // explain: the verdicts of the pod's policies and the plan's decision.
    let target = plan_a["actions"][0]["target"]
        .as_str()
        .expect("a target")
        .to_string();
    let policy = plan_a["actions"][0]["policy"]
        .as_str()
        .expect("a policy")
        .to_string();
    let out = podwarden(
        dir.path(),
        &[
            "explain",
            &target,
            "--snapshot",
            "fleet.json",
            "--policies",
            &policies,
        ],
    );
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!("policy {policy} ("))
            && stdout.contains("MATCHES")
            && stdout.contains("[x]")
            && stdout.contains("saw "),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("by {policy}")), "{stdout}");
    let out = podwarden(
        dir.path(),
        &[
            "explain",
            "no-such-pod",
            "--snapshot",
            "fleet.json",
            "--policies",
            &policies,
        ],
    );
    assert_eq!(out.status.code(), Some(2));

    // diff: raising the idle threshold removes idle stops and says what it costs.
    let head = dir.path().join("head");
    std::fs::create_dir(&head).expect("dir");
    for f in std::fs::read_dir(repo().join("policies"))
        .expect("dir")
        .flatten()
        .filter(|f| f.path().is_file())
    {
        let text = std::fs::read_to_string(f.path())
            .expect("read")
            .replace("idle_for = \"6h\"", "idle_for = \"48h\"");
        std::fs::write(head.join(f.file_name()), text).expect("write");
    }
    let out = podwarden(
        dir.path(),
        &[
            "diff",
            "--base",
            &policies,
            "--head",
            "head",
            "--snapshot",
            "fleet.json",
        ],
    );
    let md = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{md}");
    assert!(
        md.contains("## podwarden plan diff")
            && md.contains("### Removed")
            && md.contains("0 added"),
        "{md}"
    );
    let usd = md
        .lines()
        .find(|l| l.starts_with("| USD |"))
        .expect("a USD row");
    let change = usd
        .trim_end_matches('|')
        .rsplit('|')
        .next()
        .expect("a change cell")
        .trim();
    assert!(
        change.starts_with('-') && change != "-0.00",
        "USD savings fall: {usd}"
    );

    // A breaker that trips exits 4.
    let tight = dir.path().join("tight");
    std::fs::create_dir(&tight).expect("dir");
    let idle = std::fs::read_to_string(repo().join("policies/stop-idle-argus-workers.toml"))
        .expect("read");
    std::fs::write(
        tight.join("p.toml"),
        idle.replace("max_actions = 50", "max_actions = 1"),
    )
    .expect("write");
    let out = podwarden(
        dir.path(),
        &["plan", "--snapshot", "fleet.json", "--policies", "tight"],
    );
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("circuit breaker"));
}
