//! `oversight serve`: intake of returns over NATS into the event log, and catch-up reads.
//!
//! Flow: the intake task decodes and validates each request, then hands it to the bounded
//! pending queue (full: "busy", never a silent drop). The writer thread commits batches durably.
//! The responder task answers each submitter and publishes the committed envelopes, in that
//! order, only after the commit returned.

use std::future::Future;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use anyhow::Context;
use async_nats::{Client, Subject, Subscriber};
use bytes::Bytes;
use event_log::{CheckpointStore, EventLog, LogReader};
use futures_util::StreamExt;
use ingest::seed::{seed_events, ReferenceFiles};
use ingest::writer::{self, Committed, Pending, WriterConfig};
use ingest::Reference;
use projector::Analytics;
use proto_schema::{Event, Receipt};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tracing::{info, warn};

mod log_reads;
mod requests;

use log_reads::serve_log_reads;
use requests::{check_request, Checked};

use crate::config::Config;
use crate::data_dir::{DataDir, LogPresence};
use crate::log_source::LogSource;
use crate::subjects;
use crate::supervise::{Failures, Supervisor};
use crate::wire::{reply_error, Encoding, ServiceError};

/// Where and how to answer one submitter.
#[derive(Debug)]
pub struct ReplyTo {
    subject: Option<Subject>,
    encoding: Encoding,
    /// A reference-data command rather than a return (they are counted apart).
    admin: bool,
}

/// Opens (and on first start seeds) the log, then serves until `shutdown` completes. Shutdown
/// stops intake first, lets the writer commit and answer what it already holds, then returns.
/// The shutdown future is a parameter so that tests and the bench pass their own.
pub async fn run(config: Config, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let mut running = start(config).await?;
    let failure = tokio::select! {
        () = shutdown => None,
        why = running.failures.first() => Some(why),
    };
    if let Some(why) = &failure {
        tracing::error!(%why, "a part of the service stopped: stopping the rest, so that it is restarted whole");
    }
    let stopped = running.shutdown().await;
    match failure {
        Some(why) => Err(anyhow::anyhow!(
            "{why}; the service stopped whole rather than run on without it (a supervisor such as systemd restarts it)"
        )),
        None => stopped,
    }
}

/// A supervised task of the service.
type Task = tokio::task::JoinHandle<anyhow::Result<()>>;

/// A task that cannot fail, as one that can.
async fn ok(task: impl Future<Output = ()>) -> anyhow::Result<()> {
    task.await;
    Ok(())
}

/// Waits for a task that is stopping, saying how it ended if not well.
async fn joined(name: &str, task: Task) {
    match task.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => warn!(error = %format!("{error:#}"), "{name} stopped with an error"),
        Err(error) => warn!(%error, "{name} could not be joined"),
    }
}

