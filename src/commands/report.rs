//! `podwarden report`: the spend report alone (no plan), written into the dated report
//! folder of a live collection, or under `--reports DIR`.

use std::path::PathBuf;

use super::Error;
use crate::cli::Source;
use crate::exit::Exit;
use crate::pipeline::evaluate::collection_exit;
use crate::pipeline::outputs::{
    print_written, report_folder, write_report, REPLAY_WRITES_NO_REPORT,
};

pub async fn report(source: Source, reports: Option<PathBuf>) -> Result<Exit, Error> {
    let loaded = super::inputs::load(&source, super::inputs::Wanted::Whole).await?;
    let (inputs, config) = (&loaded.inputs, loaded.config());
    let folder = report_folder(inputs, config, reports.as_deref(), true);
    let (report, written) = write_report(inputs, config, None, folder.as_deref())?;
    print!("{}", crate::report::markdown::headline(&report));
    print_written(&written, false);
    if folder.is_none() {
        eprintln!("{REPLAY_WRITES_NO_REPORT}");
    }
    let exit = collection_exit(&inputs.fleet, &inputs.errors).unwrap_or(Exit::Success);
    loaded.finish().await;
    Ok(exit)
}
