//! randori's grading core: the metrics of MLE-bench lite as plain functions over plain data.
//!
//! Invariant: no I/O, no clock, no async runtime. Reading CSV files and aligning rows by id
//! happen before this crate is called; it only sees aligned target columns.

pub mod medals;
pub mod metrics;
pub mod report;
pub mod rows;
pub mod submission;
pub mod table;
