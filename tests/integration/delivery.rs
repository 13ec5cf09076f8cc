//! Delivery over real servers on loopback: the finance mail and owner notices to a real
//! SMTP server (aiosmtpd), the outbox when it is down, `--email-to-dir`, and run metrics
//! read back from a real Prometheus Pushgateway.
//!
//! Each test starts its own server on a free port. A missing server program (python3 with
//! aiosmtpd, prometheus-pushgateway: `.ci/run` installs both) skips the test with a loud
//! message, except under `CI`, where it is a failure.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use chrono::Utc;
use mailparse::ParsedMail;
use podwarden::notify::email_config::EmailToml;
use podwarden::notify::{NoticePod, OwnerNotice, ReportInput};

use crate::support::smtp::*;
use crate::support::*;

const STOP_IDLE: &str = r#"
[[policy]]
name = "stop-idle"
providers = ["argus"]
action = "stop"
[policy.match]
status = ["running"]
idle_for = "6h"
"#;

/// A workspace for a sandbox process, without the example's global limits (a run exits 0).
pub(crate) fn quiet_workspace(base: &str, extra: &str) -> tempfile::TempDir {
    let dir = workspace(base, STOP_IDLE);
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    let config = config
        .replace("[limits]", "[limits_removed]")
        .replace("max_actions = 200\n", "")
        .replace("max_fleet_share = \"50%\"", "")
        .replace("[limits_removed]", "");
    std::fs::write(&path, format!("{config}\n{extra}")).expect("config written");
    dir
}

