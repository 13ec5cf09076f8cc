//! `podwarden explain TARGET`: why each policy does or does not match one pod, and what the
//! plan does with it.

use std::path::PathBuf;

use super::Error;
use crate::cli::Source;
use crate::exit::Exit;
use crate::pipeline::evaluate::make_plan;

pub async fn explain(
    target: &str,
    source: Source,
    policies: Option<PathBuf>,
) -> Result<Exit, Error> {
    let mut loaded = super::inputs::load(
        &source,
        super::inputs::Wanted::Policies(policies.as_deref()),
    )
    .await?;
    let set = loaded.take_policies(policies.as_deref())?;
    let inputs = &loaded.inputs;
    let plan = make_plan(inputs, loaded.config(), &set, &crate::execute::wall_clock())?;
    let pod = inputs
        .fleet
        .pods
        .iter()
        .find(|p| p.target == target || p.pod_id == target || p.name == target);
    let exit = match pod {
        Some(pod) => {
            let verdicts = crate::review::explain::explain(pod, &set, inputs.now)?;
            print!("{}", crate::review::explain::render(pod, &verdicts, &plan));
            Exit::Success
        }
        None => {
            eprintln!(
                "error: no pod {target:?} in the fleet ({} pods); give a target id, pod id or name",
                inputs.fleet.pods.len()
            );
            Exit::Usage
        }
    };
    loaded.finish().await;
    Ok(exit)
}