/// A service started by [`start`]: every task it runs, and what stops each, in the order
/// [`Running::shutdown`] stops them.
#[derive(Debug)]
pub struct Running {
    client: Client,
    stops: Stops,
    /// One per subject family; each ends once its subscription has drained.
    intakes: Vec<(&'static str, Task)>,
    /// The log writer's thread: it ends when every intake has dropped its sender, after
    /// committing what it holds, and hands the log back.
    writer: std::thread::JoinHandle<EventLog>,
    /// Answers each submitter and feeds the views; ends when the writer does.
    responder: Task,
    views: Option<Task>,
    log_reads: Task,
    disk_watch: Task,
    /// The web pages; they stop with intake, as nobody should read a page of a stopping service.
    web: Option<Task>,
    /// Where a task that ends before the service is stopping is heard.
    failures: Failures,
    /// The longest any step that needs the NATS server waits for it.
    step_limit: Duration,
}

/// What stops each part, as a tree: cancelling the root stops every part at once.
#[derive(Debug)]
struct Stops {
    root: CancellationToken,
    /// Step 1: intake stops taking requests (and the disk watch with it).
    intake: CancellationToken,
    /// Step 3, only when the views cannot reach the last seq in time.
    views: CancellationToken,
    /// After the views: log reads, which the views may need until then.
    reads: CancellationToken,
}

impl Stops {
    fn new() -> Stops {
        let root = CancellationToken::new();
        Stops {
            intake: root.child_token(),
            views: root.child_token(),
            reads: root.child_token(),
            root,
        }
    }
}

/// Opens (and on first start seeds) the log, connects to NATS and starts every task.
pub async fn start(config: Config) -> anyhow::Result<Running> {
    std::fs::create_dir_all(&config.data.dir).with_context(|| {
        format!(
            "cannot create the data directory {}",
            config.data.dir.display()
        )
    })?;
    check_free_space(&config)?;
    let data_dir = DataDir::new(&config.data.dir, &config.log_path(), &config.views_path());
    if data_dir.presence()? == LogPresence::Present {
        info!(log = %config.log_path().display(), "opening the event log");
    }
    let mut log = open_verified(&config)?;
    if log.last_seq() == 0 {
        data_dir.refuse_if_held("without entries")?;
        seed(&mut log, &config)?;
    }
    data_dir.mark_held(log.last_seq())?;
    let reader = log.reader();
    let mut loaded = load_reference(&reader).await?;
    if !loaded.has_collections() {
        define_collections(&mut log, &mut loaded)?;
    }
    if !loaded.has_methodologies() {
        define_methodologies(&mut log, &mut loaded, &config)?;
    }
    let reference = Arc::new(RwLock::new(loaded));
    info!(last_seq = log.last_seq(), data = %config.data.dir.display(), "event log open");

    // Bound before anything is served, so an address in use stops the start, not a page later.
    let web_listener = if config.web.enabled {
        let access = match &config.web.users_file {
            Some(file) => crate::web::access::Access::from_file(file, config.web.secure_cookies)?,
            None => crate::web::access::Access::open(),
        };
        crate::web::check_addr(config.web.addr, &access)?;
        Some((crate::web::bind(config.web.addr).await?, access))
    } else {
        None
    };
    let client = crate::service_nats::connect_service(&config.nats, "oversight-serve").await?;
    let stops = Stops::new();

    let (pending_tx, pending_rx) = mpsc::channel(config.intake.queue_depth as usize);
    // Unbounded is safe: the writer produces one batch per batch it took from the bounded queue.
    let (committed_tx, committed_rx) = mpsc::unbounded_channel();
    let writer_config = WriterConfig {
        max_batch: config.intake.max_batch as usize,
        retry_after_ms: config.intake.busy_retry_after_ms,
    };
    let writer = writer::spawn(log, pending_rx, committed_tx, writer_config)
        .context("cannot start the log writer")?;
    let (feed_tx, feed_rx) = mpsc::channel(VIEWS_FEED_BATCHES);
    let (supervisor, failures) = Supervisor::new(stops.intake.clone());
    let responder = supervisor.spawn(
        "the log writer",
        respond(
            client.clone(),
            committed_rx,
            Arc::clone(&reference),
            feed_tx,
        ),
    );

    let reads = client
        .queue_subscribe(subjects::LOG_READ, subjects::LOG_READ_QUEUE.into())
        .await?;
    let returns = client
        .queue_subscribe(subjects::RETURNS_ALL, subjects::LOG_READ_QUEUE.into())
        .await?;
    // One intake per subject family, so a flood of one never queues the others behind it.
    let mut intakes = Vec::new();
    for subject in [
        subjects::SUBMIT_ALL,
        subjects::PLAN_ALL,
        subjects::ADMIN_ALL,
    ] {
        let subscription = client
            .queue_subscribe(subject, subjects::INGEST_QUEUE.into())
            .await?;
        intakes.push((
            subject,
            supervisor.spawn(
                "intake",
                ok(intake(
                    client.clone(),
                    subscription,
                    pending_tx.clone(),
                    Arc::clone(&reference),
                    config.clone(),
                    stops.intake.clone(),
                )),
            ),
        ));
    }
    // The writer stops once every intake has dropped its sender.
    drop(pending_tx);
    // Log reads outlive intake: the views may need them to reach the last seq at shutdown.
    let log_reads = supervisor.spawn(
        "log reads",
        ok(serve_log_reads(
            client.clone(),
            reads,
            returns,
            reader.clone(),
            config.intake.log_read_max,
            stops.reads.clone(),
        )),
    );
    let views = if !config.views.enabled {
        drop(feed_rx);
        None
    } else {
        let checkpoints = crate::project::Checkpoints {
            store: Some(Arc::new(
                CheckpointStore::open(&config.views_path())
                    .context("opening the views checkpoint")?,
            )),
            every: config.views.checkpoint_every,
            retain_every: config.views.retain_every,
        };
        let analytics = if config.views.analytics {
            Analytics::On
        } else {
            Analytics::Off
        };
        Some(supervisor.spawn(
            "the views",
            crate::project::run(
                crate::client::Client::over(client.clone()),
                LogSource::Local(reader),
                stops.views.clone(),
                checkpoints,
                crate::project::Feed::Local(feed_rx),
                analytics,
            ),
        ))
    };
    let disk_watch = supervisor.spawn(
        "the disk watch",
        ok(watch_disk(config.data.dir.clone(), stops.intake.clone())),
    );
    let web = match web_listener {
        Some((listener, access)) => {
            let stop = stops.intake.clone();
            Some(supervisor.spawn(
                "the web pages",
                crate::web::serve(
                    listener,
                    crate::client::Client::over(client.clone()),
                    Arc::clone(&reference),
                    access,
                    async move { stop.cancelled().await },
                ),
            ))
        }
        None => None,
    };
    info!(nats = %config.nats.url, "serving");
    Ok(Running {
        client,
        stops,
        intakes,
        writer,
        responder,
        views,
        log_reads,
        disk_watch,
        web,
        failures,
        step_limit: config.shutdown_step_limit(),
    })
}

impl Running {
    /// Stops the service in a fixed order, each step that needs the NATS server waiting for it
    /// at most the step limit: (1) intake, (2) the writer and every receipt, (3) the views to
    /// the last seq and their checkpoint, (4) NATS, (5) nothing for metrics, which are pulled.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        let Running {
            client,
            stops,
            intakes,
            writer,
            mut responder,
            views,
            log_reads,
            disk_watch,
            web,
            failures: _,
            step_limit,
        } = self;
        info!("shutting down (1/5): intake stops taking requests and answers what it received");
        stops.intake.cancel();
        for (subject, task) in intakes {
            joined(&format!("intake of {subject}"), task).await;
        }
        if let Some(web) = web {
            // An open live page's connection would hold the server's graceful end forever.
            match tokio::time::timeout(step_limit, web).await {
                Ok(Ok(Err(error))) => {
                    warn!(error = %format!("{error:#}"), "the web pages stopped with an error")
                }
                Ok(_) => {}
                Err(_) => warn!("the web pages' connections did not close in time"),
            }
        }

