//! The randori coordinator: keeps every job in Postgres and hands them to workers under
//! fenced leases. See ARCHITECTURE.md for the code map and the invariants.

pub mod auth;
mod driver;
pub mod error;
pub mod grading;
mod grpc;
pub mod hidden_validation;
mod http;
mod metrics;
pub mod mlebench;
pub mod model;
pub mod private_postgres;
mod reaper;
mod server;
pub mod store;
pub mod sweep_spec;
pub mod task_data;
pub mod tasks;
mod traces;
mod wakeups;

pub use driver::{check_run_settings, preflight};
pub use error::{Error, Result};
pub use http::{FigureCache, compare_page_html, run_page_html, sweep_page_html};
pub use server::{Coordinator, CoordinatorConfig};
