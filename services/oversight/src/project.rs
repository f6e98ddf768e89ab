//! The views runner: I/O around the projector's pipeline. It resumes from a checkpoint, catches
//! up with the log, then follows committed entries (healing any gap in seq by reading the
//! missing range from its [`LogSource`]), hands each batch to [`Views`], and publishes what comes
//! out; it answers `oversight.view.<scope>.snapshot`, live views at once and as-of views on a
//! task of their own so that a slow replay never holds up a delta. The same code runs inside
//! `oversight serve` and, against a remote log, as `oversight project`.

use std::sync::Arc;

use anyhow::Context;
use async_nats::Message;
use bytes::Bytes;
use event_log::{Checkpoint, CheckpointStore};
use futures_util::{FutureExt, StreamExt};
use projector::{Analytics, Drawn, Projection, Ready, Views};
use proto_schema::{DecodeError, Envelope, LogEvents, SnapshotRequest, Timestamp, View};
use tokio::sync::{mpsc, Semaphore};
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::client::Client;
use crate::log_source::LogSource;
use crate::metrics as m;
use crate::subjects;
use crate::wire::{reply_error, Encoding, ServiceError, Status};

/// Entries asked for per catch-up read.
pub(crate) const CATCH_UP_BATCH: u32 = 10_000;

/// Most live entries folded before their deltas are published.
const DELTA_BATCH: usize = 1024;

/// As-of views built at once; each replays the log into a projection of its own, so more would
/// only share the same cores and memory. Further requests are told to ask again.
const AS_OF_AT_ONCE: usize = 2;

/// Where and how often the views are checkpointed.
#[derive(Debug, Clone, Default)]
pub struct Checkpoints {
    /// The checkpoint file; without one the views are rebuilt from the log at every start.
    pub store: Option<Arc<CheckpointStore>>,
    /// Log entries applied between checkpoints.
    pub every: u64,
    /// Log entries between the checkpoints kept for as-of views to start from (0: none kept),
    /// so that an as-of view replays at most about this many entries.
    pub retain_every: u64,
}

/// What is known of the last entry folded, recorded with a checkpoint and for the lag metrics.
#[derive(Debug, Clone, Copy)]
struct LastEntry {
    seq: u64,
    checksum: u32,
    /// When it was committed, once one has been folded here.
    recorded_at: Option<Timestamp>,
    /// The latest time any entry folded so far was recorded, when known (a checkpoint from an
    /// older build does not say): whether a checkpoint is the view as it stood at a time.
    recorded_until: Option<Timestamp>,
}

impl Default for LastEntry {
    fn default() -> LastEntry {
        LastEntry {
            seq: 0,
            checksum: 0,
            recorded_at: None,
            // Nothing folded: known, and before any time asked for.
            recorded_until: Some(Timestamp(i64::MIN)),
        }
    }
}

impl LastEntry {
    fn note(&mut self, envelope: &Envelope) {
        if envelope.seq > self.seq {
            *self = LastEntry {
                seq: envelope.seq,
                checksum: envelope.checksum,
                recorded_at: Some(envelope.recorded_at),
                recorded_until: self
                    .recorded_until
                    .map(|until| until.max(envelope.recorded_at)),
            };
        }
    }
}

/// Checkpoints saved, and the one being written in the background.
#[derive(Debug, Default)]
struct Saver {
    checkpoints: Checkpoints,
    saved_seq: u64,
    /// The seq of the last checkpoint kept for as-of views.
    retained_seq: u64,
    saving: Option<Saving>,
}

