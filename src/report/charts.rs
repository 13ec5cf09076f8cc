//! Charts drawn with plotters: daily spend (lines per provider or project) and idle burn per
//! project (bars). SVG for `report.html`, PNG bytes for mail clients that block SVG.
//!
//! Text uses DejaVu Sans embedded in the binary (`assets/DejaVuSans.ttf`, its licence beside
//! it) through ab_glyph: no system fonts or fontconfig are needed. Only amounts in the report
//! currency are drawn (a currency without a rate cannot share an axis; the caption says so).
//!
//! Layout is measured, not guessed: label areas and margins are sized from the widths of the
//! labels they hold (in the embedded font, which is wider than most browsers' sans-serif, so
//! the SVG has room to spare), ticks are chosen here (round money steps, date labels spaced
//! so they never touch) and money on an axis carries its currency (`$16k`, `€2.5k`,
//! `1,200 CHF`).

use std::collections::BTreeMap;
use std::sync::Once;

use chrono::NaiveDate;
use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint, Ranged};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::report::build::DailyPoint;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// Chart size in pixels.
pub const SIZE: (u32, u32) = (900, 360);
/// At most this many series; the rest are summed as "other".
const MAX_SERIES: usize = 6;
/// At most this many bars; the rest are summed into one last bar.
const MAX_BARS: usize = 12;
/// The font family the embedded font is registered as (and the SVG names).
const FAMILY: &str = "sans-serif";
/// Font sizes (plotters' sizes: the SVG writes `font-size` as size / 1.24).
const TITLE_SIZE: f64 = 18.0;
const LABEL_SIZE: f64 = 12.0;
/// Outer margin of every chart, pixels.
const MARGIN: u32 = 10;
/// Labels (legend entries, bar names) longer than this are cut with an ellipsis, pixels.
const MAX_LABEL_WIDTH: u32 = 240;
/// Height of one bar's row in the bar chart, and the bar's share of it (the rest is the gap).
const BAR_ROW: u32 = 28;
const BAR_FILL: f64 = 0.64;
const BAR_COLOR: RGBColor = RGBColor(214, 39, 40);
/// Today's column in a daily chart (light grey band).
const TODAY_BAND: RGBColor = RGBColor(120, 120, 120);
const TODAY_LABEL: &str = "today (partial)";
const PALETTE: [RGBColor; 7] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(127, 127, 127),
];

#[derive(Debug, thiserror::Error)]
#[error("chart: {0}")]
pub struct ChartError(String);

fn err(e: impl std::fmt::Display) -> ChartError {
    ChartError(e.to_string())
}

fn register_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The font is compiled in; a failure here would be a broken asset, caught by the tests.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
    });
}

/// Series of a daily chart: dates in order and one line per label (largest total first,
/// beyond [`MAX_SERIES`] summed into "other").
struct Series {
    dates: Vec<NaiveDate>,
    lines: Vec<(String, Vec<f64>)>,
}

fn series(points: &[DailyPoint], dates: &[NaiveDate]) -> Series {
    let index: BTreeMap<NaiveDate, usize> =
        dates.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut totals: BTreeMap<&str, Decimal> = BTreeMap::new();
    for p in points {
        *totals.entry(p.label.as_str()).or_default() += p.amount;
    }
    let mut ranked: Vec<(&str, Decimal)> = totals.into_iter().collect();
    ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let keep: Vec<&str> = ranked.iter().take(MAX_SERIES).map(|r| r.0).collect();
    let mut lines: Vec<(String, Vec<Decimal>)> = keep
        .iter()
        .map(|l| (l.to_string(), vec![Decimal::ZERO; dates.len()]))
        .collect();
    let mut other = vec![Decimal::ZERO; dates.len()];
    let mut has_other = false;
    for p in points {
        let Some(&i) = index.get(&p.date) else {
            continue;
        };
        match keep.iter().position(|l| *l == p.label) {
            Some(k) => lines[k].1[i] += p.amount,
            None => {
                other[i] += p.amount;
                has_other = true;
            }
        }
    }
    if has_other {
        lines.push(("other".into(), other));
    }
    Series {
        dates: dates.to_vec(),
        lines: lines
            .into_iter()
            .map(|(l, v)| (l, v.iter().map(|d| d.to_f64().unwrap_or(0.0)).collect()))
            .collect(),
    }
}

/// Width of `text` in pixels at `size`, in the embedded font (an estimate if it cannot be
/// measured).
fn text_width(text: &str, size: f64) -> u32 {
    register_font();
    (FAMILY, size)
        .into_font()
        .box_size(text)
        .map(|(w, _)| w)
        .unwrap_or_else(|_| (text.chars().count() as f64 * size * 0.6).ceil() as u32)
}

/// `text`, cut with an ellipsis to at most `max` pixels wide.
fn fit(text: &str, size: f64, max: u32) -> String {
    if text_width(text, size) <= max {
        return text.to_string();
    }
    let mut chars: Vec<char> = text.chars().collect();
    while !chars.is_empty() {
        chars.pop();
        let cut: String = chars.iter().collect::<String>().trim_end().to_string() + "…";
        if text_width(&cut, size) <= max {
            return cut;
        }
    }
    "…".into()
}

