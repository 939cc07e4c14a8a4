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
    let (endpoint, token) = endpoint(url, token)?;
    let channel = endpoint.connect().await.with_context(|| {
        format!(
            "cannot reach the coordinator at {url}; start one (`randori up`) or pass --coordinator"
        )
    })?;
    Ok(client(channel, token))
}

/// Like `connect`, but the connection is made at the first call (and remade after a loss), so
/// a coordinator that is restarting shows as calls failing with `Unavailable`, which a
/// patient caller (`sweep watch`) retries.
pub fn connect_lazily(url: &str) -> Result<Client> {
    let token = std::env::var("RANDORI_TOKEN").ok();
    let (endpoint, token) = endpoint(url, token.as_deref())?;
    Ok(client(endpoint.connect_lazy(), token))
}

fn endpoint(url: &str, token: Option<&str>) -> Result<(tonic::transport::Endpoint, BearerToken)> {
    let token = BearerToken::new(token).context("RANDORI_TOKEN")?;
    let files = TlsFiles::from_env().map_err(anyhow::Error::msg)?;
    let endpoint = tls::endpoint(url, &files)
        .map_err(anyhow::Error::msg)?
        .connect_timeout(Duration::from_secs(5));
    Ok((endpoint, token))
}

fn client(channel: Channel, token: BearerToken) -> Client {
    ControlServiceClient::with_interceptor(channel, token)
        .max_decoding_message_size(randori_proto::MAX_MESSAGE_BYTES)
}

/// A failure worth retrying: the coordinator is unavailable, or the connection could not be
/// made or broke (a restarting coordinator behind Docker's port proxy accepts the connection
/// and drops it, which tonic reports as an unknown transport error).
pub fn is_transient(s: &tonic::Status) -> bool {
    use std::error::Error;
    s.code() == tonic::Code::Unavailable
        || (s.code() == tonic::Code::Unknown
            && s.source()
                .is_some_and(|e| e.is::<tonic::transport::Error>()))
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