/// A checkpoint save under way: (its seq, its size, how it went).
type Saving = tokio::task::JoinHandle<(u64, usize, Result<(), event_log::LogError>)>;

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
                // A message that is not entries at all is one bad entry: the next good one shows
                // the gap, read from the log.
                let unpack = |payload: &[u8]| {
                    LogEvents::unpack(payload).unwrap_or_else(|error| vec![Err(error)])
                };
                let first = events.next().await?;
                let mut batch = unpack(&first.payload);
                while batch.len() < DELTA_BATCH {
                    match events.next().now_or_never() {
                        Some(Some(message)) => batch.extend(unpack(&message.payload)),
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

/// Runs until `stop` is cancelled or the feed ends.
pub async fn run(
    client: Client,
    log: LogSource,
    stop: CancellationToken,
    checkpoints: Checkpoints,
    feed: Feed,
    analytics: Analytics,
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
    let mut saver = Saver {
        checkpoints,
        ..Saver::default()
    };
    let (mut projection, mut last) = restore(&log, &mut saver).await;
    let resumed_from = projection.seq();
    // Nobody holds a snapshot from this instance yet, so the start-up catch-up builds no deltas.
    catch_up_silently(&log, &mut projection, &mut last, &mut saver).await?;
    info!(
        seq = projection.seq(),
        resumed_from, "views caught up with the log"
    );
    let mut views = Views::start(projection, analytics);
    saver.save_now(views.projection(), last).await;
    let result = follow(
        &nats,
        &log,
        &stop,
        &mut events,
        &mut snapshots,
        &mut views,
        &mut last,
        &mut saver,
    )
    .await;
    saver.save_now(views.projection(), last).await;
    info!(
        seq = views.projection().seq(),
        checkpoint = saver.saved_seq,
        "views stopped"
    );
    result
}

#[allow(clippy::too_many_arguments)]
async fn follow(
    nats: &async_nats::Client,
    log: &LogSource,
    stop: &CancellationToken,
    events: &mut Source,
    snapshots: &mut async_nats::Subscriber,
    views: &mut Views,
    last: &mut LastEntry,
    saver: &mut Saver,
) -> anyhow::Result<()> {
    // The batch before's charts, drawn on a core of their own while this one is folded.
    let mut drawing: Option<tokio::task::JoinHandle<Drawn>> = None;
    let as_of_permits = Arc::new(Semaphore::new(AS_OF_AT_ONCE));
    // The feed can lose entries (a full in-process channel, a slow NATS consumer) with nothing
    // after them to show the gap: the log's last seq is looked at every tick, and a gap that
    // nothing has filled for a whole tick is read from the log.
    let mut gap_watch = tokio::time::interval(GAP_WATCH);
    gap_watch.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut behind_at: Option<u64> = None;
    loop {
        tokio::select! {
            batch = events.next_batch() => {
                let Some(batch) = batch else { break };
                let (entries, known_last) = in_order(log, views.projection().seq(), batch).await?;
                apply(entries, known_last, nats, views, last, saver, &mut drawing).await;
            }
            _ = gap_watch.tick() => {
                let applied = views.projection().seq();
                let log_last = match log.last_seq().await {
                    Ok(log_last) => log_last,
                    Err(error) => {
                        warn!(error = %format!("{error:#}"), "cannot read the log's last seq");
                        continue;
                    }
                };
                if log_last <= applied {
                    behind_at = None;
                    record_caught_up(applied);
                    continue;
                }
                record_applied(applied, *last, log_last);
                if behind_at != Some(applied) {
                    behind_at = Some(applied);
                    continue;
                }
                warn!(
                    from = applied + 1,
                    to = log_last,
                    "the live feed lost entries and nothing came after them; reading them from the log"
                );
                let mut entries = Vec::new();
                let mut next = applied + 1;
                let known_last = read_range(log, &mut next, log_last, &mut entries).await?;
                apply(entries, known_last, nats, views, last, saver, &mut drawing).await;
                behind_at = None;
            }
            request = snapshots.next() => {
                let Some(request) = request else { break };
                let started = std::time::Instant::now();
                let retained = saver.checkpoints.store.clone();
                let outcome =
                    answer_snapshot(nats, log, views, retained, &as_of_permits, request).await;
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
                publish_drawn(drawn, nats, views).await;
            }
            () = stop.cancelled() => break,
        }
    }
    if let Some(last) = drawing.take() {
        publish_drawn(last.await, nats, views).await;
    }
    Ok(())
}

/// How often the views compare what they applied with the log's last seq.
const GAP_WATCH: std::time::Duration = std::time::Duration::from_millis(500);

/// Folds entries in seq order and publishes their deltas (the batch before's first).
async fn apply(
    entries: Vec<Envelope>,
    known_last: u64,
    nats: &async_nats::Client,
    views: &mut Views,
    last: &mut LastEntry,
    saver: &mut Saver,
    drawing: &mut Option<tokio::task::JoinHandle<Drawn>>,
) {
    for envelope in &entries {
        last.note(envelope);
    }
    let folded = views.fold_batch(&entries);
    if let Some(previous) = drawing.take() {
        publish_drawn(previous.await, nats, views).await;
    }
    if folded.has_charts() {
        *drawing = Some(tokio::task::spawn_blocking(move || folded.draw()));
    } else {
        publish(views.announce(folded.draw()), nats).await;
    }
    record_applied(views.projection().seq(), *last, known_last);
    saver
        .save(views.projection(), *last, saver.checkpoints.every)
        .await;
}

/// A live batch as entries in seq order after `seq` with no gap: a gap, or an entry that would
/// not decode, is read from the log. Also the last seq known to be in the log.
async fn in_order(
    log: &LogSource,
    seq: u64,
    batch: Vec<Result<Envelope, DecodeError>>,
) -> anyhow::Result<(Vec<Envelope>, u64)> {
    let mut entries: Vec<Envelope> = Vec::with_capacity(batch.len());
    let mut next = seq + 1;
    let mut known_last = seq;
    for entry in batch {
        let envelope = match entry {
            Ok(envelope) => envelope,
            Err(error) => {
                warn!(%error, "an undecodable entry in the feed; reading the log instead");
                known_last =
                    known_last.max(read_range(log, &mut next, u64::MAX, &mut entries).await?);
                continue;
            }
        };
        known_last = known_last.max(envelope.seq);
        if envelope.seq > next {
            debug!(
                from = next,
                to = envelope.seq - 1,
                "gap in the live feed; reading it"
            );
            read_range(log, &mut next, envelope.seq - 1, &mut entries).await?;
        }
        if envelope.seq == next {
            next += 1;
            entries.push(envelope);
        }
    }
    Ok((entries, known_last))
}

/// Reads entries from `*next` up to `until` (or the log's end) into `into`, advancing `next`;
/// returns the last seq the log holds.
async fn read_range(
    log: &LogSource,
    next: &mut u64,
    until: u64,
    into: &mut Vec<Envelope>,
) -> anyhow::Result<u64> {
    let mut last_seq = *next - 1;
    while *next <= until {
        let page = log
            .read(*next, CATCH_UP_BATCH)
            .await
            .context("reading a gap in the feed")?;
        last_seq = page.last_seq;
        let before = *next;
        for envelope in page.entries {
            if envelope.seq > until {
                break;
            }
            if envelope.seq == *next {
                *next += 1;
                into.push(envelope);
            }
        }
        if *next == before || *next > page.last_seq {
            break;
        }
    }
    Ok(last_seq)
}

/// Folds the log after the projection's seq without building deltas: at start-up, before
/// anyone holds a snapshot from this instance.
async fn catch_up_silently(
    log: &LogSource,
    projection: &mut Projection,
    last: &mut LastEntry,
    saver: &mut Saver,
) -> anyhow::Result<()> {
    loop {
        // A long catch-up (a first start, a rebuild) keeps checkpoints for as-of views as it
        // goes, as following does: otherwise an as-of view of any point before the end would
        // replay the log from its start. Each run between them is counted at its end.
        let until_seq = saver.next_retained_seq().max(projection.seq() + 1);
        let started_at = projection.seq();
        let (folded, known_last) =
            fold_silently(log, std::mem::take(projection), until_seq, None, last).await;
        *projection = folded?;
        if projection.seq() >= until_seq {
            saver.save_now(projection, *last).await;
        }
        record_applied(projection.seq(), *last, known_last);
        if projection.seq() == started_at || projection.seq() >= known_last {
            break;
        }
    }
    Ok(())
}

/// Folds the log silently from the projection's seq through `until_seq`, stopping before the
/// first entry recorded after `as_of` if one is given: one run whose returns are counted once,
/// at its end, with each page read and decoded while the one before is folded. Also says the
/// last seq the log held when last read. On an error reading the log, what was folded before
/// it is left consistent and the error returned.
async fn fold_silently(
    log: &LogSource,
    projection: Projection,
    until_seq: u64,
    as_of: Option<Timestamp>,
    last: &mut LastEntry,
) -> (anyhow::Result<Projection>, u64) {
    // Two pages ahead at most: reading runs beside folding, not ahead of it without bound.
    let (pages, mut arriving) = tokio::sync::mpsc::channel::<Vec<Envelope>>(2);
    let mut next = projection.seq() + 1;
    // Folding is CPU work: off the runtime's workers.
    let folding = tokio::task::spawn_blocking(move || {
        let mut projection = projection;
        projection.apply_all_silently(std::iter::from_fn(|| arriving.blocking_recv()).flatten());
        projection
    });
    let mut known_last = 0;
    let mut read = Ok(());
    while next <= until_seq {
        let page = match log.read(next, CATCH_UP_BATCH).await {
            Ok(page) => page,
            Err(error) => {
                read = Err(error.context("reading the log"));
                break;
            }
        };
        known_last = page.last_seq;
        let mut entries = page.entries;
        let stop = entries
            .iter()
            .position(|e| e.seq > until_seq || as_of.is_some_and(|t| e.recorded_at > t));
        if let Some(stop) = stop {
            entries.truncate(stop);
        }
        for entry in &entries {
            last.note(entry);
        }
        let Some(after) = entries.last().map(|e| e.seq + 1) else {
            break;
        };
        next = after;
        if pages.send(entries).await.is_err() {
            break;
        }
        if stop.is_some() || next > page.last_seq {
            break;
        }
    }
    drop(pages);
    let folded = folding.await.context("the fold task");
    (read.and(folded), known_last)
}

/// Sets the applied seq and the lag behind `known_last`, the last seq known to be in the log.
/// The views hold every entry the log does: no lag.
fn record_caught_up(seq: u64) {
    metrics::gauge!(m::VIEWS_APPLIED_SEQ).set(seq as f64);
    metrics::gauge!(m::VIEWS_LAG_EVENTS).set(0.0);
    metrics::gauge!(m::VIEWS_LAG_SECONDS).set(0.0);
}

fn record_applied(seq: u64, last: LastEntry, known_last: u64) {
    metrics::gauge!(m::VIEWS_APPLIED_SEQ).set(seq as f64);
    metrics::gauge!(m::VIEWS_LAG_EVENTS).set(known_last.saturating_sub(seq) as f64);
    if let Some(recorded_at) = last.recorded_at {
        let age = (Timestamp::now().millis() - recorded_at.millis()) as f64 / 1000.0;
        metrics::gauge!(m::VIEWS_LAG_SECONDS).set(age.max(0.0));
    }
}

/// The projection from the latest checkpoint, if there is one and it belongs to this log;
/// otherwise an empty one, to be built from the log.
async fn restore(log: &LogSource, saver: &mut Saver) -> (Projection, LastEntry) {
    let empty = (Projection::default(), LastEntry::default());
    let Some(store) = saver.checkpoints.store.clone() else {
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
    let entry = match log.read(checkpoint.seq, 1).await {
        Ok(page) => page
            .entries
            .into_iter()
            .next()
            .filter(|e| e.seq == checkpoint.seq && e.checksum == checkpoint.entry_checksum),
        Err(error) => {
            warn!(error = %format!("{error:#}"), "cannot check the views checkpoint against the log; rebuilding");
            None
        }
    };
    let Some(entry) = entry else {
        warn!(
            seq = checkpoint.seq,
            "the views checkpoint does not match the log; rebuilding from the log"
        );
        return empty;
    };
    match Projection::from_checkpoint(&checkpoint.state) {
        Some(projection) => {
            info!(seq = checkpoint.seq, "views resumed from their checkpoint");
            saver.saved_seq = checkpoint.seq;
            saver.retained_seq = checkpoint.seq;
            let until = match &saver.checkpoints.store {
                Some(store) => store.latest_recorded_until().unwrap_or(None),
                None => None,
            };
            let mut last = LastEntry {
                recorded_until: until,
                ..LastEntry::default()
            };
            last.note(&entry);
            (projection, last)
        }
        None => {
            warn!("the views checkpoint is of another layout; rebuilding from the log");
            empty
        }
    }
}

impl Saver {
    /// Saves a checkpoint when at least `min_new` entries were folded since the last one.
    async fn save(&mut self, projection: &Projection, last: LastEntry, min_new: u64) {
        let Some(store) = self.checkpoints.store.clone() else {
            return;
        };
        // One save at a time; the views go on publishing while it is written.
        match &self.saving {
            Some(saving) if !saving.is_finished() => return,
            Some(_) => self.settle().await,
            None => {}
        }
        let seq = projection.seq();
        if seq == 0 || seq < self.saved_seq.saturating_add(min_new.max(1)) {
            return;
        }
        let bytes = match projection.to_checkpoint() {
            Ok(bytes) => bytes,
            Err(error) => {
                // The last checkpoint stays; a restart replays the log from there.
                warn!(%error, seq, "cannot save the views checkpoint");
                return;
            }
        };
        let checkpoint = Checkpoint {
            seq,
            entry_checksum: last.checksum,
            state: bytes,
        };
        let size = checkpoint.state.len();
        let every = self.checkpoints.retain_every;
        let retain = every > 0 && seq >= self.retained_seq.saturating_add(every);
        if retain {
            self.retained_seq = seq;
        }
        let until = last.recorded_until;
        self.saving = Some(tokio::task::spawn_blocking(move || {
            let saved = if retain {
                store.save_retained(&checkpoint, until)
            } else {
                store.save(&checkpoint, until)
            };
            (seq, size, saved)
        }));
    }

    /// Saves a checkpoint at the current seq, if it is new, and waits until it is written: at
    /// start-up and at stop.
    async fn save_now(&mut self, projection: &Projection, last: LastEntry) {
        self.settle().await;
        self.save(projection, last, 1).await;
        self.settle().await;
    }

    /// The seq at which the next checkpoint is kept for as-of views (`u64::MAX`: none are).
    fn next_retained_seq(&self) -> u64 {
        match (
            self.checkpoints.store.is_some(),
            self.checkpoints.retain_every,
        ) {
            (true, every) if every > 0 => self.retained_seq.saturating_add(every),
            _ => u64::MAX,
        }
    }

    /// Waits for the checkpoint being saved, if any, and records how it went.
    async fn settle(&mut self) {
        let Some(saving) = self.saving.take() else {
            return;
        };
        match saving.await {
            Ok((seq, bytes, Ok(()))) => {
                self.saved_seq = seq;
                metrics::gauge!(m::CHECKPOINT_SEQ).set(seq as f64);
                debug!(seq, bytes, "views checkpoint saved");
            }
            Ok((_, _, Err(error))) => warn!(%error, "cannot save the views checkpoint"),
            Err(error) => warn!(%error, "cannot save the views checkpoint"),
        }
    }
}

/// Publishes a batch whose charts have been drawn.
async fn publish_drawn(
    drawn: Result<Drawn, tokio::task::JoinError>,
    nats: &async_nats::Client,
    views: &mut Views,
) {
    match drawn {
        Ok(drawn) => publish(views.announce(drawn), nats).await,
        // The deltas are lost; their consumers see the gap and take a snapshot.
        Err(error) => {
            warn!(%error, "drawing a batch's charts failed; its deltas are not published")
        }
    }
}

/// Publishes a batch's alerts, then each delta in both encodings.
async fn publish(ready: Ready, nats: &async_nats::Client) {
    let max_payload = nats.server_info().max_payload;
    for alert in &ready.alerts {
        let subject = subjects::alert(&alert.scope);
        match nats
            .publish(subject, Bytes::from(Encoding::Json.encode(alert)))
            .await
        {
            Ok(()) => {
                metrics::counter!(m::ALERTS_PUBLISHED, "kind" => alert.kind.as_str()).increment(1)
            }
            Err(error) => warn!(%error, "cannot publish an alert"),
        }
    }
    for delta in &ready.deltas {
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
            let body = encoding.encode(delta);
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
                Ok(()) => metrics::counter!(m::DELTAS_PUBLISHED, "encoding" => name).increment(1),
                Err(error) => warn!(%error, encoding = name, "cannot publish a delta"),
            }
        }
    }
}

/// A snapshot request, read and checked against the views now.
#[derive(Debug)]
struct Asked {
    scope: String,
    request: SnapshotRequest,
    encoding: Encoding,
}

/// Reads a snapshot request; an error says what to send instead.
fn read_snapshot_request(message: &Message, views: &Views) -> Result<Asked, ServiceError> {
    let encoding = Encoding::of(message.headers.as_ref());
    let Some(scope) = subjects::scope_of_snapshot(&message.subject) else {
        return Err(ServiceError::new(
            Status::BadRequest,
            "not oversight.view.<scope>.snapshot",
        ));
    };
    let request: SnapshotRequest = if message.payload.is_empty() {
        SnapshotRequest::default()
    } else {
        let read = match encoding {
            Encoding::Postcard => {
                SnapshotRequest::from_postcard(&message.payload).map_err(|e| e.to_string())
            }
            Encoding::Json => encoding.decode(&message.payload),
        };
        read.map_err(|why| {
            ServiceError::new(
                Status::BadRequest,
                format!("not a snapshot request ({why}); send {{}} or {{\"as_of_seq\": 700, \"geography\": \"current\"}}"),
            )
        })?
    };
    let projection = views.projection();
    if !projection.knows_scope(scope) {
        return Err(ServiceError::new(
            Status::NotFound,
            format!("no scope `{scope}`: use national, unassigned, a region (Y56), a system or an organisation code"),
        ));
    }
    if let (Some(seq), Some(at)) = (request.as_of_seq, request.as_of) {
        return Err(ServiceError::new(
            Status::BadRequest,
            format!("both as_of_seq ({seq}) and as_of ({at}) given: send one of them"),
        ));
    }
    if let (Some(from), Some(to)) = (request.from, request.to) {
        if from.first_day() > to.last_day() {
            return Err(ServiceError::new(
                Status::BadRequest,
                format!("from ({from}) is after to ({to}): ask for from before to"),
            ));
        }
    }
    if request.last == Some(0) {
        return Err(ServiceError::new(
            Status::BadRequest,
            "last = 0 asks for no periods: leave it out for every period, or ask for 1 or more",
        ));
    }
    if let Some(id) = &request.methodology {
        if !projection.methodologies().contains_key(id) {
            let known: Vec<&str> = projection
                .methodologies()
                .keys()
                .map(String::as_str)
                .collect();
            return Err(ServiceError::new(
                Status::NotFound,
                format!(
                    "no methodology `{}`: use one of {}",
                    proto_schema::printable(id),
                    known.join(", ")
                ),
            ));
        }
    }
    if let Some(seq) = request.as_of_seq.filter(|seq| *seq > projection.seq()) {
        return Err(ServiceError::new(
            Status::BadRequest,
            format!(
                "as_of_seq {seq} is beyond the last seq in the views ({}): leave it out for the view now",
                projection.seq()
            ),
        ));
    }
    Ok(Asked {
        scope: scope.to_owned(),
        request,
        encoding,
    })
}

/// Answers one snapshot request; returns its outcome, for the metrics. A live view is built at
/// once; an as-of view is replayed from the log on a task of its own.
async fn answer_snapshot(
    nats: &async_nats::Client,
    log: &LogSource,
    views: &Views,
    retained: Option<Arc<CheckpointStore>>,
    as_of_permits: &Arc<Semaphore>,
    message: Message,
) -> &'static str {
    let Some(reply) = message.reply.clone() else {
        return "no_reply_subject";
    };
    let asked = match read_snapshot_request(&message, views) {
        Ok(asked) => asked,
        Err(error) => {
            let outcome = match error.status {
                Status::NotFound => "unknown_scope",
                _ => "bad_request",
            };
            reply_error(nats, reply, &error).await;
            return outcome;
        }
    };
    let analytics = views.analytics();
    // The view as of the last seq is the live one: a view's later pages ask so, and cost no
    // replay while nothing has been committed since the first.
    let now = views.projection().seq();
    if asked.request.as_of.is_none() && asked.request.as_of_seq.is_none_or(|seq| seq == now) {
        metrics::counter!(m::SUBSCRIBERS_SEEN).increment(1);
        let view = view_of(views.projection(), &asked, analytics);
        send_view(nats, reply, asked.encoding, &view).await;
        return "live";
    }
    let Ok(permit) = Arc::clone(as_of_permits).try_acquire_owned() else {
        let error = ServiceError::new(
            Status::Unavailable,
            format!("{AS_OF_AT_ONCE} as-of views are being built already: ask again shortly"),
        );
        reply_error(nats, reply, &error).await;
        return "busy";
    };
    let until_seq = views.projection().seq();
    let (nats, log) = (nats.clone(), log.clone());
    tokio::spawn(async move {
        let _permit = permit;
        match replay(&log, retained, until_seq, &asked.request).await {
            Ok(past) => {
                let view = view_of(&past, &asked, analytics);
                send_view(&nats, reply, asked.encoding, &view).await;
            }
            Err(error) => {
                let error = ServiceError::new(Status::Unavailable, format!("{error:#}"));
                reply_error(&nats, reply, &error).await;
            }
        }
    });
    "as_of"
}

