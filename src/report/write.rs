//! Writes a built report into `<reports>/YYYY-MM-DD/`: `summary.md`, `report.html`,
//! `spend.csv`, `spend.parquet`, `focus.csv`, `daily-spend.png` and `summary-by-project.csv`. Each file is written to a
//! temporary name and renamed, so a reader never sees half a file; a second run on the same
//! day replaces the day's files.

use std::path::{Path, PathBuf};

use polars::prelude::*;

use crate::fleet::Fleet;
use crate::plan::Plan;
use crate::report::build::Report;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("writing {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("writing {path}: {source}")]
    Table { path: PathBuf, source: PolarsError },
    #[error(transparent)]
    Chart(#[from] crate::report::charts::ChartError),
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |source| WriteError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// A temporary file beside `path`, with a name of its own: two processes writing the same
/// report folder at once never share one (each file is then renamed into place whole).
fn temp_beside(path: &Path) -> Result<tempfile::NamedTempFile, WriteError> {
    let dir = path.parent().unwrap_or(Path::new("."));
    tempfile::Builder::new()
        .prefix(".podwarden-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(io(path))
}

/// Moves a finished temporary file to `path` (replacing what was there).
fn persist(tmp: tempfile::NamedTempFile, path: &Path) -> Result<(), WriteError> {
    tmp.persist(path).map(|_| ()).map_err(|e| WriteError::Io {
        path: path.to_path_buf(),
        source: e.error,
    })
}

fn put(path: &Path, bytes: &[u8]) -> Result<(), WriteError> {
    let mut tmp = temp_beside(path)?;
    std::io::Write::write_all(&mut tmp, bytes).map_err(io(path))?;
    persist(tmp, path)
}

/// Like [`put`], streaming through a buffered writer (files too big to build in memory).
pub fn put_with(
    path: &Path,
    fill: impl FnOnce(&mut std::io::BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), WriteError> {
    let tmp = temp_beside(path)?;
    let file = tmp.reopen().map_err(io(path))?;
    let mut out = std::io::BufWriter::with_capacity(1 << 20, file);
    fill(&mut out)
        .and_then(|_| std::io::Write::flush(&mut out))
        .map_err(io(path))?;
    drop(out);
    persist(tmp, path)
}

/// Writes `spend.csv` and `spend.parquet` together, one part of the spend table at a time
/// (see [`crate::report::spend::frames`]): neither file is ever held whole in memory.
fn spend_tables(
    csv: &Path,
    parquet: &Path,
    parts: impl Iterator<Item = PolarsResult<DataFrame>>,
) -> Result<(), WriteError> {
    let (csv_tmp, parquet_tmp) = (temp_beside(csv)?, temp_beside(parquet)?);
    let mut writers = None;
    let written = (|| -> PolarsResult<()> {
        for part in parts {
            let part = part?;
            if writers.is_none() {
                let schema = part.schema();
                let c = csv_tmp.reopen()?;
                let p = parquet_tmp.reopen()?;
                // Straight to the file (polars writes it in large blocks): a buffer in
                // between would be flushed on drop, where an error is lost.
                writers = Some((
                    CsvWriter::new(c).include_header(true).batched(schema)?,
                    ParquetWriter::new(p).batched(schema)?,
                ));
            }
            if let Some((c, p)) = writers.as_mut() {
                c.write_batch(&part)?;
                p.write_batch(&part)?;
            }
        }
        if let Some((mut c, p)) = writers.take() {
            c.finish()?;
            p.finish()?;
        }
        Ok(())
    })();
    written.map_err(|source| WriteError::Table {
        path: csv.to_path_buf(),
        source,
    })?;
    persist(csv_tmp, csv)?;
    persist(parquet_tmp, parquet)
}

/// Writes every file of `report` (and the FOCUS export of `fleet`'s cost rows inside the
/// report's window, the rows the report itself holds) under `reports`; returns the paths
/// written, in a stable order.
pub fn write(
    report: &Report,
    fleet: &Fleet,
    plan: Option<&Plan>,
    reports: &Path,
) -> Result<Vec<PathBuf>, WriteError> {
    let dir = reports.join(report.window.today.to_string());
    crate::owner_only::create_dir_all(&dir).map_err(io(&dir))?;
    let mut written = Vec::new();
    let summary = dir.join("summary.md");
    put(&summary, crate::report::markdown::render(report).as_bytes())?;
    written.push(summary);
    let html = dir.join("report.html");
    put(&html, crate::report::html::render(report).as_bytes())?;
    written.push(html);
    let (csv, parquet) = (dir.join("spend.csv"), dir.join("spend.parquet"));
    spend_tables(
        &csv,
        &parquet,
        crate::report::spend::frames(
            crate::report::build::cost_rows(fleet, &report.window),
            fleet,
            plan,
            &report.conversion,
            crate::report::spend::ROWS_PER_FRAME,
            crate::report::spend::Columns::All,
        ),
    )?;
    written.extend([csv, parquet]);
    let focus = dir.join("focus.csv");
    put_with(&focus, |out| {
        crate::report::focus::write(
            out,
            crate::report::build::cost_rows(fleet, &report.window),
            fleet,
            plan,
            &report.conversion,
            report.now,
        )
    })?;
    written.push(focus);
    let png = dir.join("daily-spend.png");
    put(&png, &chart_png(report)?)?;
    written.push(png);
    let breakdown = dir.join(crate::report::breakdown::FILE);
    put(
        &breakdown,
        crate::report::breakdown::csv(&report.breakdown, &report.conversion).as_bytes(),
    )?;
    written.push(breakdown);
    Ok(written)
}

/// `daily-spend.png`: the daily-spend chart (also the finance mail's inline chart).
pub fn chart_png(report: &Report) -> Result<Vec<u8>, crate::report::charts::ChartError> {
    crate::report::charts::daily_spend_png(
        &report.daily_by_provider,
        &report.window.dates(),
        "Daily spend by provider",
        report.conversion.report.as_str(),
    )
}
