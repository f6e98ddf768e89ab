//! The service's own metrics (the views, NATS, the build) and the Prometheus endpoint that
//! exposes them with those of the event log and intake (`event_log::metrics`,
//! `ingest::metrics`).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};

use anyhow::Context;
use metrics::{describe_counter, describe_gauge, describe_histogram, Unit};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder};

pub const BUILD_INFO: &str = "oversight_build_info";
pub const NATS_CONNECTED: &str = "oversight_nats_connected";
pub const NATS_RECONNECTS: &str = "oversight_nats_reconnects_total";
pub const NATS_DISCONNECTS: &str = "oversight_nats_disconnects_total";
pub const VIEWS_APPLIED_SEQ: &str = "oversight_views_applied_seq";
pub const VIEWS_LAG_EVENTS: &str = "oversight_views_lag_events";
pub const VIEWS_LAG_SECONDS: &str = "oversight_views_lag_seconds";
pub const DELTAS_PUBLISHED: &str = "oversight_views_deltas_published_total";
pub const ALERTS_PUBLISHED: &str = "oversight_alerts_published_total";
pub const SNAPSHOT_REQUESTS: &str = "oversight_views_snapshot_requests_total";
pub const SNAPSHOT_SECONDS: &str = "oversight_views_snapshot_seconds";
pub const SUBSCRIBERS_SEEN: &str = "oversight_views_subscribers_seen_total";
pub const CHECKPOINT_SEQ: &str = "oversight_views_checkpoint_seq";
pub const DATA_DISK_FREE: &str = "oversight_data_disk_free_bytes";
pub const DATA_DISK_SIZE: &str = "oversight_data_disk_size_bytes";
pub const LOG_READS: &str = "oversight_log_reads_total";

/// Every metric the services expose (histograms by their base name), for checking the
/// dashboards and alert rules against.
pub const ALL: &[&str] = &[
    BUILD_INFO,
    NATS_CONNECTED,
    NATS_RECONNECTS,
    NATS_DISCONNECTS,
    VIEWS_APPLIED_SEQ,
    VIEWS_LAG_EVENTS,
    VIEWS_LAG_SECONDS,
    DELTAS_PUBLISHED,
    ALERTS_PUBLISHED,
    SNAPSHOT_REQUESTS,
    SNAPSHOT_SECONDS,
    SUBSCRIBERS_SEEN,
    CHECKPOINT_SEQ,
    DATA_DISK_FREE,
    DATA_DISK_SIZE,
    LOG_READS,
    event_log::metrics::LAST_SEQ,
    event_log::metrics::FILE_BYTES,
    event_log::metrics::INDEX_SWEEPS,
    event_log::metrics::VERIFIED_ENTRIES,
    event_log::metrics::LOOKUPS_REBUILT,
    ingest::metrics::RECEIVED,
    ingest::metrics::ACCEPTED,
    ingest::metrics::DUPLICATES,
    ingest::metrics::REJECTED,
    ingest::metrics::BUSY,
    ingest::metrics::ADMIN_COMMANDS,
    ingest::metrics::BATCH_SIZE,
    ingest::metrics::COMMIT_SECONDS,
    ingest::metrics::COMMIT_FAILURES,
];

/// Latency buckets, in seconds, from 100 µs (an uncontended commit) to 10 s.
const SECONDS_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
    10.0,
];

/// Starts the Prometheus endpoint (`GET /metrics` on `addr`) and describes every metric. Needs a
/// Tokio runtime: the listener runs on it.
pub fn serve(addr: SocketAddr) -> anyhow::Result<()> {
    PrometheusBuilder::new()
        .with_http_listener(addr)
        .set_buckets_for_metric(Matcher::Suffix("_seconds".into()), SECONDS_BUCKETS)?
        .set_buckets_for_metric(
            Matcher::Full(ingest::metrics::BATCH_SIZE.into()),
            ingest::metrics::BATCH_SIZE_BUCKETS,
        )?
        .install()
        .with_context(|| format!("cannot serve metrics on {addr}"))?;
    event_log::metrics::describe();
    ingest::metrics::describe();
    describe();
    metrics::gauge!(
        BUILD_INFO,
        "version" => env!("CARGO_PKG_VERSION"),
        "schema_version" => proto_schema::SCHEMA_VERSION.to_string()
    )
    .set(1.0);
    Ok(())
}

