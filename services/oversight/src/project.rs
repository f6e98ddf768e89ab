//! The projector runner: catches up over `oversight.log.read`, then follows
//! `oversight.log.events`, healing any gap in seq by reading the missing range; publishes each
//! entry's deltas and answers `oversight.view.<scope>.snapshot`. The same code runs inside
//! `oversight serve` and, against a remote log, as `oversight project`.

use std::sync::Arc;

use anyhow::Context;
use async_nats::{HeaderMap, Message};
use bytes::Bytes;
use event_log::{Checkpoint, CheckpointStore};
use std::collections::HashMap;

use futures_util::{FutureExt, StreamExt};
use projector::Projection;
use proto_schema::{Alert, AlertKind, DecodeError, Delta, Envelope, Period, SnapshotRequest, View};
use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use crate::client::Client;
use crate::metrics as m;
use crate::subjects;
use crate::wire::{Encoding, SERVICE_ERROR, SERVICE_ERROR_CODE};

/// Entries asked for per catch-up read.
const CATCH_UP_BATCH: u32 = 10_000;

/// Most live entries folded before their deltas are published.
const DELTA_BATCH: usize = 1024;

/// Where and how often the views are checkpointed.
#[derive(Debug, Clone, Default)]
pub struct Checkpoints {
    /// The checkpoint file; without one the views are rebuilt from the log at every start.
    pub store: Option<Arc<CheckpointStore>>,
    /// Log entries applied between checkpoints.
    pub every: u64,
}

/// The projection and what is known of the log entry at its seq.
struct State {
    projection: Projection,
    /// The checksum of the entry at `projection.seq()`, recorded with a checkpoint.
    entry_checksum: u32,
    /// The seq of the last checkpoint saved.
    saved_seq: u64,
    /// When the entry at `projection.seq()` was committed, once one has been applied here.
    recorded_at: Option<proto_schema::Timestamp>,
    /// Whether views and deltas carry SPC charts (and so segments and alerts).
    analytics: bool,
    /// The alert conditions holding in each scope, so each is announced once.
    alerts: Option<AlertTracker>,
    /// A checkpoint being written in the background, and its seq.
    saving: Option<Saving>,
}

/// A checkpoint save under way: (its seq, its size, how it went).
type Saving = tokio::task::JoinHandle<(u64, usize, Result<(), event_log::LogError>)>;

/// What makes two alerts the same occurrence: a metric's standard missed or concern lasts
/// while it holds, whatever month is latest; an overdue return is one organisation's period.
type AlertKey = (AlertKind, String, Option<String>, Option<Period>);

fn alert_key(alert: &Alert) -> AlertKey {
    let period = (alert.kind == AlertKind::ReturnOverdue).then_some(alert.period);
    (
        alert.kind,
        alert.subject.clone(),
        alert.organisation.clone(),
        period,
    )
}

/// The alert conditions holding per scope. Started from the projection when the views start
/// following the log, so conditions that already held are not announced again.
#[derive(Default)]
struct AlertTracker {
    holding: HashMap<String, std::collections::HashSet<AlertKey>>,
}

impl AlertTracker {
    fn start(projection: &Projection) -> AlertTracker {
        let mut tracker = AlertTracker::default();
        for scope in projection.scopes() {
            let keys = projection
                .alert_conditions_now(&scope)
                .iter()
                .map(alert_key)
                .collect();
            tracker.holding.insert(scope, keys);
        }
        tracker
    }