fn view_of(projection: &Projection, asked: &Asked, analytics: Analytics) -> View {
    let mut view = whole_view_of(projection, asked, analytics);
    if let Some(id) = &asked.request.methodology {
        // An as-of view may predate the methodology's definition: then it has none to show.
        view.oversight = projection.oversight(
            &asked.scope,
            asked.request.geography,
            id,
            asked.request.quarter,
        );
    }
    if let Some(after) = &asked.request.after_metric {
        view.rest_after(after);
    }
    view
}

fn whole_view_of(projection: &Projection, asked: &Asked, analytics: Analytics) -> View {
    let (scope, geography) = (&asked.scope, asked.request.geography);
    match (analytics, asked.request.filters()) {
        (analytics, true) => {
            projection.view_narrowed(scope, geography, &asked.request, analytics == Analytics::On)
        }
        (Analytics::On, false) => projection.view(scope, geography),
        (Analytics::Off, false) => projection.view_without_charts(scope, geography),
    }
}

/// The projection as it stood at the requested point (at most `until_seq`): from the nearest
/// retained checkpoint before it (if it is of this log), then the log after it.
async fn replay(
    log: &LogSource,
    retained: Option<Arc<CheckpointStore>>,
    until_seq: u64,
    request: &SnapshotRequest,
) -> anyhow::Result<Projection> {
    let until_seq = request.as_of_seq.unwrap_or(until_seq).min(until_seq);
    let as_of = request.as_of;
    let mut past = match retained {
        Some(store) => from_retained(log, store, until_seq, as_of)
            .await
            .unwrap_or_default(),
        None => Projection::default(),
    };
    if past.seq() < until_seq {
        let (folded, _) =
            fold_silently(log, past, until_seq, as_of, &mut LastEntry::default()).await;
        past = folded.context("replaying the log for an as-of snapshot")?;
    }
    Ok(past)
}

