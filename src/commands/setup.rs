//! Where a command's configuration comes from: the config file it finds (`--config`,
//! `$PODWARDEN_CONFIG`, ./podwarden.toml) or the built-in demo, and the policies checked
//! against its providers.

use std::path::{Path, PathBuf};

use super::Error;
use crate::config::{Config, ProviderTypes};
use crate::sandbox::{RunningSandbox, SandboxConfig};

/// Where the configuration comes from: a file, or the built-in demo. Offline work from a
/// snapshot without a config file has no `Setup` at all (`Option<Setup>`).
pub enum Setup {
    File(Config),
    Demo {
        config: Config,
        sandbox: RunningSandbox,
        _state: tempfile::TempDir,
    },
}

impl Setup {
    pub fn config(&self) -> &Config {
        match self {
            Setup::File(c) | Setup::Demo { config: c, .. } => c,
        }
    }

    /// The demo's sandbox (`None` for a config file).
    pub fn demo(&self) -> Option<&RunningSandbox> {
        match self {
            Setup::Demo { sandbox, .. } => Some(sandbox),
            Setup::File(_) => None,
        }
    }

    /// Stops the demo's sandbox.
    pub async fn finish(self) {
        if let Setup::Demo { sandbox, .. } = self {
            sandbox.stop().await;
        }
    }
}

/// Ends what `setup` started, when there is one.
pub async fn finish(setup: Option<Setup>) {
    if let Some(setup) = setup {
        setup.finish().await;
    }
}

/// The config file: `explicit` (`--config`, `$PODWARDEN_CONFIG`), else ./podwarden.toml
/// when it exists.
pub fn config_path(explicit: Option<&Path>) -> Option<PathBuf> {
    explicit
        .map(Path::to_path_buf)
        .or_else(|| Some(PathBuf::from("podwarden.toml")).filter(|p| p.exists()))
}

/// The configuration for a live collection: a file, else the built-in demo.
pub async fn live_setup(config: Option<&Path>) -> Result<Setup, Error> {
    if let Some(p) = config_path(config) {
        return Ok(Setup::File(Config::load(&p)?));
    }
    let sandbox = crate::sandbox::spawn(SandboxConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .map_err(|source| Error::io("starting the demo sandbox", source))?;
    let state = tempfile::tempdir()
        .map_err(|source| Error::io("creating a temporary state folder", source))?;
    let config = crate::demo::config(&sandbox, state.path())?;
    eprintln!(
        "No configuration found: running the built-in demo against a sandbox on {} (dry-run unless --apply).",
        sandbox.addr
    );
    Ok(Setup::Demo {
        config,
        sandbox,
        _state: state,
    })
}

/// The provider names and types policies are checked against: the configuration's (also
/// the demo's), else the built-in names.
pub fn provider_types(setup: Option<&Setup>) -> ProviderTypes {
    setup.map_or_else(ProviderTypes::builtin, |s| s.config().provider_types())
}

/// The policy folder: `--policies`, else the config file's folder, else ./policies when it
/// exists; `None`: the shipped policies (the demo uses them too).
pub fn policy_dir(dir: Option<&Path>, setup: Option<&Setup>) -> Option<PathBuf> {
    let from_config = match setup {
        Some(Setup::File(c)) => Some(c.policies.clone()),
        _ => None,
    };
    dir.map(Path::to_path_buf)
        .or(from_config)
        .or_else(|| Some(PathBuf::from("policies")).filter(|p| p.is_dir()))
}

/// The policies of [`policy_dir`], checked against the configured providers.
pub fn load_policies(
    dir: Option<&Path>,
    setup: Option<&Setup>,
) -> Result<crate::policy::PolicySet, Error> {
    let dir = policy_dir(dir, setup);
    Ok(crate::pipeline::evaluate::policies(
        dir.as_deref(),
        setup.map(Setup::config),
    )?)
}
