//! The podwarden binary: parse arguments, set up logging, run the command, exit with its code.

use clap::Parser;
use podwarden::cli::{Cli, LogFormat};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let filter = EnvFilter::try_from_env("PODWARDEN_LOG")
        .unwrap_or_else(|_| EnvFilter::new("warn,podwarden=info"));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colour only on a terminal: cron and CronJob logs stay plain text.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    match cli.log_format {
        LogFormat::Json => logs.json().init(),
        LogFormat::Text => logs.init(),
    }
    match podwarden::commands::dispatch(cli.command).await {
        Ok(exit) => std::process::ExitCode::from(exit.code()),
        Err(e) => {
            let err = anyhow::Error::new(e);
            eprintln!("error: {err:#}");
            let code = err
                .downcast_ref::<podwarden::commands::Error>()
                .map_or(1, |e| e.exit().code());
            std::process::ExitCode::from(code)
        }
    }
}
