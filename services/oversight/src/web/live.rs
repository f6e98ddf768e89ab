//! Live figures for an open page (`/live/<scope>`, server-sent events): the page's figures are
//! sent when it connects and again after each commit that changes them. The server follows the
//! scope's deltas on the page's behalf (snapshot, then deltas in order; a gap is healed with a
//! fresh snapshot), so the browser holds no protocol state: its EventSource reconnects by itself
//! after a restart and is sent the figures afresh.

use std::collections::HashMap;
use std::convert::Infallible;
use std::time::{Duration, Instant};

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use futures_util::{FutureExt, StreamExt};
use proto_schema::{Delta, GeographyMode, SnapshotRequest, View};
use tokio::sync::mpsc;

use super::page::{self, Asked};
use super::{narrow_for_page, read_asked, view_of, with_names, PageError, Web};
use crate::subjects;
use crate::wire::Encoding;

/// How long a page waits before asking again when the views cannot answer (starting, restarting).
const RETRY: Duration = Duration::from_secs(1);
/// Figures rendered but not yet taken by the page. A slow page holds its follower back; the
/// deltas that overflow meanwhile show as a gap, healed with a fresh snapshot.
const PENDING_FIGURES: usize = 2;
/// The least time between two sendings of a page's figures. A commit after a quiet spell is sent
/// at once; under a stream of commits the page is sent the figures as they stand at most this
/// often. Sending each commit's figures at 1,000 commits a second queued megabytes of HTML in the
/// socket for the browser to parse, and the page fell a second and more behind.
const MIN_INTERVAL: Duration = Duration::from_millis(100);

pub(super) async fn figures(
    State(web): State<Web>,
    Path(scope): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    let (asked, mut request) = match read_asked(&query) {
        Ok(read) => read,
        Err(error) => return error.into_response(),
    };
    narrow_for_page(&mut request);
    if request.as_of.is_some() || request.as_of_seq.is_some() {
        return PageError::BadRequest(
            "a page of the figures as they stood at a point in the past does not change".into(),
        )
        .into_response();
    }
    // Subscribed before the first snapshot, so no delta falls between the two.
    let deltas = match web
        .client
        .nats()
        .subscribe(subjects::view_delta(&scope))
        .await
    {
        Ok(deltas) => deltas,
        Err(error) => {
            return PageError::Unavailable(format!("cannot follow {scope}'s changes: {error}"))
                .into_response()
        }
    };
    // An unknown scope is refused now, with its status, rather than retried for ever.
    let first = match view_of(&web, &scope, &request).await {
        Ok(view) => view,
        Err(error) => return error.into_response(),
    };
    let (sender, receiver) = mpsc::channel(PENDING_FIGURES);
    if !send(&web, &sender, &first, &asked).await {
        return StatusCode::NO_CONTENT.into_response();
    }
    tokio::spawn(follow(web, asked, request, deltas, first, sender));
    let events = futures_util::stream::unfold(receiver, |mut receiver| async move {
        receiver
            .recv()
            .await
            .map(|event| (Ok::<Event, Infallible>(event), receiver))
    });
    Sse::new(events)
        .keep_alive(KeepAlive::default())
        .into_response()
}

/// Follows the scope of `first` until the page goes away, sending its figures after each change.
async fn follow(
    web: Web,
    asked: Asked,
    request: SnapshotRequest,
    mut deltas: async_nats::Subscriber,
    first: View,
    sender: mpsc::Sender<Event>,
) {
    let scope = first.scope.clone();
    // The page has been sent `first`; from here on a gap asks for the view again.
    let mut held: Option<View> = Some(first);
    let mut last_sent = Instant::now();
    loop {
        let view = match held.as_mut() {
            Some(view) => view,
            None => match view_of(&web, &scope, &request).await {
                Ok(view) => {
                    if !send(&web, &sender, &view, &asked).await {
                        return;
                    }
                    held.insert(view)
                }
                Err(_) => {
                    if wait_or_gone(&sender).await {
                        return;
                    }
                    continue;
                }
            },
        };
        let message = tokio::select! {
            message = deltas.next() => message,
            () = sender.closed() => return,
        };
        let Some(message) = message else { return };
        let mut changed = apply(view, &message.payload, request.geography);
        // Whatever else arrives until the interval since the last sending is out is folded in
        // before rendering once.
        let due = last_sent + MIN_INTERVAL;
        loop {
            while let Some(Some(message)) = deltas.next().now_or_never() {
                changed = changed.and(apply(view, &message.payload, request.geography));
            }
            if changed.is_none() || Instant::now() >= due {
                break;
            }
            tokio::select! {
                message = deltas.next() => match message {
                    Some(message) => {
                        changed = changed.and(apply(view, &message.payload, request.geography));
                    }
                    None => return,
                },
                () = tokio::time::sleep_until(due.into()) => {}
                () = sender.closed() => return,
            }
        }
        match changed {
            Some(()) => {
                if !send(&web, &sender, view, &asked).await {
                    return;
                }
                last_sent = Instant::now();
            }
            // A gap, or a geography the deltas are not in: ask for the view again.
            None => held = None,
        }
    }
}

/// Applies one delta; `None` when the view must be asked for again instead.
fn apply(view: &mut View, payload: &[u8], geography: GeographyMode) -> Option<()> {
    let delta: Delta = Encoding::Postcard.decode(payload).ok()?;
    if geography != GeographyMode::AsReported {
        // Deltas count returns where organisations were; today's geography is re-read.
        return None;
    }
    view.apply_delta(&delta).ok()
}

/// Sends the figures of `view`; false when the page has gone.
async fn send(web: &Web, sender: &mpsc::Sender<Event>, view: &View, asked: &Asked) -> bool {
    let html = {
        let reference = web
            .directory
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        with_names(&reference, view, asked, page::figures).into_string()
    };
    let event = Event::default()
        .event("figures")
        .id(view.seq.to_string())
        .data(html);
    sender.send(event).await.is_ok()
}

/// Waits before trying again; true when the page went away meanwhile.
async fn wait_or_gone(sender: &mpsc::Sender<Event>) -> bool {
    tokio::select! {
        () = tokio::time::sleep(RETRY) => sender.is_closed(),
        () = sender.closed() => true,
    }
}
