//! Reports over sweeps and runs: plain functions over plain data, no I/O.
//!
//! - [`sweep`]: MLE-bench's aggregation of a sweep's runs per task and policy (`randori sweep
//!   report`), rendered as a terminal table, markdown, CSV or JSON. Its items are re-exported here.
//! - [`mlebench`]: MLE-bench's own summaries of a sweep (the totals of `aggregate_reports`, the
//!   medal rate per policy over seeds), part of the sweep report.
//! - [`tree`]: one run's search tree (`randori tree`), rendered as text, Graphviz, JSON, HTML
//!   or an SVG drawing (the dashboard's run page).
//! - [`compare`]: sweeps compared arm by arm (`randori sweep compare`): any-medal rates per
//!   task and overall, differences with bootstrap 95% intervals over seeds.
//! - [`figures`]: the numbers behind a sweep's figures: anytime curves, the generalization
//!   gap, selected against oracle medal rates.
//! - [`plots`]: those numbers drawn as SVG (plotters), inlinable under a strict CSP.
//! - [`html`]: the one HTML escaping every HTML rendering uses.
//!
//! Numbers are shown the same way everywhere: percentages with 1 decimal, scores with 4
//! decimals, missing values as `-` (empty in CSV).

pub mod compare;
mod display;
pub mod figures;
pub mod html;
pub mod mlebench;
pub mod plots;
pub mod sweep;
mod table;
pub mod tree;

pub use display::score;
pub use mlebench::{MedalRate, MleBenchTotals};
pub use sweep::{
    LlmUsage, MleBenchSummary, NodeFacts, ReportRow, RunFacts, RunRow, SweepInfo, SweepReport,
    Totals, arm_label, build, render_csv, render_html, render_json, render_markdown, render_table,
};
