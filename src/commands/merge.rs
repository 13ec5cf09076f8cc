//! `podwarden report --merge [DIR…]`: the shards' reports combined into the fleet's one
//! report, and the one finance mail. It collects nothing and acts on nothing: it reads what
//! each shard left beside its report (`shard.json`) and builds the report a single run over
//! every provider would have built.

use std::path::PathBuf;

use super::setup::config_path;
use super::Error;
use crate::cli::Source;
use crate::config::Config;
use crate::exit::Exit;
use crate::pipeline::evaluate::collection_exit;
use crate::pipeline::outputs::print_written;
use crate::report::merge::{check_file, check_shards, locate, merge as combine, MergeError};

pub async fn merge(
    source: Source,
    dirs: Vec<PathBuf>,
    reports: Option<PathBuf>,
    email_to_dir: Option<PathBuf>,
) -> Result<Exit, Error> {
    if source.now.is_some() {
        return Err(Error::usage(
            "--merge reports at the shards' own time: --now is for --snapshot",
        ));
    }
    let config = config_path(source.config.as_deref())
        .map(|p| Config::load_whole(&p))
        .transpose()?;
    let dirs = match (dirs.is_empty(), &config) {
        (false, _) => dirs,
        (true, Some(c)) => c.shards.iter().map(|s| s.reports.clone()).collect(),
        (true, None) => Vec::new(),
    };
    if dirs.is_empty() {
        return Err(MergeError::Nothing.into());
    }
    let mut parts = Vec::new();
    let mut named = false;
    for dir in &dirs {
        let found = locate(dir)?;
        tracing::info!(file = %found.file.display(), "merging a shard's report");
        named |= found.named;
        let part = crate::report::shard_file::load(&found.file)?;
        check_file(&part, &found)?;
        parts.push((found.file, part));
    }
    match &config {
        Some(c) if !c.shards.is_empty() => {
            check_shards(&parts, &c.shards)?;
            // Actions taken come from each shard's own journal, as a single run's report
            // reads them, not from the file.
            for (_, part) in &mut parts {
                if let Some(shard) = c.shards.iter().find(|s| s.name == part.shard) {
                    if !shard.state.is_file() {
                        tracing::warn!(
                            shard = shard.name,
                            "no state file at {}: the report shows no actions taken by this shard",
                            shard.state.display()
                        );
                    }
                    part.taken = crate::pipeline::outputs::taken(&shard.state)?;
                }
            }
        }
        _ => tracing::warn!(
            "no [[shard]] configuration: the files are merged as they are, not checked against \
             the shards, their actions taken as the files say"
        ),
    }
    let merged = combine(parts.into_iter().map(|(_, p)| p).collect())?;
    // Found by "newest", they must be tonight's: yesterday's again would be mailed as news.
    let (day, today) = (merged.now.date_naive(), chrono::Utc::now().date_naive());
    if !named && day != today {
        return Err(MergeError::NotToday { day, today }.into());
    }
    for note in &merged.notes {
        tracing::warn!("{note}");
    }
    let default_conversion = crate::report::currency::Conversion::default();
    let conversion = config.as_ref().map_or(&default_conversion, |c| &c.currency);
    let default_settings = crate::report::settings::ReportSettings::default();
    let report = crate::report::build(&crate::report::Input {
        fleet: &merged.fleet,
        plan: merged.plan.as_ref(),
        taken: &merged.taken,
        pending: &merged.pending,
        conversion,
        settings: config.as_ref().map_or(&default_settings, |c| &c.report),
        now: merged.now,
    })?;
    let folder = reports.or_else(|| config.as_ref().map(|c| c.reports.clone()));
    let written = match &folder {
        Some(f) => crate::report::write::write(&report, &merged.fleet, merged.plan.as_ref(), f)?,
        None => Vec::new(),
    };
    println!(
        "Merged {} shard(s): {}.",
        merged.shards.len(),
        merged.shards.join(", ")
    );
    print!("{}", crate::report::markdown::headline(&report));
    print_written(&written, false);
    if folder.is_none() {
        eprintln!("No configuration and no --reports DIR: the merged report was not written.");
    }
    if let Some(c) = &config {
        mail_finance(c, &merged, &report, &written, email_to_dir.as_deref()).await?;
    }
    Ok(collection_exit(&merged.fleet, &[]).unwrap_or(Exit::Success))
}

/// The fleet's finance mail (`[email]` set): the merged report, the merged plan's table, the
/// spend summary; through the whole configuration's outbox, or as a file into `to_dir`.
async fn mail_finance(
    config: &Config,
    merged: &crate::report::merge::Merged,
    report: &crate::report::Report,
    written: &[PathBuf],
    to_dir: Option<&std::path::Path>,
) -> Result<(), Error> {
    let Some(email) = &config.email else {
        if to_dir.is_some() {
            tracing::warn!(
                "--email-to-dir: the configuration has no [email] section, no mail written"
            );
        }
        return Ok(());
    };
    let summary =
        crate::report::summary::text(&merged.fleet, config.cost_days_at(merged.now), merged.now)?;
    let table = merged
        .plan
        .as_ref()
        .map(crate::plan::render::table)
        .unwrap_or_default();
    let input = crate::notify::report_input(
        report,
        &format!("{summary}\n{table}"),
        written,
        email.max_attachment_bytes,
    );
    let finance = crate::notify::finance_mail(&input);
    let delivery = crate::notify::send_run_mail(
        email,
        &config.state,
        to_dir,
        Some(&finance),
        &[],
        merged.now,
    )
    .await;
    for path in &delivery.written {
        eprintln!("Mail written to {}", path.display());
    }
    Ok(())
}