#[tokio::test(flavor = "multi_thread")]
async fn finance_mail_and_owner_notice_arrive_with_parts_attachments_and_inline_chart() {
    let Some(python) = python_with_aiosmtpd() else {
        return missing("python3-aiosmtpd");
    };
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let sink = SmtpSink::start(&python, &dir.path().join("received"), port);

    // What the report hands over: the summary CSV fits the limit (1 KB here), a 2 KB file
    // offered after it does not.
    let png: &[u8] = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDRtest-chart";
    let summary = "provider,project,currency,month_to_date\nargus,vision,USD,12.50\n";
    let big = vec![b'x'; 2_000];
    let folder = std::path::PathBuf::from("/srv/podwarden/reports/2026-11-21");
    let finance = podwarden::notify::finance_mail(&ReportInput {
        date: Some(chrono::NaiveDate::from_ymd_opt(2026, 11, 21).expect("date")),
        month_to_date: "1234.56 USD".into(),
        text: "Spend summary: 1234.56 USD month to date".into(),
        html: Some(
            "<html><body><h1>Spend</h1><img src=\"cid:daily-spend\"><p>1234.56 USD</p></body></html>"
                .into(),
        ),
        attachments: vec![
            (
                "summary-by-project.csv".into(),
                "text/csv".into(),
                summary.as_bytes().to_vec(),
            ),
            ("focus.csv".into(), "text/csv".into(), big),
        ],
        chart_png: Some(png.to_vec()),
        folder: Some(folder.clone()),
        files: vec![
            ("spend.csv".into(), 47_400_000),
            ("focus.csv".into(), 2_000),
            ("summary-by-project.csv".into(), summary.len() as u64),
        ],
        max_attachment_bytes: 1_000,
    });
    let notice = OwnerNotice {
        owner_email: "alice@example.com".into(),
        pending: vec![NoticePod {
            provider: "argus".into(),
            target: "wkr_abc".into(),
            name: "train-7".into(),
            action: "stop".into(),
            reason: "idle 9h, burning $59.76/day".into(),
            at: Utc::now() + chrono::Duration::hours(24),
        }],
        acted: vec![],
        protect_label: "podwarden/protect=true".into(),
    };
    let section: toml::Table = toml::from_str(&email_section(port)).expect("email toml");
    let config = section["email"]
        .clone()
        .try_into::<EmailToml>()
        .expect("email toml")
        .check(&|p| p.to_path_buf())
        .expect("email config");
    let report = podwarden::notify::send_run_mail(
        &config,
        &dir.path().join("state/podwarden.db"),
        None,
        Some(&finance),
        &[notice],
        Utc::now(),
    )
    .await;
    assert_eq!(
        (report.sent, report.queued, report.pending),
        (2, 0, 0),
        "{report:?}"
    );

    let messages = sink.messages();
    assert_eq!(messages.len(), 2);
    let mail = mailparse::parse_mail(&messages[0]).expect("parses");
    assert_eq!(
        header(&mail, "Subject"),
        "podwarden spend report 2026-11-21: month-to-date tracked 1234.56 USD"
    );
    assert!(header(&mail, "To").contains("finance@example.com"));
    assert!(header(&mail, "Cc").contains("cfo@example.com"));
    let mut rcpt = sink.recipients(0);
    rcpt.sort();
    assert_eq!(rcpt, ["cfo@example.com", "finance@example.com"]);
    // multipart/mixed ⊃ (multipart/related ⊃ (alternative ⊃ text, html) + inline PNG) + CSVs
    assert_eq!(mail.ctype.mimetype, "multipart/mixed");
    let related = &mail.subparts[0];
    assert_eq!(related.ctype.mimetype, "multipart/related");
    let alternative = &related.subparts[0];
    assert_eq!(alternative.ctype.mimetype, "multipart/alternative");
    let kinds: Vec<&str> = alternative
        .subparts
        .iter()
        .map(|p| p.ctype.mimetype.as_str())
        .collect();
    assert_eq!(kinds, ["text/plain", "text/html"]);
    let text = alternative.subparts[0].get_body().expect("text");
    assert!(text.contains("1234.56 USD month to date"), "{text}");
    // Where the full files are, and what was left out and why.
    let left_out = format!(
        "focus.csv (2 KB) not attached: over the 1 KB limit ([email] max_attachment_bytes); it is at {}",
        folder.join("focus.csv").display()
    );
    assert!(
        text.contains(&format!("Folder: {}", folder.display())),
        "{text}"
    );
    assert!(text.contains(&left_out), "{text}");
    assert!(text.contains("spend.csv (47.4 MB)"), "{text}");
    let html = alternative.subparts[1].get_body().expect("html");
    assert!(html.contains("<img src=\"cid:daily-spend\">"), "{html}");
    assert!(html.contains(&format!("<b>{left_out}.</b>")), "{html}");
    let chart = &related.subparts[1];
    assert_eq!(chart.ctype.mimetype, "image/png");
    assert_eq!(header(chart, "Content-ID"), "<daily-spend>");
    assert!(header(chart, "Content-Disposition").starts_with("inline"));
    assert_eq!(chart.get_body_raw().expect("png"), png);
    let attachments: Vec<(String, String, String)> = mail.subparts[1..]
        .iter()
        .map(|p| {
            let disposition = p.get_content_disposition();
            (
                disposition
                    .params
                    .get("filename")
                    .cloned()
                    .unwrap_or_default(),
                p.ctype.mimetype.clone(),
                p.get_body().expect("body"),
            )
        })
        .collect();
    assert_eq!(
        attachments,
        [(
            "summary-by-project.csv".to_string(),
            "text/csv".to_string(),
            summary.to_string()
        )]
    );

    let notice = mailparse::parse_mail(&messages[1]).expect("parses");
    assert_eq!(
        header(&notice, "Subject"),
        "podwarden: 1 of your pods will be acted on"
    );
    assert!(header(&notice, "To").contains("alice@example.com"));
    assert!(header(&notice, "Cc").contains("platform@example.com"));
    assert_eq!(notice.ctype.mimetype, "multipart/alternative");
    let text = notice.subparts[0].get_body().expect("text");
    assert!(
        text.contains("stop train-7 (argus, wkr_abc): idle 9h"),
        "{text}"
    );
    assert!(text.contains("podwarden/protect=true"), "{text}");
    assert!(notice.subparts[1]
        .get_body()
        .expect("html")
        .contains("<code>podwarden/protect=true</code>"));
}

