//! Notify: what a run tells the outside world when it is done — the finance email, owner
//! notices ([`email`], [`message`], [`outbox`]) and run metrics ([`metrics`]).
//!
//! **Wiring point for the report (issue 8):** [`finance_mail`] turns what the report produced
//! into the finance mail. Today the run hands it the spend summary and the plan table as text;
//! the report adds its HTML, `spend.csv`, `focus.csv` and the daily-spend chart (PNG) by
//! filling the matching fields of [`ReportInput`].

pub mod email;
pub mod email_config;
pub mod message;
pub mod metrics;
pub mod outbox;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rust_decimal::Decimal;

use crate::fleet::Fleet;
pub use email::DeliveryReport;
use email_config::EmailConfig;
pub use message::{FinanceMail, NoticePod, OwnerNotice};

/// The Content-ID of the daily-spend chart in the finance mail (`<img src="cid:daily-spend">`).
pub const CHART_CID: &str = "daily-spend";

/// What the report hands to the finance mail.
#[derive(Debug, Clone, Default)]
pub struct ReportInput {
    /// The report's day (the subject carries it).
    pub date: Option<NaiveDate>,
    /// Month-to-date tracked spend, formatted (the subject carries it).
    pub month_to_date: String,
    /// Plain-text body (the spend summary and the plan).
    pub text: String,
    /// The report's HTML; `None`: the text, preformatted.
    pub html: Option<String>,
    pub spend_csv: Option<PathBuf>,
    pub focus_csv: Option<PathBuf>,
    /// The daily-spend chart (PNG), shown inline by Content-ID [`CHART_CID`].
    pub chart_png: Option<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
#[error("finance mail: reading {path}: {source}")]
pub struct ReportFileError {
    pub path: PathBuf,
    pub source: std::io::Error,
}

fn read(path: &Path) -> Result<Vec<u8>, ReportFileError> {
    std::fs::read(path).map_err(|source| ReportFileError {
        path: path.to_path_buf(),
        source,
    })
}

/// The finance mail of a report: subject with the date and the month-to-date tracked figure,
/// HTML and text, the CSV files attached, the chart inline.
pub fn finance_mail(report: &ReportInput) -> Result<FinanceMail, ReportFileError> {
    let date = report.date.unwrap_or_else(|| Utc::now().date_naive());
    let subject = format!(
        "podwarden spend report {date}: month-to-date tracked {}",
        report.month_to_date
    );
    let inline_png = match &report.chart_png {
        Some(p) => Some((CHART_CID.to_string(), read(p)?)),
        None => None,
    };
    let html = report.html.clone().unwrap_or_else(|| {
        let chart = if inline_png.is_some() {
            format!("<p><img src=\"cid:{CHART_CID}\" alt=\"daily spend\"></p>")
        } else {
            String::new()
        };
        format!(
            "<html><body><h1>podwarden spend report {date}</h1>{chart}<pre>{}</pre></body></html>",
            crate::report::html::escape(&report.text)
        )
    });
    let mut attachments = Vec::new();
    for (path, mime) in [
        (&report.spend_csv, "text/csv"),
        (&report.focus_csv, "text/csv"),
    ] {
        if let Some(p) = path {
            let name = p
                .file_name()
                .map_or_else(|| "report.csv".into(), |n| n.to_string_lossy().into_owned());
            attachments.push((name, mime.to_string(), read(p)?));
        }
    }
    Ok(FinanceMail {
        date,
        subject,
        html,
        text: report.text.clone(),
        attachments,
        inline_png,
    })
}

/// Billed spend of the current month, per currency ("1234.56 USD + 80.00 INR"): the subject's
/// figure until the report computes its own tracked month-to-date.
pub fn month_to_date(fleet: &Fleet, today: NaiveDate) -> String {
    let mut sums: BTreeMap<String, Decimal> = BTreeMap::new();
    for c in fleet
        .costs
        .iter()
        .filter(|c| c.date.year() == today.year() && c.date.month() == today.month())
    {
        *sums.entry(c.amount.currency.to_string()).or_default() += c.amount.amount;
    }
    if sums.is_empty() {
        return "none".into();
    }
    sums.iter()
        .map(|(cur, amount)| format!("{} {cur}", amount.round_dp(2)))
        .collect::<Vec<_>>()
        .join(" + ")
}

/// Builds a run's mails and delivers them: as `.eml` files into `to_dir`, else over SMTP
/// (outbox first). Never fails: problems are logged.
///
/// Each mail gets its outbox key: the finance mail `finance DAY` (the report's day), an owner
/// notice `owner-notice DAY ADDRESS` (the day of `now`). While the server is down, a later
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
                m.key = Some(format!(
                    "owner-notice {} {}",
                    now.date_naive(),
                    n.owner_email.to_lowercase()
                ));
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
                    action: pending.action.clone(),
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
                    action: a.action.clone(),
                    reason: a.reason.clone(),
                    at: *at,
                });
        }
    }
    by_owner.into_values().collect()
}
