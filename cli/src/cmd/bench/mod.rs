//! `randori bench …`: performance harnesses that measure randori against a baseline in the
//! same run and print both with their ratio (BENCHMARKS.md has the numbers).

mod dispatch;
mod sandbox;
mod scale;
mod stats;

use std::process::ExitCode;

use anyhow::Result;

use crate::args::BenchCommand;

pub async fn run(command: BenchCommand) -> Result<ExitCode> {
    match command {
        BenchCommand::Dispatch(a) => {
            // Two fresh databases on the one server: the ceiling's and the full path's.
            let names = ["raw", "path"].map(|k| format!("bench_{k}_{}", std::process::id()));
            let args = &a;
            let measured = with_databases(&names, |urls| async move {
                dispatch::measure(args, &urls[0], &urls[1]).await
            })
            .await?;
            measured.print(a.json);
        }
        BenchCommand::Scale(a) => {
            let names = [format!("bench_scale_{}", std::process::id())];
            let args = &a;
            let measured = with_databases(&names, |urls| async move {
                scale::measure(args, &urls[0]).await
            })
            .await?;
            measured.print(a.json);
        }
        BenchCommand::Sandbox(a) => sandbox::measure(&a).await?.print(a.json),
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `f` with fresh databases of these names on the private Postgres under RANDORI_HOME,
/// and drops them afterwards whatever happened.
async fn with_databases<F, Fut, T>(names: &[String], f: F) -> Result<T>
where
    F: FnOnce(Vec<String>) -> Fut,
    Fut: std::future::Future<Output = Result<T>>,
{
    let pg = crate::stack::private_postgres(crate::stack::randori_home()).await?;
    for n in names {
        pg.drop_database(n).await?;
        pg.ensure_database(n).await?;
    }
    let result = f(names.iter().map(|n| pg.url_for(n)).collect()).await;
    for n in names {
        if let Err(e) = pg.drop_database(n).await {
            tracing::warn!(database = %n, error = %e, "dropping a bench database");
        }
    }
    result
}
