//! `podwarden schedule`: the job of `podwarden run` on the config's `[schedule]`, each run
//! through the same [`super::run::run`] (and so the same run pipeline).

use std::path::PathBuf;

use super::run::{run, RunOptions};
use super::setup::config_path;
use super::Error;
use crate::cli::Source;
use crate::config::Config;
use crate::exit::Exit;

pub async fn schedule(
    config: Option<PathBuf>,
    out: Option<PathBuf>,
    email_to_dir: Option<PathBuf>,
    max_runs: Option<u32>,
    act: Option<crate::cli::ActArgs>,
) -> Result<Exit, Error> {
    let path = config_path(config.as_deref()).ok_or_else(|| {
        Error::usage(
            "podwarden schedule needs a configuration file with a [schedule] section \
             (--config F, $PODWARDEN_CONFIG or ./podwarden.toml)",
        )
    })?;
    let cfg = Config::load(&path)?;
    if let Some(shard) = &cfg.shard {
        tracing::warn!(
            shard,
            "a shard sends no finance mail: run `podwarden report --merge` after every shard's \
             run (a cron of its own, or the last step of the workflow that runs the shards)"
        );
    }
    let Some(sched) = cfg.schedule else {
        return Err(Error::usage(format!(
            "{}: no [schedule] section; add e.g.\n[schedule]\ncron = \"0 2 * * *\"\ntimezone = \"Europe/Berlin\"",
            path.display()
        )));
    };
    let options = RunOptions {
        source: Source {
            config: Some(path),
            snapshot: None,
            now: None,
        },
        out,
        reports: None,
        email_to_dir,
        act,
    };
    // Each run reads the configuration afresh (a changed ConfigMap applies from the next run);
    // the schedule itself is read once, here.
    let config_path = options.source.config.clone();
    crate::schedule::serve(
        &sched,
        crate::schedule::Options { max_runs },
        || {
            let options = options.clone();
            async move {
                match run(&options).await {
                    Ok(exit) => exit,
                    Err(e) => {
                        tracing::error!("scheduled run failed: {e}");
                        e.exit()
                    }
                }
            }
        },
        || {
            let path = config_path.clone();
            async move {
                match super::observe::observe(path.as_deref()).await {
                    Ok(exit) => exit,
                    Err(e) => {
                        tracing::error!("observe run failed: {e}");
                        e.exit()
                    }
                }
            }
        },
    )
    .await
    .map_err(Error::from)
}