        info!("shutting down (2/5): the writer commits what it holds; every submitter is answered");
        // The writer commits everything it was handed whatever NATS is doing; only the replies
        // and publishes after it depend on the server, so only they are bounded in time.
        let log = tokio::task::spawn_blocking(move || writer.join())
            .await
            .context("writer join")?
            .map_err(|_| anyhow::anyhow!("the log writer panicked"))?;
        let last_seq = log.last_seq();
        if tokio::time::timeout(step_limit, &mut responder)
            .await
            .is_err()
        {
            warn!("NATS did not take the last receipts in time; those submitters will retry");
            // Its end closes the views' feed.
            responder.abort();
        }

        if let Some(mut views) = views {
            info!(
                last_seq,
                "shutting down (3/5): the views reach the last seq and checkpoint"
            );
            // The views end when the feed closes, after the last batch; their stop is only the
            // fallback when they cannot get there in time.
            let outcome = match tokio::time::timeout(step_limit, &mut views).await {
                Ok(outcome) => outcome,
                Err(_) => {
                    warn!("the views did not reach the last seq in time; they checkpoint where they are");
                    stops.views.cancel();
                    views.await
                }
            };
            match outcome {
                Ok(Ok(())) => {}
                Ok(Err(error)) => {
                    warn!(error = %format!("{error:#}"), "the views stopped with an error")
                }
                Err(error) => warn!(%error, "the views task failed"),
            }
        }
        stops.reads.cancel();
        joined("log reads", log_reads).await;
        joined("the disk watch", disk_watch).await;

