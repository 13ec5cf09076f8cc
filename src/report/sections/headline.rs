//! The report's title and headline: month to date, forecast, last month, running orphans,
//! missing and configured rates, and every warning of the build (data gaps, short windows).

use crate::report::blocks::Doc;
use crate::report::build::Report;

pub fn add(r: &Report, d: &mut Doc) {
    d.h(1, format!("Spend report {}", r.window.today));
    d.p(format!(
        "As of {}; window {} to {}; amounts in {}.",
        r.now.format("%Y-%m-%d %H:%M UTC"),
        r.window.from,
        r.window.today,
        r.conversion.report
    ));
    for (line, loud) in lines(r) {
        if loud {
            d.warn(line);
        } else {
            d.p(line);
        }
    }
}

/// The headline lines, each with whether it is a warning (also printed by `run` and `plan`
/// under the plan, see `report::markdown::headline`).
pub fn lines(r: &Report) -> Vec<(String, bool)> {
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
            "Month-end forecast: {} (month to date + {} per day for the rest of today, {} h, \
             and the {} days after it)",
            h.forecast,
            h.burn_per_day,
            h.hours_left_today.normalize(),
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