    /// The alerts a published delta starts: of the conditions `now` holding for the metrics and
    /// returns the delta changed, those that did not hold before. Conditions of those that no
    /// longer hold end.
    fn started(&mut self, now: Vec<Alert>, delta: &Delta) -> Vec<Alert> {
        let now_keys: std::collections::HashSet<AlertKey> = now.iter().map(alert_key).collect();
        let holding = self.holding.entry(delta.scope.clone()).or_default();
        let standards: std::collections::HashSet<&str> =
            delta.changes.iter().map(|c| c.metric.as_str()).collect();
        // Returns no longer missing: (collection, organisation, period).
        let returned: std::collections::HashSet<(&str, &str, Period)> = delta
            .missing
            .iter()
            .filter(|c| c.value.is_none())
            .map(|c| (c.metric.as_str(), c.organisation.as_str(), c.period))
            .collect();
        holding.retain(|key| {
            let (kind, subject, org, period) = key;
            let looked_at = match (kind, org, period) {
                (AlertKind::StandardMissed, ..) => standards.contains(subject.as_str()),
                (AlertKind::SpcConcern, ..) => delta.spc.contains_key(subject),
                (AlertKind::ReturnOverdue, Some(org), Some(period)) => {
                    returned.contains(&(subject.as_str(), org.as_str(), *period))
                }
                (AlertKind::ReturnOverdue, ..) => false,
            };
            !looked_at || now_keys.contains(key)
        });
        now.into_iter()
            .filter(|alert| holding.insert(alert_key(alert)))
            .collect()
    }
}

/// Where committed entries come from once the views have caught up.
#[derive(Debug)]
pub enum Feed {
    /// `oversight.log.events`, for views running apart from the log.
    Nats,
    /// Straight from the writer in the same process, already decoded: no trip through the
    /// NATS server. A full channel drops batches; the views notice the gap and read the log.
    Local(mpsc::Receiver<Vec<Envelope>>),
}

/// A feed, opened.
enum Source {
    Nats(async_nats::Subscriber),
    Local(mpsc::Receiver<Vec<Envelope>>),
}

impl Source {
    /// The next entries, with whatever else has already arrived; `None` when the feed ends.
    async fn next_batch(&mut self) -> Option<Vec<Result<Envelope, DecodeError>>> {
        match self {
            Source::Nats(events) => {
                let first = events.next().await?;
                let mut batch = vec![Envelope::decode(&first.payload)];
                while batch.len() < DELTA_BATCH {
                    match events.next().now_or_never() {
                        Some(Some(message)) => batch.push(Envelope::decode(&message.payload)),
                        _ => break,
                    }
                }
                Some(batch)
            }
            Source::Local(feed) => {
                let mut batch: Vec<Result<Envelope, DecodeError>> =
                    feed.recv().await?.into_iter().map(Ok).collect();
                while batch.len() < DELTA_BATCH {
                    match feed.try_recv() {
                        Ok(more) => batch.extend(more.into_iter().map(Ok)),
                        Err(_) => break,
                    }
                }
                Some(batch)
            }
        }
    }
}

/// Runs until `stop` turns true.
pub async fn run(
    client: Client,
    mut stop: watch::Receiver<bool>,
    checkpoints: Checkpoints,
    feed: Feed,
    analytics: bool,
) -> anyhow::Result<()> {
    let nats = client.nats().clone();
    // Subscribe before catching up, so nothing committed meanwhile is missed.
    let mut events = match feed {
        Feed::Nats => Source::Nats(nats.subscribe(subjects::LOG_EVENTS).await?),
        Feed::Local(receiver) => Source::Local(receiver),
    };
    let mut snapshots = nats
        .queue_subscribe(subjects::VIEW_SNAPSHOT_ALL, subjects::VIEW_QUEUE.into())
        .await?;
    let mut state = restore(&client, &checkpoints).await;
    state.analytics = analytics;
    let resumed_from = state.projection.seq();
    // Nobody holds a snapshot from this instance yet, so the start-up catch-up builds no deltas.
    catch_up(&client, &mut state, u64::MAX, None).await?;
    info!(
        seq = state.projection.seq(),
        resumed_from, "views caught up with the log"
    );
    save_now(&checkpoints, &mut state).await;
    let result = follow(
        &client,
        &mut stop,
        &mut events,
        &mut snapshots,
        &mut state,
        &checkpoints,
    )
    .await;
    save_now(&checkpoints, &mut state).await;
    info!(
        seq = state.projection.seq(),
        checkpoint = state.saved_seq,
        "views stopped"
    );
    result
}