        info!("shutting down (4/5): NATS drains");
        match tokio::time::timeout(step_limit, client.flush()).await {
            Ok(Ok(())) => {}
            Ok(Err(error)) => warn!(%error, "cannot flush the last replies"),
            Err(_) => warn!("NATS did not take the last replies in time"),
        }
        if let Err(error) = client.drain().await {
            warn!(%error, "cannot drain the NATS connection");
        }
        // Everything is stopped by now; the root says so to anything that holds a token.
        stops.root.cancel();
        // (5/5) Metrics are pulled by Prometheus: nothing is buffered here to flush.
        info!(last_seq, "stopped");
        Ok(())
    }
}

/// Bytes free (for this user) and in all on the file system holding `dir`.
fn disk_space(dir: &std::path::Path) -> nix::Result<(u64, u64)> {
    let fs = nix::sys::statvfs::statvfs(dir)?;
    let block = fs.fragment_size() as u64;
    Ok((
        fs.blocks_available() as u64 * block,
        fs.blocks() as u64 * block,
    ))
}

/// Refuses to start on a disk too full to take commits.
fn check_free_space(config: &Config) -> anyhow::Result<()> {
    let dir = &config.data.dir;
    let (free, _) = disk_space(dir)
        .with_context(|| format!("cannot measure the free space under {}", dir.display()))?;
    let needed = config.data.min_free_bytes;
    if free < needed {
        anyhow::bail!(
            "the disk holding {} has {} MiB free; at least {} MiB are needed (data.min_free_bytes): free some space or move the data directory",
            dir.display(),
            free / (1024 * 1024),
            needed.div_ceil(1024 * 1024)
        );
    }
    Ok(())
}

/// Opens the log, verifying all of it first (a damaged entry or link refuses it), and says so.
fn open_verified(config: &Config) -> anyhow::Result<EventLog> {
    let started = std::time::Instant::now();
    let mut last_said = started;
    let log = EventLog::open_with_progress(&config.log_path(), |walked, last| {
        if last_said.elapsed() >= Duration::from_secs(1) {
            last_said = std::time::Instant::now();
            info!(walked, last_seq = last, "verifying the event log");
        }
    })?;
    let verified = log.verified();
    info!(
        entries = verified.entries,
        head = %event_log::hex(&verified.head),
        millis = started.elapsed().as_millis() as u64,
        "event log verified: every entry and link holds"
    );
    if verified.unlinked > 0 {
        info!(
            entries = verified.unlinked,
            "entries written before links were kept are linked now"
        );
    }
    if let Some(why) = &verified.lookup_damage {
        tracing::error!(
            %why,
            "the look-up tables disagreed with the log and were rebuilt from it; check the disk"
        );
    }
    Ok(log)
}

fn seed(log: &mut EventLog, config: &Config) -> anyhow::Result<()> {
    let files = match &config.data.reference_dir {
        Some(dir) => ReferenceFiles::from_dir(dir)?,
        None => ReferenceFiles::bundled(),
    };
    let (events, summary) = seed_events(&files)?;
    let appended = writer::append_reference(log, "oversight-seed", events)?;
    info!(
        entries = appended.len(),
        regions = summary.regions,
        systems = summary.systems,
        organisations = summary.organisations,
        metrics = summary.metrics,
        collections = summary.collections,
        methodologies = summary.methodologies,
        trust_types = summary.trust_types,
        skipped_outside_england = summary.skipped_outside_england,
        "empty log seeded with reference data"
    );
    Ok(())
}

/// Appends reference events the service itself adds to an older log, and applies them to
/// intake's reference data.
fn append_seed(
    log: &mut EventLog,
    reference: &mut Reference,
    events: Vec<Event>,
) -> anyhow::Result<Vec<proto_schema::Envelope>> {
    let appended = writer::append_reference(log, "oversight-seed", events)?;
    for envelope in &appended {
        reference.apply_entry(envelope);
    }
    Ok(appended)
}