/// The symbol written before an amount, for the currencies that have an unambiguous one
/// (`$` only for USD, as in the report's tables); other codes follow the number.
fn currency_symbol(currency: &str) -> Option<&'static str> {
    match currency {
        "USD" => Some("$"),
        "EUR" => Some("€"),
        "GBP" => Some("£"),
        "INR" => Some("₹"),
        _ => None,
    }
}

/// `v` as money: divided by `unit` (1, 1e3 or 1e6, written `k`/`M`), `decimals` places,
/// thousands grouped, the currency's symbol in front or its code after: `$16k`,
/// `-€1,250.50`, `2.5M CHF`.
fn money(v: f64, currency: &str, unit: f64, decimals: usize) -> String {
    let mut text = format!("{:.*}", decimals, v.abs() / unit);
    let zero = !text.chars().any(|c| c.is_ascii_digit() && c != '0');
    // Zero is zero in any unit: `$0`, not `$0k`.
    let unit = if zero && unit > 1.0 {
        text = "0".into();
        1.0
    } else {
        unit
    };
    let negative = v < 0.0 && !zero;
    let (int, frac) = match text.split_once('.') {
        Some((i, f)) => (i, Some(f)),
        None => (text.as_str(), None),
    };
    let mut num = String::with_capacity(text.len() + 4);
    for (i, ch) in int.chars().enumerate() {
        if i > 0 && (int.len() - i) % 3 == 0 {
            num.push(',');
        }
        num.push(ch);
    }
    if let Some(f) = frac {
        num.push('.');
        num.push_str(f);
    }
    num.push_str(if unit >= 1e6 {
        "M"
    } else if unit >= 1e3 {
        "k"
    } else {
        ""
    });
    let sign = if negative { "-" } else { "" };
    match currency_symbol(currency) {
        Some(s) => format!("{sign}{s}{num}"),
        None if currency.is_empty() => format!("{sign}{num}"),
        None => format!("{sign}{num} {currency}"),
    }
}

/// A money axis: its range, round ticks (1, 2 or 5 times a power of ten apart) and how they
/// are written (a unit of k or M from ten thousand or a million up, cents only when the
/// step is under one).
struct MoneyAxis {
    lo: f64,
    hi: f64,
    ticks: Vec<f64>,
    unit: f64,
    decimals: usize,
    currency: String,
}

impl MoneyAxis {
    /// An axis from 0 (or below, for negative values) to above `max` with about `target`
    /// ticks.
    fn new(min: f64, max: f64, target: usize, currency: &str) -> MoneyAxis {
        let max = if max.is_finite() { max.max(0.0) } else { 0.0 };
        let min = if min.is_finite() { min.min(0.0) } else { 0.0 };
        let max = if max - min < 1.0 { min + 1.0 } else { max };
        let raw = (max - min) * 1.05 / target.max(1) as f64;
        let mag = 10f64.powf(raw.log10().floor());
        let step = [1.0, 2.0, 5.0, 10.0]
            .iter()
            .map(|m| m * mag)
            .find(|s| *s >= raw * 0.999)
            .unwrap_or(10.0 * mag);
        let first = (min / step).floor() as i64;
        let mut last = ((max * 1.05) / step).ceil() as i64;
        if last <= first {
            last = first + 1;
        }
        let ticks: Vec<f64> = (first..=last).map(|i| i as f64 * step).collect();
        let (lo, hi) = (first as f64 * step, last as f64 * step);
        let top = lo.abs().max(hi.abs());
        let unit = if top >= 1e6 {
            1e6
        } else if top >= 1e4 {
            1e3
        } else {
            1.0
        };
        let decimals = if unit == 1.0 {
            if step < 1.0 {
                2
            } else {
                0
            }
        } else {
            (-(step / unit).log10().floor()).clamp(0.0, 3.0) as usize
        };
        MoneyAxis {
            lo,
            hi,
            ticks,
            unit,
            decimals,
            currency: currency.to_string(),
        }
    }

    fn label(&self, v: f64) -> String {
        money(v, &self.currency, self.unit, self.decimals)
    }

    fn label_width(&self) -> u32 {
        self.ticks
            .iter()
            .map(|t| text_width(&self.label(*t), LABEL_SIZE))
            .max()
            .unwrap_or(0)
    }
}

/// A linear axis with the ticks (and grid lines) given. (plotters' `with_key_points` on an
/// f64 range loses its label formatter, so `configure_mesh` would not take it.)
struct Ticked {
    range: std::ops::Range<f64>,
    ticks: Vec<f64>,
}

impl Ranged for Ticked {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        RangedCoordf64::from(self.range.clone()).map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, hint: Hint) -> Vec<f64> {
        if hint.weight().allow_light_points() {
            Vec::new()
        } else {
            self.ticks.clone()
        }
    }

    fn range(&self) -> std::ops::Range<f64> {
        self.range.clone()
    }
}

fn ticked(range: std::ops::Range<f64>, ticks: Vec<f64>) -> Ticked {
    Ticked { range, ticks }
}

/// Date label of the x axis.
fn date_label(d: &NaiveDate) -> String {
    d.format("%b %-d").to_string()
}

