//! Generated gRPC types and services for `randori.v1`.
//!
//! Invariant: nothing but generated code and what both ends of the wire must agree on (the
//! message size cap, how a token travels, how TLS is set up) lives here; conversion to domain types happens in
//! the crates that use it, in one place each.

/// The largest gRPC message either side accepts: a report carries the submission (capped by
/// the worker well below this) and the head and tail of the output.
pub const MAX_MESSAGE_BYTES: usize = 512 << 20;

#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("randori.v1");
}

/// How a token travels: `authorization: Bearer <token>` in every call's metadata.
pub mod auth {
    use tonic::metadata::{Ascii, MetadataValue};
    use tonic::service::Interceptor;

    pub const METADATA_KEY: &str = "authorization";

    /// A client-side interceptor that presents a token on every call (or nothing without one).
    #[derive(Clone, Debug, Default)]
    pub struct BearerToken(Option<MetadataValue<Ascii>>);

    #[derive(Debug)]
    pub struct InvalidToken;

    impl std::fmt::Display for InvalidToken {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a token must be printable ASCII without spaces")
        }
    }

    impl std::error::Error for InvalidToken {}

    impl BearerToken {
        pub fn new(token: Option<&str>) -> Result<Self, InvalidToken> {
            match token.map(str::trim).filter(|t| !t.is_empty()) {
                None => Ok(Self(None)),
                Some(t) if t.chars().all(|c| c.is_ascii_graphic()) => format!("Bearer {t}")
                    .parse()
                    .map(|v| Self(Some(v)))
                    .map_err(|_| InvalidToken),
                Some(_) => Err(InvalidToken),
            }
        }
    }

    impl Interceptor for BearerToken {
        fn call(
            &mut self,
            mut request: tonic::Request<()>,
        ) -> Result<tonic::Request<()>, tonic::Status> {
            if let Some(value) = &self.0 {
                request.metadata_mut().insert(METADATA_KEY, value.clone());
            }
            Ok(request)
        }
    }
}

/// TLS settings shared by both ends: each process names its own certificate and key
/// (`RANDORI_TLS_CERT`, `RANDORI_TLS_KEY`) and the CA it trusts for the other end
/// (`RANDORI_TLS_CA`). A client uses TLS for `https://` URLs (and presents its certificate,
/// if it has one, for mutual TLS); the coordinator serves TLS when it has a certificate, and
/// demands client certificates signed by its CA when it has one.
pub mod tls {
    use std::path::Path;

    use tonic::transport::{Certificate, ClientTlsConfig, Endpoint, Identity};

    pub const CERT_ENV: &str = "RANDORI_TLS_CERT";
    pub const KEY_ENV: &str = "RANDORI_TLS_KEY";
    pub const CA_ENV: &str = "RANDORI_TLS_CA";

    /// PEM files, read.
    #[derive(Clone, Default)]
    pub struct TlsFiles {
        /// This end's certificate chain and key.
        pub identity: Option<(Vec<u8>, Vec<u8>)>,
        /// The CA that signs the other end's certificates.
        pub ca: Option<Vec<u8>>,
    }

    impl std::fmt::Debug for TlsFiles {
        fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.debug_struct("TlsFiles")
                .field("identity", &self.identity.is_some())
                .field("ca", &self.ca.is_some())
                .finish()
        }
    }

    fn read(path: &Path, what: &str) -> Result<Vec<u8>, String> {
        let bytes = std::fs::read(path)
            .map_err(|e| format!("reading the {what} {}: {e}", path.display()))?;
        if !bytes.windows(10).any(|w| w == b"-----BEGIN") {
            return Err(format!("the {what} {} is not PEM", path.display()));
        }
        Ok(bytes)
    }

    impl TlsFiles {
        /// Reads the files named; a certificate needs its key and the other way round.
        pub fn read(
            cert: Option<&Path>,
            key: Option<&Path>,
            ca: Option<&Path>,
        ) -> Result<Self, String> {
            let identity = match (cert, key) {
                (Some(c), Some(k)) => Some((read(c, "certificate")?, read(k, "key")?)),
                (None, None) => None,
                _ => return Err(format!("set both {CERT_ENV} and {KEY_ENV}, or neither")),
            };
            let ca = ca.map(|p| read(p, "CA certificate")).transpose()?;
            Ok(Self { identity, ca })
        }

        /// What the environment names.
        pub fn from_env() -> Result<Self, String> {
            let path = |name| {
                std::env::var_os(name)
                    .filter(|v| !v.is_empty())
                    .map(std::path::PathBuf::from)
            };
            let (cert, key, ca) = (path(CERT_ENV), path(KEY_ENV), path(CA_ENV));
            Self::read(cert.as_deref(), key.as_deref(), ca.as_deref())
        }

        pub fn is_empty(&self) -> bool {
            self.identity.is_none() && self.ca.is_none()
        }
    }

    /// An endpoint for `url`: TLS for `https://` (which needs the CA), plain for `http://`.
    pub fn endpoint(url: &str, files: &TlsFiles) -> Result<Endpoint, String> {
        let endpoint = Endpoint::from_shared(url.to_owned())
            .map_err(|_| format!("{url:?} is not a coordinator URL (like http://host:50051)"))?;
        if !url.starts_with("https://") {
            return Ok(endpoint);
        }
        let Some(ca) = &files.ca else {
            return Err(format!(
                "{url} uses TLS: set {CA_ENV} to the CA certificate that signed the coordinator's"
            ));
        };
        let mut config = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
        if let Some((cert, key)) = &files.identity {
            config = config.identity(Identity::from_pem(cert, key));
        }
        endpoint
            .tls_config(config)
            .map_err(|e| format!("TLS settings for {url}: {e}"))
    }
}
