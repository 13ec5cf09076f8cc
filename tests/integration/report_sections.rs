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
    let day = day_folder(dir.path());
    let md = std::fs::read_to_string(day.join("summary.md")).expect("summary");

    // The fleet's data is its owner's only, whatever the umask: folders 0700, files 0600.
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = |p: &std::path::Path| {
            std::fs::metadata(p).expect("metadata").permissions().mode() & 0o777
        };
        let state = dir.path().join("state");
        for folder in [dir.path().join("reports"), day.clone(), state.clone()] {
            assert_eq!(mode(&folder), 0o700, "{}", folder.display());
        }
        for file in [
            day.join("summary.md"),
            day.join("spend.parquet"),
            state.join("podwarden.db"),
        ] {
            assert_eq!(mode(&file), 0o600, "{}", file.display());
        }
    }

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

/// The one day folder under `dir/reports`.
fn day_folder(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::read_dir(dir.join("reports"))
        .expect("reports")
        .next()
        .expect("a day folder")
        .expect("entry")
        .path()
}

/// The rows of the first table after heading `heading` in `md`, without the header lines.
fn table_after<'a>(md: &'a str, heading: &str) -> Vec<&'a str> {
    md.lines()
        .skip_while(|l| !l.starts_with(heading))
        .skip_while(|l| !l.starts_with('|'))
        .skip(2)
        .take_while(|l| l.starts_with('|'))
        .collect()
}

/// The amount in the last cell of a table row: `$1,234.56` → 1234.56.
fn last_amount(row: &str) -> f64 {
    let cell = row.trim_end_matches('|').rsplit('|').next().unwrap_or("");
    cell.trim()
        .trim_start_matches('$')
        .replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("no amount in {row}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn tables_show_the_top_rows_and_sum_the_rest_health_lists_only_pods_not_green() {
    let s = sandbox(SandboxConfig {
        pods: 120,
        transition_secs: 0,
        ..SandboxConfig::default()
    })
    .await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, "");
    let config = dir.path().join("podwarden.toml");
    let mut toml = std::fs::read_to_string(&config).expect("config");
    toml.push_str("\n[report]\ntop = 3\nprojects = [\"research\"]\n");
    std::fs::write(&config, toml).expect("config written");
    let out = podwarden_in(dir.path(), &["report", "--config", "podwarden.toml"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let day = day_folder(dir.path());
    let md = std::fs::read_to_string(day.join("summary.md")).expect("summary");

    // Top pods: three rows and one for the rest, which sums to the month to date of all of
    // them (orphans included) — the sum of the headline's tracked and orphan figures.
    let top = table_after(&md, "## Top 3 pods, month to date");
    assert_eq!(top.len(), 4, "{md}");
    assert!(top[3].contains("more pods"), "{}", top[3]);
    let shown: f64 = top.iter().map(|r| last_amount(r)).sum();
    let spend = std::fs::read_to_string(day.join("summary-by-project.csv")).expect("csv");
    let month: f64 = spend
        .lines()
        .skip(1)
        .filter_map(|l| {
            l.split(',')
                .nth(9)
                .and_then(|x| x.trim_matches('"').parse::<f64>().ok())
        })
        .sum();
    assert!((shown - month).abs() < 0.02, "{shown} vs {month}\n{md}");

    // By owner: three owners and the rest summed; every table holds at most 4 rows.
    let owners = table_after(&md, "### By owner");
    assert!(owners.len() <= 4, "{md}");
    for heading in ["## Idle burn", "## Orphans", "### Pending notices"] {
        assert!(table_after(&md, heading).len() <= 4, "{heading}\n{md}");
    }

    // Health: counts by colour, then only the pods that are not green.
    let health = table_after(&md, "## Replicas and health");
    assert!(!health.is_empty(), "{md}");
    assert!(
        health.iter().all(|r| !r.contains("| green |")),
        "{health:?}"
    );
    assert!(md.contains(" green · "), "{md}");

    // The project asked for has its own section.
    assert!(md.contains("## Project research: $"), "{md}");
    let research = table_after(&md, "## Project research");
    assert!(!research.is_empty() && research.len() <= 4, "{md}");
    assert!(
        research
            .iter()
            .filter(|r| !r.contains("more pods"))
            .all(|r| r.contains("| research |")),
        "{research:?}"
    );
    s.stop().await;
}