/// Which days carry a label: every `step` days from the first (the step the smallest of 1, 2
/// days, a week, two, four... that keeps labels `slot` pixels apart), and today's column,
/// labelled "today" (a regular label too close to it is left out).
fn date_ticks(n: usize, plot_width: u32, slot: u32) -> Vec<f64> {
    if n == 0 {
        return Vec::new();
    }
    let per_day = f64::from(plot_width) / n as f64;
    let step = [1usize, 2, 7, 14, 28, 56, 91, 182, 364]
        .into_iter()
        .find(|s| *s as f64 * per_day >= f64::from(slot))
        .unwrap_or(364);
    let today = n - 1;
    let mut keys: Vec<usize> = (0..today).step_by(step).collect();
    while keys
        .last()
        .is_some_and(|k| ((today - k) as f64) * per_day < f64::from(slot))
    {
        keys.pop();
    }
    keys.push(today);
    keys.into_iter().map(|k| k as f64).collect()
}

/// Draws a daily chart: one line per series over the finished days, and today apart.
///
/// Today (the last date, always the report's own day) is still being billed, so its amount
/// is only what has been billed so far, often nothing yet. Joining it to the line would end
/// every chart in a fall to zero that did not happen. So the lines stop at yesterday; today's
/// column is shaded, labelled "today" on the axis, and its partial amounts are drawn as
/// hollow markers (not joined to the line), explained in the legend as "today (partial)".
fn draw_daily<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    title: &str,
    currency: &str,
    s: &Series,
) -> Result<(), ChartError>
where
    DB::ErrorType: 'static,
{
    root.fill(&WHITE).map_err(err)?;
    let (width, _) = root.dim_in_pixel();
    let n = s.dates.len();
    let (min, max) = s
        .lines
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold((0.0_f64, 0.0_f64), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let axis = MoneyAxis::new(min, max, 6, currency);
    let y_area = axis.label_width() + 14;
    let x_label_width = s
        .dates
        .iter()
        .map(date_label)
        .chain(["today".to_string()])
        .map(|l| text_width(&l, LABEL_SIZE))
        .max()
        .unwrap_or(0);
    // The last label is centred on today's column near the right edge: room for its half.
    let margin_right = MARGIN.max(x_label_width / 2 + 6);
    let plot_width = width.saturating_sub(MARGIN + y_area + margin_right).max(1);
    let x_keys = date_ticks(n, plot_width, x_label_width + 16);
    let x_hi = n.max(1) as f64 - 0.5;
    let mut chart = ChartBuilder::on(&root)
        .caption(title, (FAMILY, TITLE_SIZE))
        .margin(MARGIN)
        .margin_right(margin_right)
        .x_label_area_size(30)
        .y_label_area_size(y_area)
        .build_cartesian_2d(
            ticked(-0.5..x_hi, x_keys),
            ticked(axis.lo..axis.hi, axis.ticks.clone()),
        )
        .map_err(err)?;
    let dates = &s.dates;
    chart
        .configure_mesh()
        .x_label_formatter(&|x| {
            let i = x.round().max(0.0) as usize;
            if i + 1 == n {
                "today".to_string()
            } else {
                dates.get(i).map(date_label).unwrap_or_default()
            }
        })
        .y_label_formatter(&|v| axis.label(*v))
        .label_style((FAMILY, LABEL_SIZE))
        .draw()
        .map_err(err)?;
    let Some(today) = n.checked_sub(1) else {
        root.present().map_err(err)?;
        return Ok(());
    };
    let t = today as f64;
    chart
        .draw_series(std::iter::once(Rectangle::new(
            [(t - 0.5, axis.lo), (t + 0.5, axis.hi)],
            TODAY_BAND.mix(0.15).filled(),
        )))
        .map_err(err)?;
    for (k, (label, values)) in s.lines.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        let done = &values[..today];
        // A single finished day has no line to draw: mark it.
        let point = if done.len() == 1 { 3 } else { 0 };
        chart
            .draw_series(
                LineSeries::new(
                    done.iter().enumerate().map(|(i, v)| (i as f64, *v)),
                    color.stroke_width(2),
                )
                .point_size(point),
            )
            .map_err(err)?
            .label(fit(label, LABEL_SIZE, MAX_LABEL_WIDTH))
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .draw_series(s.lines.iter().enumerate().map(|(k, (_, values))| {
            let color = PALETTE[k % PALETTE.len()];
            Circle::new((t, values[today]), 4, color.stroke_width(2))
        }))
        .map_err(err)?
        .label(TODAY_LABEL)
        .legend(|(x, y)| Circle::new((x + 9, y), 4, BLACK.mix(0.6).stroke_width(2)));
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font((FAMILY, LABEL_SIZE))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// The daily-spend chart as an SVG document (today drawn apart, see [`draw_daily`]).
pub fn daily_spend_svg(
    points: &[DailyPoint],
    dates: &[NaiveDate],
    title: &str,
    currency: &str,
) -> Result<String, ChartError> {
    register_font();
    let s = series(points, dates);
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw_daily(root, title, currency, &s)?;
    }
    Ok(out)
}

/// The daily-spend chart as PNG bytes (for an inline mail attachment; today drawn apart, see
/// [`draw_daily`]).
pub fn daily_spend_png(
    points: &[DailyPoint],
    dates: &[NaiveDate],
    title: &str,
    currency: &str,
) -> Result<Vec<u8>, ChartError> {
    register_font();
    let s = series(points, dates);
    let (w, h) = SIZE;
    let mut rgb = vec![0u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw_daily(root, title, currency, &s)?;
    }
    encode_png(&rgb, w, h)
}

fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, ChartError> {
    let mut out = Vec::new();
    {
        let mut enc = png::Encoder::new(&mut out, w, h);
        enc.set_color(png::ColorType::Rgb);
        enc.set_depth(png::BitDepth::Eight);
        let mut writer = enc.write_header().map_err(err)?;
        writer.write_image_data(rgb).map_err(err)?;
    }
    Ok(out)
}

/// The bars to draw: largest first, beyond [`MAX_BARS`] the rest summed into one last bar
/// ("other (N more)"). Zero amounts are left out: a bar of nothing says nothing, and a zero
/// here is usually an amount in a currency without a rate (converted to nothing, "not drawn"
/// as the caption says), which a "$0.00" bar would misstate.
fn bar_rows(rows: &[(String, Decimal)]) -> Vec<(String, f64)> {
    let mut rows: Vec<&(String, Decimal)> = rows.iter().filter(|r| !r.1.is_zero()).collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let f = |d: &Decimal| d.to_f64().unwrap_or(0.0);
    if rows.len() <= MAX_BARS {
        return rows.iter().map(|(l, a)| (l.clone(), f(a))).collect();
    }
    let (keep, rest) = rows.split_at(MAX_BARS - 1);
    let mut out: Vec<(String, f64)> = keep.iter().map(|(l, a)| (l.clone(), f(a))).collect();
    let sum: Decimal = rest.iter().map(|r| r.1).sum();
    out.push((format!("other ({} more)", rest.len()), f(&sum)));
    out
}

/// Horizontal bars (e.g. idle burn per day by project) as an SVG document: one row per
/// label, largest on top, the bar centred on its label with a gap to the next, its amount
/// written at its end.
pub fn bars_svg(
    rows: &[(String, Decimal)],
    title: &str,
    currency: &str,
) -> Result<String, ChartError> {
    register_font();
    let rows = bar_rows(rows);
    let n = rows.len();
    let labels: Vec<String> = rows
        .iter()
        .map(|r| fit(&r.0, LABEL_SIZE, MAX_LABEL_WIDTH))
        .collect();
    let values: Vec<String> = rows.iter().map(|r| money(r.1, currency, 1.0, 2)).collect();
    let value_widths: Vec<u32> = values.iter().map(|v| text_width(v, LABEL_SIZE)).collect();
    let y_area = labels
        .iter()
        .map(|l| text_width(l, LABEL_SIZE))
        .max()
        .unwrap_or(0)
        .max(30)
        + 16;
    let (min, max) = rows
        .iter()
        .fold((0.0_f64, 0.0_f64), |(lo, hi), r| (lo.min(r.1), hi.max(r.1)));
    // The x range must leave room for each amount after its bar, and the margin for half of
    // the last tick label: settle both (the range's ticks decide the margin and the margin
    // the room).
    let mut axis = MoneyAxis::new(min, max, 5, currency);
    let mut margin_right = MARGIN;
    for _ in 0..3 {
        margin_right = MARGIN.max(axis.label_width() / 2 + 6);
        let plot = f64::from(SIZE.0.saturating_sub(MARGIN + y_area + margin_right).max(1));
        let need = rows
            .iter()
            .zip(&value_widths)
            .filter(|(r, _)| r.1 > 0.0)
            .map(|(r, w)| {
                let room = (plot - f64::from(*w) - 10.0).max(plot * 0.2);
                r.1 * plot / room
            })
            .fold(max, f64::max);
        axis = MoneyAxis::new(min, need / 1.05, 5, currency);
    }
    let height = 50 + 56 + BAR_ROW * n.max(1) as u32;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, TITLE_SIZE))
            .margin(MARGIN)
            .margin_right(margin_right)
            .x_label_area_size(40)
            .y_label_area_size(y_area)
            .build_cartesian_2d(
                ticked(axis.lo..axis.hi, axis.ticks.clone()),
                ticked(0.0..n.max(1) as f64, Vec::new()),
            )
            .map_err(err)?;
        chart
            .configure_mesh()
            .disable_y_mesh()
            .x_label_formatter(&|v| axis.label(*v))
            .x_desc("per day")
            .label_style((FAMILY, LABEL_SIZE))
            .draw()
            .map_err(err)?;
        let half = BAR_FILL / 2.0;
        // Row k (0 = largest) is centred at n - k - 0.5: the first row on top.
        let centre = |k: usize| (n - k) as f64 - 0.5;
        chart
            .draw_series(rows.iter().enumerate().map(|(k, (_, v))| {
                let c = centre(k);
                Rectangle::new(
                    [(0.0, c - half), (*v, c + half)],
                    BAR_COLOR.mix(0.8).filled(),
                )
            }))
            .map_err(err)?;
        let style = |h| {
            (FAMILY, LABEL_SIZE)
                .into_font()
                .color(&BLACK)
                .pos(Pos::new(h, VPos::Center))
        };
        for (k, (_, v)) in rows.iter().enumerate() {
            let (x0, y) = chart.backend_coord(&(axis.lo, centre(k)));
            root.draw_text(&labels[k], &style(HPos::Right), (x0 - 8, y))
                .map_err(err)?;
            let (x1, y) = chart.backend_coord(&(v.max(0.0), centre(k)));
            root.draw_text(&values[k], &style(HPos::Left), (x1 + 6, y))
                .map_err(err)?;
        }
        if rows.is_empty() {
            let (x, y) = chart.backend_coord(&((axis.lo + axis.hi) / 2.0, 0.5));
            root.draw_text("nothing to show", &style(HPos::Center), (x, y))
                .map_err(err)?;
        }
        root.present().map_err(err)?;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn points() -> (Vec<DailyPoint>, Vec<NaiveDate>) {
        let d0: NaiveDate = "2026-11-01".parse().expect("date");
        let dates: Vec<NaiveDate> = (0..5).map(|i| d0 + chrono::Duration::days(i)).collect();
        let pts = dates
            .iter()
            .flat_map(|d| {
                ["argus", "podstack"].map(|l| DailyPoint {
                    date: *d,
                    label: l.into(),
                    amount: Decimal::new(12345, 2),
                })
            })
            .collect();
        (pts, dates)
    }

    /// `days` dates from 2026-11-01 (the last one today) and a varying amount per label and
    /// day around `scale`; today billed only `today_share` of a day.
    fn fleet(
        labels: &[String],
        days: i64,
        scale: f64,
        today_share: f64,
    ) -> (Vec<DailyPoint>, Vec<NaiveDate>) {
        let d0: NaiveDate = "2026-11-01".parse().expect("date");
        let dates: Vec<NaiveDate> = (0..days).map(|i| d0 + chrono::Duration::days(i)).collect();
        let mut pts = Vec::new();
        for (k, label) in labels.iter().enumerate() {
            for (i, date) in dates.iter().enumerate() {
                let wave = 1.0 + 0.25 * (i as f64 / 5.0 + k as f64).sin();
                let mut v = scale / (k as f64 + 1.0) * wave;
                if i + 1 == dates.len() {
                    v *= today_share;
                }
                pts.push(DailyPoint {
                    date: *date,
                    label: label.clone(),
                    amount: Decimal::from_f64_retain(v).expect("amount").round_dp(2),
                });
            }
        }
        (pts, dates)
    }

    fn names(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    /// 20 projects, every third with a very long name.
    fn many_projects() -> Vec<String> {
        (0..20)
            .map(|i| {
                if i % 3 == 0 {
                    format!("team-{i}-foundation-models-pretraining-eu-west-4-long-name")
                } else {
                    format!("proj-{i}")
                }
            })
            .collect()
    }

    /// The attribute `name` of an element's opening tag.
    fn attr(tag: &str, name: &str) -> Option<String> {
        let key = format!(" {name}=\"");
        let start = tag.find(&key)? + key.len();
        let len = tag[start..].find('"')?;
        Some(tag[start..start + len].to_string())
    }

    fn num(tag: &str, name: &str) -> f64 {
        attr(tag, name)
            .and_then(|v| v.parse().ok())
            .unwrap_or_else(|| panic!("no number {name} in {tag}"))
    }

    /// Opening tags `<name …>` of an SVG document.
    fn tags<'a>(svg: &'a str, name: &str) -> Vec<&'a str> {
        let open = format!("<{name} ");
        svg.match_indices(&open)
            .map(|(i, _)| {
                let end = svg[i..].find('>').expect("tag end");
                &svg[i..i + end + 1]
            })
            .collect()
    }

    struct Text {
        x: f64,
        y: f64,
        anchor: String,
        /// plotters' size (the SVG's font-size is size / 1.24).
        size: f64,
        text: String,
    }

    impl Text {
        /// Left and right edge, from the width in the embedded font.
        fn span(&self) -> (f64, f64) {
            let w = f64::from(text_width(&self.text, self.size));
            match self.anchor.as_str() {
                "end" => (self.x - w, self.x),
                "middle" => (self.x - w / 2.0, self.x + w / 2.0),
                _ => (self.x, self.x + w),
            }
        }
    }

    fn texts(svg: &str) -> Vec<Text> {
        svg.match_indices("<text ")
            .map(|(i, _)| {
                let rest = &svg[i..];
                let open = rest.find('>').expect("tag end");
                let close = rest.find("</text>").expect("text end");
                let tag = &rest[..=open];
                Text {
                    x: num(tag, "x"),
                    y: num(tag, "y"),
                    anchor: attr(tag, "text-anchor").unwrap_or_default(),
                    size: num(tag, "font-size") * 1.24,
                    text: rest[open + 1..close]
                        .trim()
                        .replace("&amp;", "&")
                        .replace("&lt;", "<")
                        .replace("&gt;", ">"),
                }
            })
            .collect()
    }

    fn svg_size(svg: &str) -> (f64, f64) {
        let tag = tags(svg, "svg")[0];
        (num(tag, "width"), num(tag, "height"))
    }

    /// Every text of the document is inside it, whole and clear of its edges (a few pixels),
    /// and says something.
    fn assert_texts_inside(svg: &str, what: &str) {
        const INSET: f64 = 3.0;
        let (w, h) = svg_size(svg);
        let all = texts(svg);
        assert!(!all.is_empty(), "{what}: no text");
        for t in &all {
            assert!(
                !t.text.is_empty(),
                "{what}: an empty label at ({}, {})",
                t.x,
                t.y
            );
            let (left, right) = t.span();
            assert!(
                left >= INSET && right <= w - INSET,
                "{what}: {:?} spans {left:.0}..{right:.0}, outside {INSET}..{}",
                t.text,
                w - INSET
            );
            assert!(
                t.y >= INSET && t.y <= h - INSET,
                "{what}: {:?} at y {}",
                t.text,
                t.y
            );
        }
    }

    fn digits(t: &&Text) -> bool {
        t.text.chars().any(|c| c.is_ascii_digit())
    }

    #[test]
    fn svg_and_png_render_with_the_embedded_font() {
        let (pts, dates) = points();
        let svg = daily_spend_svg(&pts, &dates, "Daily spend", "USD").expect("svg");
        assert!(svg.starts_with("<svg") && svg.contains("podstack"));
        let png = daily_spend_png(&pts, &dates, "Daily spend", "USD").expect("png");
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        let bars =
            bars_svg(&[("vision".into(), Decimal::new(5976, 2))], "Idle", "USD").expect("bars");
        assert!(bars.contains("vision"));
    }

    #[test]
    fn money_is_written_with_its_currency() {
        assert_eq!(money(16000.0, "USD", 1e3, 0), "$16k");
        assert_eq!(money(16000.0, "USD", 1.0, 0), "$16,000");
        assert_eq!(money(1234.5, "USD", 1.0, 2), "$1,234.50");
        assert_eq!(money(-1250.5, "EUR", 1.0, 2), "-€1,250.50");
        assert_eq!(money(2500.0, "GBP", 1e3, 1), "£2.5k");
        assert_eq!(money(2_400_000.0, "INR", 1e6, 1), "₹2.4M");
        assert_eq!(money(1200.0, "CHF", 1.0, 0), "1,200 CHF");
        assert_eq!(money(0.0, "USD", 1e3, 0), "$0");
        assert_eq!(money(-0.001, "USD", 1.0, 2), "$0.00");
        let axis = MoneyAxis::new(0.0, 16000.0, 6, "USD");
        let labels: Vec<String> = axis.ticks.iter().map(|t| axis.label(*t)).collect();
        assert_eq!(labels, ["$0", "$5k", "$10k", "$15k", "$20k"]);
        let small = MoneyAxis::new(0.0, 2.1, 6, "USD");
        assert_eq!(small.label(0.5), "$0.50");
        assert!(small.hi > 2.1 && small.lo == 0.0);
    }

    #[test]
    fn axis_money_carries_the_currency_on_both_charts() {
        let (pts, dates) = fleet(&names(&["runpod", "lambda", "vast"]), 52, 16000.0, 0.1);
        for (currency, mark) in [("USD", "$"), ("EUR", "€"), ("CHF", " CHF")] {
            let svg = daily_spend_svg(&pts, &dates, "Daily spend", currency).expect("svg");
            // The y axis labels are the right-aligned texts.
            let ticks: Vec<Text> = texts(&svg)
                .into_iter()
                .filter(|t| t.anchor == "end")
                .collect();
            assert!(ticks.len() >= 3, "{currency}: {} y labels", ticks.len());
            for t in &ticks {
                assert!(t.text.contains(mark), "{currency}: y label {:?}", t.text);
            }
            assert!(
                ticks.iter().any(|t| t.text.contains("20k")),
                "{currency}: no 20k tick"
            );
        }
        let rows = vec![("vision".to_string(), Decimal::new(1_600_000, 2))];
        let bars = bars_svg(&rows, "Idle burn by project", "USD").expect("bars");
        let amounts: Vec<Text> = texts(&bars).into_iter().filter(|t| digits(&t)).collect();
        assert!(
            amounts.len() >= 3,
            "{} amounts on the bar chart",
            amounts.len()
        );
        for t in &amounts {
            assert!(t.text.starts_with('$'), "bar chart amount {:?}", t.text);
        }
        assert!(
            amounts.iter().any(|t| t.text == "$16,000.00"),
            "no bar value"
        );
    }

    #[test]
    fn every_label_is_inside_the_chart() {
        let demo = names(&[
            "vision",
            "llm-pretrain",
            "speech",
            "rec-sys",
            "argus",
            "podstack",
        ]);
        let cases = [
            (
                "providers",
                fleet(&names(&["runpod", "lambda", "vast"]), 52, 16000.0, 0.0),
            ),
            ("projects", fleet(&demo, 52, 4000.0, 0.3)),
            ("many", fleet(&many_projects(), 52, 900.0, 0.3)),
            ("december", fleet(&demo, 61, 2_500_000.0, 0.3)),
            ("january", fleet(&demo, 62, 16000.0, 0.3)),
            ("short", fleet(&demo, 3, 2.0, 0.0)),
        ];
        for (what, (pts, dates)) in &cases {
            for currency in ["USD", "CHF"] {
                let svg =
                    daily_spend_svg(pts, dates, "Daily spend by project", currency).expect("svg");
                assert_texts_inside(&svg, what);
                // Date labels never touch each other.
                let mut xs: Vec<(f64, f64)> = texts(&svg)
                    .iter()
                    .filter(|t| t.anchor == "middle" && t.size == LABEL_SIZE)
                    .map(Text::span)
                    .collect();
                xs.sort_by(|a, b| a.0.total_cmp(&b.0));
                assert!(xs.len() >= 2, "{what}: {} date labels", xs.len());
                for pair in xs.windows(2) {
                    assert!(pair[0].1 + 4.0 <= pair[1].0, "{what}: date labels touch");
                }
            }
        }
        let rows: Vec<(String, Decimal)> = many_projects()
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, Decimal::new(1_234_500 / (i as i64 + 1), 2)))
            .collect();
        assert_texts_inside(
            &bars_svg(&rows, "Idle burn by project", "CHF").expect("bars"),
            "bars",
        );
        assert_texts_inside(
            &bars_svg(&[], "Idle burn by project", "USD").expect("bars"),
            "none",
        );
        // The largest amount just under a round tick: its figure still fits after its bar,
        // inside the plot (left of the last tick label's centre, the plot's right edge).
        for top in [9_500_i64, 95, 1_950_000] {
            let rows = vec![
                ("vision".to_string(), Decimal::new(top * 100, 2)),
                ("speech".to_string(), Decimal::new(top * 10, 2)),
            ];
            let svg = bars_svg(&rows, "Idle burn by project", "USD").expect("bars");
            assert_texts_inside(&svg, "bars near a tick");
            let all = texts(&svg);
            let plot_right = all
                .iter()
                .filter(|t| t.anchor == "middle" && digits(t))
                .map(|t| t.x)
                .fold(0.0, f64::max);
            for t in all.iter().filter(|t| t.anchor == "start" && digits(t)) {
                assert!(
                    t.span().1 <= plot_right,
                    "{:?} runs out of the plot",
                    t.text
                );
            }
        }
    }

    #[test]
    fn long_names_are_cut_not_spilled() {
        let (pts, dates) = fleet(&many_projects(), 52, 900.0, 0.3);
        let svg = daily_spend_svg(&pts, &dates, "Daily spend by project", "USD").expect("svg");
        let all = texts(&svg);
        assert!(all
            .iter()
            .any(|t| t.text.starts_with("team-0-") && t.text.ends_with('…')));
        assert!(all.iter().any(|t| t.text == "other"));
        for t in &all {
            assert!(
                text_width(&t.text, t.size) <= MAX_LABEL_WIDTH,
                "{:?}",
                t.text
            );
        }
        let rows: Vec<(String, Decimal)> = many_projects()
            .into_iter()
            .map(|l| {
                let a = if l.starts_with("team-") { 20 } else { 10 };
                (l, Decimal::from(a))
            })
            .collect();
        let bars = bars_svg(&rows, "Idle burn by project", "USD").expect("bars");
        let names: Vec<Text> = texts(&bars)
            .into_iter()
            .filter(|t| t.anchor == "end")
            .collect();
        assert!(names
            .iter()
            .any(|t| t.text.starts_with("team-") && t.text.ends_with('…')));
        for t in &names {
            assert!(
                text_width(&t.text, t.size) <= MAX_LABEL_WIDTH,
                "{:?}",
                t.text
            );
        }
    }

    #[test]
    fn png_leaves_its_border_blank() {
        // A label cut at the edge ("Dec 0") leaves ink in the outermost pixels.
        let (pts, dates) = fleet(&many_projects(), 52, 16000.0, 0.2);
        let png = daily_spend_png(&pts, &dates, "Daily spend by provider", "CHF").expect("png");
        let mut reader = png::Decoder::new(&png[..]).read_info().expect("png header");
        let mut buf = vec![0; reader.output_buffer_size()];
        let info = reader.next_frame(&mut buf).expect("png frame");
        let (w, h) = (info.width as usize, info.height as usize);
        for y in 0..h {
            for x in 0..w {
                if x < 3 || x + 3 >= w || y < 3 || y + 3 >= h {
                    let p = &buf[(y * w + x) * 3..][..3];
                    assert_eq!(p, [255, 255, 255], "ink at ({x}, {y})");
                }
            }
        }
    }

    #[test]
    fn today_is_drawn_apart_not_as_a_fall_to_zero() {
        // Ten days of 100 a day per provider, and today nothing billed yet.
        let d0: NaiveDate = "2026-12-01".parse().expect("date");
        let dates: Vec<NaiveDate> = (0..10).map(|i| d0 + chrono::Duration::days(i)).collect();
        let pts: Vec<DailyPoint> = dates[..9]
            .iter()
            .flat_map(|d| {
                ["runpod", "vast"].map(|l| DailyPoint {
                    date: *d,
                    label: l.into(),
                    amount: Decimal::from(100),
                })
            })
            .collect();
        let svg = daily_spend_svg(&pts, &dates, "Daily spend", "USD").expect("svg");
        let band = tags(&svg, "rect")
            .into_iter()
            .find(|r| attr(r, "fill").as_deref() == Some("#787878"))
            .expect("today's band");
        let (band_left, band_right) = (num(band, "x"), num(band, "x") + num(band, "width"));
        // The lines (more than the legend's two points) stop at yesterday, level.
        let lines: Vec<Vec<(f64, f64)>> = tags(&svg, "polyline")
            .into_iter()
            .map(|p| {
                attr(p, "points")
                    .expect("points")
                    .split_whitespace()
                    .map(|xy| {
                        let (x, y) = xy.split_once(',').expect("x,y");
                        (x.parse().expect("x"), y.parse().expect("y"))
                    })
                    .collect()
            })
            .filter(|pts: &Vec<(f64, f64)>| pts.len() > 2)
            .collect();
        assert_eq!(lines.len(), 2, "one line per provider");
        for line in &lines {
            assert_eq!(line.len(), 9, "a line through the finished days only");
            assert!(
                line.iter().all(|p| p.0 < band_left),
                "a line runs into today"
            );
            assert!(
                line.iter().all(|p| p.1 == line[0].1),
                "a line falls: {line:?}"
            );
        }
        // Today's partial amounts: hollow markers inside the band, explained in the legend.
        let marks = tags(&svg, "circle")
            .into_iter()
            .filter(|c| attr(c, "fill").as_deref() == Some("none"))
            .filter(|c| (band_left..=band_right).contains(&num(c, "cx")))
            .count();
        assert_eq!(marks, 2, "a hollow marker per provider today");
        let all = texts(&svg);
        assert!(
            all.iter().any(|t| t.text == TODAY_LABEL),
            "no legend for today"
        );
        let today = all
            .iter()
            .find(|t| t.text == "today")
            .expect("today on the axis");
        assert!((band_left..=band_right).contains(&today.x));
        // The PNG is drawn by the same code: it renders.
        let png = daily_spend_png(&pts, &dates, "Daily spend", "USD").expect("png");
        assert_eq!(&png[..4], b"\x89PNG");
    }

    #[test]
    fn date_labels_are_spaced_and_today_is_last() {
        let keys = date_ticks(52, 800, 60);
        assert_eq!(keys.last(), Some(&51.0));
        assert_eq!(keys[..3], [0.0, 7.0, 14.0]);
        let per_day = 800.0 / 52.0;
        for pair in keys.windows(2) {
            assert!((pair[1] - pair[0]) * per_day >= 60.0, "{keys:?}");
        }
        assert_eq!(date_ticks(3, 800, 60), [0.0, 1.0, 2.0]);
        assert_eq!(date_ticks(1, 800, 60), [0.0]);
        assert!(date_ticks(0, 800, 60).is_empty());
    }

    #[test]
    fn bars_sit_on_their_labels_with_gaps_between() {
        let mut few: Vec<(String, Decimal)> = ["podstack", "vision", "argus", "speech"]
            .iter()
            .enumerate()
            .map(|(i, l)| (l.to_string(), Decimal::new(1000 * (i as i64 + 1), 2)))
            .collect();
        // Billed in a currency without a rate: converted to nothing, not a "$0.00" bar.
        few.push(("research-india".into(), Decimal::ZERO));
        let many: Vec<(String, Decimal)> = many_projects()
            .into_iter()
            .enumerate()
            .map(|(i, l)| (l, Decimal::new(500_000 / (i as i64 + 1), 2)))
            .collect();
        for (what, rows, expect) in [("few", few, 4), ("many", many, MAX_BARS)] {
            let svg = bars_svg(&rows, "Idle burn by project", "USD").expect("bars");
            let mut bars: Vec<(f64, f64, f64)> = tags(&svg, "rect")
                .into_iter()
                .filter(|r| attr(r, "fill").as_deref() == Some("#D62728"))
                .map(|r| (num(r, "y"), num(r, "height"), num(r, "width")))
                .collect();
            bars.sort_by(|a, b| a.0.total_cmp(&b.0));
            // Row names: right-aligned, left of the plot.
            let mut labels: Vec<Text> = texts(&svg)
                .into_iter()
                .filter(|t| t.anchor == "end")
                .collect();
            labels.sort_by(|a, b| a.y.total_cmp(&b.y));
            assert_eq!(bars.len(), expect, "{what}: bars");
            assert_eq!(
                labels.len(),
                expect,
                "{what}: one label per bar, no empty one"
            );
            for (bar, label) in bars.iter().zip(&labels) {
                let centre = bar.0 + bar.1 / 2.0;
                assert!(
                    (centre - label.y).abs() <= 2.0,
                    "{what}: bar at {centre} for {:?} at {}",
                    label.text,
                    label.y
                );
                assert!(!label.text.is_empty());
            }
            for pair in bars.windows(2) {
                assert!(
                    pair[0].0 + pair[0].1 + 4.0 <= pair[1].0,
                    "{what}: bars touch"
                );
                assert!(pair[1].1 >= 10.0, "{what}: bars too thin");
            }
            // Largest on top (the "other" sum may be larger than the last few: it is last).
            assert!(bars[0].2 >= bars[1].2, "{what}: largest not on top");
            if expect == MAX_BARS {
                assert_eq!(
                    labels.last().map(|l| l.text.as_str()),
                    Some("other (9 more)")
                );
            } else {
                assert_eq!(labels[0].text, "speech");
                assert!(!svg.contains("research-india") && !svg.contains("$0.00"));
            }
        }
    }
}
