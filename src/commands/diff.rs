//! `podwarden diff BASE HEAD`: what changes in the plan of one fleet between two policy
//! folders (a policy review).

use std::path::Path;

use super::setup::provider_types;
use super::Error;
use crate::cli::Source;
use crate::exit::Exit;
use crate::pipeline::evaluate::make_plan;

pub async fn diff(base: &Path, head: &Path, source: Source) -> Result<Exit, Error> {
    let loaded = super::inputs::load(&source, super::inputs::Wanted::Whole).await?;
    let (inputs, config) = (&loaded.inputs, loaded.config());
    let providers = provider_types(loaded.setup.as_ref());
    let load = |dir: &Path| {
        crate::policy::load::load_dir_for(dir, &providers).map_err(crate::pipeline::Error::Policies)
    };
    let (base_set, head_set) = (load(base)?, load(head)?);
    let clock = crate::execute::wall_clock();
    let (before, after) = (
        make_plan(inputs, config, &base_set, &clock)?,
        make_plan(inputs, config, &head_set, &clock)?,
    );
    print!("{}", crate::review::diff::markdown(&before, &after));
    loaded.finish().await;
    Ok(Exit::Success)
}
