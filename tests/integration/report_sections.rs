//! Report sections that read wrong without care: the idle table's order across currencies
//! (converted amounts, never raw INR against USD) and the actions of `podwarden report`, which
//! makes no plan (so it says so, instead of an empty "Planned this run").

use podwarden::sandbox::SandboxConfig;

use crate::support::*;

/// Only these pods (`pods = 0`): three idle ones whose per-day order depends on conversion.
/// USD worker: $2.49/h = $59.76/day; INR pod: ₹207/h = ₹4,968/day = $59.52/day at 0.01198
/// (larger raw, smaller converted); USD Podstack pod: $3.50/h = $84/day.
const SCENARIO: &str = r#"
[[worker]]
id = "wkr_idle_usd"
project = "vision"
rate = "2.4900"
activity = { idle_since = "-9h" }

[[podstack]]
id = "pd_idle_inr"
currency = "INR"
rate = "207.00"
activity = { idle_since = "-9h" }

[[podstack]]
id = "pd_idle_usd"
rate = "3.50"
activity = { idle_since = "-9h" }
"#;

/// The pod column of the idle table in `summary.md`, in order.
fn idle_order(md: &str) -> Vec<String> {
    md.lines()
        .skip_while(|l| !l.starts_with("## Idle burn"))
        .skip_while(|l| !l.starts_with("| provider | pod |"))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .filter_map(|l| l.split('|').nth(2).map(|c| c.trim().to_string()))
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn report_sorts_idle_pods_by_converted_cost_and_says_it_made_no_plan() {
    let s = sandbox(SandboxConfig {
        pods: 0,
        transition_secs: 0,
        scenario: Some(podwarden::sandbox::Scenario::parse(SCENARIO).expect("scenario")),
        ..SandboxConfig::default()
    })
    .await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, "");
    let out = podwarden_in(dir.path(), &["report", "--config", "podwarden.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let day = std::fs::read_dir(dir.path().join("reports"))
        .expect("reports")
        .next()
        .expect("a day folder")
        .expect("entry")
        .path();
    let md = std::fs::read_to_string(day.join("summary.md")).expect("summary");

    // $84.00 > $59.76 > ₹4,968.00 ($59.52): by what each costs in USD, not by raw numbers.
    assert_eq!(
        idle_order(&md),
        ["pd_idle_usd", "wkr_idle_usd", "pd_idle_inr"],
        "{md}"
    );

    // No plan: the actions say so, in the Markdown and the HTML, rather than "None." and $0.00.
    assert!(
        md.contains(podwarden::report::sections::actions::NO_PLAN),
        "{md}"
    );
    assert!(
        md.contains(podwarden::report::sections::actions::NO_PLAN_NOTICES),
        "{md}"
    );
    assert!(!md.contains("Planned this run: "), "{md}");
    let html = std::fs::read_to_string(day.join("report.html")).expect("html");
    assert!(
        html.contains("No plan was made (podwarden report does not plan; see podwarden run)."),
        "report.html"
    );
    s.stop().await;
}
