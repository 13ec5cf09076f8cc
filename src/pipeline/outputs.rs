//! What a run and the reviews write: the plan file (`--out`) and the dated report folder,
//! and the lines that say where they went.

use std::path::{Path, PathBuf};

use super::{Error, Inputs};
use crate::config::Config;
use crate::plan::Plan;
use crate::state::journal::{Filter, Journal};

/// What `report` and `run` say on stderr when a replay writes no report files.
pub const REPLAY_WRITES_NO_REPORT: &str =
    "From a snapshot no report files are written (a replay never \
    replaces a live run's report); --reports DIR writes them under DIR.";

/// Writes `plan` to `out` when given, and says so on stderr.
pub fn write_plan(plan: &Plan, out: Option<&Path>) -> Result<(), Error> {
    if let Some(path) = out {
        plan.write(path)?;
        eprintln!("Plan written to {}", path.display());
    }
    Ok(())
}

/// Where a command writes the dated report folder: `--reports DIR` when given, else, for a
/// live collection by `run` or `report` (`config_default`), the config's `reports`. A replay
/// from a snapshot and `plan` write none unless told where: a review must never replace the
/// report of the live run that made it.
pub fn report_folder(
    inputs: &Inputs,
    config: Option<&Config>,
    explicit: Option<&Path>,
    config_default: bool,
) -> Option<PathBuf> {
    explicit.map(Path::to_path_buf).or_else(|| {
        (config_default && !inputs.from_snapshot)
            .then(|| config.map(|c| c.reports.clone()))
            .flatten()
    })
}

/// The actions the journal holds, each with its latest status, for the report.
pub fn taken(state: &Path) -> Result<Vec<crate::report::TakenAction>, Error> {
    let Some(journal) = Journal::open_existing(state)? else {
        return Ok(Vec::new());
    };
    let latest = journal.query(&Filter {
        latest_only: true,
        ..Default::default()
    })?;
    Ok(latest
        .into_iter()
        .map(|r| crate::report::TakenAction {
            at: r.new.at,
            provider: r.new.provider,
            target: r.new.target,
            action: r.new.action,
            policy: r.new.policy,
            est_savings_per_day: r
                .new
                .est_savings_per_day
                .as_deref()
                .and_then(|s| s.parse().ok())
                .unwrap_or_default(),
            currency: crate::money::Currency::new(r.new.currency.as_deref().unwrap_or("USD")),
            status: r.new.stage.as_str().to_string(),
        })
        .collect())
}

/// Builds the spend report of `inputs` (and `plan`) and, given a folder (see
/// [`report_folder`]), writes its files under it. Actions taken come from the state file's
/// audit journal (a live collection with a `config` only), pending notices from the plan.
pub fn write_report(
    inputs: &Inputs,
    config: Option<&Config>,
    plan: Option<&Plan>,
    reports: Option<&Path>,
) -> Result<(crate::report::Report, Vec<PathBuf>), Error> {
    let default_conversion = crate::report::currency::Conversion::default();
    let conversion = config.map_or(&default_conversion, |c| &c.currency);
    let default_settings = crate::report::settings::ReportSettings::default();
    let taken = match (config, inputs.from_snapshot) {
        (Some(config), false) => taken(&config.state)?,
        _ => Vec::new(),
    };
    let pending: Vec<crate::report::PendingNotice> = plan
        .map(|p| {
            p.pending
                .iter()
                .map(|n| crate::report::PendingNotice {
                    provider: n.provider.clone(),
                    target: n.target.clone(),
                    policy: n.policy.clone(),
                    action: n.action.to_string(),
                    due_at: n.due_at,
                    reason: n.reason.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let report = crate::report::build(&crate::report::Input {
        fleet: &inputs.fleet,
        plan,
        taken: &taken,
        pending: &pending,
        conversion,
        settings: config.map_or(&default_settings, |c| &c.report),
        now: inputs.now,
    })?;
    let mut written = match reports {
        Some(folder) => crate::report::write::write(&report, &inputs.fleet, plan, folder)?,
        None => Vec::new(),
    };
    // A shard's run leaves what its report was built from, for `report --merge`; `report`
    // alone (no plan) leaves the night's file as it is.
    if let (Some(folder), Some(shard), Some(_)) =
        (reports, config.and_then(|c| c.shard.as_deref()), plan)
    {
        let day = folder.join(report.window.today.to_string());
        let inputs = crate::report::shard_file::ShardReportRef {
            format: crate::report::shard_file::FORMAT,
            version: crate::report::shard_file::VERSION,
            shard,
            now: inputs.now,
            fleet: &inputs.fleet,
            plan,
            taken: &taken,
            pending: &pending,
        };
        written.push(crate::report::shard_file::save(&inputs, &day)?);
    }
    Ok((report, written))
}

/// "Report written:" and the files, on stdout (or stderr, where stdout holds a plan).
pub fn print_written(written: &[PathBuf], to_stderr: bool) {
    if written.is_empty() {
        return;
    }
    let text: String = std::iter::once("Report written:".to_string())
        .chain(written.iter().map(|p| format!("  {}", p.display())))
        .collect::<Vec<_>>()
        .join("\n");
    if to_stderr {
        eprintln!("{text}");
    } else {
        println!("{text}");
    }
}
