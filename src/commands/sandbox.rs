//! `podwarden sandbox`: the simulated providers on a port until Ctrl-C.

use std::io::Write;

use super::inputs::parse_now;
use super::Error;
use crate::cli::SandboxArgs;
use crate::exit::Exit;
use crate::sandbox::SandboxConfig;

pub async fn sandbox(args: SandboxArgs) -> Result<Exit, Error> {
    // Every field is a flag today; the default stays for fields added without one.
    #[allow(clippy::needless_update)]
    let config = SandboxConfig {
        seed: args.seed,
        pods: args.pods,
        ops_limit: args.ops_limit,
        ops_window_secs: args.ops_window_secs,
        read_limit: args.read_limit,
        read_window_secs: args.read_window_secs,
        podstack_limit: args.podstack_limit,
        podstack_window_secs: args.podstack_window_secs,
        admin_token: args.admin_token,
        read_token: args.read_token,
        transition_secs: args.transition_secs,
        now: parse_now(args.now.as_deref())?,
        faults: args.fault,
        scenario: match &args.scenario {
            Some(path) => Some(
                crate::sandbox::Scenario::load(path).map_err(|e| Error::usage(e.to_string()))?,
            ),
            None => None,
        },
        ..SandboxConfig::default()
    };
    let pods = config.pods
        + config
            .scenario
            .as_ref()
            .map_or(0, |s| s.worker.len() + s.orphan.len() + s.podstack.len());
    let running = crate::sandbox::spawn(config, args.listen)
        .await
        .map_err(|source| Error::io(format!("listening on {}", args.listen), source))?;
    // A closed stdout (a parent that stopped reading) must not take the server down.
    let banner = format!(
        "podwarden sandbox: {pods} pods\n  Argus:    {}\n  Podstack: {}\nPress Ctrl-C to stop.\n",
        running.argus_url(),
        running.podstack_url()
    );
    let mut stdout = std::io::stdout();
    let _ = stdout
        .write_all(banner.as_bytes())
        .and_then(|_| stdout.flush());
    let _ = tokio::signal::ctrl_c().await;
    running.stop().await;
    Ok(Exit::Success)
}
