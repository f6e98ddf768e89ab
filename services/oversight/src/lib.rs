//! The oversight service and its client, at the NATS edge.
//!
//! This crate is the one that speaks NATS and reads configuration: [`serve`] wires the ingest core
//! (validation, the group-commit writer) and the event log to the subjects (ARCHITECTURE.md);
//! [`client`] is what `oversight submit`, `oversight log`, the bench and the tests use.

pub mod bench;
pub mod cli;
pub mod config;
pub mod data_dir;
pub mod deploy;
pub mod exit;
pub mod import;
pub mod log_source;
pub mod metrics;
pub mod project;
pub mod roles;
pub mod serve;
pub mod service_nats;
pub mod supervise;
pub mod watch;
pub mod web;

// The client side lives in its own crate; these paths stay as they were.
pub use oversight_client::{client, subjects, wire};
