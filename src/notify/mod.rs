//! Notify: what a run tells the outside world when it is done — the finance email, owner
//! notices ([`email`], [`message`]; undelivered mail waits in the state file's
//! [outbox](crate::state::outbox)) and run metrics ([`metrics`]), each a [`Channel`] in the
//! one list [`channels`] that the run goes through ([`channel`]).
//!
//! The finance mail is built from the run's report ([`report_input`], then [`finance_mail`]):
//! the report for a mail body (each table cut to a few rows), the run's summary, the chart
//! inline, the small per-project summary CSV attached, and where the full files are. It stays
//! small at any fleet size: the full `spend.csv` / `focus.csv` are never attached (they are
//! gigabytes at 100 000 pods), and what is attached is capped by `[email]
//! max_attachment_bytes`; anything left out is named in the mail with its size and place.

pub mod channel;
pub mod email;
pub mod email_config;
pub mod message;
pub mod metrics;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};

use crate::fleet::Fleet;
use crate::report::html::escape;
pub use channel::{Channel, ChannelError, Delivery, Finished, Produced};
pub use email::DeliveryReport;
use email_config::EmailConfig;
pub use message::{FinanceMail, NoticePod, OwnerNotice};

/// The Content-ID of the daily-spend chart in the finance mail (`<img src="cid:daily-spend">`).
pub const CHART_CID: &str = "daily-spend";

/// Lines of the run's own text (summary and plan table) the finance mail keeps.
pub const RUN_TEXT_LINES: usize = 60;

/// What the report hands to the finance mail.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// The report's day (the subject carries it).
    pub date: Option<NaiveDate>,
    /// Month-to-date tracked spend, formatted (the subject carries it).
    pub month_to_date: String,
    /// Plain-text body (the report for a mail, the spend summary and the plan).
    pub text: String,
    /// The report's HTML; `None`: the text, preformatted.
    pub html: Option<String>,
    /// Files offered as attachments, most important first: name, MIME type, bytes. Each is
    /// attached while all attached stay within `max_attachment_bytes`; the mail names each
    /// one left out, with its size and where it is.
    pub attachments: Vec<(String, String, Vec<u8>)>,
    /// The daily-spend chart (PNG), shown inline by Content-ID [`CHART_CID`]: an image of
    /// fixed dimensions, part of the body, not counted as an attachment.
    pub chart_png: Option<Vec<u8>>,
    /// The report folder this run wrote (`None`: it wrote none), and each of its files' name
    /// and size in bytes.
    pub folder: Option<PathBuf>,
    pub files: Vec<(String, u64)>,
    /// What the attachments may add up to, in bytes (`[email] max_attachment_bytes`).
    pub max_attachment_bytes: u64,
}

/// A byte count for people: `812 B`, `12.3 KB`, `5 MB`, `4.1 GB` (decimal units).
pub fn size(n: u64) -> String {
    for (unit, name) in [(1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "KB")] {
        if n >= unit {
            let text = format!("{:.1}", n as f64 / unit as f64);
            return format!("{} {name}", text.strip_suffix(".0").unwrap_or(&text));
        }
    }
    format!("{n} B")
}

/// The first `max` lines of `text`, and a line saying how many were left out.
fn clip_lines(text: &str, max: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    if lines.len() <= max {
        return text.to_string();
    }
    format!(
        "{}\n… and {} more lines (the run's full output; the plan file with --out).\n",
        lines[..max].join("\n"),
        lines.len() - max
    )
}

/// The finance mail's input from a built report: the report for a mail body (tables cut) with
/// `run_text` (the run's summary and plan table, cut to [`RUN_TEXT_LINES`] lines) under it,
/// the summary CSV offered as the attachment, the chart inline, and the report's `written`
/// files (their folder is the report folder).
pub fn report_input(
    report: &crate::report::Report,
    run_text: &str,
    written: &[PathBuf],
    max_attachment_bytes: u64,
) -> ReportInput {
    let chart_png = match crate::report::write::chart_png(report) {
        Ok(png) => Some(png),
        Err(e) => {
            tracing::warn!("finance mail without its chart: {e}");
            None
        }
    };
    let folder = written
        .first()
        .and_then(|p| p.parent())
        .map(|d| std::fs::canonicalize(d).unwrap_or_else(|_| d.to_path_buf()));
    let files = written
        .iter()
        .map(|p| {
            (
                p.file_name()
                    .map_or_else(String::new, |n| n.to_string_lossy().into_owned()),
                std::fs::metadata(p).map_or(0, |m| m.len()),
            )
        })
        .collect();
    ReportInput {
        date: Some(report.window.today),
        month_to_date: report.headline.mtd_tracked.to_string(),
        text: format!(
            "{}\n{}",
            crate::report::markdown::for_mail(report),
            clip_lines(run_text, RUN_TEXT_LINES)
        ),
        html: Some(crate::report::html::for_mail(report, CHART_CID)),
        attachments: vec![(
            crate::report::breakdown::FILE.to_string(),
            "text/csv".to_string(),
            crate::report::breakdown::csv(&report.breakdown, &report.conversion).into_bytes(),
        )],
        chart_png,
        folder,
        files,
        max_attachment_bytes,
    }
}

