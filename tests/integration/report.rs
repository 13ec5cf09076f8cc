//! The spend report end to end: `podwarden report` against a sandbox over HTTP, then the
//! written files checked independently of the report code (Parquet read back with polars and
//! summed with plain loops over exact decimals).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use podwarden::sandbox::SandboxConfig;
use polars::prelude::*;
use rust_decimal::Decimal;

use crate::support::*;

const SCENARIO: &str = r#"
[[worker]]
id = "wkr_busy"
project = "vision"
activity = "busy"

[[worker]]
id = "wkr_idle"
project = "vision"
activity = { idle_since = "-9h" }

[[orphan]]
pod_id = "pod_leftover"
orphaned_since = "-40d"
created = "-60d"

[[podstack]]
id = "pd_inr"
currency = "INR"
rate = "207.00"
activity = { idle_since = "-2d" }

[[podstack]]
id = "pd_usd"
activity = "busy"
"#;

/// A sandbox with generated pods plus the scenario's (INR and USD pods, an orphan).
async fn sandbox_with_scenario() -> podwarden::sandbox::RunningSandbox {
    sandbox(SandboxConfig {
        pods: 30,
        transition_secs: 0,
        scenario: Some(podwarden::sandbox::Scenario::parse(SCENARIO).expect("scenario")),
        ..SandboxConfig::default()
    })
    .await
}

/// Runs `podwarden report` in `dir`; returns the day's folder.
fn report_in(dir: &Path) -> PathBuf {
    let out = podwarden_in(dir, &["report", "--config", "podwarden.toml"]);
    assert!(
        out.status.success(),
        "report: {}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    let stdout = text(&out.stdout);
    assert!(stdout.contains("Report written:"), "{stdout}");
    let days: Vec<PathBuf> = std::fs::read_dir(dir.join("reports"))
        .expect("reports folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(days.len(), 1, "{days:?}");
    for f in [
        "summary.md",
        "report.html",
        "spend.csv",
        "spend.parquet",
        "focus.csv",
        "daily-spend.png",
        "summary-by-project.csv",
    ] {
        assert!(days[0].join(f).is_file(), "{f} missing");
        assert!(stdout.contains(f), "{f} not printed: {stdout}");
    }
    days[0].clone()
}

/// One spend row as read back: the fields the check needs.
struct Row {
    date: String,
    pod_id: String,
    project: String,
    tracked: bool,
    currency: String,
    amount: Decimal,
}

fn rows(parquet: &Path) -> Vec<Row> {
    let file = std::fs::File::open(parquet).expect("parquet");
    let df = ParquetReader::new(file).finish().expect("reads");
    let s = |name: &str| df.column(name).expect(name).str().expect("str").clone();
    let (date, pod, project, currency, amount) = (
        s("date"),
        s("pod_id"),
        s("project"),
        s("currency"),
        s("amount"),
    );
    let tracked = df
        .column("tracked")
        .expect("tracked")
        .bool()
        .expect("bool")
        .clone();
    (0..df.height())
        .map(|i| Row {
            date: date.get(i).expect("date").to_string(),
            pod_id: pod.get(i).expect("pod").to_string(),
            project: project.get(i).unwrap_or("(none)").to_string(),
            tracked: tracked.get(i).expect("tracked"),
            currency: currency.get(i).expect("currency").to_string(),
            amount: amount.get(i).expect("amount").parse().expect("decimal"),
        })
        .collect()
}

/// `$1,234.56` → 1234.56 (the converted figure at the start of a cell).
fn dollars(cell: &str) -> Decimal {
    let t = cell.trim().trim_start_matches('$');
    let end = t.find(' ').unwrap_or(t.len());
    t[..end].replace(',', "").parse().expect("amount")
}

/// The month-to-date headline and the by-project table of summary.md.
fn summary_figures(md: &str) -> (Decimal, String, BTreeMap<String, String>) {
    let line = md
        .lines()
        .find(|l| l.starts_with("Tracked spend, month to date"))
        .expect("headline line");
    let dates = line
        .split_once('(')
        .and_then(|(_, r)| r.split_once(')'))
        .expect("dates")
        .0
        .to_string();
    let total = dollars(line.rsplit_once(": ").expect("figure").1);
    let section = md
        .split("### By project")
        .nth(1)
        .and_then(|s| s.split("###").next())
        .expect("by project");
    let projects = section
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| project"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").collect();
            (cells[0].trim().to_string(), cells[1].trim().to_string())
        })
        .collect();
    (total, dates, projects)
}

