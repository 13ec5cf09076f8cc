//! The report's sections as blocks (headings, paragraphs, tables, charts) and their
//! Markdown rendering, `summary.md`: for the terminal, a review comment or a mail body.
//! `report.html` renders the same blocks ([`crate::report::html`]).

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::money::{fixed, Money};
use crate::report::build::{IdleList, Report};
use crate::report::currency::{grouped, Amounts};

/// What "Planned this run" says when no plan was made (`podwarden report`).
pub const NO_PLAN: &str = "No plan was made (podwarden report does not plan; see podwarden run).";
/// What "Pending notices" says when no plan was made: notices are listed with the plan.
pub const NO_PLAN_NOTICES: &str =
    "Not listed: pending notices come with a plan (podwarden report does not plan; see podwarden run).";

/// A piece of the report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    Heading(u8, String),
    /// A paragraph; `loud` marks warnings.
    Para {
        text: String,
        loud: bool,
    },
    Table {
        head: Vec<String>,
        rows: Vec<Vec<String>>,
    },
    /// Where a chart goes (HTML only): `daily_provider`, `daily_project`, `idle_project`.
    Chart(&'static str),
}

/// Blocks in order.
#[derive(Debug, Default)]
pub struct Doc {
    pub blocks: Vec<Block>,
}

impl Doc {
    fn h(&mut self, level: u8, text: String) {
        self.blocks.push(Block::Heading(level, text));
    }
    fn p(&mut self, text: String) {
        self.blocks.push(Block::Para { text, loud: false });
    }
    fn warn(&mut self, text: String) {
        self.blocks.push(Block::Para { text, loud: true });
    }
    fn table(&mut self, head: &[&str], rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table {
            head: head.iter().map(|h| h.to_string()).collect(),
            rows,
        });
    }
    fn amounts(&mut self, key: &str, rows: &[(String, Amounts)]) {
        if rows.is_empty() {
            self.p("No spend.".into());
            return;
        }
        self.table(
            &[key, "month to date"],
            rows.iter()
                .map(|(k, a)| vec![k.clone(), a.to_string()])
                .collect(),
        );
    }
}

/// The headline lines, each with whether it is a warning (also printed by `run` and `plan`
/// under the plan).
pub fn headline_lines(r: &Report) -> Vec<(String, bool)> {
    let h = &r.headline;
    let mut lines: Vec<(String, bool)> = Vec::new();
    let (lm_from, lm_to) = h.last_month_same_period_dates;
    lines.push((
        format!(
            "Tracked spend, month to date ({} to {}): {}",
            r.window.month_start, r.window.today, h.mtd_tracked
        ),
        false,
    ));
    lines.push((
        format!(
            "Month-end forecast: {} (month to date + {} per day × {} days left)",
            h.forecast,
            h.burn_per_day,
            r.window.days_left()
        ),
        false,
    ));
    lines.push((
        format!(
            "Same period last month ({lm_from} to {lm_to}): {}; whole last month: {}",
            h.last_month_same_period, h.last_month_total
        ),
        false,
    ));
    if h.running_orphans > 0 {
        lines.push((
            format!(
                "WARNING: {} running orphan pod(s) burn {}/day, outside the tracked total \
             ({} billed to orphans this month)",
                h.running_orphans, h.orphan_burn_per_day, h.mtd_orphans
            ),
            true,
        ));
    }
    for c in &r.missing_rates {
        lines.push((
            format!(
                "No {c} → {} rate configured: {c} amounts are shown apart, never converted \
             (set `[currency] rates = {{ {c} = \"…\" }}`)",
                r.conversion.report
            ),
            true,
        ));
    }
    if !r.conversion.rates.is_empty() {
        let rates: Vec<String> = r
            .conversion
            .rates
            .iter()
            .map(|(c, v)| format!("1 {c} = {v} {}", r.conversion.report))
            .collect();
        lines.push((
            format!(
                "Rates: {} (set {})",
                rates.join(", "),
                r.conversion
                    .rates_set
                    .map_or_else(|| "on an unknown date".to_string(), |d| d.to_string())
            ),
            false,
        ));
    }
    for w in &r.warnings {
        lines.push((w.clone(), true));
    }
    lines
}

