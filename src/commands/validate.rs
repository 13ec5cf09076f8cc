//! `podwarden validate [DIR]`: checks the policies (and the config's `[email]` warnings)
//! without evaluating anything; every problem printed, exit 2 when there is one.

use std::path::PathBuf;

use super::setup::config_path;
use super::Error;
use crate::config::{Config, ProviderTypes};
use crate::exit::Exit;

/// Checks policies against the configured providers when a config is found (an unreadable
/// or invalid one is an error), else against the built-in names. DIR defaults to the
/// config's `policies`, else ./policies.
pub fn validate(dir: Option<PathBuf>, config: Option<PathBuf>) -> Result<Exit, Error> {
    let config = match config_path(config.as_deref()) {
        Some(p) => Some(Config::load_whole(&p)?),
        None => None,
    };
    let dir = dir
        .or_else(|| config.as_ref().map(|c| c.policies.clone()))
        .unwrap_or_else(|| PathBuf::from("policies"));
    let providers = config
        .as_ref()
        .map_or_else(ProviderTypes::builtin, Config::provider_types);
    if let Some(email) = config.as_ref().and_then(|c| c.email.as_ref()) {
        for w in email.warnings() {
            println!("warning: {w}");
        }
    }
    match crate::policy::load::load_dir_for(&dir, &providers) {
        Ok(set) => {
            let against = providers.source.as_ref().map_or_else(
                || "the built-in provider names".to_string(),
                |p| format!("the providers of {}", p.display()),
            );
            println!(
                "{}: {} policies in {} files, no problems (checked against {against}).",
                dir.display(),
                set.policies.len(),
                set.files.len()
            );
            Ok(Exit::Success)
        }
        Err(diags) => {
            for d in &diags {
                println!("{d}");
            }
            println!("{} problem(s) found.", diags.len());
            Ok(Exit::Usage)
        }
    }
}
