//! The event log's metrics: names, units and descriptions. The values are set where the log
//! changes; whichever recorder the binary installs (Prometheus in `oversight serve`) sees them.

use metrics::{describe_counter, describe_gauge, Unit};

/// The seq of the last committed entry.
pub const LAST_SEQ: &str = "oversight_log_last_seq";
/// Size of the log file on disk.
pub const FILE_BYTES: &str = "oversight_log_file_bytes";
/// Sweeps of the in-memory look-ups into their tables.
pub const INDEX_SWEEPS: &str = "oversight_log_index_sweeps_total";
/// Entries verified (checksum, link, look-ups) when the log was opened.
pub const VERIFIED_ENTRIES: &str = "oversight_log_verified_entries";
/// 1 when the look-up tables disagreed with the entries at open and were rebuilt from them.
pub const LOOKUPS_REBUILT: &str = "oversight_log_lookups_rebuilt";

/// Registers the descriptions (once, at start-up).
pub fn describe() {
    describe_gauge!(
        LAST_SEQ,
        Unit::Count,
        "Seq of the last entry committed to the event log."
    );
    describe_gauge!(
        FILE_BYTES,
        Unit::Bytes,
        "Size of the event log file (oversight.redb) on disk."
    );
    describe_counter!(
        INDEX_SWEEPS,
        Unit::Count,
        "Sweeps of the submission and revision look-ups from memory into their tables."
    );
    describe_gauge!(
        VERIFIED_ENTRIES,
        Unit::Count,
        "Entries of the event log verified (checksum, link, look-ups) when it was opened."
    );
    describe_gauge!(
        LOOKUPS_REBUILT,
        Unit::Count,
        "1 when the look-up tables disagreed with the log at start-up and were rebuilt from it (check the disk)."
    );
    // At zero from the first scrape, so rate() and alerts work before the first sweep.
    metrics::counter!(INDEX_SWEEPS).absolute(0);
}

pub(crate) fn committed(last_seq: u64, file_bytes: Option<u64>, swept: bool) {
    metrics::gauge!(LAST_SEQ).set(last_seq as f64);
    if let Some(bytes) = file_bytes {
        metrics::gauge!(FILE_BYTES).set(bytes as f64);
    }
    if swept {
        metrics::counter!(INDEX_SWEEPS).increment(1);
    }
}

pub(crate) fn opened(verified: &crate::Verified) {
    metrics::gauge!(VERIFIED_ENTRIES).set(verified.entries as f64);
    metrics::gauge!(LOOKUPS_REBUILT).set(if verified.lookup_damage.is_some() {
        1.0
    } else {
        0.0
    });
}
