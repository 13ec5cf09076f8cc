//! `podwarden plan`: the plan as a table, Markdown or JSON (for tools), the plan file with
//! `--out`, and a report only under `--reports DIR`.

use std::path::PathBuf;

use super::Error;
use crate::cli::{PlanFormat, Source};
use crate::exit::Exit;
use crate::pipeline::evaluate::{exit_of, make_plan};
use crate::pipeline::outputs::{print_written, write_plan, write_report};

pub async fn plan(
    source: Source,
    policies: Option<PathBuf>,
    format: PlanFormat,
    out: Option<PathBuf>,
    reports: Option<PathBuf>,
) -> Result<Exit, Error> {
    let mut loaded = super::inputs::load(
        &source,
        super::inputs::Wanted::Policies(policies.as_deref()),
    )
    .await?;
    let set = loaded.take_policies(policies.as_deref())?;
    let (inputs, config) = (&loaded.inputs, loaded.config());
    let plan = make_plan(inputs, config, &set, &crate::execute::wall_clock())?;
    match format {
        PlanFormat::Table => print!("{}", crate::plan::render::table(&plan)),
        PlanFormat::Markdown => print!("{}", crate::plan::render::markdown(&plan)),
        PlanFormat::Json => println!(
            "{}",
            serde_json::to_string_pretty(&plan).unwrap_or_default()
        ),
    }
    write_plan(&plan, out.as_deref())?;
    // A review writes a report only where it is told to (the dated folder is the live run's);
    // stdout holds the plan (JSON for tools): the report's paths go to stderr.
    if let Some(folder) = &reports {
        let (_, written) = write_report(inputs, config, Some(&plan), Some(folder))?;
        print_written(&written, true);
    }
    let exit = exit_of(&plan, &inputs.fleet, &inputs.errors);
    loaded.finish().await;
    Ok(exit)
}
