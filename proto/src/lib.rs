//! Generated gRPC types and services for `randori.v1`.
//!
//! Invariant: nothing but generated code and what both ends of the wire must agree on (the
//! message size cap, how a token travels) lives here; conversion to domain types happens in
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
