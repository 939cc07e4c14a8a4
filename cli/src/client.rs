//! How client commands reach the coordinator: one connection helper, one flag, and gRPC
//! statuses turned into one-line errors.

use std::time::Duration;

use anyhow::{Context, Result};
use clap::Args;
use randori_proto::v1::control_service_client::ControlServiceClient;
use tonic::transport::{Channel, Endpoint};

pub type Client = ControlServiceClient<Channel>;

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

pub async fn connect(url: &str) -> Result<Client> {
    let endpoint = Endpoint::from_shared(url.to_owned())
        .with_context(|| format!("{url:?} is not a coordinator URL (like http://host:50051)"))?
        .connect_timeout(Duration::from_secs(5));
    let channel = endpoint.connect().await.with_context(|| {
        format!(
            "cannot reach the coordinator at {url}; start one (`randori up`) or pass --coordinator"
        )
    })?;
    Ok(ControlServiceClient::new(channel)
        .max_decoding_message_size(randori_proto::MAX_MESSAGE_BYTES))
}

/// The coordinator's message, without tonic's wrapping; the code only where it adds meaning.
pub fn status_error(s: tonic::Status) -> anyhow::Error {
    match s.code() {
        tonic::Code::Unavailable => {
            anyhow::anyhow!("the coordinator is unavailable: {}", s.message())
        }
        _ => anyhow::anyhow!("{}", s.message()),
    }
}
