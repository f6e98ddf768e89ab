//! The reference data for pages served apart from the service (`oversight web`): read from the
//! log over `oversight.log.read` at start, then kept current from `oversight.log.events`, so a
//! region, system or organisation registered or moved later is named and placed on the pages.

use std::sync::{Arc, RwLock};

use anyhow::Context;
use futures_util::StreamExt;
use ingest::Reference;
use proto_schema::LogEvents;
use tracing::{info, warn};

use super::Directory;
use crate::client::Client;
use crate::log_source::LogSource;
use crate::subjects;

/// Entries asked for at a time while reading the log.
const PAGE: u32 = 10_000;

/// Reads the reference data from the log, then keeps it current on a task of its own.
pub async fn follow(client: Client) -> anyhow::Result<Directory> {
    // Subscribed first, so no entry falls between the reading and the following.
    let events = client
        .nats()
        .subscribe(subjects::LOG_EVENTS)
        .await
        .context("subscribing to oversight.log.events")?;
    let log = LogSource::Nats(client);
    let mut reference = Reference::default();
    let mut next = 1;
    let last = read_from(&log, &mut reference, &mut next, u64::MAX).await?;
    info!(
        entries = last,
        "reference data read from the log; following it"
    );
    let directory: Directory = Arc::new(RwLock::new(reference));
    let following = Arc::clone(&directory);
    tokio::spawn(async move {
        let entries = events.flat_map(|message| {
            futures_util::stream::iter(LogEvents::unpack(&message.payload).unwrap_or_default())
        });
        futures_util::pin_mut!(entries);
        while let Some(entry) = entries.next().await {
            let Ok(envelope) = entry else {
                continue;
            };
            if envelope.seq < next {
                continue;
            }
            if envelope.seq > next {
                // Entries the feed lost are read from the log; on failure the next entry that
                // arrives tries again.
                let mut updated = following
                    .read()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .clone();
                let mut at = next;
                match read_from(&log, &mut updated, &mut at, envelope.seq - 1).await {
                    Ok(_) => {
                        *following
                            .write()
                            .unwrap_or_else(|poisoned| poisoned.into_inner()) = updated;
                        next = at;
                    }
                    Err(error) => {
                        warn!(error = %format!("{error:#}"), "cannot read a gap in the log; the pages' names may lag")
                    }
                }
            }
            if envelope.seq == next {
                if envelope.event.is_reference() {
                    following
                        .write()
                        .unwrap_or_else(|poisoned| poisoned.into_inner())
                        .apply_entry(&envelope);
                }
                next += 1;
            }
        }
    });
    Ok(directory)
}

/// Applies the reference entries from `*next` up to `until` (or the log's end); returns the
/// log's last seq.
async fn read_from(
    log: &LogSource,
    reference: &mut Reference,
    next: &mut u64,
    until: u64,
) -> anyhow::Result<u64> {
    loop {
        let page = log
            .read(*next, PAGE)
            .await
            .context("reading the reference data from the log")?;
        for envelope in &page.entries {
            if envelope.seq > until {
                return Ok(page.last_seq);
            }
            if envelope.seq == *next {
                if envelope.event.is_reference() {
                    reference.apply_entry(envelope);
                }
                *next += 1;
            }
        }
        if page.entries.is_empty() || *next > page.last_seq || *next > until {
            return Ok(page.last_seq);
        }
        if *next % (PAGE as u64 * 50) < PAGE as u64 {
            info!(
                read = *next - 1,
                of = page.last_seq,
                "reading the reference data from the log"
            );
        }
    }
}