fn describe() {
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the labels say which build and schema version is running."
    );
    describe_gauge!(
        NATS_CONNECTED,
        "1 while the connection to the NATS server is up, 0 while it is not."
    );
    describe_counter!(
        NATS_RECONNECTS,
        Unit::Count,
        "Connections to the NATS server made again after one was lost."
    );
    describe_counter!(
        NATS_DISCONNECTS,
        Unit::Count,
        "Connections to the NATS server lost."
    );
    describe_gauge!(
        VIEWS_APPLIED_SEQ,
        Unit::Count,
        "Seq of the last log entry applied to the views (one fold advances every scope at once)."
    );
    describe_gauge!(
        VIEWS_LAG_EVENTS,
        Unit::Count,
        "Log entries known to exist that the views have not yet applied."
    );
    describe_gauge!(
        VIEWS_LAG_SECONDS,
        Unit::Seconds,
        "Age of the last applied entry when it was applied: commit to view."
    );
    describe_counter!(
        DELTAS_PUBLISHED,
        Unit::Count,
        "Deltas published on oversight.view.<scope>.delta, by encoding."
    );
    describe_counter!(
        ALERTS_PUBLISHED,
        Unit::Count,
        "Alerts published on oversight.alert.<scope>, by kind."
    );
    describe_counter!(
        SNAPSHOT_REQUESTS,
        Unit::Count,
        "Snapshot requests on oversight.view.<scope>.snapshot, by outcome."
    );
    describe_histogram!(
        SNAPSHOT_SECONDS,
        Unit::Seconds,
        "Time to answer one snapshot request (as-of requests rebuild from the log)."
    );
    describe_counter!(
        SUBSCRIBERS_SEEN,
        Unit::Count,
        "Consumers that started following a live view (a live snapshot request), or re-started after a gap."
    );
    describe_gauge!(
        CHECKPOINT_SEQ,
        Unit::Count,
        "Seq of the last views checkpoint saved."
    );
    describe_gauge!(
        DATA_DISK_FREE,
        Unit::Bytes,
        "Free space on the file system holding the data directory, for the service's user."
    );
    describe_gauge!(
        DATA_DISK_SIZE,
        Unit::Bytes,
        "Size of the file system holding the data directory."
    );
    describe_counter!(
        LOG_READS,
        Unit::Count,
        "Requests on oversight.log.read, by outcome (busy: more than the service answers at once)."
    );
    // Every counter at zero from the first scrape, each label included, so dashboards and
    // rate() see a series before its first event.
    for counter in [NATS_RECONNECTS, NATS_DISCONNECTS, SUBSCRIBERS_SEEN] {
        metrics::counter!(counter).absolute(0);
    }
    for encoding in ["postcard", "json"] {
        metrics::counter!(DELTAS_PUBLISHED, "encoding" => encoding).absolute(0);
    }
    for kind in proto_schema::AlertKind::ALL {
        metrics::counter!(ALERTS_PUBLISHED, "kind" => kind.as_str()).absolute(0);
    }
    for outcome in SNAPSHOT_OUTCOMES {
        metrics::counter!(SNAPSHOT_REQUESTS, "outcome" => *outcome).absolute(0);
    }
    for outcome in LOG_READ_OUTCOMES {
        metrics::counter!(LOG_READS, "outcome" => *outcome).absolute(0);
    }
}

/// The outcomes [`LOG_READS`] counts.
pub const LOG_READ_OUTCOMES: &[&str] = &["answered", "busy", "bad_request", "failed"];

/// Counts one log read's outcome.
pub fn log_read(outcome: &'static str) {
    metrics::counter!(LOG_READS, "outcome" => outcome).increment(1);
}

/// The outcomes [`SNAPSHOT_REQUESTS`] counts.
pub const SNAPSHOT_OUTCOMES: &[&str] = &[
    "live",
    "as_of",
    "bad_request",
    "unknown_scope",
    "busy",
    "no_reply_subject",
];

/// Whether the connection was ever lost, so the first `Connected` is not counted as a reconnect.
static NATS_EVER_LOST: AtomicBool = AtomicBool::new(false);

/// The NATS connection's events, counted.
pub fn nats_event(event: &async_nats::Event) {
    match event {
        async_nats::Event::Connected => {
            metrics::gauge!(NATS_CONNECTED).set(1.0);
            if NATS_EVER_LOST.load(Ordering::Relaxed) {
                metrics::counter!(NATS_RECONNECTS).increment(1);
            }
        }
        async_nats::Event::Disconnected => {
            NATS_EVER_LOST.store(true, Ordering::Relaxed);
            metrics::gauge!(NATS_CONNECTED).set(0.0);
            metrics::counter!(NATS_DISCONNECTS).increment(1);
        }
        _ => {}
    }
}

/// Marks the first connection (not a reconnect).
pub fn nats_connected() {
    metrics::gauge!(NATS_CONNECTED).set(1.0);
}
