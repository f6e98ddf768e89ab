//! Intake's metrics: what submitters sent and what they were told, and the group commit. Names,
//! units and descriptions here; the values are recorded where receipts are made.

use metrics::{describe_counter, describe_histogram, Unit};
use proto_schema::{ReasonCode, Receipt};

pub const RECEIVED: &str = "oversight_returns_received_total";
pub const ACCEPTED: &str = "oversight_returns_accepted_total";
pub const DUPLICATES: &str = "oversight_returns_duplicate_total";
pub const REJECTED: &str = "oversight_returns_rejected_total";
pub const BUSY: &str = "oversight_returns_busy_total";
pub const ADMIN_COMMANDS: &str = "oversight_admin_commands_total";
pub const BATCH_SIZE: &str = "oversight_group_commit_batch_size";
pub const COMMIT_SECONDS: &str = "oversight_group_commit_seconds";
pub const COMMIT_FAILURES: &str = "oversight_group_commit_failures_total";

/// The bucket bounds of [`BATCH_SIZE`]: up to the largest batch allowed by default (4096).
pub const BATCH_SIZE_BUCKETS: &[f64] = &[
    1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0, 512.0, 1024.0, 2048.0, 4096.0,
];

/// Registers the descriptions (once, at start-up).
pub fn describe() {
    describe_counter!(
        RECEIVED,
        Unit::Count,
        "Returns received on oversight.submit.<org>, before any check."
    );
    describe_counter!(
        ACCEPTED,
        Unit::Count,
        "Returns accepted and durable in the log (new entries; duplicates are counted apart)."
    );
    describe_counter!(
        DUPLICATES,
        Unit::Count,
        "Returns recognised as already accepted (same organisation, submission id and content)."
    );
    describe_counter!(
        REJECTED,
        Unit::Count,
        "Returns rejected, by the code of their first reason."
    );
    describe_counter!(
        BUSY,
        Unit::Count,
        "Returns answered busy (queue full or commit failed); nothing stored, the submitter retries."
    );
    describe_counter!(
        ADMIN_COMMANDS,
        Unit::Count,
        "Reference-data commands on oversight.admin.*, by outcome."
    );
    describe_histogram!(
        BATCH_SIZE,
        Unit::Count,
        "Returns and commands committed together in one transaction (one fsync)."
    );
    describe_histogram!(
        COMMIT_SECONDS,
        Unit::Seconds,
        "Time to write and durably commit one batch, fsync included."
    );
    describe_counter!(
        COMMIT_FAILURES,
        Unit::Count,
        "Batches whose commit failed (nothing of them kept; submitters told busy)."
    );
    // Every counter at zero from the first scrape, each reason and outcome included, so
    // dashboards and rate() see a series before its first event.
    for counter in [RECEIVED, ACCEPTED, DUPLICATES, BUSY, COMMIT_FAILURES] {
        metrics::counter!(counter).absolute(0);
    }
    for code in ReasonCode::ALL {
        metrics::counter!(REJECTED, "reason" => code.as_str()).absolute(0);
    }
    for outcome in ADMIN_OUTCOMES {
        metrics::counter!(ADMIN_COMMANDS, "outcome" => outcome).absolute(0);
    }
}

/// The outcomes [`ADMIN_COMMANDS`] counts.
const ADMIN_OUTCOMES: [&str; 4] = ["recorded", "already_held", "rejected", "busy"];

pub fn received() {
    metrics::counter!(RECEIVED).increment(1);
}

/// Counts the receipt a submitter of a return is sent.
pub fn return_answered(receipt: &Receipt) {
    match receipt {
        Receipt::Accepted {
            duplicate: false, ..
        } => metrics::counter!(ACCEPTED).increment(1),
        Receipt::Accepted {
            duplicate: true, ..
        } => metrics::counter!(DUPLICATES).increment(1),
        Receipt::Rejected { reasons } => {
            let reason = reasons.first().map_or("unspecified", |r| r.code.as_str());
            metrics::counter!(REJECTED, "reason" => reason).increment(1)
        }
        Receipt::Busy { .. } => metrics::counter!(BUSY).increment(1),
    }
}

/// Counts the receipt the sender of a reference-data command is sent.
pub fn admin_answered(receipt: &Receipt) {
    let outcome = match receipt {
        Receipt::Accepted {
            duplicate: false, ..
        } => "recorded",
        Receipt::Accepted {
            duplicate: true, ..
        } => "already_held",
        Receipt::Rejected { .. } => "rejected",
        Receipt::Busy { .. } => "busy",
    };
    metrics::counter!(ADMIN_COMMANDS, "outcome" => outcome).increment(1);
}

pub(crate) fn batch_committed(size: usize, seconds: f64) {
    metrics::histogram!(BATCH_SIZE).record(size as f64);
    metrics::histogram!(COMMIT_SECONDS).record(seconds);
}

pub(crate) fn batch_failed() {
    metrics::counter!(COMMIT_FAILURES).increment(1);
}
