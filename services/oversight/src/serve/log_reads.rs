//! `oversight.log.read` (catch-up reads) and `oversight.returns.<org>` (what an organisation has
//! sent), answered from the log file concurrently with the writer, under one bound.

use async_nats::{Client, Subscriber};
use event_log::LogReader;
use futures_util::StreamExt;
use proto_schema::{
    Envelope, Event, LogEntries, LogReadRequest, ReturnReceived, ReturnsPage, ReturnsRequest,
    RETURNS_MAX,
};
use tokio_util::sync::CancellationToken;
use tracing::warn;

use crate::wire::{reply_error, Encoding, ServiceError, Status};

/// Log reads answered at once; more are told 503 at once. Each holds at most `log_read_max`
/// entries and one reply, so a flood of reads costs bounded memory and leaves intake its cores.
pub const LOG_READS_AT_ONCE: usize = 4;

/// Answers `oversight.log.read` and `oversight.returns.<org>` until shutdown.
pub(super) async fn serve_log_reads(
    client: Client,
    mut reads: Subscriber,
    mut returns: Subscriber,
    reader: LogReader,
    max: u32,
    stop: CancellationToken,
) {
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(LOG_READS_AT_ONCE));
    loop {
        let message = tokio::select! {
            message = reads.next() => message,
            message = returns.next() => {
                let Some(message) = message else { break };
                answer_returns(&client, message, &reader, &permits).await;
                continue;
            }
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

/// Answers one `oversight.returns.<org>` request, under the same permits as log reads.
async fn answer_returns(
    client: &Client,
    message: async_nats::Message,
    reader: &LogReader,
    permits: &std::sync::Arc<tokio::sync::Semaphore>,
) {
    let Some(reply) = message.reply.clone() else {
        return;
    };
    let encoding = Encoding::of(message.headers.as_ref());
    let refuse = |status, message: String| ServiceError::new(status, message);
    let org = match message
        .subject
        .as_str()
        .strip_prefix(crate::subjects::RETURNS_PREFIX)
    {
        Some(org) if !org.is_empty() && !org.contains(['.', '*', '>']) => org.to_owned(),
        _ => {
            let error = refuse(
                Status::BadRequest,
                format!(
                    "`{}` names no organisation: ask on oversight.returns.<ODS code>",
                    proto_schema::printable(message.subject.as_str())
                ),
            );
            crate::metrics::log_read("bad_request");
            return reply_error(client, reply, &error).await;
        }
    };
    let requester = crate::roles::Requester::of(message.headers.as_ref());
    if let Err(why) = crate::roles::may_read_returns(requester.as_ref(), &org) {
        crate::metrics::log_read("not_permitted");
        return reply_error(client, reply, &refuse(Status::Forbidden, why)).await;
    }
    let request: ReturnsRequest = if message.payload.is_empty() {
        ReturnsRequest::default()
    } else {
        match encoding.decode(&message.payload) {
            Ok(request) => request,
            Err(why) => {
                let error = refuse(
                    Status::BadRequest,
                    format!("not a returns request ({why}); send {{}} or {{\"before\": 42, \"max\": 100}}"),
                );
                crate::metrics::log_read("bad_request");
                return reply_error(client, reply, &error).await;
            }
        }
    };
    let Ok(permit) = std::sync::Arc::clone(permits).try_acquire_owned() else {
        crate::metrics::log_read("busy");
        let error = refuse(
            Status::Unavailable,
            format!("{LOG_READS_AT_ONCE} log reads are being answered already: ask again shortly"),
        );
        return reply_error(client, reply, &error).await;
    };
    let reader = reader.clone();
    let client = client.clone();
    tokio::spawn(async move {
        let _permit = permit;
        let max = request.max.clamp(1, RETURNS_MAX) as usize;
        let asked = org.clone();
        let read =
            tokio::task::spawn_blocking(move || reader.returns_of(&asked, request.before, max))
                .await;
        let found = match read {
            Ok(Ok(found)) => found,
            Ok(Err(error)) => {
                crate::metrics::log_read("failed");
                let error = refuse(Status::Internal, format!("{:#}", anyhow::Error::new(error)));
                return reply_error(&client, reply, &error).await;
            }
            Err(error) => {
                crate::metrics::log_read("failed");
                return reply_error(&client, reply, &refuse(Status::Internal, error.to_string()))
                    .await;
            }
        };
        let page = ReturnsPage {
            org,
            returns: found
                .returns
                .into_iter()
                .filter_map(|r| match r.envelope.event {
                    Event::ReturnSubmitted(submitted) => Some(ReturnReceived {
                        seq: r.envelope.seq,
                        recorded_at: r.envelope.recorded_at,
                        sender: r.envelope.sender,
                        revision: submitted.revision,
                        in_force: r.in_force,
                        ret: submitted.ret,
                    }),
                    _ => None,
                })
                .collect(),
            more: found.more,
            last_seq: found.last_seq,
        };
        let max_payload = client.server_info().max_payload;
        match fit_returns(encoding, page, max_payload) {
            Ok(body) => {
                crate::metrics::log_read("answered");
                if let Err(error) = client.publish(reply, body.into()).await {
                    warn!(%error, "cannot answer a returns request");
                }
            }
            Err(bytes) => {
                crate::metrics::log_read("failed");
                let error = refuse(
                    Status::TooLarge,
                    format!("one return alone is {bytes} bytes, more than this NATS server's max_payload of {max_payload}: raise max_payload in its configuration"),
                );
                reply_error(&client, reply, &error).await
            }
        }
    });
}

/// A page of returns cut short to fit one NATS message, saying `more` so nothing is lost.
fn fit_returns(
    encoding: Encoding,
    mut page: ReturnsPage,
    max_payload: usize,
) -> Result<Vec<u8>, usize> {
    shrink_to_fit(encoding, &mut page, max_payload, |page, keep| {
        if keep < page.returns.len() {
            page.returns.truncate(keep);
            page.more = true;
        }
        page.returns.len()
    })
}

/// Encodes `reply`, cutting its list to `keep(reply, n)` entries until it fits in `max_payload`
/// bytes; the size with one entry alone when even that does not fit.
fn shrink_to_fit<T: serde::Serialize>(
    encoding: Encoding,
    reply: &mut T,
    max_payload: usize,
    mut keep: impl FnMut(&mut T, usize) -> usize,
) -> Result<Vec<u8>, usize> {
    let mut held = keep(reply, usize::MAX);
    loop {
        let body = encoding.encode(reply);
        if body.len() <= max_payload || held == 0 {
            return Ok(body);
        }
        if held == 1 {
            return Err(body.len());
        }
        // In proportion to the excess, and a tenth fewer again, as entries differ in size.
        let fits = held as u128 * max_payload as u128 * 9 / 10 / body.len() as u128;
        held = keep(reply, (fits as usize).clamp(1, held - 1));
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
    shrink_to_fit(encoding, &mut reply, max_payload, |reply, keep| {
        reply.entries.truncate(keep);
        reply.entries.len()
    })
}