/// A log written before collections were part of the data standard: data standard v1's are
/// defined in it, once, so returns are checked against them from now on.
fn define_collections(log: &mut EventLog, reference: &mut Reference) -> anyhow::Result<()> {
    let events: Vec<Event> = proto_schema::collections_v1()
        .into_iter()
        .map(Event::CollectionDefined)
        .collect();
    let appended =
        append_seed(log, reference, events).context("defining data standard v1's collections")?;
    info!(
        collections = appended.len(),
        "the log defined no collections: data standard v1's defined"
    );
    Ok(())
}

/// A log written before methodologies were data: the shipped ones are defined in it, once, and
/// the trust types of the reference files set for its organisations (unless some are set).
fn define_methodologies(
    log: &mut EventLog,
    reference: &mut Reference,
    config: &Config,
) -> anyhow::Result<()> {
    let mut events: Vec<Event> = proto_schema::methodologies_v1()
        .into_iter()
        .map(Event::MethodologyDefined)
        .collect();
    if !reference.has_trust_types() {
        let files = match &config.data.reference_dir {
            Some(dir) => ReferenceFiles::from_dir(dir)?,
            None => ReferenceFiles::bundled(),
        };
        events.extend(ingest::seed::trust_type_events(
            &files.trust_types,
            |code| reference.organisation(code).is_some(),
        )?);
    }
    let appended = append_seed(log, reference, events)
        .context("defining the shipped oversight methodologies")?;
    info!(
        entries = appended.len(),
        "the log defined no oversight methodologies: the shipped ones defined"
    );
    Ok(())
}

async fn load_reference(reader: &LogReader) -> anyhow::Result<Reference> {
    let reader = reader.clone();
    let envelopes = tokio::task::spawn_blocking(move || reader.reference_events()).await??;
    let mut reference = Reference::default();
    for envelope in &envelopes {
        reference.apply_entry(envelope);
    }
    let (regions, systems, organisations, metrics) = reference.counts();
    info!(
        regions,
        systems, organisations, metrics, "reference data loaded"
    );
    Ok(reference)
}

/// Decodes, validates and queues each submission; answers at once what it can (rejections, busy).
async fn intake(
    client: Client,
    mut submissions: Subscriber,
    pending: mpsc::Sender<Pending<ReplyTo>>,
    reference: Arc<RwLock<Reference>>,
    config: Config,
    stop: CancellationToken,
) {
    let mut draining = false;
    // Once draining, wait for the server to confirm the unsubscribe only so long: with NATS gone
    // it never will, and nothing more can arrive anyway.
    let drain_deadline = tokio::time::sleep(Duration::MAX);
    tokio::pin!(drain_deadline);
    loop {
        let message = tokio::select! {
            message = submissions.next() => message,
            () = stop.cancelled(), if !draining => {
                draining = true;
                drain_deadline.as_mut().reset(tokio::time::Instant::now() + config.shutdown_step_limit());
                // Stop new deliveries; what the server already sent is still answered below.
                if let Err(error) = submissions.drain().await {
                    warn!(%error, "cannot drain the submit subscription");
                    break;
                }
                continue;
            }
            _ = &mut drain_deadline, if draining => {
                warn!("the submit subscription did not drain in time; intake stops");
                break;
            }
        };
        let Some(message) = message else { break };
        let encoding = Encoding::of(message.headers.as_ref());
        let admin = message.subject.starts_with(subjects::ADMIN_PREFIX);
        if !admin {
            ingest::metrics::received();
        }
        let reply = ReplyTo {
            subject: message.reply.clone(),
            encoding,
            admin,
        };
        let checked = check_request(&message, &reference, &config);
        let receipt = match checked {
            Err(reasons) => Receipt::rejected_for(reasons),
            Ok(Checked::Answer(receipt)) => receipt,
            Ok(Checked::Reply(answer)) => {
                reply_look_up(&client, message.reply, answer).await;
                continue;
            }
            Ok(Checked::Append(work)) => match pending.try_send(Pending { work, reply }) {
                Ok(()) => continue,
                Err(mpsc::error::TrySendError::Full(p)) => {
                    answer(
                        &client,
                        &p.reply,
                        &Receipt::Busy {
                            retry_after_ms: config.intake.busy_retry_after_ms,
                        },
                    )
                    .await;
                    continue;
                }
                Err(mpsc::error::TrySendError::Closed(_)) => break,
            },
        };
        answer(&client, &reply, &receipt).await;
    }
}

