//! `oversight.log.read`: catch-up reads answered from the log file, concurrent with the writer.

use async_nats::{Client, Subscriber};
use event_log::LogReader;
use futures_util::StreamExt;
use proto_schema::{Envelope, LogEntries, LogReadRequest};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::wire::{reply_error, Encoding, ServiceError, Status};

/// Log reads answered at once; more are told 503 at once. Each holds at most `log_read_max`
/// entries and one reply, so a flood of reads costs bounded memory and leaves intake its cores.
pub const LOG_READS_AT_ONCE: usize = 4;

/// Answers `oversight.log.read` until shutdown.
pub(super) async fn serve_log_reads(
    client: Client,
    mut reads: Subscriber,
    reader: LogReader,
    max: u32,
    stop: CancellationToken,
) {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(LOG_READS_AT_ONCE));
    loop {
        let message = tokio::select! {
            message = reads.next() => message,
            () = stop.cancelled() => break,
        };
        let Some(message) = message else { break };
        let Some(reply) = message.reply.clone() else {
            continue;
        };
        let encoding = Encoding::of(message.headers.as_ref());
        let request: LogReadRequest = if message.payload.is_empty() {
            LogReadRequest { from: 1, max: 1000 }
        } else {
            match encoding.decode(&message.payload) {
                Ok(request) => request,
                Err(why) => {
                    let error = ServiceError::new(
                        Status::BadRequest,
                        format!(
                            "not a log read request ({why}); send {{\"from\": 1, \"max\": 1000}}"
                        ),
                    );
                    crate::metrics::log_read("bad_request");
                    reply_error(&client, reply, &error).await;
                    continue;
                }
            }
        };
        let Ok(permit) = std::sync::Arc::clone(&permits).try_acquire_owned() else {
            crate::metrics::log_read("busy");
            let error = ServiceError::new(
                Status::Unavailable,
                format!(
                    "{LOG_READS_AT_ONCE} log reads are being answered already: ask again shortly"
                ),
            );
            reply_error(&client, reply, &error).await;
            continue;
        };
        let reader = reader.clone();
        let client = client.clone();
        tokio::spawn(async move {
            let _permit = permit;
            let limit = request.max.min(max) as usize;
            match tokio::task::spawn_blocking(move || reader.read(request.from, limit)).await {
                Ok(Ok((entries, last_seq))) => {
                    let max_payload = client.server_info().max_payload;
                    match fit_log_entries(encoding, entries, last_seq, max_payload) {
                        Ok(body) => {
                            crate::metrics::log_read("answered");
                            if let Err(error) = client.publish(reply, body.into()).await {
                                warn!(%error, "cannot answer a log read");
                            }
                        }
                        Err(bytes) => {
                            crate::metrics::log_read("failed");
                            let error = ServiceError::new(
                                Status::TooLarge,
                                format!(
                                    "the entry at seq {} alone is {bytes} bytes, more than this NATS server's max_payload of {max_payload}: raise max_payload in its configuration",
                                    request.from
                                ),
                            );
                            reply_error(&client, reply, &error).await
                        }
                    }
                }
                Ok(Err(error)) => {
                    crate::metrics::log_read("failed");
                    let error = ServiceError::new(
                        Status::Internal,
                        format!("{:#}", anyhow::Error::new(error)),
                    );
                    reply_error(&client, reply, &error).await
                }
                Err(error) => {
                    crate::metrics::log_read("failed");
                    let error = ServiceError::new(Status::Internal, error.to_string());
                    reply_error(&client, reply, &error).await
                }
            }
        });
    }
}

/// A log read's reply, cut short to fit in one NATS message of at most `max_payload` bytes: a
/// reader asks again from the seq after the last entry it got, so fewer entries lose nothing.
/// The size of the reply with its first entry alone when even that does not fit.
fn fit_log_entries(
    encoding: Encoding,
    entries: Vec<Envelope>,
    last_seq: u64,
    max_payload: usize,
) -> Result<Vec<u8>, usize> {
    let mut reply = LogEntries { entries, last_seq };
    loop {
        let body = encoding.encode(&reply);
        let held = reply.entries.len();
        if body.len() <= max_payload || held == 0 {
            return Ok(body);
        }
        if held == 1 {
            return Err(body.len());
        }
        // In proportion to the excess, and a tenth fewer again, as entries differ in size.
        let fits = held as u128 * max_payload as u128 * 9 / 10 / body.len() as u128;
        reply.entries.truncate((fits as usize).clamp(1, held - 1));
    }
}