/// The mail's "Report files" part (text, HTML): where the report's files are, what is
/// attached, and every file not attached with its size — those over the limit said loudly.
fn files_part(
    report: &ReportInput,
    attached: &[(String, u64)],
    over_limit: &[(String, u64)],
) -> (String, String) {
    let limit = size(report.max_attachment_bytes);
    let mut text = String::from("Report files\n");
    let mut html = String::from("<h2>Report files</h2><ul>");
    let mut item = |t: String, loud: bool| {
        text.push_str(&format!("  {t}\n"));
        if loud {
            html.push_str(&format!("<li><b>{}</b></li>", escape(&t)));
        } else {
            html.push_str(&format!("<li>{}</li>", escape(&t)));
        }
    };
    match &report.folder {
        Some(f) => item(format!("Folder: {}", f.display()), false),
        None => item("This run wrote no report files.".into(), false),
    }
    let list = |files: &[(String, u64)]| {
        files
            .iter()
            .map(|(n, b)| format!("{n} ({})", size(*b)))
            .collect::<Vec<_>>()
            .join(", ")
    };
    if attached.is_empty() {
        item("Attached: nothing.".into(), false);
    } else {
        item(format!("Attached: {}.", list(attached)), false);
    }
    for (name, bytes) in over_limit {
        let place = match (&report.folder, report.files.iter().any(|(n, _)| n == name)) {
            (Some(f), true) => format!("it is at {}", f.join(name).display()),
            _ => "this run wrote no report files".to_string(),
        };
        item(
            format!(
                "{name} ({}) not attached: over the {limit} limit ([email] max_attachment_bytes); {place}.",
                size(*bytes)
            ),
            true,
        );
    }
    let rest: Vec<(String, u64)> = report
        .files
        .iter()
        .filter(|(n, _)| {
            !attached.iter().any(|(a, _)| a == n) && !over_limit.iter().any(|(o, _)| o == n)
        })
        .cloned()
        .collect();
    if !rest.is_empty() {
        item(
            format!("Not attached, in the folder: {}.", list(&rest)),
            false,
        );
    }
    html.push_str("</ul>");
    (text, html)
}

/// The finance mail of a report: subject with the date and the month-to-date tracked figure,
/// HTML and text, the chart inline, and the offered attachments while they fit within
/// `max_attachment_bytes` (in the order given); the bodies end with where the report's files
/// are and name every file not attached (over the limit: loudly, with its place).
pub fn finance_mail(report: &ReportInput) -> FinanceMail {
    let date = report.date.unwrap_or_else(|| Utc::now().date_naive());
    let subject = format!(
        "podwarden spend report {date}: month-to-date tracked {}",
        report.month_to_date
    );
    let inline_png = report
        .chart_png
        .as_ref()
        .map(|png| (CHART_CID.to_string(), png.clone()));
    let mut used: u64 = 0;
    let mut attachments = Vec::new();
    let (mut attached, mut over_limit) = (Vec::new(), Vec::new());
    for (name, mime, bytes) in &report.attachments {
        let n = bytes.len() as u64;
        if used.saturating_add(n) <= report.max_attachment_bytes {
            used += n;
            attachments.push((name.clone(), mime.clone(), bytes.clone()));
            attached.push((name.clone(), n));
        } else {
            over_limit.push((name.clone(), n));
        }
    }
    let (files_text, files_html) = files_part(report, &attached, &over_limit);
    let mut html = report.html.clone().unwrap_or_else(|| {
        let chart = if inline_png.is_some() {
            format!("<p><img src=\"cid:{CHART_CID}\" alt=\"daily spend\"></p>")
        } else {
            String::new()
        };
        format!(
            "<html><body><h1>podwarden spend report {date}</h1>{chart}<pre>{}</pre></body></html>",
            escape(&report.text)
        )
    });
    match html.rfind("</body>") {
        Some(at) => html.insert_str(at, &files_html),
        None => html.push_str(&files_html),
    }
    FinanceMail {
        date,
        subject,
        html,
        text: format!("{}\n{files_text}", report.text),
        attachments,
        inline_png,
    }
}