/// Committed batches the in-process views may fall behind by before they read the log instead.
const VIEWS_FEED_BATCHES: usize = 1024;

async fn answer(client: &Client, reply: &ReplyTo, receipt: &Receipt) {
    if reply.admin {
        ingest::metrics::admin_answered(receipt);
    } else {
        ingest::metrics::return_answered(receipt);
    }
    let Some(subject) = &reply.subject else {
        return;
    };
    let bytes = Bytes::from(reply.encoding.encode(receipt));
    if let Err(error) = client.publish(subject.clone(), bytes).await {
        warn!(%error, "cannot send a receipt");
    }
}

async fn reply_look_up(
    client: &Client,
    reply: Option<Subject>,
    answer: Result<Vec<u8>, ServiceError>,
) {
    let Some(subject) = reply else { return };
    match answer {
        Ok(bytes) => {
            if let Err(error) = client.publish(subject, Bytes::from(bytes)).await {
                warn!(%error, "cannot send a look-up's answer");
            }
        }
        Err(error) => reply_error(client, subject, &error).await,
    }
}

/// Answers each submitter of a committed batch, then publishes the batch's envelopes in seq order.
async fn respond(
    client: Client,
    mut committed: mpsc::UnboundedReceiver<Committed<ReplyTo>>,
    reference: Arc<RwLock<Reference>>,
    views: mpsc::Sender<Vec<proto_schema::Envelope>>,
) -> anyhow::Result<()> {
    while let Some(batch) = committed.recv().await {
        // Reference changes take effect before anyone hears they were accepted, so a return
        // sent after the receipt is checked against them.
        if batch.envelopes.iter().any(|e| e.event.is_reference()) {
            let mut reference = reference
                .write()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            for envelope in batch.envelopes.iter().filter(|e| e.event.is_reference()) {
                reference.apply_entry(envelope);
            }
        }
        for (reply, receipt) in &batch.receipts {
            answer(&client, reply, receipt).await;
        }
        let max_payload = client.server_info().max_payload;
        // The bytes just stored, packed as they are: one message per commit where it fits.
        for message in proto_schema::LogEvents::pack(&batch.encoded, max_payload) {
            if let Err(error) = client
                .publish(subjects::LOG_EVENTS, Bytes::from(message))
                .await
            {
                warn!(%error, "cannot publish committed entries on oversight.log.events");
            }
        }
        if !batch.envelopes.is_empty() {
            // A full feed drops the batch: the views see the gap and read it from the log.
            let _ = views.try_send(batch.envelopes);
        }
        if let Some(why) = batch.storage_failed {
            anyhow::bail!(
                "the event log's storage failed ({why}); nothing of the last batch was stored and its submitters were told to retry: the service stops, and reopens the log when it starts again (free space or remount the disk first)"
            );
        }
    }
    Ok(())
}

/// How often the free space under the data directory is measured.
const DISK_WATCH_EVERY: Duration = Duration::from_secs(5);

/// Keeps the data directory's disk-space gauges current until shutdown.
async fn watch_disk(data: std::path::PathBuf, stop: CancellationToken) {
    loop {
        match disk_space(&data) {
            Ok((free, size)) => {
                metrics::gauge!(crate::metrics::DATA_DISK_FREE).set(free as f64);
                metrics::gauge!(crate::metrics::DATA_DISK_SIZE).set(size as f64);
            }
            Err(error) => {
                warn!(%error, data = %data.display(), "cannot measure the free disk space")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(DISK_WATCH_EVERY) => {}
            () = stop.cancelled() => break,
        }
    }
}
