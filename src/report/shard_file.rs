//! A shard's report inputs (`<day>/shard.json`), left beside its report so that
//! `podwarden report --merge` builds the one finance report of every shard from what each
//! collected, planned and took: the report one run over all providers would have built.
//!
//! The file holds the fleet (cost rows included), the plan, the actions the shard's journal
//! holds and its pending notices, as JSON with a format name and version. Only a shard's
//! run writes it (`run`, or `plan --reports`; `[[shard]]`, picked by the environment), never
//! `report` alone, which plans nothing; a run that is not a shard has its report already.

use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::fleet::Fleet;
use crate::plan::Plan;
use crate::report::inputs::{PendingNotice, TakenAction};
use crate::report::write::WriteError;

/// The file's name in a shard's day folder.
pub const FILE: &str = "shard.json";
/// Marks the file as a shard's report inputs and versions its format.
pub const FORMAT: &str = "podwarden-shard-report";
pub const VERSION: u32 = 1;

/// What one shard's report was built from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ShardReport {
    pub format: String,
    pub version: u32,
    /// The shard's name (`[[shard]] name`).
    pub shard: String,
    /// The instant its report was built at.
    pub now: DateTime<Utc>,
    pub fleet: Fleet,
    /// Its plan (`None`: `podwarden report`, which plans nothing).
    pub plan: Option<Plan>,
    pub taken: Vec<TakenAction>,
    pub pending: Vec<PendingNotice>,
}

/// The same, borrowed: what a shard writes without copying its fleet.
#[derive(Serialize)]
pub struct ShardReportRef<'a> {
    pub format: &'static str,
    pub version: u32,
    pub shard: &'a str,
    pub now: DateTime<Utc>,
    pub fleet: &'a Fleet,
    pub plan: Option<&'a Plan>,
    pub taken: &'a [TakenAction],
    pub pending: &'a [PendingNotice],
}

#[derive(Debug, thiserror::Error)]
pub enum ShardFileError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "{path}: not a shard's report inputs ({detail}); it is written by a shard's `podwarden \
         run` (a [[shard]] picked by PODWARDEN_SHARD or JOB_COMPLETION_INDEX)"
    )]
    Format { path: PathBuf, detail: String },
}

/// Days of a shard's [`FILE`] kept: today's for the merge, and two before it to merge again by
/// hand. Older ones are removed when a new one is written (at 100 000 pods one is hundreds of
/// MB); the rest of the day's report stays.
pub const KEPT_DAYS: usize = 3;

/// Writes `report` into `day` (the shard's report folder of the day) as [`FILE`], whole or
/// not at all, and removes the shard's files older than the newest [`KEPT_DAYS`]; returns its
/// path.
pub fn save(report: &ShardReportRef<'_>, day: &Path) -> Result<PathBuf, WriteError> {
    let path = day.join(FILE);
    crate::report::write::put_with(&path, |out| {
        serde_json::to_writer(&mut *out, report).map_err(std::io::Error::other)
    })?;
    if let Some(reports) = day.parent() {
        prune(reports);
    }
    Ok(path)
}

/// Removes [`FILE`] from every day folder of `reports` but the newest [`KEPT_DAYS`]; a file that
/// cannot be removed is logged, never an error of the run.
fn prune(reports: &Path) {
    let Ok(mut days) = days(reports) else {
        return;
    };
    let old = days.len().saturating_sub(KEPT_DAYS);
    for (_, file) in days.drain(..old) {
        if let Err(e) = std::fs::remove_file(&file) {
            tracing::warn!("removing an old shard report {}: {e}", file.display());
        }
    }
}

/// The day a report folder's name says (`YYYY-MM-DD`), if it says one.
pub fn day_of(folder: &Path) -> Option<NaiveDate> {
    let name = folder.file_name()?.to_string_lossy().into_owned();
    NaiveDate::parse_from_str(&name, "%Y-%m-%d").ok()
}

/// The day folders of a shard's `reports` that hold a [`FILE`], oldest first, each with its file.
pub fn days(reports: &Path) -> std::io::Result<Vec<(NaiveDate, PathBuf)>> {
    let mut days: Vec<(NaiveDate, PathBuf)> = std::fs::read_dir(reports)?
        .filter_map(|e| e.ok())
        .filter_map(|e| {
            let day = day_of(&e.path())?;
            let file = e.path().join(FILE);
            file.is_file().then_some((day, file))
        })
        .collect();
    days.sort();
    Ok(days)
}

/// Reads a [`FILE`] back, checking its format and version.
pub fn load(path: &Path) -> Result<ShardReport, ShardFileError> {
    let format = |detail: String| ShardFileError::Format {
        path: path.to_path_buf(),
        detail,
    };
    let file = std::fs::File::open(path).map_err(|source| ShardFileError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let report: ShardReport = serde_json::from_reader(std::io::BufReader::new(file))
        .map_err(|e| format(e.to_string()))?;
    if report.format != FORMAT || report.version != VERSION {
        return Err(format(format!(
            "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
            report.format, report.version
        )));
    }
    let mut report = report;
    report.fleet.normalize_order();
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_newest_days_keep_their_file() {
        let dir = tempfile::tempdir().expect("dir");
        for day in ["2026-11-28", "2026-11-29", "2026-11-30", "2026-12-01"] {
            let folder = dir.path().join(day);
            std::fs::create_dir_all(&folder).expect("folder");
            std::fs::write(folder.join(FILE), "{}").expect("file");
            std::fs::write(folder.join("summary.md"), "report").expect("report");
        }
        std::fs::create_dir_all(dir.path().join("notes")).expect("other folder");
        prune(dir.path());
        let kept: Vec<String> = days(dir.path())
            .expect("days")
            .into_iter()
            .map(|(d, _)| d.to_string())
            .collect();
        assert_eq!(kept, ["2026-11-29", "2026-11-30", "2026-12-01"]);
        assert!(
            dir.path().join("2026-11-28/summary.md").is_file(),
            "the report stays"
        );
    }
}
