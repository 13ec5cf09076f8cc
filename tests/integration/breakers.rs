//! Circuit breakers: they judge a policy's filter (every pod it matched and could act
//! on, won or not) over the pods its action could apply to, and the plan says so.

use crate::support::*;

#[test]
fn the_breaker_cases_pass_through_podwarden_test() {
    let out = podwarden(&repo(), &["test", "tests/fixtures/breakers"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stdout));
    assert!(text(&out.stdout).contains("policy cases: 3 passed, 0 failed"));
}

#[test]
fn a_capped_policy_is_refused_for_what_its_filter_matched_and_the_plan_counts_it() {
    let sandbox = SandboxProcess::start(&["--seed", "42"]);
    let dir = workspace(
        &sandbox.base,
        r#"
[[policy]]
name = "terminate-old-orphans"
resource = "orphan"
action = "terminate"
allow_terminate = true
priority = 10
[policy.match]
orphaned_for = "10d"

[[policy]]
name = "terminate-day-old-orphans"
resource = "orphan"
action = "terminate"
allow_terminate = true
[policy.match]
orphaned_for = "1d"
[policy.limits]
max_actions = 2
"#,
    );
    let (plan, _) = snapshot_and_plan(dir.path());
    let tally = |name: &str| {
        plan["policies"]
            .as_array()
            .and_then(|t| t.iter().find(|t| t["policy"] == name))
            .cloned()
            .unwrap_or_else(|| panic!("no tally for {name}"))
    };
    let capped = tally("terminate-day-old-orphans");
    let old = tally("terminate-old-orphans");
    let counted = capped["counted"].as_u64().expect("counted");
    assert!(counted > 2, "{capped}");
    assert!(
        old["planned"].as_u64().expect("planned") < counted,
        "the higher-priority policy takes some of them, not all: {old} {capped}"
    );
    assert_eq!(capped["refused"], true);
    assert_eq!(capped["planned"], 0);
    // The capped policy's pods do not go out, and do not fall back: only the other's do.
    let actions = plan["actions"].as_array().expect("actions");
    assert!(!actions.is_empty());
    for a in actions {
        assert_eq!(a["policy"], "terminate-old-orphans", "{a}");
    }
    assert!(plan["blocked"]
        .as_array()
        .expect("blocked")
        .iter()
        .any(|b| b["policy"] == "terminate-day-old-orphans"
            && b["target"] == "*"
            && b["why"]
                .as_str()
                .unwrap_or_default()
                .contains(&format!("{counted} pods its filter matches"))));
}
