//! The client side of the oversight service, shared by the service itself, the command-line
//! tools and (next) the web pages: the subjects, the wire encodings and error replies, and the
//! Rust client. Knows nothing of the event log, the views or configuration files.

pub mod client;
pub mod subjects;
pub mod wire;

pub use client::{Client, ClientError, NatsTarget};
