//! randori's logs and traces, shared by the coordinator, the worker and the CLI.
//!
//! Spans that outlive a process (a sweep, a run, a node, a job) are written once, when they
//! end, with ids derived from their stored ids ([`ids`]); so whichever coordinator replica
//! ends them, and however often the coordinator restarted meanwhile, one trace holds them in
//! the right tree. Short spans (an operator call, a grading, a container) are ordinary
//! `tracing` spans whose parent is one of those derived contexts ([`propagate`]).

mod export;
pub mod ids;
pub mod propagate;
pub mod record;

pub use export::{Telemetry, TelemetryError, exporting, init};
