//! The projector runner: catches up over `oversight.log.read`, then follows
//! `oversight.log.events`, healing any gap in seq by reading the missing range; publishes each
//! entry's deltas and answers `oversight.view.<scope>.snapshot`. The same code runs inside
//! `oversight serve` and, against a remote log, as `oversight project`.

use anyhow::Context;
use async_nats::{HeaderMap, Message};
use bytes::Bytes;
use futures_util::StreamExt;
use projector::Projection;
use proto_schema::{Envelope, SnapshotRequest, View};
use tokio::sync::watch;
use tracing::{debug, info, warn};

use crate::client::Client;
use crate::subjects;
use crate::wire::{Encoding, SERVICE_ERROR, SERVICE_ERROR_CODE};

/// Entries asked for per catch-up read.
const CATCH_UP_BATCH: u32 = 10_000;

/// Runs until `stop` turns true.
pub async fn run(client: Client, mut stop: watch::Receiver<bool>) -> anyhow::Result<()> {
    let nats = client.nats().clone();
    // Subscribe before catching up, so nothing committed meanwhile is missed.
    let mut events = nats.subscribe(subjects::LOG_EVENTS).await?;
    let mut snapshots = nats
        .queue_subscribe(subjects::VIEW_SNAPSHOT_ALL, subjects::VIEW_QUEUE.into())
        .await?;
    let mut projection = Projection::default();
    catch_up(&client, &mut projection, u64::MAX).await?;
    info!(seq = projection.seq(), "views caught up with the log");
    loop {
        tokio::select! {
            message = events.next() => {
                let Some(message) = message else { break };
                let envelope = match Envelope::decode(&message.payload) {
                    Ok(envelope) => envelope,
                    Err(error) => {
                        warn!(%error, "an undecodable entry on oversight.log.events; reading the log instead");
                        catch_up(&client, &mut projection, u64::MAX).await?;
                        continue;
                    }
                };
                if envelope.seq > projection.seq() + 1 {
                    debug!(from = projection.seq() + 1, to = envelope.seq - 1, "gap in the live stream; reading it");
                    catch_up(&client, &mut projection, envelope.seq - 1).await?;
                }
                apply(&nats, &mut projection, &envelope).await;
            }
            request = snapshots.next() => {
                let Some(request) = request else { break };
                answer_snapshot(&client, &projection, request).await;
            }
            _ = stop.changed() => break,
        }
    }
    Ok(())
}

/// Reads and applies entries after the projection's seq up to `until` (or the log's end).
async fn catch_up(client: &Client, projection: &mut Projection, until: u64) -> anyhow::Result<()> {
    while projection.seq() < until {
        let page = client
            .read_log(projection.seq() + 1, CATCH_UP_BATCH)
            .await
            .context("catching up over oversight.log.read")?;
        if page.entries.is_empty() {
            break;
        }
        for envelope in &page.entries {
            if envelope.seq > until {
                return Ok(());
            }
            // Catch-up publishes deltas too: a consumer that snapshotted meanwhile needs them.
            apply(client.nats(), projection, envelope).await;
        }
        if projection.seq() >= page.last_seq {
            break;
        }
    }
    Ok(())
}

async fn apply(nats: &async_nats::Client, projection: &mut Projection, envelope: &Envelope) {
    for delta in projection.apply(envelope) {
        let postcard = Encoding::Postcard.encode(&delta);
        let json = Encoding::Json.encode(&delta);
        if let Err(error) = nats
            .publish(subjects::view_delta(&delta.scope), Bytes::from(postcard))
            .await
        {
            warn!(%error, "cannot publish a delta");
        }
        if let Err(error) = nats
            .publish(subjects::view_delta_json(&delta.scope), Bytes::from(json))
            .await
        {
            warn!(%error, "cannot publish a JSON delta");
        }
    }
}

async fn answer_snapshot(client: &Client, projection: &Projection, message: Message) {
    let Some(reply) = message.reply.clone() else {
        return;
    };
    let encoding = Encoding::of(message.headers.as_ref());
    let nats = client.nats();
    let Some(scope) = subjects::scope_of_snapshot(&message.subject) else {
        return reply_error(nats, reply, 400, "not oversight.view.<scope>.snapshot").await;
    };
    let request: SnapshotRequest = if message.payload.is_empty() {
        SnapshotRequest::default()
    } else {
        match encoding.decode(&message.payload) {
            Ok(request) => request,
            Err(why) => {
                let text = format!(
                    "not a snapshot request ({why}); send {{}} or {{\"as_of_seq\": 700, \"geography\": \"current\"}}"
                );
                return reply_error(nats, reply, 400, &text).await;
            }
        }
    };
    if !projection.knows_scope(scope) {
        let text = format!(
            "no scope `{scope}`: use national, unassigned, a region (Y56), a system or an organisation code"
        );
        return reply_error(nats, reply, 404, &text).await;
    }
    let view = match as_of(client, projection, &request).await {
        Ok(None) => projection.view(scope, request.geography),
        Ok(Some(past)) => past.view(scope, request.geography),
        Err(error) => return reply_error(nats, reply, 503, &format!("{error:#}")).await,
    };
    send_view(nats, reply, encoding, &view).await;
}

/// The projection as it stood at the requested point, rebuilt from the log; `None` for now.
async fn as_of(
    client: &Client,
    projection: &Projection,
    request: &SnapshotRequest,
) -> anyhow::Result<Option<Projection>> {
    if request.as_of_seq.is_none() && request.as_of.is_none() {
        return Ok(None);
    }
    let until_seq = request.as_of_seq.unwrap_or(u64::MAX).min(projection.seq());
    let mut past = Projection::default();
    'read: while past.seq() < until_seq {
        let page = client
            .read_log(past.seq() + 1, CATCH_UP_BATCH)
            .await
            .context("reading the log for an as-of snapshot")?;
        if page.entries.is_empty() {
            break;
        }
        for envelope in &page.entries {
            let too_late = request.as_of.is_some_and(|t| envelope.recorded_at > t);
            if envelope.seq > until_seq || too_late {
                break 'read;
            }
            past.apply(envelope);
        }
    }
    Ok(Some(past))
}

async fn send_view(
    nats: &async_nats::Client,
    reply: async_nats::Subject,
    encoding: Encoding,
    view: &View,
) {
    let body = encoding.encode(view);
    if let Err(error) = nats.publish(reply, Bytes::from(body)).await {
        warn!(%error, "cannot send a snapshot");
    }
}

async fn reply_error(
    nats: &async_nats::Client,
    reply: async_nats::Subject,
    code: u16,
    message: &str,
) {
    let mut headers = HeaderMap::new();
    headers.insert(SERVICE_ERROR, message);
    headers.insert(SERVICE_ERROR_CODE, code.to_string().as_str());
    if let Err(error) = nats
        .publish_with_headers(reply, headers, Bytes::new())
        .await
    {
        warn!(%error, "cannot send an error reply");
    }
}