async fn follow(
    client: &Client,
    stop: &mut watch::Receiver<bool>,
    events: &mut Source,
    snapshots: &mut async_nats::Subscriber,
    state: &mut State,
    checkpoints: &Checkpoints,
) -> anyhow::Result<()> {
    let nats = client.nats().clone();
    // The batch before's charts, drawn on a core of their own while this one is folded.
    let mut drawing: Option<tokio::task::JoinHandle<Drawn>> = None;
    loop {
        tokio::select! {
            batch = events.next_batch() => {
                let Some(batch) = batch else { break };
                let known_last = batch.iter().filter_map(|e| e.as_ref().ok()).map(|e| e.seq).max().unwrap_or(0);
                let mut pending = PendingDeltas::default();
                for entry in batch {
                    let envelope = match entry {
                        Ok(envelope) => envelope,
                        Err(error) => {
                            warn!(%error, "an undecodable entry on oversight.log.events; reading the log instead");
                            catch_up(client, state, u64::MAX, Some(&mut pending)).await?;
                            continue;
                        }
                    };
                    if envelope.seq > state.projection.seq() + 1 {
                        debug!(from = state.projection.seq() + 1, to = envelope.seq - 1, "gap in the live stream; reading it");
                        catch_up(client, state, envelope.seq - 1, Some(&mut pending)).await?;
                    }
                    pending.add(apply(state, &envelope));
                }
                if state.analytics && state.alerts.is_none() {
                    state.alerts = Some(AlertTracker::start(&state.projection));
                }
                let batch = pending.prepare(&state.projection, state.analytics);
                // Deltas go out in seq order: the batch before's first.
                if let Some(previous) = drawing.take() {
                    publish_drawn(previous.await, &nats, state.alerts.as_mut()).await;
                }
                if batch.has_charts() {
                    drawing = Some(tokio::task::spawn_blocking(move || batch.draw()));
                } else {
                    batch.draw().publish(&nats, state.alerts.as_mut()).await;
                }
                record_applied(state, known_last);
                save(checkpoints, state, checkpoints.every).await;
            }
            request = snapshots.next() => {
                let Some(request) = request else { break };
                let started = std::time::Instant::now();
                let outcome =
                    answer_snapshot(client, &state.projection, state.analytics, request).await;
                metrics::counter!(m::SNAPSHOT_REQUESTS, "outcome" => outcome).increment(1);
                metrics::histogram!(m::SNAPSHOT_SECONDS).record(started.elapsed().as_secs_f64());
            }
            drawn = async {
                match drawing.as_mut() {
                    Some(handle) => handle.await,
                    None => std::future::pending().await,
                }
            }, if drawing.is_some() => {
                drawing = None;
                publish_drawn(drawn, &nats, state.alerts.as_mut()).await;
            }
            _ = stop.changed() => break,
        }
    }
    if let Some(last) = drawing.take() {
        publish_drawn(last.await, &nats, state.alerts.as_mut()).await;
    }
    Ok(())
}

/// Publishes a batch whose charts have been drawn.
async fn publish_drawn(
    drawn: Result<Drawn, tokio::task::JoinError>,
    nats: &async_nats::Client,
    alerts: Option<&mut AlertTracker>,
) {
    match drawn {
        Ok(drawn) => drawn.publish(nats, alerts).await,
        // The deltas are lost; their consumers see the gap and take a snapshot.
        Err(error) => {
            warn!(%error, "drawing a batch's charts failed; its deltas are not published")
        }
    }
}