/// Builds a run's mails and delivers them: as `.eml` files into `to_dir`, else over SMTP
/// (outbox first). Never fails: problems are logged.
///
/// Each mail gets its outbox key: the finance mail `finance DAY` (the report's day), an owner
/// notice of pending pods only `owner-notice DAY ADDRESS` (the day of `now`); a notice of pods
/// acted on has none and is never replaced. While the server is down, a later
/// run's mail for the same day replaces the one waiting, so the day's finance mail (and each
/// owner's notice of the day) is delivered once, in its newest version.
pub async fn send_run_mail(
    config: &EmailConfig,
    state: &Path,
    to_dir: Option<&Path>,
    finance: Option<&FinanceMail>,
    notices: &[OwnerNotice],
    now: DateTime<Utc>,
) -> DeliveryReport {
    let mut mails = Vec::new();
    if let Some(f) = finance {
        if config.finance.to.is_empty() {
            tracing::info!("no [email.finance] to: the finance mail is not sent");
        } else {
            match message::finance(f, &config.from, &config.finance, f.date) {
                Ok(mut m) => {
                    m.key = Some(format!("finance {}", f.date));
                    mails.push(m);
                }
                Err(e) => tracing::error!("{e}"),
            }
        }
    }
    for n in notices {
        match message::owner_notice(n, &config.from, &config.owners) {
            Ok(mut m) => {
                // A notice that tells of pods acted on is that run's news: no later run's
                // notice (which lists its own actions only) may replace it.
                m.key = n.acted.is_empty().then(|| {
                    format!(
                        "owner-notice {} {}",
                        now.date_naive(),
                        n.owner_email.to_lowercase()
                    )
                });
                mails.push(m);
            }
            Err(e) => tracing::error!("{e}"),
        }
    }
    match to_dir {
        Some(dir) => match email::write_dir(dir, &mails) {
            Ok(written) => DeliveryReport {
                written,
                ..Default::default()
            },
            Err(e) => {
                tracing::error!("writing mail to {}: {e}", dir.display());
                DeliveryReport::default()
            }
        },
        None => email::deliver(config, state, &mails, now).await,
    }
}

/// What the channels are built from: the configuration's sections and where the run's
/// deliveries go.
pub struct ChannelSettings<'a> {
    pub email: Option<&'a EmailConfig>,
    pub metrics: Option<&'a metrics::MetricsConfig>,
    /// The state file (the outbox and the journal are in it).
    pub state: &'a Path,
    /// The protect label the owner notices name.
    pub protect_label: &'a (String, String),
    /// `--email-to-dir`: write the mails here instead of sending them.
    pub email_to_dir: Option<&'a Path>,
    /// The built-in demo, which sends no mail over SMTP.
    pub demo: bool,
    /// The shard this run is (`[[shard]]`): it sends owner notices but no finance mail.
    pub shard: Option<&'a str>,
}

/// The channels a run notifies, in delivery order: one entry per configured channel. A new
/// channel is one file (see [`channel`]) and one entry here.
pub fn channels<'a>(settings: &ChannelSettings<'a>) -> Vec<Box<dyn Channel + 'a>> {
    let mut list: Vec<Box<dyn Channel + 'a>> = Vec::new();
    match settings.email {
        Some(email) => list.push(Box::new(email::EmailChannel::new(email, settings))),
        None if settings.email_to_dir.is_some() => tracing::warn!(
            "--email-to-dir: the configuration has no [email] section, no mail written"
        ),
        None => {}
    }
    if let Some(metrics) = settings.metrics {
        list.push(Box::new(metrics::PushgatewayChannel::new(metrics)));
    }
    list
}

