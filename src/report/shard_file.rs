//! A shard's report inputs (`<day>/shard.json`), left beside its report so that
//! `podwarden report --merge` builds the one finance report of every shard from what each
//! collected, planned and took: the report one run over all providers would have built.
//!
//! The file holds the fleet (cost rows included), the plan, the actions the shard's journal
//! holds and its pending notices, as JSON with a format name and version. Only a shard
//! writes it (`[[shard]]`, picked by the environment); a run that is not a shard has its
//! report already.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
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
         run` or `report` (a [[shard]] picked by PODWARDEN_SHARD or JOB_COMPLETION_INDEX)"
    )]
    Format { path: PathBuf, detail: String },
}

/// Writes `report` into `day` (the shard's report folder of the day) as [`FILE`], whole or
/// not at all; returns its path.
pub fn save(report: &ShardReportRef<'_>, day: &Path) -> Result<PathBuf, WriteError> {
    let path = day.join(FILE);
    crate::report::write::put_with(&path, |out| {
        serde_json::to_writer(&mut *out, report).map_err(std::io::Error::other)
    })?;
    Ok(path)
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
