//! randori's search operators. `builtin` is the offline program generator: it writes real
//! scikit-learn programs from a parameter set and mutates, recombines and repairs them, so the
//! whole system searches for real without an LLM.
//!
//! Invariant: no I/O, no clock, no global RNG. Every operator is a pure function of the data
//! preview, the parents' code and a seed; a program's parameters live in its first line, never
//! only in memory.

pub mod builtin;
mod error;
pub mod memory;
pub mod prompts;

pub use error::Error;