/// One notice per owner: their pods with pending notices (due time, reason) and the pods
/// acted on for them this run (`acted`: target and time). An owner is mailed at their address,
/// or at `NAME@domain` when named without one; pods without an owner, or whose owner has no
/// address and no domain is configured, get no notice (logged).
pub fn owner_notices(
    fleet: &Fleet,
    plan: &crate::plan::Plan,
    acted: &[(String, DateTime<Utc>)],
    domain: Option<&str>,
    protect_label: &(String, String),
) -> Vec<OwnerNotice> {
    let mut by_owner: BTreeMap<String, OwnerNotice> = BTreeMap::new();
    let pod = |provider: &str, target: &str| {
        fleet
            .pods
            .iter()
            .find(|p| p.provider == provider && p.target == target)
    };
    let label = format!("{}={}", protect_label.0, protect_label.1);
    // The owner's address and the pod's name, when the pod has a reachable owner.
    let address_of = |provider: &str, target: &str| -> Option<(String, String)> {
        let p = pod(provider, target)?;
        let owner = p.owner.as_deref()?;
        let address = if owner.contains('@') {
            owner.to_string()
        } else {
            match domain {
                Some(d) => format!("{owner}@{d}"),
                None => {
                    tracing::info!(owner, "owner notice not sent: set [email.owners] domain to mail owners named without one");
                    return None;
                }
            }
        };
        Some((address, p.name.clone()))
    };
    fn notice<'a>(
        by_owner: &'a mut BTreeMap<String, OwnerNotice>,
        address: String,
        label: &str,
    ) -> &'a mut OwnerNotice {
        by_owner
            .entry(address.clone())
            .or_insert_with(|| OwnerNotice {
                owner_email: address,
                pending: Vec::new(),
                acted: Vec::new(),
                protect_label: label.to_string(),
            })
    }
    for pending in &plan.pending {
        if let Some((address, name)) = address_of(&pending.provider, &pending.target) {
            notice(&mut by_owner, address, &label)
                .pending
                .push(NoticePod {
                    provider: pending.provider.clone(),
                    target: pending.target.clone(),
                    name,
                    action: pending.action.to_string(),
                    reason: pending.reason.clone(),
                    at: pending.due_at,
                });
        }
    }
    for a in &plan.actions {
        let Some((_, at)) = acted.iter().find(|(t, _)| *t == a.target) else {
            continue;
        };
        if let Some((address, name)) = address_of(&a.provider, &a.target) {
            notice(&mut by_owner, address, &label)
                .acted
                .push(NoticePod {
                    provider: a.provider.clone(),
                    target: a.target.clone(),
                    name,
                    action: a.action.to_string(),
                    reason: a.reason.clone(),
                    at: *at,
                });
        }
    }
    by_owner.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_read_in_decimal_units() {
        assert_eq!(size(812), "812 B");
        assert_eq!(size(12_345), "12.3 KB");
        assert_eq!(size(5_000_000), "5 MB");
        assert_eq!(size(412_300_000), "412.3 MB");
        assert_eq!(size(4_100_000_000), "4.1 GB");
    }

    #[test]
    fn attachments_are_taken_in_order_while_they_fit_and_the_rest_is_named() {
        let input = ReportInput {
            date: NaiveDate::from_ymd_opt(2026, 11, 21),
            month_to_date: "$1.00".into(),
            text: "t".into(),
            attachments: vec![
                ("a.csv".into(), "text/csv".into(), vec![b'a'; 600]),
                ("b.csv".into(), "text/csv".into(), vec![b'b'; 600]),
                ("c.csv".into(), "text/csv".into(), vec![b'c'; 300]),
            ],
            folder: None,
            max_attachment_bytes: 1_000,
            ..ReportInput::default()
        };
        let mail = finance_mail(&input);
        let names: Vec<&str> = mail.attachments.iter().map(|a| a.0.as_str()).collect();
        assert_eq!(names, ["a.csv", "c.csv"]);
        assert!(
            mail.text.contains(
                "b.csv (600 B) not attached: over the 1 KB limit ([email] max_attachment_bytes); \
                 this run wrote no report files."
            ),
            "{}",
            mail.text
        );
        assert!(mail.html.contains("<h2>Report files</h2>"), "{}", mail.html);
    }

    #[test]
    fn long_run_text_is_cut_with_a_count() {
        let text: String = (0..100).map(|i| format!("line {i}\n")).collect();
        let cut = clip_lines(&text, 60);
        assert!(cut.contains("line 59") && !cut.contains("line 60"), "{cut}");
        assert!(cut.contains("… and 40 more lines"), "{cut}");
        assert_eq!(clip_lines("a\nb\n", 60), "a\nb\n");
    }
}