/// The report's blocks, in order.
pub fn doc(r: &Report) -> Doc {
    let mut d = Doc::default();
    d.h(1, format!("Spend report {}", r.window.today));
    d.p(format!(
        "As of {}; window {} to {}; amounts in {}.",
        r.now.format("%Y-%m-%d %H:%M UTC"),
        r.window.from,
        r.window.today,
        r.conversion.report
    ));
    for (line, loud) in headline_lines(r) {
        if loud {
            d.warn(line);
        } else {
            d.p(line);
        }
    }
    d.h(2, "Daily spend".into());
    d.blocks.push(Block::Chart("daily_provider"));
    d.blocks.push(Block::Chart("daily_project"));

    d.h(2, format!("Idle burn: {} per day", r.idle.total_per_day));
    if r.idle.pods.is_empty() {
        d.p("No running pod is idle.".into());
    } else {
        d.table(
            &[
                "provider",
                "pod",
                "project",
                "idle since",
                "per day",
                "evidence",
            ],
            r.idle
                .pods
                .iter()
                .map(|p| {
                    vec![
                        p.provider.clone(),
                        p.target.clone(),
                        p.project.clone(),
                        p.since
                            .map_or("unknown".into(), |s| s.format("%Y-%m-%d %H:%M").to_string()),
                        grouped(&p.per_day),
                        p.evidence.clone(),
                    ]
                })
                .collect(),
        );
        d.h(3, "Idle burn by project".into());
        d.blocks.push(Block::Chart("idle_project"));
        let rows: Vec<(String, Amounts)> = r.idle.by_project.clone();
        d.table(
            &["project", "per day"],
            rows.iter()
                .map(|(k, a)| vec![k.clone(), a.to_string()])
                .collect(),
        );
    }
    if r.idle.checked_against.is_empty() {
        d.p("No provider idle list to cross-check against.".into());
    } else if r.idle.differences.is_empty() {
        d.p(format!(
            "Cross-check with {}: no differences.",
            lists_named(&r.idle.checked_against)
        ));
    } else {
        d.warn(format!(
            "Cross-check with {}: {} difference(s)",
            lists_named(&r.idle.checked_against),
            r.idle.differences.len()
        ));
        d.table(
            &["provider", "pod", "podwarden", "provider says", "why"],
            r.idle
                .differences
                .iter()
                .map(|x| {
                    vec![
                        x.provider.clone(),
                        x.target.clone(),
                        x.ours.as_ref().map_or("-".into(), grouped),
                        x.theirs.as_ref().map_or("-".into(), grouped),
                        x.why.clone(),
                    ]
                })
                .collect(),
        );
    }

    d.h(2, format!("Orphans ({})", r.orphans.len()));
    if r.orphans.is_empty() {
        d.p("None.".into());
    } else {
        d.p(format!(
            "Outside the tracked total. Billed this month: {}.",
            r.headline.mtd_orphans
        ));
        d.table(
            &[
                "provider",
                "pod",
                "status",
                "GPU",
                "orphan since",
                "age (days)",
                "per day",
                "month to date",
            ],
            r.orphans
                .iter()
                .map(|o| {
                    vec![
                        o.provider.clone(),
                        o.target.clone(),
                        o.status.to_string(),
                        o.gpu_type.clone(),
                        o.orphaned_since
                            .map_or("unknown".into(), |s| s.format("%Y-%m-%d").to_string()),
                        o.age_days.map_or("?".into(), |x| x.to_string()),
                        grouped(&o.per_day),
                        o.mtd.to_string(),
                    ]
                })
                .collect(),
        );
    }

    d.h(2, "Tracked spend, month to date".into());
    d.h(3, "By provider".into());
    d.amounts("provider", &r.by_provider);
    d.h(3, "By project".into());
    d.amounts("project", &r.by_project);
    d.h(3, "By owner".into());
    d.amounts("owner", &r.by_owner);
    d.h(3, "By GPU type".into());
    d.amounts("GPU type", &r.by_gpu_type);
    if !r.by_resource.is_empty() {
        d.h(3, "Podstack by resource".into());
        d.amounts("resource", &r.by_resource);
    }

    d.h(2, "Top 10 pods, month to date".into());
    d.table(
        &[
            "provider",
            "pod",
            "name",
            "project",
            "kind",
            "month to date",
        ],
        r.top_pods
            .iter()
            .map(|p| {
                vec![
                    p.provider.clone(),
                    p.target.clone(),
                    p.name.clone(),
                    p.project.clone(),
                    p.kind.clone(),
                    p.mtd.to_string(),
                ]
            })
            .collect(),
    );

    if !r.health.is_empty() {
        let count = |h: &str| r.health.iter().filter(|x| x.health == h).count();
        d.h(2, "Replicas and health".into());
        d.p(format!(
            "{} green · {} yellow · {} red",
            count("green"),
            count("yellow"),
            count("red")
        ));
        let mut rows: Vec<_> = r.health.iter().collect();
        rows.sort_by_key(|h| (health_rank(&h.health), h.target.clone()));
        d.table(
            &[
                "provider", "pod", "name", "project", "status", "replicas", "health",
            ],
            rows.iter()
                .map(|h| {
                    vec![
                        h.provider.clone(),
                        h.target.clone(),
                        h.name.clone(),
                        h.project.clone(),
                        h.status.to_string(),
                        h.replicas.to_string(),
                        h.health.clone(),
                    ]
                })
                .collect(),
        );
    }

    d.h(2, "Actions".into());
    if !r.plan_made {
        d.h(3, "Planned this run".into());
        d.p(NO_PLAN.into());
        d.h(3, "Pending notices".into());
        d.p(NO_PLAN_NOTICES.into());
    } else {
        d.h(
            3,
            format!("Planned this run: {} saved per day", r.planned_total),
        );
        if r.planned.is_empty() {
            d.p("None.".into());
        } else {
            d.table(
                &["provider", "target", "action", "policy", "saves per day"],
                r.planned
                    .iter()
                    .map(|p| {
                        vec![
                            p.provider.clone(),
                            p.target.clone(),
                            p.action.clone(),
                            p.policy.clone(),
                            grouped(&p.per_day),
                        ]
                    })
                    .collect(),
            );
        }
        d.h(3, format!("Pending notices ({})", r.pending.len()));
        if r.pending.is_empty() {
            d.p("None.".into());
        } else {
            d.table(
                &["provider", "target", "action", "policy", "due", "reason"],
                r.pending
                    .iter()
                    .map(|p| {
                        vec![
                            p.provider.clone(),
                            p.target.clone(),
                            p.action.clone(),
                            p.policy.clone(),
                            p.due_at.format("%Y-%m-%d %H:%M UTC").to_string(),
                            p.reason.clone(),
                        ]
                    })
                    .collect(),
            );
        }
    }
    d.h(
        3,
        format!("Taken in past runs: {} realised since", r.realised_total),
    );
    if r.taken.is_empty() {
        d.p("None.".into());
    } else {
        d.table(
            &[
                "at",
                "provider",
                "target",
                "action",
                "policy",
                "status",
                "per day",
                "realised since",
            ],
            r.taken
                .iter()
                .map(|t| {
                    let a = &t.action;
                    vec![
                        a.at.format("%Y-%m-%d %H:%M").to_string(),
                        a.provider.clone(),
                        a.target.clone(),
                        a.action.clone(),
                        a.policy.clone(),
                        a.status.clone(),
                        grouped(&Money::new(a.est_savings_per_day, a.currency.clone())),
                        grouped(&t.realised),
                    ]
                })
                .collect(),
        );
    }

    if !r.wallets.is_empty() {
        d.h(2, "Wallets".into());
        for w in r.wallets.iter().filter(|w| w.short) {
            d.warn(format!(
                "{}: the wallet's runway ({} h) is shorter than the auto-stop grace period ({} h)",
                w.provider,
                w.runway_hours.map_or("?".into(), |h| fixed(h, 1)),
                w.grace_period_hours
            ));
        }
        d.table(
            &[
                "provider",
                "balance",
                "run rate",
                "runway",
                "auto-stop grace",
                "flag",
            ],
            r.wallets
                .iter()
                .map(|w| {
                    let mut flags = Vec::new();
                    if w.short {
                        flags.push("runway shorter than the auto-stop grace period");
                    }
                    if w.below_threshold {
                        flags.push("below the low-balance threshold");
                    }
                    vec![
                        w.provider.clone(),
                        grouped(&w.balance),
                        format!("{}/h", grouped(&w.run_rate_per_hour)),
                        w.runway_hours
                            .map_or("no pods running".into(), |h| format!("{} h", fixed(h, 1))),
                        format!("{} h", w.grace_period_hours),
                        flags.join("; "),
                    ]
                })
                .collect(),
        );
    }
    d
}

