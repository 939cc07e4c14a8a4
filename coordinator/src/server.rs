//! The coordinator component: config -> `build` (connect, migrate, bind) -> `run(cancel)`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use randori_proto::MAX_MESSAGE_BYTES;
use randori_proto::v1::control_service_server::ControlServiceServer;
use randori_proto::v1::worker_service_server::WorkerServiceServer;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::auth::{Gate, Role, Tokens};
use crate::error::{Error, Result};
use crate::grading::Graders;
use crate::grpc::{ControlApi, WorkerApi};
use crate::http::{self, HttpState};
use crate::metrics::Metrics;
use crate::reaper;
use crate::store::JobStore;
use crate::wakeups::Wakeups;
use randori_proto::tls::TlsFiles;
use tonic::service::interceptor::InterceptedService;
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

#[derive(Debug, Clone)]
pub struct CoordinatorConfig {
    pub database_url: String,
    pub listen: SocketAddr,
    /// Where the dashboard, `/metrics` and `/healthz` are served; None: not at all.
    pub http: Option<SocketAddr>,
    /// The client and worker tokens; None: every call is let through.
    pub tokens: Option<Tokens>,
    /// Serve gRPC over TLS with this certificate; with a CA, demand client certificates it
    /// signed (mutual TLS).
    pub tls: Option<TlsFiles>,
    /// How long a lease lasts without a heartbeat.
    pub lease_ttl: Duration,
    /// Attempts a job gets before it fails (lease expiries and infrastructure errors count).
    pub max_attempts: u32,
    /// Fallback polling for waiters, in case a notification is lost.
    pub poll_interval: Duration,
    /// The image in which tasks' own grading programs (`grade.py`) run.
    pub grading_image: String,
    /// How long this coordinator's hold on a run it drives lasts without renewal; a run whose
    /// driver died is taken over after it.
    pub run_lease_ttl: Duration,
    /// Serve without tokens beyond loopback (`--insecure`): anyone who reaches a port may
    /// submit work and read results. Refused unless set.
    pub insecure: bool,
}

