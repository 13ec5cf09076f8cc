//! Fleet snapshots: a collected fleet (observations merged) saved as JSON with the time it
//! was taken, so that `plan`, `explain` and `diff` can be repeated offline for review.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::fleet::Fleet;

/// Marks the file as a podwarden snapshot and versions its format.
pub const FORMAT: &str = "podwarden-fleet-snapshot";
pub const VERSION: u32 = 1;

#[derive(Debug, Serialize, Deserialize)]
struct File {
    format: String,
    version: u32,
    fleet: Fleet,
}

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot {path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
    #[error("snapshot {path}: not a podwarden fleet snapshot: {detail}")]
    Format { path: String, detail: String },
}

pub fn save(fleet: &Fleet, path: &Path) -> Result<(), SnapshotError> {
    let shown = path.display().to_string();
    let file = File {
        format: FORMAT.into(),
        version: VERSION,
        fleet: fleet.clone(),
    };
    let json = serde_json::to_string_pretty(&file).map_err(|e| SnapshotError::Format {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, json + "\n")
        .and_then(|_| std::fs::rename(&tmp, path))
        .map_err(|source| SnapshotError::Io {
            path: shown,
            source,
        })
}

pub fn load(path: &Path) -> Result<Fleet, SnapshotError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| SnapshotError::Io {
        path: shown.clone(),
        source,
    })?;
    let file: File = serde_json::from_str(&text).map_err(|e| SnapshotError::Format {
        path: shown.clone(),
        detail: e.to_string(),
    })?;
    if file.format != FORMAT || file.version != VERSION {
        return Err(SnapshotError::Format {
            path: shown,
            detail: format!(
                "format {:?} version {}, expected {FORMAT:?} version {VERSION}",
                file.format, file.version
            ),
        });
    }
    let mut fleet = file.fleet;
    // Saved before the fleet recorded its providers' facts: read them off the data.
    let read_off: Vec<_> = fleet
        .providers
        .iter()
        .filter(|p| !fleet.facts.contains_key(&p.name))
        .filter_map(|p| {
            crate::providers::legacy_facts::read_off(&fleet, &p.name).map(|f| (p.name.clone(), f))
        })
        .collect();
    fleet.facts.extend(read_off);
    fleet.normalize_order();
    Ok(fleet)
}