/// The idle lists compared, for people: `NAME, NAME SOURCE`, the providers that
/// publish at the same source named together.
fn lists_named(lists: &[IdleList]) -> String {
    let mut by_source: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for l in lists {
        by_source.entry(&l.source).or_default().push(&l.provider);
    }
    by_source
        .iter()
        .map(|(source, names)| format!("{} {source}", names.join(", ")))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The headline as Markdown list items.
pub fn headline(r: &Report) -> String {
    let mut out = String::new();
    for (line, loud) in headline_lines(r) {
        if loud {
            let _ = writeln!(out, "- ⚠️ **{line}**");
        } else {
            let _ = writeln!(out, "- {line}");
        }
    }
    out
}

/// Rows a table keeps in a mail body; the full tables are in `summary.md` and `report.html`.
pub const MAIL_TABLE_ROWS: usize = 25;

/// The report's blocks for a mail body: each table cut to [`MAIL_TABLE_ROWS`] rows and
/// followed by a note of how many more the full report holds, so that the mail stays small at
/// any fleet size (thousands of idle pods are thousands of rows).
pub fn doc_for_mail(r: &Report) -> Doc {
    let mut d = Doc::default();
    for b in doc(r).blocks {
        match b {
            Block::Table { head, mut rows } if rows.len() > MAIL_TABLE_ROWS => {
                let more = rows.len() - MAIL_TABLE_ROWS;
                rows.truncate(MAIL_TABLE_ROWS);
                d.blocks.push(Block::Table { head, rows });
                d.p(format!(
                    "… and {more} more rows in the full report (summary.md, report.html)."
                ));
            }
            b => d.blocks.push(b),
        }
    }
    d
}

/// `summary.md`.
pub fn render(r: &Report) -> String {
    render_doc(&doc(r))
}

/// The report as Markdown for a mail's text body: tables cut (see [`doc_for_mail`]).
pub fn for_mail(r: &Report) -> String {
    render_doc(&doc_for_mail(r))
}

/// Blocks as Markdown.
pub fn render_doc(d: &Doc) -> String {
    let mut out = String::new();
    for b in d.blocks.iter().cloned() {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(usize::from(level)));
            }
            Block::Para { text, loud: false } => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::Para { text, loud: true } => {
                let _ = writeln!(out, "⚠️ **{text}**\n");
            }
            Block::Table { head, rows } => {
                let _ = writeln!(out, "| {} |", head.join(" | "));
                let _ = writeln!(out, "|{}|", vec!["---"; head.len()].join("|"));
                for row in rows {
                    let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                    let _ = writeln!(out, "| {} |", cells.join(" | "));
                }
                out.push('\n');
            }
            Block::Chart(_) => {}
        }
    }
    out
}

/// red first, then yellow, green, anything else.
pub fn health_rank(h: &str) -> u8 {
    match h {
        "red" => 0,
        "yellow" => 1,
        "green" => 2,
        _ => 3,
    }
}