/// The projection from the latest checkpoint, if there is one and it belongs to this log;
/// otherwise an empty one, to be built from the log.
async fn restore(client: &Client, checkpoints: &Checkpoints) -> State {
    let empty = State {
        projection: Projection::default(),
        entry_checksum: 0,
        saved_seq: 0,
        recorded_at: None,
        analytics: true,
        alerts: None,
        saving: None,
    };
    let Some(store) = checkpoints.store.clone() else {
        return empty;
    };
    let checkpoint = match tokio::task::spawn_blocking(move || store.latest()).await {
        Ok(Ok(Some(checkpoint))) => checkpoint,
        Ok(Ok(None)) => return empty,
        Ok(Err(error)) => {
            warn!(%error, "cannot read the views checkpoint; rebuilding from the log");
            return empty;
        }
        Err(error) => {
            warn!(%error, "cannot read the views checkpoint; rebuilding from the log");
            return empty;
        }
    };
    // The checkpoint must describe this log: the entry at its seq must be the one it saw.
    let matches = match client.read_log(checkpoint.seq, 1).await {
        Ok(page) => page
            .entries
            .first()
            .is_some_and(|e| e.seq == checkpoint.seq && e.checksum == checkpoint.entry_checksum),
        Err(error) => {
            warn!(%error, "cannot check the views checkpoint against the log; rebuilding");
            false
        }
    };
    if !matches {
        warn!(
            seq = checkpoint.seq,
            "the views checkpoint does not match the log; rebuilding from the log"
        );
        return empty;
    }
    match Projection::from_checkpoint(&checkpoint.state) {
        Some(projection) => {
            info!(seq = checkpoint.seq, "views resumed from their checkpoint");
            State {
                projection,
                entry_checksum: checkpoint.entry_checksum,
                saved_seq: checkpoint.seq,
                recorded_at: None,
                analytics: true,
                alerts: None,
                saving: None,
            }
        }
        None => {
            warn!("the views checkpoint is of another layout; rebuilding from the log");
            empty
        }
    }
}

/// Saves a checkpoint when at least `min_new` entries were applied since the last one.
async fn save(checkpoints: &Checkpoints, state: &mut State, min_new: u64) {
    let Some(store) = checkpoints.store.clone() else {
        return;
    };
    // One save at a time; the views go on publishing while it is written.
    match &state.saving {
        Some(saving) if !saving.is_finished() => return,
        Some(_) => settle(state).await,
        None => {}
    }
    let seq = state.projection.seq();
    if seq == 0 || seq < state.saved_seq.saturating_add(min_new.max(1)) {
        return;
    }
    let bytes = match state.projection.to_checkpoint() {
        Ok(bytes) => bytes,
        Err(error) => {
            // The last checkpoint stays; a restart replays the log from there.
            warn!(%error, seq, "cannot save the views checkpoint");
            return;
        }
    };
    let checkpoint = Checkpoint {
        seq,
        entry_checksum: state.entry_checksum,
        state: bytes,
    };
    let bytes = checkpoint.state.len();
    state.saving = Some(tokio::task::spawn_blocking(move || {
        (seq, bytes, store.save(&checkpoint))
    }));
}

/// Saves a checkpoint at the current seq, if it is new, and waits until it is written: at
/// start-up and at stop.
async fn save_now(checkpoints: &Checkpoints, state: &mut State) {
    settle(state).await;
    save(checkpoints, state, 1).await;
    settle(state).await;
}

/// Waits for the checkpoint being saved, if any, and records how it went.
async fn settle(state: &mut State) {
    let Some(saving) = state.saving.take() else {
        return;
    };
    match saving.await {
        Ok((seq, bytes, Ok(()))) => {
            state.saved_seq = seq;
            metrics::gauge!(m::CHECKPOINT_SEQ).set(seq as f64);
            debug!(seq, bytes, "views checkpoint saved");
        }
        Ok((_, _, Err(error))) => warn!(%error, "cannot save the views checkpoint"),
        Err(error) => warn!(%error, "cannot save the views checkpoint"),
    }
}

/// Reads and applies entries after the projection's seq up to `until` (or the log's end).
/// Reads and applies entries after the projection's seq up to `until` (or the log's end),
/// collecting their deltas into `deltas`, or building none when nobody can be holding a snapshot
/// from this instance (the start-up catch-up).
async fn catch_up(
    client: &Client,
    state: &mut State,
    until: u64,
    mut deltas: Option<&mut PendingDeltas>,
) -> anyhow::Result<()> {
    while state.projection.seq() < until {
        let page = client
            .read_log(state.projection.seq() + 1, CATCH_UP_BATCH)
            .await
            .context("catching up over oversight.log.read")?;
        if page.entries.is_empty() {
            break;
        }
        for envelope in &page.entries {
            if envelope.seq > until {
                record_applied(state, page.last_seq);
                return Ok(());
            }
            match deltas.as_deref_mut() {
                // A consumer that snapshotted before the gap needs the deltas inside it.
                Some(pending) => pending.add(apply(state, envelope)),
                None => {
                    if envelope.seq == state.projection.seq() + 1 {
                        state.entry_checksum = envelope.checksum;
                        state.recorded_at = Some(envelope.recorded_at);
                    }
                    state.projection.apply_silently(envelope);
                }
            }
        }
        record_applied(state, page.last_seq);
        if state.projection.seq() >= page.last_seq {
            break;
        }
    }
    Ok(())
}

