//! Guards through the real executable: reasons the provider always accepts,
//! schedule edges, one definition of each limit, and no silently dropped `ttl_hours`.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::*;

fn fixture(name: &str) -> String {
    repo()
        .join("tests/fixtures")
        .join(name)
        .display()
        .to_string()
}

#[test]
fn validate_refuses_each_new_guard_with_a_code_its_location_and_a_hint() {
    let out = podwarden(&repo(), &["validate", &fixture("guard-refusals")]);
    assert_eq!(out.status.code(), Some(2));
    let report = text(&out.stdout).replace(&repo().display().to_string(), "<repo>");
    for expected in [
        "guard-refusals/short-reason.toml:5:10: error[P017]",
        "its shortest rendering is \"0\"",
        "guard-refusals/empty-window.toml:11:6: error[P018]",
        "to act all day on some days, write from = \"00:00\", to = \"24:00\"",
        "guard-refusals/resume-lease.toml:5:1: error[P019]",
        "hint: Podstack has no resume TTL: remove ttl_hours, or restrict the policy with providers = [\"argus\"]",
        "guard-refusals/bad-limits.toml:11:15: error[P013]",
    ] {
        assert!(report.contains(expected), "{expected}\n---\n{report}");
    }
    insta::assert_snapshot!("validate_guard_refusals", report);
}

#[test]
fn the_same_bad_limit_is_refused_in_a_policy_and_in_the_config_with_the_same_message() {
    let policy = text(&podwarden(&repo(), &["validate", &fixture("guard-refusals")]).stdout);
    let messages: Vec<&str> = policy
        .lines()
        .filter(|l| l.contains("bad-limits.toml") && l.contains("error[P013]: "))
        .filter_map(|l| l.split("error[P013]: ").nth(1))
        .collect();
    assert_eq!(messages.len(), 2, "{policy}");

    // The library's config loader, and `validate --config` through the executable.
    let config = repo().join("tests/fixtures/bad-global-limits.toml");
    let err = podwarden::config::Config::load(&config)
        .expect_err("max_actions = 0 and a negative amount are refused")
        .to_string();
    let out = podwarden(
        &repo(),
        &[
            "validate",
            "--config",
            &config.display().to_string(),
            &fixture("guard-refusals"),
        ],
    );
    assert_eq!(out.status.code(), Some(2));
    let stderr = text(&out.stderr);
    for m in messages {
        assert!(
            err.contains(&format!("[limits]: {m}")) || err.contains(m),
            "{m}\n{err}"
        );
        assert!(stderr.contains(m), "{m}\n{stderr}");
    }
    assert!(
        err.contains("[limits]: `max_actions` must be at least 1"),
        "{err}"
    );
}

#[test]
fn schedule_edges_hold_through_podwarden_test() {
    let out = podwarden(&repo(), &["test", &fixture("schedule-edges")]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("4 passed, 0 failed"), "{stdout}");
}

/// A config naming an Argus provider `gpu-a` and a Podstack provider `gpu-b`.
fn renamed_providers(base: &str) -> String {
    format!(
        "state = \"state/podwarden.db\"\n\
         [providers.gpu-a]\ntype = \"argus\"\nbase_url = \"{base}/argus/v1\"\ntoken_env = \"ARGUS_TOKEN\"\n\
         [providers.gpu-b]\ntype = \"podstack\"\nbase_url = \"{base}/podstack/v1\"\ntoken_env = \"PODSTACK_API_TOKEN\"\n"
    )
}

fn resume_policy(providers: Option<&str>) -> String {
    let providers = providers.map_or(String::new(), |p| format!("providers = {p}\n"));
    format!(
        "[[policy]]\nname = \"resume-leased\"\n{providers}action = \"resume\"\nttl_hours = 4\n\
         reason = \"resumed for 4h (policy {{policy}})\"\n[policy.match]\nstatus = \"stopped\"\n"
    )
}

fn write_policies(dir: &Path, name: &str, text: &str) -> String {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).expect("dir");
    std::fs::write(d.join("p.toml"), text).expect("write");
    d.display().to_string()
}

