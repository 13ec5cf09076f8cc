//! `report.html`: the blocks of the report's sections as one self-contained page for mail
//! clients and browsers: inline CSS, inline SVG charts, no scripts, no external fetches.

use std::fmt::Write;

use crate::report::blocks::{Block, Doc};
use crate::report::build::Report;
use crate::report::charts;
use crate::report::sections::{doc, doc_for_mail};

/// Escapes text for HTML content and attribute values.
pub fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const STYLE: &str = "body{font-family:'DejaVu Sans',Verdana,Arial,sans-serif;color:#1d2430;\
max-width:1100px;margin:24px auto;padding:0 16px;font-size:14px;line-height:1.45}\
h1{font-size:24px;border-bottom:2px solid #1f77b4;padding-bottom:6px}\
h2{font-size:19px;margin-top:28px;border-bottom:1px solid #d5dbe3;padding-bottom:4px}\
h3{font-size:15px;margin-top:18px}\
table{border-collapse:collapse;margin:8px 0 16px;width:100%}\
th,td{border:1px solid #d5dbe3;padding:4px 8px;text-align:left;vertical-align:top}\
th{background:#eef2f7}tr:nth-child(even) td{background:#f8fafc}\
p.warn{background:#fdecea;border-left:6px solid #d62728;padding:8px 12px;font-weight:bold;color:#8a1c1c}\
p.note{color:#55606e}figure{margin:8px 0 16px}figcaption{color:#55606e;font-size:12px}\
td.red{color:#b00020;font-weight:bold}td.yellow{color:#8a6d00;font-weight:bold}td.green{color:#1e7b34}";

/// Renders the page. Charts that fail to draw are replaced by a note (the tables still hold
/// every figure).
pub fn render(r: &Report) -> String {
    render_with(r, doc(r), None)
}

/// The page for a mail body: mail clients show no SVG, so the daily-spend chart is the PNG
/// attached inline under Content-ID `cid`, and the other charts are left to report.html; each
/// table is cut to [`crate::report::sections::MAIL_TABLE_ROWS`] rows (the mail stays small).
pub fn for_mail(r: &Report, cid: &str) -> String {
    render_with(r, doc_for_mail(r), Some(cid))
}

fn render_with(r: &Report, doc: Doc, mail_cid: Option<&str>) -> String {
    let mut out = String::new();
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <title>Spend report {}</title><style>{STYLE}</style></head><body>\n",
        r.window.today
    );
    let cur = r.conversion.report.as_str();
    let dates = r.window.dates();
    let missing = if r.missing_rates.is_empty() {
        String::new()
    } else {
        format!(
            " Amounts in {} (no rate) are not drawn.",
            r.missing_rates
                .iter()
                .map(|c| c.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    for b in doc.blocks {
        match b {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "<h{level}>{}</h{level}>", escape(&text));
            }
            Block::Para { text, loud } => {
                let class = if loud { "warn" } else { "note" };
                let _ = writeln!(out, "<p class=\"{class}\">{}</p>", escape(&text));
            }
            Block::Table { head, rows } => {
                out.push_str("<table><thead><tr>");
                for h in &head {
                    let _ = write!(out, "<th>{}</th>", escape(h));
                }
                out.push_str("</tr></thead><tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for c in row {
                        let class = match c.as_str() {
                            "red" | "yellow" | "green" => format!(" class=\"{c}\""),
                            _ => String::new(),
                        };
                        let _ = write!(out, "<td{class}>{}</td>", escape(&c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody></table>\n");
            }
            Block::Chart(which) => {
                if let Some(cid) = mail_cid {
                    if which == "daily_provider" {
                        let _ = writeln!(
                            out,
                            "<figure><img src=\"cid:{cid}\" alt=\"Daily spend by provider\" width=\"800\"><figcaption>{}</figcaption></figure>",
                            escape(&format!("Billed per day, {cur}, orphans included.{missing}"))
                        );
                    }
                    continue;
                }
                let (svg, caption) = match which {
                    "daily_provider" => (
                        charts::daily_spend_svg(&r.daily_by_provider, &dates, "Daily spend by provider", cur),
                        format!("Billed per day, {cur}, orphans included.{missing}"),
                    ),
                    "daily_project" => (
                        charts::daily_spend_svg(&r.daily_by_project, &dates, "Daily spend by project", cur),
                        format!("Billed per day, {cur}; the largest projects, the rest as other.{missing}"),
                    ),
                    _ => {
                        let rows: Vec<(String, rust_decimal::Decimal)> = r
                            .idle
                            .by_project
                            .iter()
                            .map(|(k, a)| (k.clone(), a.converted))
                            .collect();
                        (
                            charts::bars_svg(&rows, "Idle burn by project", cur),
                            format!("What idle running pods cost per day, {cur}.{missing}"),
                        )
                    }
                };
                match svg {
                    Ok(svg) => {
                        let _ = writeln!(
                            out,
                            "<figure>{}<figcaption>{}</figcaption></figure>",
                            strip_xml_declaration(&svg),
                            escape(&caption)
                        );
                    }
                    Err(e) => {
                        let _ = writeln!(out, "<p class=\"note\">{}</p>", escape(&e.to_string()));
                    }
                }
            }
        }
    }
    out.push_str("</body></html>\n");
    out
}

/// An SVG document inlined in HTML must not carry an XML declaration.
fn strip_xml_declaration(svg: &str) -> &str {
    match svg.strip_prefix("<?xml") {
        Some(rest) => rest
            .split_once("?>")
            .map_or(svg, |(_, body)| body.trim_start()),
        None => svg,
    }
}
