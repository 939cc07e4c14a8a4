//! `randori`: one binary, every subcommand. Parsing and validation happen before anything
//! binds or spawns; every error a user can cause ends in one line and a non-zero exit.

mod args;
mod client;
mod cmd;
mod image;
mod progress;
mod stack;
mod sweep_file;
mod terminal;
mod units;

use clap::Parser;

fn main() -> std::process::ExitCode {
    let cli = args::Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(anyhow::anyhow!("starting the async runtime: {e}")),
    };
    // Daemons log at info; client commands only warn, so their output stays readable.
    let level = if cli.command.is_daemon() {
        "info"
    } else {
        "warn"
    };
    let telemetry = {
        let _in_runtime = runtime.enter();
        match randori_telemetry::init(cli.command.service_name(), level) {
            Ok(t) => t,
            Err(e) => return fail(anyhow::Error::new(e).context("setting up tracing")),
        }
    };
    let code = match runtime.block_on(cmd::dispatch(cli.command)) {
        Ok(code) => code,
        Err(e) => fail(e),
    };
    telemetry.shutdown();
    code
}

fn fail(e: anyhow::Error) -> std::process::ExitCode {
    eprintln!("error: {}", one_line(&e));
    std::process::ExitCode::FAILURE
}

/// The error and its causes on one line, leaving out a cause whose text the line already
/// holds (library errors often print their source as part of their own message).
fn one_line(e: &anyhow::Error) -> String {
    let mut line = String::new();
    for cause in e.chain() {
        let text = cause.to_string();
        if !line.contains(&text) {
            if !line.is_empty() {
                line.push_str(": ");
            }
            line.push_str(&text);
        }
    }
    line
}