/// The retained checkpoint nearest before the point asked for, if there is one and it is of
/// this log (the entry at its seq is the one it saw).
async fn from_retained(
    log: &LogSource,
    store: Arc<CheckpointStore>,
    until_seq: u64,
    as_of: Option<Timestamp>,
) -> Option<Projection> {
    let found = tokio::task::spawn_blocking(move || store.retained_for(until_seq, as_of))
        .await
        .ok()?;
    let checkpoint = match found {
        Ok(found) => found?,
        Err(error) => {
            warn!(%error, "cannot read the retained checkpoints; replaying the whole log");
            return None;
        }
    };
    let page = log.read(checkpoint.seq, 1).await.ok()?;
    let entry = page.entries.first()?;
    if entry.seq != checkpoint.seq || entry.checksum != checkpoint.entry_checksum {
        return None;
    }
    tokio::task::spawn_blocking(move || Projection::from_checkpoint(&checkpoint.state))
        .await
        .ok()?
}

async fn send_view(
    nats: &async_nats::Client,
    reply: async_nats::Subject,
    encoding: Encoding,
    view: &View,
) {
    let mut body = encoding.encode(view);
    let max_payload = nats.server_info().max_payload;
    if body.len() > max_payload {
        // Paged: as many metrics as fit, and where the rest resume.
        let mut page = view.clone();
        if page
            .page_to_fit(max_payload, |v| encoding.encode(v).len())
            .is_ok()
        {
            body = encoding.encode(&page);
        }
    }
    if body.len() > max_payload {
        let (name, instead) = match encoding {
            Encoding::Json => (
                "JSON",
                "one metric alone does not fit: ask for postcard (no Content-Type header), fewer periods (\"from\", \"to\", \"last\"), a smaller scope,",
            ),
            Encoding::Postcard => (
                "postcard",
                "one metric alone does not fit: ask for fewer periods (from, to, last), a smaller scope,",
            ),
        };
        let error = ServiceError::new(
            Status::TooLarge,
            format!(
                "the view of {} is {} bytes in {name}, more than this NATS server's max_payload of {max_payload}: {instead} or raise max_payload in the server's configuration",
                view.scope,
                body.len(),
            ),
        );
        reply_error(nats, reply, &error).await;
        return;
    }
    if let Err(error) = nats.publish(reply, Bytes::from(body)).await {
        warn!(%error, "cannot send a snapshot");
    }
}