fn cents(d: Decimal) -> String {
    podwarden::money::fixed(d, 2)
}

/// Orphans as the provider lists them (`worker_id` null), read over HTTP, not from the report.
async fn orphan_pod_ids(s: &podwarden::sandbox::RunningSandbox) -> BTreeSet<String> {
    let pods: Vec<serde_json::Value> = argus(s, ADMIN)
        .list_all("/compute/pods", &[])
        .await
        .expect("pods");
    pods.iter()
        .filter(|p| p["worker_id"].is_null())
        .map(|p| p["pod_id"].as_str().expect("id").to_string())
        .collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn headline_and_projects_agree_with_the_parquet_to_the_cent() {
    let s = sandbox_with_scenario().await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, "");
    let day = report_in(dir.path());
    let md = std::fs::read_to_string(day.join("summary.md")).expect("summary");
    let (headline, dates, projects) = summary_figures(&md);
    let (from, to) = dates.split_once(" to ").expect("range");
    let orphans = orphan_pod_ids(&s).await;
    assert!(orphans.contains("pod_leftover"), "{orphans:?}");
    let inr_rate: Decimal = "0.01198".parse().expect("rate");
    let convert = |r: &Row| match r.currency.as_str() {
        "USD" => r.amount,
        "INR" => r.amount * inr_rate,
        other => panic!("unexpected currency {other}"),
    };
    let mut total = BTreeMap::<String, Decimal>::new();
    let mut by_project = BTreeMap::<String, BTreeMap<String, Decimal>>::new();
    let mut orphan_rows = 0;
    for r in rows(&day.join("spend.parquet")) {
        if orphans.contains(&r.pod_id) {
            orphan_rows += 1;
            assert!(!r.tracked, "orphan {} counted as tracked", r.pod_id);
            continue;
        }
        if r.date.as_str() < from || r.date.as_str() > to {
            continue;
        }
        *total.entry(r.currency.clone()).or_default() += r.amount;
        *by_project
            .entry(r.project.clone())
            .or_default()
            .entry(r.currency.clone())
            .or_default() += r.amount;
        let _ = convert(&r);
    }
    assert!(orphan_rows > 0, "the orphan has cost rows");
    assert!(total.contains_key("INR"), "INR pods billed: {total:?}");
    // Sum per currency exactly, convert once: the figure finance can recompute.
    let expected: Decimal = total
        .iter()
        .map(|(c, a)| if c == "INR" { *a * inr_rate } else { *a })
        .sum();
    assert_eq!(cents(headline), cents(expected), "{md}");
    assert!(!projects.is_empty());
    for (project, sums) in &by_project {
        let expected: Decimal = sums
            .iter()
            .map(|(c, a)| if c == "INR" { *a * inr_rate } else { *a })
            .sum();
        let shown = projects
            .get(project)
            .unwrap_or_else(|| panic!("project {project} missing from {projects:?}"));
        assert_eq!(cents(dollars(shown)), cents(expected), "{project}");
        assert!(!shown.contains("no INR rate"), "{shown}");
    }
    // The orphan's warning is loud.
    assert!(md.contains("running orphan pod(s) burn"), "{md}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn without_a_rate_inr_stays_apart_and_the_report_says_so() {
    let s = sandbox_with_scenario().await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, "");
    let config = dir.path().join("podwarden.toml");
    let text_cfg = std::fs::read_to_string(&config).expect("config");
    std::fs::write(
        &config,
        text_cfg.replace("rates = { INR = \"0.01198\" }", ""),
    )
    .expect("write");
    let day = report_in(dir.path());
    let md = std::fs::read_to_string(day.join("summary.md")).expect("summary");
    assert!(
        md.contains("No INR → USD rate configured"),
        "the missing rate is named: {md}"
    );
    let (headline, dates, _) = summary_figures(&md);
    let (from, to) = dates.split_once(" to ").expect("range");
    let orphans = orphan_pod_ids(&s).await;
    let mut usd = Decimal::ZERO;
    let mut inr = Decimal::ZERO;
    for r in rows(&day.join("spend.parquet")) {
        if orphans.contains(&r.pod_id) || r.date.as_str() < from || r.date.as_str() > to {
            continue;
        }
        match r.currency.as_str() {
            "USD" => usd += r.amount,
            "INR" => inr += r.amount,
            other => panic!("unexpected {other}"),
        }
    }
    assert!(inr > Decimal::ZERO);
    // The converted figure holds USD only; INR is shown beside it in its own units.
    assert_eq!(cents(headline), cents(usd));
    let line = md
        .lines()
        .find(|l| l.starts_with("Tracked spend, month to date"))
        .expect("headline");
    let inr_shown = podwarden::report::currency::grouped(&podwarden::money::Money::new(
        inr,
        podwarden::money::Currency::new("INR"),
    ));
    assert!(
        line.contains(&format!("+ {inr_shown} (no INR rate)")),
        "{line} should show {inr_shown} apart"
    );
    // The HTML is self-contained: no scripts, no external fetches.
    let html = std::fs::read_to_string(day.join("report.html")).expect("html");
    assert!(html.contains("<svg"), "inline charts");
    for banned in ["<script", "src=\"http", "href=\"http", "@import", "url("] {
        assert!(!html.contains(banned), "{banned} in report.html");
    }
    s.stop().await;
}

