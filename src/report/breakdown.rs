//! `summary-by-project.csv`: the report's spend per provider, project, owner, kind (tracked
//! pod or orphan) and currency — the small table a finance reader opens, attached to the
//! finance mail instead of the full `spend.csv` / `focus.csv`.
//!
//! One row per group, two periods of the report's window: `month_to_date` (the month's first
//! day to the report's day) and `last_month` (the whole previous month), each in the row's
//! own currency (exact, from integer micro-units) and converted into the report currency when
//! a rate exists (empty otherwise, never 1:1). Its size grows with the number of groups, not
//! with pods × days; the mail still caps what it attaches (`[email] max_attachment_bytes`).
//! The `month_to_date` of the `pod` rows, converted, add up to the headline's tracked month
//! to date exactly (the same rows, summed per currency, converted without rounding).

use std::fmt::Write;

use polars::prelude::*;
use rust_decimal::Decimal;

use crate::money::{micros_to_decimal, Currency};
use crate::report::currency::Conversion;

/// The file name in the report folder (and of the mail's attachment).
pub const FILE: &str = "summary-by-project.csv";

/// The columns, in order.
pub const COLUMNS: &[&str] = &[
    "provider",
    "project",
    "owner",
    "kind",
    "currency",
    "pods",
    "month_to_date",
    "last_month",
    "report_currency",
    "month_to_date_converted",
    "last_month_converted",
];

/// One group of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub provider: String,
    /// `(none)` for rows without one.
    pub project: String,
    pub owner: String,
    /// `pod` (tracked) or `orphan`.
    pub kind: String,
    pub currency: Currency,
    /// Distinct pods billed in the window.
    pub pods: u32,
    pub month_to_date: Decimal,
    pub last_month: Decimal,
    /// Converted into the report currency; `None` without a rate.
    pub month_to_date_converted: Option<Decimal>,
    pub last_month_converted: Option<Decimal>,
}

/// The groups of the report's spend table, reduced per pod and period (`per_pod`, see
/// [`crate::report::tables::Reduced`]): tracked pods first, then orphans; each largest month
/// to date first (converted amounts before currencies without a rate), then by key.
pub fn rows(per_pod: &DataFrame, conv: &Conversion) -> PolarsResult<Vec<Row>> {
    let mtd = col("mtd");
    let keys = ["provider", "project", "owner", "kind", "currency"];
    let out = per_pod
        .clone()
        .lazy()
        .group_by(keys.iter().map(|k| col(*k)).collect::<Vec<_>>())
        .agg([
            col("amount_micros").filter(mtd.clone()).sum().alias("mtd"),
            col("amount_micros").filter(mtd.not()).sum().alias("last"),
            col("pod_id").n_unique().alias("pods"),
        ])
        .collect()?;
    let text = |name: &str| -> PolarsResult<StringChunked> { Ok(out.column(name)?.str()?.clone()) };
    let (provider, project, owner, kind, currency) = (
        text("provider")?,
        text("project")?,
        text("owner")?,
        text("kind")?,
        text("currency")?,
    );
    let mtd = out.column("mtd")?.i64()?.clone();
    let last = out.column("last")?.i64()?.clone();
    let pods = out.column("pods")?.cast(&DataType::UInt32)?;
    let pods = pods.u32()?.clone();
    let none = |v: Option<&str>| v.unwrap_or("(none)").to_string();
    let mut rows: Vec<Row> = (0..out.height())
        .map(|i| {
            let currency = Currency::new(currency.get(i).unwrap_or_default());
            let rate = conv.rate(&currency);
            let (m, l) = (
                micros_to_decimal(mtd.get(i).unwrap_or(0)),
                micros_to_decimal(last.get(i).unwrap_or(0)),
            );
            Row {
                provider: none(provider.get(i)),
                project: none(project.get(i)),
                owner: none(owner.get(i)),
                kind: none(kind.get(i)),
                pods: pods.get(i).unwrap_or(0),
                month_to_date_converted: rate.map(|r| m * r),
                last_month_converted: rate.map(|r| l * r),
                month_to_date: m,
                last_month: l,
                currency,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        let key = |r: &Row| {
            (
                r.kind != "pod",
                r.month_to_date_converted.is_none(),
                r.month_to_date_converted.map(|c| -c),
                r.currency.clone(),
                -r.month_to_date,
            )
        };
        key(a).cmp(&key(b)).then_with(|| {
            (&a.provider, &a.project, &a.owner).cmp(&(&b.provider, &b.project, &b.owner))
        })
    });
    Ok(rows)
}

/// A decimal with at least two fractional digits, exact (`12.50`, `0.00`, `1.234567`).
fn amount(d: Decimal) -> String {
    let mut d = d.normalize();
    if d.scale() < 2 {
        d.rescale(2);
    }
    d.to_string()
}

/// Appends a CSV field, quoted when it must be.
fn field(out: &mut String, s: &str) {
    if s.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&s.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(s);
    }
}

/// A text cell (a name from the provider: project, owner, …): quoted as [`field`], and
/// one that a spreadsheet would read as a formula (`=`, `+`, `-`, `@`, tab, CR first) is
/// prefixed with `'`, so the attachment finance opens never runs `=HYPERLINK(…)` or worse.
fn text_field(out: &mut String, s: &str) {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        field(out, &format!("'{s}"));
    } else {
        field(out, s);
    }
}

/// The table as CSV, header first.
pub fn csv(rows: &[Row], conv: &Conversion) -> String {
    let mut out = String::with_capacity(64 * (rows.len() + 1));
    let _ = writeln!(out, "{}", COLUMNS.join(","));
    for r in rows {
        let cells = [
            r.provider.clone(),
            r.project.clone(),
            r.owner.clone(),
            r.kind.clone(),
            r.currency.as_str().to_string(),
            r.pods.to_string(),
            amount(r.month_to_date),
            amount(r.last_month),
            conv.report.as_str().to_string(),
            r.month_to_date_converted.map(amount).unwrap_or_default(),
            r.last_month_converted.map(amount).unwrap_or_default(),
        ];
        for (i, c) in cells.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            // provider, project, owner, kind, currency come from outside; the rest are ours.
            if i < 5 {
                text_field(&mut out, c);
            } else {
                field(&mut out, c);
            }
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_a_spreadsheet_would_run_as_a_formula_is_defused() {
        for (name, cell) in [
            ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"),
            ("+evil@example.com", "'+evil@example.com"),
            ("-2+3", "'-2+3"),
            ("@SUM(A1)", "'@SUM(A1)"),
            (
                "=HYPERLINK(\"x\",\"y\")",
                "\"'=HYPERLINK(\"\"x\"\",\"\"y\"\")\"",
            ),
            ("vision", "vision"),
        ] {
            let mut out = String::new();
            text_field(&mut out, name);
            assert_eq!(out, cell, "{name}");
        }
    }

    #[test]
    fn amounts_are_exact_with_two_decimals_at_least_and_fields_are_quoted() {
        assert_eq!(amount(Decimal::new(125, 1)), "12.50");
        assert_eq!(amount(Decimal::ZERO), "0.00");
        assert_eq!(amount(Decimal::new(1_234_567, 6)), "1.234567");
        let mut s = String::new();
        field(&mut s, "a,\"b\"");
        assert_eq!(s, "\"a,\"\"b\"\"\"");
    }
}
