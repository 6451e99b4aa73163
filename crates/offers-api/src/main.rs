//! `offers-api`: parses the command line and dispatches; everything else is in the library.

use std::process::ExitCode;

use clap::Parser;
use offers_api::cli::{Cli, run};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> ExitCode {
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("offers_api=info,tower_http=info,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colors only on a terminal: a log file or a collector gets plain `key=value` lines.
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    match run(Cli::parse()).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // The error and its causes (a store error keeps the database's own as its source).
            let mut message = e.to_string();
            let mut source = std::error::Error::source(&*e);
            while let Some(cause) = source {
                message.push_str(&format!(": {cause}"));
                source = cause.source();
            }
            eprintln!("offers-api: {message}");
            ExitCode::FAILURE
        }
    }
}