/// Sets the applied seq and the lag behind `known_last`, the last seq known to be in the log.
fn record_applied(state: &State, known_last: u64) {
    let seq = state.projection.seq();
    metrics::gauge!(m::VIEWS_APPLIED_SEQ).set(seq as f64);
    metrics::gauge!(m::VIEWS_LAG_EVENTS).set(known_last.saturating_sub(seq) as f64);
    if let Some(recorded_at) = state.recorded_at {
        let age = (proto_schema::Timestamp::now().millis() - recorded_at.millis()) as f64 / 1000.0;
        metrics::gauge!(m::VIEWS_LAG_SECONDS).set(age.max(0.0));
    }
}

fn apply(state: &mut State, envelope: &Envelope) -> Vec<Delta> {
    if envelope.seq == state.projection.seq() + 1 {
        state.entry_checksum = envelope.checksum;
        state.recorded_at = Some(envelope.recorded_at);
    }
    state.projection.apply_without_charts(envelope)
}

/// Deltas of several entries, merged per scope, waiting to be published.
#[derive(Default)]
struct PendingDeltas {
    by_scope: HashMap<String, Delta>,
}

impl PendingDeltas {
    fn add(&mut self, deltas: Vec<Delta>) {
        for delta in deltas {
            match self.by_scope.get_mut(&delta.scope) {
                Some(pending) => pending.append(delta),
                None => {
                    self.by_scope.insert(delta.scope.clone(), delta);
                }
            }
        }
    }

    /// The merged deltas, in scope order, with what drawing their charts and finding their
    /// alerts needs from `projection` now, when `analytics` is on.
    fn prepare(self, projection: &Projection, analytics: bool) -> Batch {
        let mut deltas: Vec<Delta> = self.by_scope.into_values().collect();
        deltas.sort_unstable_by(|a, b| a.scope.cmp(&b.scope));
        for delta in &mut deltas {
            delta.compact();
        }
        let work = analytics.then(|| {
            deltas
                .iter()
                .map(|delta| {
                    (
                        projection.chart_work(delta),
                        projection.standard_alerts(delta),
                    )
                })
                .collect()
        });
        Batch {
            deltas,
            work,
            clock: projection.alert_clock(),
        }
    }
}

/// A batch's merged deltas, and what drawing their charts needs, taken from the state at the
/// batch's end so that the drawing can run beside the fold of the next batch.
struct Batch {
    deltas: Vec<Delta>,
    /// With analytics: each delta's chart work and the standards it finds missed.
    work: Option<Vec<(projector::ChartWork, Vec<Alert>)>>,
    clock: projector::AlertClock,
}

/// A batch's deltas, charts drawn, each with its alert conditions (with analytics).
struct Drawn {
    deltas: Vec<Delta>,
    conditions: Option<Vec<Vec<Alert>>>,
}

impl Batch {
    fn has_charts(&self) -> bool {
        self.work.is_some()
    }

    /// Draws the charts into the deltas and finds their alert conditions: work for a core of
    /// its own.
    fn draw(self) -> Drawn {
        let Batch {
            mut deltas,
            work,
            clock,
        } = self;
        let conditions = work.map(|work| {
            deltas
                .iter_mut()
                .zip(work)
                .map(|(delta, (charts, mut conditions))| {
                    charts.draw(delta);
                    conditions.extend(clock.alerts_in(delta));
                    conditions
                })
                .collect()
        });
        Drawn { deltas, conditions }
    }
}

