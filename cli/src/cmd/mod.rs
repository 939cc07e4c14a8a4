mod bench;
mod coordinator;
mod eval;
mod export;
mod figures;
mod image;
mod node;
mod nodes_export;
mod run;
mod sweep;
mod task;
mod views;
mod worker;

use std::process::ExitCode;

use crate::args::Command;

pub async fn dispatch(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Coordinator(a) => coordinator::run(a).await,
        Command::Worker(a) => worker::run(a).await,
        Command::Run(a) => run::run(a).await,
        Command::Up(a) => run::up(a).await,
        Command::Sweep(c) => sweep::run(c).await,
        Command::Tree(a) => views::tree(&a.coordinator.url, &a.run_id, a.format).await,
        Command::Node(c) => node::run(c).await,
        Command::Eval(a) => eval::run(a).await,
        Command::Image(c) => image::run(c),
        Command::Task(c) => task::run(c),
        Command::Bench(c) => bench::run(c).await,
    }
}

/// Resolves on the first SIGINT or SIGTERM.
pub async fn terminated() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("installing a SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
