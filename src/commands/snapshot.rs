//! `podwarden snapshot save FILE`: a live collection written as a saved fleet, for reviews
//! at another instant (`--snapshot FILE --now T`).

use std::path::{Path, PathBuf};

use chrono::Utc;

use super::setup::live_setup;
use super::Error;
use crate::exit::Exit;
use crate::pipeline::evaluate::collection_exit;

pub async fn save(file: &Path, config: Option<PathBuf>) -> Result<Exit, Error> {
    let setup = live_setup(config.as_deref()).await?;
    let now = Utc::now();
    let (fleet, errors) = crate::pipeline::inputs::collect(
        setup.config(),
        now,
        crate::pipeline::inputs::Reads::Everything,
    )
    .await?;
    crate::snapshot::save(&fleet, file)?;
    eprintln!(
        "Snapshot of {} pods taken at {} written to {}",
        fleet.pods.len(),
        now.to_rfc3339(),
        file.display()
    );
    setup.finish().await;
    Ok(collection_exit(&fleet, &errors).unwrap_or(Exit::Success))
}
