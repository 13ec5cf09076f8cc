//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

use podwarden::providers::argus::Argus;
use podwarden::providers::http::HttpSettings;
use podwarden::providers::podstack::{IdleThresholds, Podstack};
use podwarden::sandbox::{RunningSandbox, SandboxConfig};
use podwarden::secret::Secret;

pub const ADMIN: &str = "pw-admin";
pub const READER: &str = "pw-readonly";

/// A sandbox on a free loopback port.
pub async fn sandbox(config: SandboxConfig) -> RunningSandbox {
    podwarden::sandbox::spawn(config, ([127, 0, 0, 1], 0).into())
        .await
        .expect("sandbox starts")
}

pub fn settings(base_url: String, token: &str) -> HttpSettings {
    HttpSettings {
        base_url,
        token: Secret::new(token),
        timeout: Duration::from_secs(10),
        deadline: Some(tokio::time::Instant::now() + Duration::from_secs(20)),
    }
}

pub fn argus(s: &RunningSandbox, token: &str) -> Argus {
    Argus::new("argus", settings(s.argus_url(), token)).expect("client")
}

pub fn podstack(s: &RunningSandbox, token: &str) -> Podstack {
    Podstack::new(
        "podstack",
        settings(s.podstack_url(), token),
        IdleThresholds::default(),
    )
    .expect("client")
}

/// The real executable, run in `dir`, with no inherited podwarden configuration.
pub fn podwarden(dir: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_podwarden"))
        .args(args)
        .current_dir(dir)
        .env_remove("PODWARDEN_CONFIG")
        .env("PODWARDEN_LOG", "warn")
        .output()
        .expect("podwarden runs")
}

pub fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The repository root (for shipped policies and examples).
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}