/// One policy, for the commands that plan.
const STOP_IDLE: &str = r#"
[[policy]]
name = "stop-idle"
action = "stop"
[policy.match]
status = ["running"]
idle_for = "6h"
"#;

/// Every file under `dir` (recursively) with its bytes' SHA-256 and modification time.
fn tree(dir: &Path) -> BTreeMap<PathBuf, (String, std::time::SystemTime)> {
    use sha2::Digest;
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).expect("folder") {
            let p = e.expect("entry").path();
            if p.is_dir() {
                todo.push(p);
            } else {
                let bytes = std::fs::read(&p).expect("file");
                let modified = std::fs::metadata(&p)
                    .and_then(|m| m.modified())
                    .expect("mtime");
                out.insert(p, (hex::encode(sha2::Sha256::digest(&bytes)), modified));
            }
        }
    }
    out
}

/// Only `run` and `report` write the dated report folder. A live `plan`, one with a provider
/// unreachable, `plan --snapshot` of an older fleet and `run --snapshot` leave an existing
/// `reports/DATE/` byte for byte as it was (and write no other day); `--reports DIR` is how
/// a review or a replay writes one, elsewhere.
#[tokio::test(flavor = "multi_thread")]
async fn plan_and_replays_leave_the_dated_report_folder_untouched() {
    let s = sandbox_with_scenario().await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, STOP_IDLE);
    let saved = podwarden_in(
        dir.path(),
        &["snapshot", "save", "old.json", "--config", "podwarden.toml"],
    );
    assert!(saved.status.success(), "{}", text(&saved.stderr));
    let day = report_in(dir.path());
    let reports = dir.path().join("reports");
    let before = tree(&reports);
    assert!(before.len() >= 6, "{before:?}");

    // The config with Podstack unreachable (a closed port): the plan is partial (exit 7).
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let config = std::fs::read_to_string(dir.path().join("podwarden.toml")).expect("config");
    let podstack_url = format!("{base}/podstack/v1");
    assert!(config.contains(&podstack_url), "{config}");
    std::fs::write(
        dir.path().join("unreachable.toml"),
        config.replace(
            &podstack_url,
            &format!("http://127.0.0.1:{closed}/podstack/v1"),
        ),
    )
    .expect("config written");

    let earlier = (chrono::Utc::now() - chrono::Duration::days(2)).to_rfc3339();
    let reviews: [&[&str]; 5] = [
        &["plan", "--config", "podwarden.toml"],
        &["plan", "--config", "unreachable.toml"],
        &[
            "plan",
            "--config",
            "podwarden.toml",
            "--snapshot",
            "old.json",
        ],
        &[
            "plan",
            "--config",
            "podwarden.toml",
            "--snapshot",
            "old.json",
            "--now",
            &earlier,
        ],
        &[
            "run",
            "--config",
            "podwarden.toml",
            "--snapshot",
            "old.json",
        ],
    ];
    for args in reviews {
        let out = podwarden_in(dir.path(), args);
        assert!(
            matches!(out.status.code(), Some(0 | 4 | 7)),
            "{args:?}: {}",
            text(&out.stderr)
        );
        assert!(
            !text(&out.stdout).contains("Report written")
                && !text(&out.stderr).contains("Report written"),
            "{args:?} wrote a report:\n{}{}",
            text(&out.stdout),
            text(&out.stderr)
        );
        assert_eq!(
            tree(&reports),
            before,
            "{args:?} changed {}",
            reports.display()
        );
    }

    // `report --snapshot` writes nothing without --reports, and says so on stderr.
    let out = podwarden_in(
        dir.path(),
        &[
            "report",
            "--config",
            "podwarden.toml",
            "--snapshot",
            "old.json",
        ],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("--reports DIR"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(tree(&reports), before);

    // With --reports DIR a review writes its report there, and only there.
    for (args, folder) in [
        (
            &[
                "plan",
                "--config",
                "podwarden.toml",
                "--snapshot",
                "old.json",
                "--reports",
                "review",
            ][..],
            "review",
        ),
        (
            &[
                "run",
                "--config",
                "podwarden.toml",
                "--snapshot",
                "old.json",
                "--reports",
                "replay",
            ][..],
            "replay",
        ),
    ] {
        let out = podwarden_in(dir.path(), args);
        assert!(
            matches!(out.status.code(), Some(0 | 4)),
            "{}",
            text(&out.stderr)
        );
        let written = dir.path().join(folder);
        assert!(
            tree(&written).keys().any(|p| p.ends_with("summary.md")),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(tree(&reports), before);
    assert!(day.join("summary.md").is_file());
    s.stop().await;
}

/// A minimal CSV line splitter (quotes, doubled quotes): the files are read without the code
/// that wrote them.
fn split_csv(line: &str) -> Vec<String> {
    let (mut out, mut cur, mut quoted) = (Vec::new(), String::new(), false);
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The rows of a CSV file as maps from column name to field.
fn csv_rows(path: &Path) -> Vec<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).expect("csv");
    let mut lines = text.lines();
    let head = split_csv(lines.next().expect("header"));
    lines
        .map(|l| {
            let fields = split_csv(l);
            assert_eq!(fields.len(), head.len(), "{l}");
            head.iter().cloned().zip(fields).collect()
        })
        .collect()
}

/// A replay at an earlier instant T from a snapshot whose cost rows reach past T and, with
/// `cost_days = 90`, before the window: every data file (spend.parquet, spend.csv, focus.csv)
/// holds only dates from the window's first day to T's day, and the month-to-date headline is
/// the sum of the file's tracked rows of T's month. For `report --snapshot` and `plan
/// --snapshot` alike.
#[tokio::test(flavor = "multi_thread")]
async fn a_replay_holds_only_the_rows_of_its_window_in_every_file() {
    let s = sandbox_with_scenario().await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, STOP_IDLE);
    let config = dir.path().join("podwarden.toml");
    let text_cfg = std::fs::read_to_string(&config).expect("config");
    assert!(text_cfg.contains("# cost_days = 30"));
    std::fs::write(
        &config,
        text_cfg.replace("# cost_days = 30", "cost_days = 90"),
    )
    .expect("write");
    save_snapshot(dir.path());
    let fleet = podwarden::snapshot::load(&dir.path().join("fleet.json")).expect("snapshot");
    let t = fleet.taken_at - chrono::Duration::days(3);
    let window = podwarden::report::window::Window::at(t.date_naive());
    let (from, today) = (window.from.to_string(), t.date_naive().to_string());
    // The snapshot really reaches past T and before the window: the filter has work to do.
    assert!(
        fleet.costs.iter().any(|c| c.date > t.date_naive()),
        "rows after T"
    );
    assert!(
        fleet.costs.iter().any(|c| c.date < window.from),
        "rows before the window"
    );
    let inside = |d: &str| from.as_str() <= d && d <= today.as_str();
    let month = &today[..7];
    let inr_rate: Decimal = "0.01198".parse().expect("rate");
    let convert = |currency: &str, amount: Decimal| match currency {
        "USD" => amount,
        "INR" => amount * inr_rate,
        other => panic!("unexpected currency {other}"),
    };
    let now = t.to_rfc3339();
    for (command, folder) in [("report", "replay-report"), ("plan", "replay-plan")] {
        let out = podwarden_in(
            dir.path(),
            &[
                command,
                "--config",
                "podwarden.toml",
                "--snapshot",
                "fleet.json",
                "--now",
                &now,
                "--reports",
                folder,
            ],
        );
        assert!(
            matches!(out.status.code(), Some(0 | 4)),
            "{command}: {}",
            text(&out.stderr)
        );
        let day = dir.path().join(folder).join(&today);

        let parquet = rows(&day.join("spend.parquet"));
        assert!(!parquet.is_empty());
        for r in &parquet {
            assert!(
                inside(&r.date),
                "{command}: spend.parquet row dated {} outside {from}..{today}",
                r.date
            );
        }
        assert!(
            parquet.iter().any(|r| r.date == from),
            "the window's first day is kept"
        );
        let csv = csv_rows(&day.join("spend.csv"));
        assert_eq!(csv.len(), parquet.len());
        for r in &csv {
            assert!(
                inside(&r["date"]),
                "{command}: spend.csv row dated {}",
                r["date"]
            );
        }
        let focus = csv_rows(&day.join("focus.csv"));
        assert_eq!(
            focus.len(),
            parquet.len(),
            "focus.csv holds the report's rows"
        );
        for r in &focus {
            let d = &r["ChargePeriodStart"][..10];
            assert!(inside(d), "{command}: focus.csv row charged {d}");
        }

        // The headline is the sum of the file's tracked rows of T's month, per currency
        // exactly, converted once.
        let md = std::fs::read_to_string(day.join("summary.md")).expect("summary");
        let (headline, dates, _) = summary_figures(&md);
        assert_eq!(dates, format!("{month}-01 to {today}"), "{md}");
        let mut sums = BTreeMap::<String, Decimal>::new();
        for r in parquet
            .iter()
            .filter(|r| r.tracked && r.date.starts_with(month))
        {
            *sums.entry(r.currency.clone()).or_default() += r.amount;
        }
        let expected: Decimal = sums.iter().map(|(c, a)| convert(c, *a)).sum();
        assert_eq!(cents(headline), cents(expected), "{command}: {md}");
        let mut from_csv = BTreeMap::<String, Decimal>::new();
        for r in csv
            .iter()
            .filter(|r| r["tracked"] == "true" && r["date"].starts_with(month))
        {
            *from_csv.entry(r["currency"].clone()).or_default() +=
                r["amount"].parse::<Decimal>().expect("amount");
        }
        assert_eq!(
            from_csv, sums,
            "spend.csv and spend.parquet hold the same rows"
        );
    }
    s.stop().await;
}

/// `summary-by-project.csv` (what the finance mail attaches) holds the report's figures: its
/// tracked (`pod`) rows' converted month to date add up to the headline, and per currency its
/// month to date and last month are exactly the spend table's tracked rows of those periods.
#[tokio::test(flavor = "multi_thread")]
async fn the_summary_csv_adds_up_to_the_headline_and_the_spend_table() {
    let s = sandbox_with_scenario().await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, "");
    let day = report_in(dir.path());
    let md = std::fs::read_to_string(day.join("summary.md")).expect("summary");
    let (headline, dates, _) = summary_figures(&md);
    let (month_start, _) = dates.split_once(" to ").expect("range");
    let summary = csv_rows(&day.join("summary-by-project.csv"));
    assert!(summary.len() > 1, "{summary:?}");
    let tracked: Vec<_> = summary.iter().filter(|r| r["kind"] == "pod").collect();
    let converted: Decimal = tracked
        .iter()
        .map(|r| {
            r["month_to_date_converted"]
                .parse::<Decimal>()
                .expect("converted")
        })
        .sum();
    assert_eq!(cents(converted), cents(headline), "{md}");
    assert!(
        summary.iter().any(|r| r["kind"] == "orphan"),
        "the orphan is apart"
    );
    let (mut mtd, mut last) = (
        BTreeMap::<String, Decimal>::new(),
        BTreeMap::<String, Decimal>::new(),
    );
    for r in &tracked {
        let amount = |k: &str| r[k].parse::<Decimal>().expect("amount");
        *mtd.entry(r["currency"].clone()).or_default() += amount("month_to_date");
        *last.entry(r["currency"].clone()).or_default() += amount("last_month");
    }
    let (mut want_mtd, mut want_last) = (
        BTreeMap::<String, Decimal>::new(),
        BTreeMap::<String, Decimal>::new(),
    );
    for r in rows(&day.join("spend.parquet"))
        .into_iter()
        .filter(|r| r.tracked)
    {
        let into = if r.date.as_str() >= month_start {
            &mut want_mtd
        } else {
            &mut want_last
        };
        *into.entry(r.currency.clone()).or_default() += r.amount;
    }
    for m in [&mut mtd, &mut last, &mut want_mtd, &mut want_last] {
        m.retain(|_, v| !v.is_zero());
    }
    assert!(!mtd.is_empty() && !last.is_empty());
    assert_eq!(mtd, want_mtd);
    assert_eq!(last, want_last);
    s.stop().await;
}