impl Drawn {
    /// Publishes each delta, and the alerts it starts when `alerts` tracks them.
    async fn publish(self, nats: &async_nats::Client, mut alerts: Option<&mut AlertTracker>) {
        let max_payload = nats.server_info().max_payload;
        let mut conditions = self.conditions.map(Vec::into_iter);
        for delta in self.deltas {
            let now = conditions.as_mut().and_then(Iterator::next);
            if let (Some(tracker), Some(now)) = (alerts.as_deref_mut(), now) {
                for alert in tracker.started(now, &delta) {
                    let subject = subjects::alert(&alert.scope);
                    match nats
                        .publish(subject, Bytes::from(Encoding::Json.encode(&alert)))
                        .await
                    {
                        Ok(()) => {
                            metrics::counter!(m::ALERTS_PUBLISHED, "kind" => alert_kind(alert.kind))
                                .increment(1)
                        }
                        Err(error) => warn!(%error, "cannot publish an alert"),
                    }
                }
            }
            let encodings = [
                (
                    Encoding::Postcard,
                    "postcard",
                    subjects::view_delta(&delta.scope),
                ),
                (
                    Encoding::Json,
                    "json",
                    subjects::view_delta_json(&delta.scope),
                ),
            ];
            for (encoding, name, subject) in encodings {
                let body = encoding.encode(&delta);
                if body.len() > max_payload {
                    // NATS would refuse it; its consumers see the gap and take a snapshot.
                    warn!(
                        scope = %delta.scope,
                        encoding = name,
                        bytes = body.len(),
                        max_payload,
                        "a delta is larger than the NATS server's max_payload; its consumers will re-snapshot"
                    );
                    continue;
                }
                match nats.publish(subject, Bytes::from(body)).await {
                    Ok(()) => {
                        metrics::counter!(m::DELTAS_PUBLISHED, "encoding" => name).increment(1)
                    }
                    Err(error) => warn!(%error, encoding = name, "cannot publish a delta"),
                }
            }
        }
    }
}

/// Answers one snapshot request; returns its outcome, for the metrics.
async fn answer_snapshot(
    client: &Client,
    projection: &Projection,
    analytics: bool,
    message: Message,
) -> &'static str {
    let Some(reply) = message.reply.clone() else {
        return "no_reply_subject";
    };
    let encoding = Encoding::of(message.headers.as_ref());
    let nats = client.nats();
    let Some(scope) = subjects::scope_of_snapshot(&message.subject) else {
        reply_error(nats, reply, 400, "not oversight.view.<scope>.snapshot").await;
        return "bad_request";
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
                reply_error(nats, reply, 400, &text).await;
                return "bad_request";
            }
        }
    };
    if !projection.knows_scope(scope) {
        let text = format!(
            "no scope `{scope}`: use national, unassigned, a region (Y56), a system or an organisation code"
        );
        reply_error(nats, reply, 404, &text).await;
        return "unknown_scope";
    }
    let (view, outcome) = match as_of(client, projection, &request).await {
        Ok(None) => {
            metrics::counter!(m::SUBSCRIBERS_SEEN).increment(1);
            (view_of(projection, scope, &request, analytics), "live")
        }
        Ok(Some(past)) => (view_of(&past, scope, &request, analytics), "as_of"),
        Err(error) => {
            reply_error(nats, reply, 503, &format!("{error:#}")).await;
            return "unavailable";
        }
    };
    send_view(nats, reply, encoding, &view).await;
    outcome
}

fn view_of(
    projection: &Projection,
    scope: &str,
    request: &SnapshotRequest,
    analytics: bool,
) -> View {
    if analytics {
        projection.view(scope, request.geography)
    } else {
        projection.view_without_charts(scope, request.geography)
    }
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
            past.apply_silently(envelope);
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
    let max_payload = nats.server_info().max_payload;
    if body.len() > max_payload {
        let (name, instead) = match encoding {
            Encoding::Json => (
                "JSON",
                "ask for postcard (no Content-Type header), a smaller scope,",
            ),
            Encoding::Postcard => ("postcard", "ask for a smaller scope"),
        };
        let text = format!(
            "the view of {} is {} bytes in {name}, more than this NATS server's max_payload of {max_payload}: {instead} or raise max_payload in the server's configuration",
            view.scope,
            body.len(),
        );
        reply_error(nats, reply, 413, &text).await;
        return;
    }
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

fn alert_kind(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::StandardMissed => "standard_missed",
        AlertKind::SpcConcern => "spc_concern",
        AlertKind::ReturnOverdue => "return_overdue",
    }
}
