use std::process::ExitCode;

use anyhow::{Context, Result};
use randori_coordinator::{Coordinator, CoordinatorConfig};
use randori_proto::tls::TlsFiles;
use tokio_util::sync::CancellationToken;

use crate::args::CoordinatorArgs;

pub async fn run(a: CoordinatorArgs) -> Result<ExitCode> {
    let image = a.grading_image.unwrap_or_else(crate::image::grading_tag);
    let mut config = CoordinatorConfig::new(a.database_url, a.listen, image);
    config.http = Some(a.http);
    config.tokens = a.tokens.tokens()?;
    config.insecure = a.insecure;
    let tls = TlsFiles::read(
        a.tls_cert.as_deref(),
        a.tls_key.as_deref(),
        a.tls_ca.as_deref(),
    )
    .map_err(anyhow::Error::msg)?;
    config.tls = (!tls.is_empty()).then_some(tls);
    config.lease_ttl = a.lease_ttl;
    config.max_attempts = a.max_attempts;
    config.run_lease_ttl = a.run_lease_ttl;
    let coordinator = Coordinator::build(config)
        .await
        .context("starting the coordinator (check --database-url and --listen)")?;
    // The one line scripts and tests read to find the port.
    println!(
        "randori coordinator listening on {}",
        coordinator.local_addr()?
    );
    if let Some(http) = coordinator.http_addr()? {
        println!("randori dashboard on http://{http}/");
    }
    let cancel = CancellationToken::new();
    let on_signal = cancel.clone();
    tokio::spawn(async move {
        super::terminated().await;
        tracing::info!("shutting down");
        on_signal.cancel();
    });
    coordinator.run(cancel).await?;
    Ok(ExitCode::SUCCESS)
}
