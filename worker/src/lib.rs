//! The randori worker: owns one host's resources, leases jobs from the coordinator, runs each
//! in a sandbox and reports the outcome under the lease's fencing token.

mod agent;
mod error;
pub mod output;
mod packages;
pub mod resources;
pub mod sandbox;
mod task_cache;

pub use agent::{TaskDataSource, Worker, WorkerConfig};
pub use error::{Error, Result};
