//! The ingest core: what the service does with a return between the wire and the disk.
//!
//! [`validate()`] is a pure function of the return, the subject's organisation, the reference data
//! and today's date. [`writer`] runs the single group-commit writer on its own thread. [`seed`]
//! turns the reference files into events. Nothing here speaks NATS.

pub mod admin;
pub mod metrics;
mod reference;
pub mod seed;
mod validate;
pub mod writer;

pub use reference::Reference;
pub use validate::{validate, validate_plan};
