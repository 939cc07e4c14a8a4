//! Generated gRPC types and services for `randori.v1`.
//!
//! Invariant: nothing but generated code lives here; conversion to domain types happens in the
//! crates that use it, in one place each.

/// The largest gRPC message either side accepts: a report carries the submission (capped by
/// the worker well below this) and the head and tail of the output.
pub const MAX_MESSAGE_BYTES: usize = 512 << 20;

#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("randori.v1");
}
