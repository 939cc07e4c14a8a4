//! The offline program generator. It writes real scikit-learn programs (pandas, numpy,
//! scikit-learn, scipy and Pillow only) from a parameter set, and mutates, recombines and
//! repairs them, so the whole system searches for real without an LLM.
//!
//! Code map: `preview` (what the task looks like) → `space` (the parameters that fit it) →
//! `moves` (sample, step, cross, shrink) → `render` (parameters to Python), driven by
//! `operators` (Draft, Improve, Crossover, Debug). `params` is the serde type every program
//! carries in its first line; `bugs` the deliberate faults; `plan` the words; `rng` the
//! seeded generator.
//!
//! Invariant: a program's parameters are recoverable from its code alone (the header), so
//! nothing lives only in memory and a resumed search regenerates the same programs.

mod bugs;
mod moves;
mod operators;
mod params;
mod plan;
mod preview;
mod render;
mod rng;
mod space;
#[cfg(test)]
mod tests;

pub use bugs::Bug;
pub use operators::{Failure, Generator, GeneratorConfig, Program};
pub use params::{Analyzer, Family, ImageNorm, Impute, Input, Model, Params, Scale, Transform};
pub use preview::{DataPreview, KNOWN_GRADERS};