#[test]
fn validate_checks_resume_leases_against_the_configured_provider_types() {
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(
        dir.path().join("pw.toml"),
        renamed_providers("http://127.0.0.1:9"),
    )
    .expect("config");
    let validate = |policies: &str, with_env: bool| {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_podwarden"));
        cmd.current_dir(dir.path()).env("PODWARDEN_LOG", "warn");
        if with_env {
            cmd.env("PODWARDEN_CONFIG", "pw.toml")
                .args(["validate", policies]);
        } else {
            cmd.env_remove("PODWARDEN_CONFIG")
                .args(["validate", "--config", "pw.toml", policies]);
        }
        let out = cmd.output().expect("runs");
        (out.status.code(), text(&out.stdout))
    };

    // Every provider: gpu-b is Podstack, which cannot keep the lease.
    let all = write_policies(dir.path(), "all", &resume_policy(None));
    for with_env in [false, true] {
        let (code, stdout) = validate(&all, with_env);
        assert_eq!(code, Some(2), "{stdout}");
        assert!(
            stdout.contains("p.toml:4:1: error[P019]")
                && stdout.contains("(`gpu-b`)")
                && stdout.contains(
                    "hint: Podstack has no resume TTL: remove ttl_hours, or restrict the policy with providers = [\"gpu-a\"]"
                ),
            "{stdout}"
        );
    }
    // Restricted to the Argus provider: accepted.
    let argus_only = write_policies(
        dir.path(),
        "argus-only",
        &resume_policy(Some("[\"gpu-a\"]")),
    );
    let (code, stdout) = validate(&argus_only, false);
    assert_eq!(code, Some(0), "{stdout}");
    assert!(
        stdout.contains("checked against the providers of pw.toml"),
        "{stdout}"
    );
    // A name the config does not know: podwarden cannot promise a lease there.
    let unknown = write_policies(dir.path(), "unknown", &resume_policy(Some("[\"argus\"]")));
    let (code, stdout) = validate(&unknown, false);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains("error[P019]")
            && stdout.contains("`argus` is not a provider pw.toml knows"),
        "{stdout}"
    );
    // Without a config the built-in names apply: "argus" is Argus.
    let out = podwarden(dir.path(), &["validate", &unknown]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    // ttl_hours on anything but a resume is not dropped silently either.
    let stop = write_policies(
        dir.path(),
        "stop",
        &resume_policy(Some("[\"gpu-a\"]")).replace("\"resume\"", "\"stop\""),
    );
    let (code, stdout) = validate(&stop, false);
    assert_eq!(code, Some(2), "{stdout}");
    assert!(
        stdout.contains("error[P006]: `ttl_hours` applies to resume policies only"),
        "{stdout}"
    );
}

#[test]
fn plan_against_the_sandbox_keeps_leases_refuses_permanent_resumes_and_fits_long_reasons() {
    let sandbox = SandboxProcess::start(&["--pods", "60"]);
    let dir = tempfile::tempdir().expect("temp");
    std::fs::write(dir.path().join("pw.toml"), renamed_providers(&sandbox.base)).expect("config");
    let plan = |policies: &str| {
        Command::new(env!("CARGO_BIN_EXE_podwarden"))
            .args([
                "plan",
                "--config",
                "pw.toml",
                "--policies",
                policies,
                "--format",
                "json",
            ])
            .current_dir(dir.path())
            .env_remove("PODWARDEN_CONFIG")
            .env("PODWARDEN_LOG", "warn")
            .env("ARGUS_TOKEN", READER)
            .env("PODSTACK_API_TOKEN", READER)
            .output()
            .expect("plan runs")
    };

    // A resume policy for every provider would resume Podstack pods for good: refused.
    let all = write_policies(dir.path(), "all", &resume_policy(None));
    let out = plan(&all);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("error[P019]") && stderr.contains("`gpu-b`"),
        "{stderr}"
    );

    // Restricted to the Argus provider: resumes with the lease; and a long reason full of
    // multi-byte characters is cut to 500 characters with a marker.
    let long = format!("{}{}", "é🚀".repeat(150), " {evidence}".repeat(8));
    let leased = write_policies(
        dir.path(),
        "leased",
        &format!(
            "{}\n[[policy]]\nname = \"stop-idle-long-reason\"\nproviders = [\"gpu-a\"]\naction = \"stop\"\n\
             reason = \"{long}\"\n[policy.match]\nstatus = \"running\"\nidle_for = \"1h\"\n",
            resume_policy(Some("[\"gpu-a\"]"))
        ),
    );
    let out = plan(&leased);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let plan: Value = serde_json::from_str(&text(&out.stdout)).expect("plan JSON");
    let actions = plan["actions"].as_array().expect("actions");
    let resumes: Vec<&Value> = actions.iter().filter(|a| a["action"] == "resume").collect();
    assert!(!resumes.is_empty(), "the sandbox has stopped Argus workers");
    for a in &resumes {
        assert_eq!(a["provider"], "gpu-a");
        assert_eq!(a["ttl_hours"], 4, "{a}");
    }
    let stops: Vec<&str> = actions
        .iter()
        .filter(|a| a["policy"] == "stop-idle-long-reason")
        .filter_map(|a| a["reason"].as_str())
        .collect();
    assert!(!stops.is_empty(), "the sandbox has idle Argus workers");
    for r in stops {
        assert_eq!(r.chars().count(), 500, "{r}");
        assert!(r.ends_with('…') && r.starts_with("é🚀é🚀"), "{r}");
    }
}