/// The mails waiting in the outbox (neither delivered nor given up): kind, key, Message-ID.
fn waiting(state: &Path) -> Vec<(String, Option<String>, String)> {
    let conn = rusqlite::Connection::open(state).expect("state db");
    let mut stmt = conn
        .prepare(
            "SELECT kind, dedupe_key, message FROM outbox
             WHERE delivered_at IS NULL AND abandoned_at IS NULL ORDER BY id",
        )
        .expect("outbox table");
    stmt.query_map([], |r| {
        Ok((r.get(0)?, r.get(1)?, message_id(&r.get::<_, Vec<u8>>(2)?)))
    })
    .expect("rows")
    .collect::<Result<_, _>>()
    .expect("rows")
}

fn message_id(raw: &[u8]) -> String {
    header(&mailparse::parse_mail(raw).expect("parses"), "Message-ID")
}

/// An SMTP server on `port` that refuses every session (`421` in its greeting) until dropped.
struct RefusingSmtp {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl RefusingSmtp {
    fn start(port: u16) -> RefusingSmtp {
        use std::io::Write;
        let listener = TcpListener::bind(("127.0.0.1", port)).expect("binds");
        listener.set_nonblocking(true).expect("nonblocking");
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let thread = std::thread::spawn(move || {
            while !flag.load(std::sync::atomic::Ordering::Relaxed) {
                match listener.accept() {
                    Ok((mut conn, _)) => {
                        let _ = conn.write_all(b"421 4.3.2 service not available, try later\r\n");
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(20)),
                }
            }
        });
        RefusingSmtp {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for RefusingSmtp {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Idle Argus workers get a 24 h notice: every run lists them as pending and mails their
/// owners a notice.
const NOTICE_STOP_IDLE: &str = r#"
[[policy]]
name = "stop-idle-after-notice"
providers = ["argus"]
action = "stop"
notice = "24h"
[policy.match]
status = ["running"]
idle_for = "6h"
"#;

/// The finance mail of a day is one mail. SMTP down for three runs of the real binary
/// (nothing listening twice, then a server refusing every session): after each run the
/// outbox holds exactly one finance mail for the day — a new version each time, the older one
/// removed — and one notice per owner. With the server up the next run delivers the day's
/// finance mail exactly once, in its newest version (that run's own), and each owner's notice
/// once; a later run sends only its own mail again.
#[test]
fn smtp_down_for_three_runs_keeps_one_finance_mail_per_day_and_delivers_the_newest_once() {
    let Some(python) = python_with_aiosmtpd() else {
        return missing("python3-aiosmtpd");
    };
    let sandbox = SandboxProcess::start(&["--pods", "20"]);
    let port = free_port();
    let dir = quiet_workspace(
        &sandbox.base,
        &email_section(port).replace(
            "[email.owners]\n",
            "[email.owners]\ndomain = \"example.com\"\n",
        ),
    );
    std::fs::write(dir.path().join("policies/p.toml"), NOTICE_STOP_IDLE).expect("policy");
    let state = dir.path().join("state/podwarden.db");
    let run = || podwarden_in(dir.path(), &["run", "--config", "podwarden.toml"]);
    let day = Utc::now().date_naive();
    let finance_key = format!("finance {day}");

    let mut versions: Vec<String> = Vec::new();
    let mut owners = Vec::new();
    for n in 1..=3 {
        let refusing = (n == 3).then(|| RefusingSmtp::start(port));
        let out = run();
        assert_eq!(out.status.code(), Some(0), "run {n}: {}", text(&out.stderr));
        assert!(text(&out.stdout).contains("Spend summary"));
        drop(refusing);
        let rows = waiting(&state);
        let finance: Vec<_> = rows.iter().filter(|r| r.0 == "finance").collect();
        assert_eq!(
            finance.len(),
            1,
            "run {n}: one finance mail waits: {rows:?}"
        );
        assert_eq!(finance[0].1.as_deref(), Some(finance_key.as_str()));
        assert!(
            !versions.contains(&finance[0].2),
            "run {n}: the waiting finance mail is this run's version: {rows:?}"
        );
        versions.push(finance[0].2.clone());
        let notices: Vec<&String> = rows
            .iter()
            .filter(|r| r.0 == "owner-notice")
            .filter_map(|r| r.1.as_ref())
            .collect();
        let distinct: std::collections::BTreeSet<&String> = notices.iter().copied().collect();
        assert_eq!(
            distinct.len(),
            notices.len(),
            "one notice per owner and day: {notices:?}"
        );
        assert!(!notices.is_empty(), "the idle workers' owners are noticed");
        owners = distinct.into_iter().cloned().collect::<Vec<_>>();
    }
    if Utc::now().date_naive() != day {
        eprintln!("the UTC day changed during the test: the next run's mail is another day's");
        return;
    }

    let sink = SmtpSink::start(&python, &dir.path().join("received"), port);
    let fourth = run();
    assert_eq!(fourth.status.code(), Some(0), "{}", text(&fourth.stderr));
    let received = sink.messages();
    let subject_of = |m: &Vec<u8>| header(&mailparse::parse_mail(m).expect("parses"), "Subject");
    let finance: Vec<&Vec<u8>> = received
        .iter()
        .filter(|m| subject_of(m).starts_with(&format!("podwarden spend report {day}")))
        .collect();
    assert_eq!(finance.len(), 1, "the day's finance mail is delivered once");
    let delivered = message_id(finance[0]);
    assert!(
        !versions.contains(&delivered),
        "the delivered finance mail is the newest version, not one of {versions:?}"
    );
    let notices = received.len() - 1;
    assert_eq!(
        notices,
        owners.len(),
        "each owner's notice once: {owners:?}"
    );
    assert!(
        waiting(&state).is_empty(),
        "nothing waits: {:?}",
        waiting(&state)
    );

    // A later run sends only its own mail: nothing delivered is ever sent again.
    let fifth = run();
    assert_eq!(fifth.status.code(), Some(0), "{}", text(&fifth.stderr));
    let again = sink.messages();
    assert_eq!(
        again.len(),
        2 * received.len(),
        "this run's finance mail and notices"
    );
    let ids: std::collections::BTreeSet<String> = again.iter().map(|m| message_id(m)).collect();
    assert_eq!(ids.len(), again.len(), "no message sent twice");
}

#[test]
fn demo_run_with_email_to_dir_writes_the_example_mail() {
    let dir = tempfile::tempdir().expect("dir");
    let out = podwarden(dir.path(), &["run", "--email-to-dir", "mail"]);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let files: Vec<PathBuf> = std::fs::read_dir(dir.path().join("mail"))
        .expect("mail folder")
        .map(|e| e.expect("entry").path())
        .collect();
    assert_eq!(files.len(), 1, "{files:?}");
    let name = files[0]
        .file_name()
        .expect("name")
        .to_string_lossy()
        .into_owned();
    assert!(
        name.starts_with("finance-") && name.ends_with(".eml"),
        "{name}"
    );
    let raw = std::fs::read(&files[0]).expect("eml");
    let mail = mailparse::parse_mail(&raw).expect("parses");
    assert!(header(&mail, "To").contains("finance@example.com"));
    assert!(header(&mail, "Subject").starts_with("podwarden spend report "));
    assert_eq!(mail.ctype.mimetype, "multipart/mixed");
}

/// A Pushgateway for the test: `$PODWARDEN_TEST_PUSHGATEWAY` when set, else Debian's
/// `prometheus-pushgateway` started on a free port without persistence.
struct Gateway {
    url: String,
    child: Option<Child>,
}

impl Drop for Gateway {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn gateway() -> Option<Gateway> {
    if let Ok(url) = std::env::var("PODWARDEN_TEST_PUSHGATEWAY") {
        return Some(Gateway { url, child: None });
    }
    let binary = ["prometheus-pushgateway", "/usr/bin/prometheus-pushgateway"]
        .into_iter()
        .find(|b| {
            Command::new(b)
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok_and(|s| s.success())
        });
    let Some(binary) = binary else {
        missing("prometheus-pushgateway");
        return None;
    };
    let port = free_port();
    let child = Command::new(binary)
        .arg(format!("--web.listen-address=127.0.0.1:{port}"))
        .arg("--persistence.file=")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("pushgateway starts");
    let url = format!("http://127.0.0.1:{port}");
    let gw = Gateway {
        url: url.clone(),
        child: Some(child),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    while Instant::now() < deadline {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Some(gw);
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("pushgateway did not listen on {url}");
}

/// The metrics of group `job`, from the gateway's HTTP API: name → [(labels, value)].
async fn pushed(url: &str, job: &str) -> serde_json::Map<String, serde_json::Value> {
    let body: serde_json::Value = reqwest::get(format!("{url}/api/v1/metrics"))
        .await
        .expect("gateway answers")
        .json()
        .await
        .expect("JSON");
    body["data"]
        .as_array()
        .expect("data")
        .iter()
        .find(|g| g["labels"]["job"] == job)
        .and_then(|g| g.as_object().cloned())
        .unwrap_or_default()
}

fn value(group: &serde_json::Map<String, serde_json::Value>, name: &str) -> Option<f64> {
    group.get(name)?["metrics"][0]["value"]
        .as_str()?
        .parse()
        .ok()
}

#[tokio::test(flavor = "multi_thread")]
async fn run_pushes_metrics_and_a_failed_run_keeps_the_last_success() {
    let Some(gw) = gateway() else { return };
    let mut sandbox = Some(SandboxProcess::start(&["--pods", "40"]));
    let job = format!("podwarden-test-{}", uuid::Uuid::now_v7().simple());
    let dir = quiet_workspace(
        &sandbox.as_ref().expect("sandbox").base,
        &format!("[metrics]\npushgateway = \"{}\"\njob = \"{job}\"\n", gw.url),
    );
    let ws = dir.path().to_path_buf();
    let before = Utc::now().timestamp() as f64;
    let first = tokio::task::spawn_blocking(move || {
        podwarden_in(
            &ws,
            &["run", "--config", "podwarden.toml", "--out", "plan.json"],
        )
    })
    .await
    .expect("runs");
    assert_eq!(first.status.code(), Some(0), "{}", text(&first.stderr));
    let plan: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join("plan.json")).expect("plan"))
            .expect("JSON");
    let planned = plan["actions"].as_array().expect("actions").len();
    assert!(planned > 0, "the sandbox has idle workers");

    let group = pushed(&gw.url, &job).await;
    let success = value(&group, "podwarden_last_success_timestamp_seconds").expect("last success");
    assert!(success >= before - 1.0, "{success} vs {before}");
    assert_eq!(value(&group, "podwarden_last_run_exit_code"), Some(0.0));
    assert!(value(&group, "podwarden_run_duration_seconds").expect("duration") > 0.0);
    let actions = group["podwarden_actions"]["metrics"]
        .as_array()
        .expect("actions");
    assert_eq!(actions.len(), 1, "{actions:?}");
    assert_eq!(actions[0]["labels"]["policy"], "stop-idle");
    assert_eq!(actions[0]["labels"]["action"], "stop");
    assert_eq!(actions[0]["labels"]["result"], "planned");
    assert_eq!(
        actions[0]["value"].as_str(),
        Some(planned.to_string().as_str())
    );
    assert!(group.contains_key("podwarden_tracked_spend"), "{group:?}");
    assert!(group.contains_key("podwarden_idle_burn_per_day"));

    // The providers are gone: the run exits 7, the push says so, the last success stays.
    drop(sandbox.take());
    let ws = dir.path().to_path_buf();
    let second = tokio::task::spawn_blocking(move || {
        podwarden_in(&ws, &["run", "--config", "podwarden.toml"])
    })
    .await
    .expect("runs");
    assert_eq!(second.status.code(), Some(7), "{}", text(&second.stderr));
    let group = pushed(&gw.url, &job).await;
    assert_eq!(value(&group, "podwarden_last_run_exit_code"), Some(7.0));
    assert_eq!(value(&group, "podwarden_last_run_success"), Some(0.0));
    assert_eq!(
        value(&group, "podwarden_last_success_timestamp_seconds"),
        Some(success),
        "a failed run never moves the last success"
    );
}

/// The real job end to end: `run --apply` against a sandbox sends the finance mail built from
/// the run's own report (its HTML with the chart inline by Content-ID, `summary-by-project.csv`
/// attached as written, the report folder named) and one notice to the owner of the pods it
/// stopped.
#[test]
fn run_apply_mails_the_real_report_and_notifies_the_owner_of_what_it_stopped() {
    let Some(python) = python_with_aiosmtpd() else {
        return missing("python3-aiosmtpd");
    };
    let dir = tempfile::tempdir().expect("dir");
    std::fs::write(
        dir.path().join("scenario.toml"),
        "[[worker]]\nid = \"wkr_a\"\nowner = \"maria.k\"\nactivity = { idle_since = \"-9h\" }\n\
         [[worker]]\nid = \"wkr_b\"\nowner = \"maria.k\"\nactivity = { idle_since = \"-9h\" }\n\
         [[worker]]\nid = \"wkr_busy\"\nowner = \"tom.b\"\n",
    )
    .expect("scenario");
    let scenario = dir.path().join("scenario.toml");
    let sandbox = SandboxProcess::start(&[
        "--pods",
        "0",
        "--transition-secs",
        "0",
        "--scenario",
        &scenario.display().to_string(),
    ]);
    let port = free_port();
    let ws = quiet_workspace(
        &sandbox.base,
        &email_section(port).replace(
            "[email.owners]\n",
            "[email.owners]\ndomain = \"example.com\"\n",
        ),
    );
    let sink = SmtpSink::start(&python, &dir.path().join("received"), port);
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(["run", "--config", "podwarden.toml", "--apply"])
        .current_dir(ws.path())
        .env_remove("PODWARDEN_CONFIG")
        .env("PODWARDEN_LOG", "warn")
        .env("ARGUS_TOKEN", ADMIN)
        .env("PODSTACK_API_TOKEN", ADMIN)
        .output()
        .expect("runs");
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("2 accepted (2 verified"), "{stdout}");
    let messages = sink.messages();
    assert_eq!(messages.len(), 2, "the finance mail and one owner notice");
    let mails: Vec<ParsedMail> = messages
        .iter()
        .map(|m| mailparse::parse_mail(m).expect("parses"))
        .collect();
    let finance = mails
        .iter()
        .find(|m| header(m, "To").contains("finance@example.com"))
        .expect("finance mail");
    assert!(
        header(finance, "Subject").contains("month-to-date tracked $"),
        "{}",
        header(finance, "Subject")
    );
    let related = &finance.subparts[0];
    let html = related.subparts[0].subparts[1].get_body().expect("html");
    assert!(
        html.contains("src=\"cid:daily-spend\"") && !html.contains("<svg"),
        "{html}"
    );
    assert!(
        html.contains("Idle burn") || html.contains("idle"),
        "{html}"
    );
    let chart = related.subparts[1].get_body_raw().expect("png");
    assert!(chart.starts_with(b"\x89PNG"), "a real PNG chart");
    let names: Vec<String> = finance.subparts[1..]
        .iter()
        .filter_map(|p| p.get_content_disposition().params.get("filename").cloned())
        .collect();
    assert_eq!(names, ["summary-by-project.csv"]);
    let day = std::fs::read_dir(ws.path().join("reports"))
        .expect("reports")
        .next()
        .expect("a day folder")
        .expect("entry")
        .path();
    let written =
        std::fs::read_to_string(day.join("summary-by-project.csv")).expect("summary CSV written");
    assert_eq!(finance.subparts[1].get_body().expect("summary"), written);
    assert!(written.contains("maria.k"), "{written}");
    let folder = std::fs::canonicalize(&day).expect("folder");
    assert!(
        html.contains(&format!("Folder: {}", folder.display())),
        "the mail says where the full files are: {html}"
    );

    let notice = mails
        .iter()
        .find(|m| header(m, "To").contains("maria.k@example.com"))
        .expect("owner notice to maria.k");
    let body = notice.subparts[0].get_body().expect("text");
    assert!(body.contains("wkr_a") && body.contains("wkr_b"), "{body}");
    assert!(
        !mails.iter().any(|m| header(m, "To").contains("tom.b")),
        "nothing happened to tom.b's pod"
    );
}

/// The finance mail stays small at any fleet size. At 10 000 sandbox pods (a `focus.csv` of
/// over 100 MB) the mail `run --email-to-dir` writes is under 5 MB, its one attachment is the
/// report folder's `summary-by-project.csv` (the same bytes), its tables are cut, and it says
/// where the full files are. The sandbox's rate limits are raised and Podstack's learned from
/// its headers, so that the collection is not what the test waits for.
#[tokio::test(flavor = "multi_thread")]
async fn the_finance_mail_of_10000_pods_is_under_5_mb_and_attaches_the_summary_only() {
    let s = sandbox(podwarden::sandbox::SandboxConfig {
        pods: 10_000,
        read_limit: 1_000_000,
        podstack_limit: 1_000_000,
        ..Default::default()
    })
    .await;
    let base = s.argus_url().replace("/argus/v1", "");
    let dir = quiet_workspace(&base, &email_section(free_port()));
    let path = dir.path().join("podwarden.toml");
    let config = std::fs::read_to_string(&path).expect("config");
    let line = "stats_window = \"24h\"              # utilisation history read per running pod";
    assert!(config.contains(line), "{config}");
    std::fs::write(
        &path,
        config.replace(line, "stats_window = \"1h\"\nops_rate = \"learn\""),
    )
    .expect("config written");
    let ws = dir.path().to_path_buf();
    let started = Instant::now();
    let out = tokio::task::spawn_blocking(move || {
        podwarden_in(
            &ws,
            &[
                "run",
                "--config",
                "podwarden.toml",
                "--email-to-dir",
                "mail",
            ],
        )
    })
    .await
    .expect("runs");
    eprintln!(
        "run over 10 000 pods (debug build): {:?}",
        started.elapsed()
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    s.stop().await;

    let day = std::fs::read_dir(dir.path().join("reports"))
        .expect("reports")
        .next()
        .expect("a day folder")
        .expect("entry")
        .path();
    let focus = std::fs::metadata(day.join("focus.csv"))
        .expect("focus.csv")
        .len();
    assert!(focus > 50_000_000, "the full data is large: {focus} bytes");
    let mails: Vec<PathBuf> = std::fs::read_dir(dir.path().join("mail"))
        .expect("mail folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("finance-"))
        })
        .collect();
    assert_eq!(mails.len(), 1, "{mails:?}");
    let raw = std::fs::read(&mails[0]).expect("eml");
    eprintln!(
        "finance mail at 10 000 pods: {} bytes (focus.csv {focus} bytes)",
        raw.len()
    );
    assert!(raw.len() < 5_000_000, "the mail is {} bytes", raw.len());

    let mail = mailparse::parse_mail(&raw).expect("parses");
    let attached: Vec<(String, String)> = mail.subparts[1..]
        .iter()
        .map(|p| {
            (
                p.get_content_disposition()
                    .params
                    .get("filename")
                    .cloned()
                    .unwrap_or_default(),
                p.get_body().expect("body"),
            )
        })
        .collect();
    let summary = std::fs::read_to_string(day.join("summary-by-project.csv")).expect("summary CSV");
    assert_eq!(
        attached,
        [("summary-by-project.csv".to_string(), summary.clone())]
    );
    assert!(summary.lines().count() > 10, "{summary}");
    let alternative = &mail.subparts[0].subparts[0];
    let text = alternative.subparts[0].get_body().expect("text");
    let folder = std::fs::canonicalize(&day).expect("folder");
    assert!(
        text.contains(&format!("Folder: {}", folder.display())),
        "{text}"
    );
    assert!(
        text.contains("focus.csv ("),
        "the full files are listed: {text}"
    );
    // Each table holds its top rows and sums the rest in one row (`[report] top`).
    assert!(
        text.contains(" more idle pods | "),
        "tables are cut: {text}"
    );
    let html = alternative.subparts[1].get_body().expect("html");
    assert!(html.contains(" more idle pods</td>"), "{html}");
}
