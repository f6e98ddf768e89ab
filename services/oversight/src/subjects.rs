//! The NATS subjects of the public interface (DESIGN.md), in one place.

/// Prefix of `oversight.submit.<org>`.
pub const SUBMIT_PREFIX: &str = "oversight.submit.";
/// Every organisation's submit subject.
pub const SUBMIT_ALL: &str = "oversight.submit.*";
/// Committed envelopes, in seq order.
pub const LOG_EVENTS: &str = "oversight.log.events";
/// Catch-up reads: `{from, max}` -> envelopes.
pub const LOG_READ: &str = "oversight.log.read";

/// The submit subject of one organisation.
pub fn submit(org: &str) -> String {
    format!("{SUBMIT_PREFIX}{org}")
}

/// Queue groups, so several instances share the work.
pub const INGEST_QUEUE: &str = "oversight-ingest";
pub const LOG_READ_QUEUE: &str = "oversight-log-read";