/// A replay of a saved fleet (`run --snapshot --now T`) is a review: it mails finance nothing
/// and pushes no metrics (the day's mail and the last-success timestamp stay the nightly
/// run's), and its terminal summary counts no cost row after T.
#[tokio::test(flavor = "multi_thread")]
async fn a_replay_run_mails_nobody_pushes_nothing_and_counts_no_row_after_its_instant() {
    let s = sandbox_with_scenario().await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = workspace(&base, STOP_IDLE);
    save_snapshot(dir.path());
    // Mail and metrics configured, both at a closed port: a replay must try neither (no
    // mail may wait in the outbox afterwards).
    let config = dir.path().join("podwarden.toml");
    let mut cfg = std::fs::read_to_string(&config).expect("config");
    cfg.push_str(
        "\n[metrics]\npushgateway = \"http://127.0.0.1:9\"\n\
         [email]\nhost = \"127.0.0.1\"\nport = 9\ntls = \"none\"\nfrom = \"pw@example.com\"\n\
         [email.finance]\nto = [\"finance@example.com\"]\n",
    );
    std::fs::write(&config, cfg).expect("config");
    let fleet = podwarden::snapshot::load(&dir.path().join("fleet.json")).expect("snapshot");
    let t = fleet.taken_at - chrono::Duration::days(3);
    assert!(
        fleet.costs.iter().any(|c| c.date > t.date_naive()),
        "rows after T"
    );
    let out = podwarden_in(
        dir.path(),
        &[
            "run",
            "--config",
            "podwarden.toml",
            "--snapshot",
            "fleet.json",
            "--now",
            &t.to_rfc3339(),
        ],
    );
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert!(matches!(out.status.code(), Some(0 | 4)), "{stdout}{stderr}");
    assert!(
        stderr.contains("no mail sent and no metrics pushed"),
        "{stderr}"
    );
    let state = dir.path().join("state/podwarden.db");
    let waiting = podwarden::state::outbox::Outbox::open(&state)
        .expect("outbox")
        .pending()
        .expect("count");
    assert_eq!(waiting, 0, "nothing queued for finance");
    // "billed last N days": the rows of the N days ending on T's day, per provider and
    // currency, exactly.
    let days: u64 = stdout
        .split("billed last ")
        .nth(1)
        .and_then(|r| r.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("a billed line in:\n{stdout}"));
    let (last, first) = (t.date_naive(), t.date_naive() - chrono::Days::new(days - 1));
    let mut sums = BTreeMap::<(String, String), Decimal>::new();
    for c in fleet
        .costs
        .iter()
        .filter(|c| c.date >= first && c.date <= last)
    {
        *sums
            .entry((c.provider.clone(), c.amount.currency.to_string()))
            .or_default() += c.amount.amount;
    }
    let billed: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(&format!("billed last {days} days")))
        .collect();
    assert_eq!(billed.len(), sums.len(), "{stdout}");
    for ((provider, currency), amount) in sums {
        let money =
            podwarden::money::Money::new(amount, podwarden::money::Currency::new(&currency));
        assert!(
            billed
                .iter()
                .any(|l| l.contains(&provider) && l.trim_end().ends_with(&money.to_string())),
            "{provider} {money} in:\n{}",
            billed.join("\n")
        );
    }
    s.stop().await;
}
