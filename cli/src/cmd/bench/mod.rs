//! `randori bench …`: performance harnesses that measure randori against a baseline in the
//! same run and print both with their ratio (BENCHMARKS.md has the numbers).

mod dispatch;
mod sandbox;
mod stats;

use std::process::ExitCode;

use anyhow::{Context, Result};
use randori_coordinator::private_postgres::PrivatePostgres;

use crate::args::BenchCommand;

pub async fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Dispatch(a) => {
            let home = crate::stack::randori_home();
            let pg = tokio::task::spawn_blocking(move || PrivatePostgres::start(&home))
                .await?
                .context(
                    "starting the private PostgreSQL (RANDORI_HOME points at its directory)",
                )?;
            // Two fresh databases on the one server: the ceiling's and the full path's.
            let names = [
                format!("bench_raw_{}", std::process::id()),
                format!("bench_path_{}", std::process::id()),
            ];
            for n in &names {
                pg.drop_database(n).await?;
                pg.ensure_database(n).await?;
            }
            let measured =
                dispatch::measure(&a, &pg.url_for(&names[0]), &pg.url_for(&names[1])).await;
            for n in &names {
                if let Err(e) = pg.drop_database(n).await {
                    tracing::warn!(database = %n, error = %e, "dropping a bench database");
                }
            }
            measured?.print(a.json);
        }
        BenchCommand::Sandbox(a) => sandbox::measure(&a).await?.print(a.json),
    }
    Ok(ExitCode::SUCCESS)
}