/// Unique per coordinator process: runs are held under it.
fn driver_name() -> String {
    let host = nix::unistd::gethostname()
        .map(|h| h.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(
        "{host}-{}-{}",
        std::process::id(),
        uuid::Uuid::new_v4().simple()
    )
}

impl CoordinatorConfig {
    pub fn new(database_url: String, listen: SocketAddr, grading_image: String) -> Self {
        Self {
            database_url,
            listen,
            http: None,
            tokens: None,
            tls: None,
            lease_ttl: Duration::from_secs(30),
            max_attempts: 3,
            poll_interval: Duration::from_millis(500),
            grading_image,
            run_lease_ttl: Duration::from_secs(10),
            insecure: false,
        }
    }

    fn validate(&self) -> Result<()> {
        if self.lease_ttl < Duration::from_secs(1) {
            return Err(Error::InvalidArgument(
                "lease TTL must be at least 1s".into(),
            ));
        }
        if self.run_lease_ttl < Duration::from_secs(1) {
            return Err(Error::InvalidArgument(
                "run lease TTL must be at least 1s".into(),
            ));
        }
        if let Some(t) = &self.tokens {
            if t.client.is_empty() || t.worker.is_empty() {
                return Err(Error::InvalidArgument(
                    "set both RANDORI_CLIENT_TOKEN and RANDORI_WORKER_TOKEN, or neither".into(),
                ));
            }
            if t.client == t.worker {
                return Err(Error::InvalidArgument(
                    "the client and worker tokens must differ".into(),
                ));
            }
        }
        let open = [Some(self.listen), self.http]
            .into_iter()
            .flatten()
            .find(|a| !a.ip().is_loopback());
        if let (None, Some(addr), false) = (&self.tokens, open, self.insecure) {
            return Err(Error::InvalidArgument(format!(
                "{addr} is not a loopback address and no tokens are set: anyone who reaches it could submit work and read results. Set RANDORI_CLIENT_TOKEN and RANDORI_WORKER_TOKEN, or pass --insecure to serve openly on purpose"
            )));
        }
        if let Some(tls) = &self.tls {
            grpc_server(Some(tls))?;
        }
        if self.max_attempts == 0 {
            return Err(Error::InvalidArgument(
                "max attempts must be at least 1".into(),
            ));
        }
        Ok(())
    }
}

/// The gRPC server builder, with TLS when configured.
fn grpc_server(tls: Option<&TlsFiles>) -> Result<tonic::transport::Server> {
    let server = tonic::transport::Server::builder();
    let Some(tls) = tls else {
        return Ok(server);
    };
    let Some((cert, key)) = &tls.identity else {
        return Err(Error::InvalidArgument(
            "TLS needs the coordinator's certificate and key (RANDORI_TLS_CERT, RANDORI_TLS_KEY)"
                .into(),
        ));
    };
    let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
    if let Some(ca) = &tls.ca {
        config = config.client_ca_root(Certificate::from_pem(ca));
    }
    server
        .tls_config(config)
        .map_err(|e| Error::InvalidArgument(format!("TLS settings: {e}")))
}

pub struct Coordinator {
    config: CoordinatorConfig,
    store: JobStore,
    listener: TcpListener,
    http_listener: Option<TcpListener>,
}

async fn bind(addr: SocketAddr) -> Result<TcpListener> {
    TcpListener::bind(addr).await.map_err(|e| Error::Io {
        context: format!("binding {addr}"),
        source: e,
    })
}

impl Coordinator {
    /// Validates the config, connects to Postgres, applies migrations and binds the port.
    pub async fn build(config: CoordinatorConfig) -> Result<Self> {
        config.validate()?;
        let store = JobStore::connect(&config.database_url).await?;
        let listener = bind(config.listen).await?;
        let http_listener = match config.http {
            Some(addr) => Some(bind(addr).await?),
            None => None,
        };
        Ok(Self {
            config,
            store,
            listener,
            http_listener,
        })
    }

    /// Where the HTTP port was bound, when there is one.
    pub fn http_addr(&self) -> Result<Option<SocketAddr>> {
        self.http_listener
            .as_ref()
            .map(|l| l.local_addr())
            .transpose()
            .map_err(|e| Error::Io {
                context: "reading the bound HTTP address".into(),
                source: e,
            })
    }

    pub fn local_addr(&self) -> Result<SocketAddr> {
        self.listener.local_addr().map_err(|e| Error::Io {
            context: "reading the bound address".into(),
            source: e,
        })
    }

    /// Serves until `cancel` fires, then stops accepting and finishes in-flight calls.
    pub async fn run(self, cancel: CancellationToken) -> Result<()> {
        let addr = self.local_addr()?;
        let tokens = self.config.tokens.clone().map(Arc::new);
        if tokens.is_none() && !addr.ip().is_loopback() {
            tracing::warn!(%addr, "--insecure: serving without tokens on a non-loopback address; anyone who reaches it may submit work");
        }
        let wakeups = Wakeups::new();
        let graders = Graders::new(self.config.grading_image.clone());
        let background = CancellationToken::new();
        let listener_task = tokio::spawn(
            wakeups
                .clone()
                .run(self.store.pool().clone(), background.clone()),
        );
        let supervisor = crate::driver::Supervisor {
            store: self.store.clone(),
            graders: graders.clone(),
            wakeups: wakeups.clone(),
            name: driver_name(),
            run_lease_ttl: self.config.run_lease_ttl,
            endpoints: randori_llm::Endpoints::default(),
        };
        let supervisor_task = tokio::spawn(supervisor.run(background.clone()));
        let metrics = Arc::new(Metrics::default());
        let http_task = self.http_listener.map(|listener| {
            let state = HttpState {
                store: self.store.clone(),
                metrics: metrics.clone(),
                tokens: tokens.clone(),
                figures: Default::default(),
            };
            let stop = background.clone();
            tokio::spawn(async move {
                if let Err(e) = http::serve(listener, state, stop).await {
                    tracing::error!(error = %e, "the HTTP server stopped");
                }
            })
        });
        let reaper_task = tokio::spawn(reaper::run(
            self.store.clone(),
            metrics.clone(),
            self.config.lease_ttl,
            background.clone(),
        ));
        let worker_api = WorkerApi {
            store: self.store.clone(),
            graders: graders.clone(),
            wakeups: wakeups.clone(),
            lease_ttl: self.config.lease_ttl,
            poll_interval: self.config.poll_interval,
            metrics,
            task_data: Default::default(),
        };
        let control_api = ControlApi {
            store: self.store.clone(),
            graders,
            wakeups,
            default_max_attempts: self.config.max_attempts,
            poll_interval: self.config.poll_interval,
        };
        tracing::info!(%addr, "coordinator serving gRPC");
        let served = grpc_server(self.config.tls.as_ref())?
            .add_service(InterceptedService::new(
                WorkerServiceServer::new(worker_api)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                Gate {
                    tokens: tokens.clone(),
                    role: Role::Worker,
                },
            ))
            .add_service(InterceptedService::new(
                ControlServiceServer::new(control_api)
                    .max_decoding_message_size(MAX_MESSAGE_BYTES)
                    .max_encoding_message_size(MAX_MESSAGE_BYTES),
                Gate {
                    tokens,
                    role: Role::Client,
                },
            ))
            // No Nagle: a lease answer split over two segments would otherwise wait for the
            // client's delayed ACK (40 ms on Linux).
            .serve_with_incoming_shutdown(
                tonic::transport::server::TcpIncoming::from(self.listener).with_nodelay(Some(true)),
                cancel.cancelled_owned(),
            )
            .await;
        background.cancel();
        let _ = tokio::join!(listener_task, reaper_task, supervisor_task);
        if let Some(task) = http_task {
            let _ = task.await;
        }
        served.map_err(|e| Error::Io {
            context: "serving gRPC".into(),
            source: std::io::Error::other(e),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(listen: &str, http: Option<&str>) -> CoordinatorConfig {
        let mut c = CoordinatorConfig::new(
            "postgres://unused".into(),
            listen.parse().unwrap(),
            "image".into(),
        );
        c.http = http.map(|h| h.parse().unwrap());
        c
    }

    #[test]
    fn an_open_port_without_tokens_needs_insecure() {
        assert!(config("127.0.0.1:0", Some("[::1]:8080")).validate().is_ok());
        for (listen, http, open) in [
            ("0.0.0.0:50051", None, "0.0.0.0:50051"),
            ("127.0.0.1:0", Some("0.0.0.0:8080"), "0.0.0.0:8080"),
        ] {
            let mut c = config(listen, http);
            let e = c.validate().unwrap_err().to_string();
            assert!(
                e.contains(&format!("{open} is not a loopback address"))
                    && e.contains("--insecure"),
                "{e}"
            );
            c.insecure = true;
            assert!(c.validate().is_ok());
            c.insecure = false;
            c.tokens = Some(Tokens {
                client: "c".into(),
                worker: "w".into(),
            });
            assert!(c.validate().is_ok());
        }
    }
}
