//! The gRPC edge: services that translate between protobuf and the store.

mod control_service;
mod convert;
mod sweeps;
mod worker_service;

pub use control_service::ControlApi;
pub use worker_service::WorkerApi;

use crate::error::Error;

/// The one place library errors become gRPC statuses.
pub fn status_from(e: Error) -> tonic::Status {
    match e {
        Error::NotFound(_) => tonic::Status::not_found(e.to_string()),
        Error::StaleLease { .. } => tonic::Status::failed_precondition(e.to_string()),
        Error::InvalidArgument(_) | Error::Task(_) => {
            tonic::Status::invalid_argument(e.to_string())
        }
        // The database or an LLM endpoint being away is transient: callers retry.
        Error::Database(_) | Error::Journal(_) | Error::Llm(_) => {
            tonic::Status::unavailable(e.to_string())
        }
        Error::LlmSettings(_) | Error::Replay(_) => {
            tonic::Status::failed_precondition(e.to_string())
        }
        Error::Operator(_) => tonic::Status::internal(e.to_string()),
        Error::Migrate(_) | Error::Corrupt(_) | Error::Io { .. } | Error::Json(_) => {
            tonic::Status::internal(e.to_string())
        }
    }
}
