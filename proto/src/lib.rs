//! Generated gRPC types and services for `randori.v1`.
//!
//! Invariant: nothing but generated code lives here; conversion to domain types happens in the
//! crates that use it, in one place each.

#[allow(clippy::all, clippy::pedantic)]
pub mod v1 {
    tonic::include_proto!("randori.v1");
}
