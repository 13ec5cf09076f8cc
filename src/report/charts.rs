//! Charts drawn with plotters: daily spend (lines per provider or project) and idle burn per
//! project (bars). SVG for `report.html`, PNG bytes for mail clients that block SVG.
//!
//! Text uses DejaVu Sans embedded in the binary (`assets/DejaVuSans.ttf`, its licence beside
//! it) through ab_glyph: no system fonts or fontconfig are needed. Only amounts in the report
//! currency are drawn (a currency without a rate cannot share an axis; the caption says so).

use std::collections::BTreeMap;
use std::sync::Once;

use chrono::NaiveDate;
use plotters::coord::Shift;
use plotters::prelude::*;
use rust_decimal::prelude::ToPrimitive;
use rust_decimal::Decimal;

use crate::report::build::DailyPoint;

const FONT: &[u8] = include_bytes!("../../assets/DejaVuSans.ttf");
/// Chart size in pixels.
pub const SIZE: (u32, u32) = (900, 360);
/// At most this many series; the rest are summed as "other".
const MAX_SERIES: usize = 6;
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
    let max = s
        .lines
        .iter()
        .flat_map(|(_, v)| v.iter().copied())
        .fold(0.0_f64, f64::max)
        .max(1.0)
        * 1.1;
    let n = s.dates.len().max(2);
    let mut chart = ChartBuilder::on(&root)
        .caption(title, ("sans-serif", 18))
        .margin(10)
        .x_label_area_size(30)
        .y_label_area_size(70)
        .build_cartesian_2d(0..(n - 1), 0.0..max)
        .map_err(err)?;
    let dates = s.dates.clone();
    chart
        .configure_mesh()
        .x_labels(8)
        .x_label_formatter(&|i| {
            dates
                .get(*i)
                .map(|d| d.format("%b %d").to_string())
                .unwrap_or_default()
        })
        .y_desc(currency)
        .y_label_formatter(&|v| format!("{v:.0}"))
        .label_style(("sans-serif", 12))
        .draw()
        .map_err(err)?;
    for (k, (label, values)) in s.lines.iter().enumerate() {
        let color = PALETTE[k % PALETTE.len()];
        chart
            .draw_series(LineSeries::new(
                values.iter().enumerate().map(|(i, v)| (i, *v)),
                color.stroke_width(2),
            ))
            .map_err(err)?
            .label(label.clone())
            .legend(move |(x, y)| {
                PathElement::new(vec![(x, y), (x + 18, y)], color.stroke_width(2))
            });
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK)
        .label_font(("sans-serif", 12))
        .position(SeriesLabelPosition::UpperLeft)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// The daily-spend chart as an SVG document.
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

/// The daily-spend chart as PNG bytes (for an inline mail attachment).
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

/// Horizontal bars (e.g. idle burn per day by project) as an SVG document.
pub fn bars_svg(
    rows: &[(String, Decimal)],
    title: &str,
    currency: &str,
) -> Result<String, ChartError> {
    register_font();
    let rows: Vec<(String, f64)> = rows
        .iter()
        .take(12)
        .map(|(l, a)| (l.clone(), a.to_f64().unwrap_or(0.0)))
        .collect();
    let height = (80 + 28 * rows.len().max(1)) as u32;
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (SIZE.0, height)).into_drawing_area();
        root.fill(&WHITE).map_err(err)?;
        let max = rows.iter().map(|r| r.1).fold(0.0_f64, f64::max).max(1.0) * 1.15;
        let n = rows.len().max(1);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, ("sans-serif", 18))
            .margin(10)
            .x_label_area_size(30)
            .y_label_area_size(160)
            .build_cartesian_2d(0.0..max, 0..n)
            .map_err(err)?;
        let labels: Vec<String> = rows.iter().map(|r| r.0.clone()).collect();
        chart
            .configure_mesh()
            .disable_y_mesh()
            .y_labels(n)
            .y_label_formatter(&|i| labels.get(*i).cloned().unwrap_or_default())
            .x_desc(format!("{currency} per day"))
            .label_style(("sans-serif", 12))
            .draw()
            .map_err(err)?;
        chart
            .draw_series(rows.iter().enumerate().map(|(i, (_, v))| {
                Rectangle::new([(0.0, i), (*v, i + 1)], PALETTE[3].mix(0.8).filled())
            }))
            .map_err(err)?;
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
}
