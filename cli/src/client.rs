//! How client commands reach the coordinator: one connection helper, one flag, and gRPC
//! statuses turned into one-line errors.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use randori_proto::auth::BearerToken;
use randori_proto::tls::{self, TlsFiles};
use randori_proto::v1::control_service_client::ControlServiceClient;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::Channel;

/// The coordinator's control service, every call carrying the client token (if any).
pub type Client = ControlServiceClient<InterceptedService<Channel, BearerToken>>;

/// `--coordinator`, shared by every client command.
#[derive(Args, Clone)]
pub struct CoordinatorArg {
    /// The coordinator's gRPC address.
    #[arg(
        long = "coordinator",
        env = "RANDORI_COORDINATOR",
        default_value = "http://127.0.0.1:50051"
    )]
    pub url: String,
}

/// Connects, presenting `RANDORI_TOKEN` when it is set.
pub async fn connect(url: &str) -> Result<Client> {
    let token = std::env::var("RANDORI_TOKEN").ok();
    connect_with_token(url, token.as_deref()).await
}

pub async fn connect_with_token(url: &str, token: Option<&str>) -> Result<Client> {
    let token = BearerToken::new(token).context("RANDORI_TOKEN")?;
    let files = TlsFiles::from_env().map_err(anyhow::Error::msg)?;
    let endpoint = tls::endpoint(url, &files)
        .map_err(anyhow::Error::msg)?
        .connect_timeout(Duration::from_secs(5));
    let channel = endpoint.connect().await.with_context(|| {
        format!(
            "cannot reach the coordinator at {url}; start one (`randori up`) or pass --coordinator"
        )
    })?;
    Ok(ControlServiceClient::with_interceptor(channel, token)
        .max_decoding_message_size(randori_proto::MAX_MESSAGE_BYTES))
}

/// The coordinator's message, without tonic's wrapping; the code only where it adds meaning.
pub fn status_error(s: tonic::Status) -> anyhow::Error {
    match s.code() {
        tonic::Code::Unavailable => {
            anyhow::anyhow!("the coordinator is unavailable: {}", s.message())
        }
        tonic::Code::Unauthenticated | tonic::Code::PermissionDenied => {
            anyhow::anyhow!("refused by the coordinator: {}", s.message())
        }
        _ => anyhow::anyhow!("{}", s.message()),
    }
}
