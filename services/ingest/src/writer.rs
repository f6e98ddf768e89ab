//! The single writer: drains every pending return into one write transaction, commits it with one
//! fsync, and only then hands back the receipts. Throughput comes from the batch, never from
//! weakening durability.

use event_log::{Appended, Appender, EventLog, LogError};
use proto_schema::{
    Envelope, Event, Notice, NoticeCode, Plan, PlanSubmitted, Reason, ReasonCode, Receipt, Return,
    ReturnSubmitted, Timestamp,
};
use tokio::sync::mpsc;

/// Validated work waiting for the writer, with whatever the caller needs to answer it.
#[derive(Debug)]
pub struct Pending<R> {
    pub work: Work,
    pub reply: R,
}

/// What the writer appends.
#[derive(Debug)]
pub enum Work {
    /// A return from an organisation.
    Return(Return),
    /// A plan from an organisation.
    Plan(Plan),
    /// A reference-data command (a registration or a move), already checked.
    Reference { sender: String, event: Event },
}

/// One committed (or failed) batch: a receipt per pending return, in the order received, and the
/// envelopes now durable in the log, in seq order.
#[derive(Debug)]
pub struct Committed<R> {
    pub receipts: Vec<(R, Receipt)>,
    pub envelopes: Vec<Envelope>,
    /// The bytes stored for each envelope, as published on `oversight.log.events`.
    pub encoded: Vec<Vec<u8>>,
    /// Set on the last batch of a writer whose storage failed: it stops after this one (every
    /// submitter of it told to retry, nothing stored), so the service restarts and reopens the
    /// log once the disk allows, rather than answering busy forever.
    pub storage_failed: Option<String>,
}

/// Limits of the writer.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Most returns in one transaction.
    pub max_batch: usize,
    /// What a submitter is told to wait when a commit fails and nothing was stored.
    pub retry_after_ms: u32,
}

/// Runs the writer on its own thread until `pending` closes, then returns the log.
pub fn spawn<R: Send + 'static>(
    mut log: EventLog,
    mut pending: mpsc::Receiver<Pending<R>>,
    committed: mpsc::UnboundedSender<Committed<R>>,
    config: WriterConfig,
) -> std::io::Result<std::thread::JoinHandle<EventLog>> {
    std::thread::Builder::new()
        .name("log-writer".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(config.max_batch);
            while let Some(first) = pending.blocking_recv() {
                batch.push(first);
                while batch.len() < config.max_batch {
                    match pending.try_recv() {
                        Ok(next) => batch.push(next),
                        Err(_) => break,
                    }
                }
                let outcome = commit_batch(&mut log, &mut batch, config);
                let failed = outcome.storage_failed.is_some();
                // The receiving side only closes at shutdown, after the writer; nothing to do then.
                let _ = committed.send(outcome);
                if failed {
                    break;
                }
            }
            log
        })
}

/// Commits one batch; on a storage failure every submitter is told to retry and nothing is kept.
fn commit_batch<R>(
    log: &mut EventLog,
    batch: &mut Vec<Pending<R>>,
    config: WriterConfig,
) -> Committed<R> {
    let recorded_at = Timestamp::now();
    let started_at = std::time::Instant::now();
    let result = log.append_batch_encoded(|appender| {
        batch
            .iter()
            .map(|p| match &p.work {
                Work::Return(ret) => decide(appender, ret, recorded_at),
                Work::Plan(plan) => decide_plan(appender, plan, recorded_at),
                Work::Reference { sender, event } => {
                    let seq = appender.append(recorded_at, sender, event.clone())?.seq;
                    Ok(Receipt::accepted(seq, 1, false))
                }
            })
            .collect::<Result<Vec<_>, _>>()
    });
    let started = batch.len();
    match result {
        Ok((receipts, Appended { envelopes, encoded })) => {
            let took = started_at.elapsed();
            crate::metrics::batch_committed(started, took.as_secs_f64());
            tracing::debug!(
                returns = started,
                micros = took.as_micros() as u64,
                appended = envelopes.len(),
                last_seq = log.last_seq(),
                "batch committed"
            );
            Committed {
                receipts: batch.drain(..).map(|p| p.reply).zip(receipts).collect(),
                envelopes,
                encoded,
                storage_failed: None,
            }
        }
        Err(error) => {
            crate::metrics::batch_failed();
            tracing::error!(%error, returns = started, "batch not committed; submitters told to retry");
            let busy = Receipt::Busy {
                retry_after_ms: config.retry_after_ms,
            };
            Committed {
                receipts: batch.drain(..).map(|p| (p.reply, busy.clone())).collect(),
                envelopes: Vec::new(),
                encoded: Vec::new(),
                storage_failed: error.is_storage().then(|| error.to_string()),
            }
        }
    }
}

/// The receipt for one return: a duplicate of an earlier acceptance, a conflict with it, or a new
/// entry at the next revision of its (organisation, collection, period).
fn decide(
    appender: &mut Appender<'_>,
    ret: &Return,
    recorded_at: Timestamp,
) -> Result<Receipt, LogError> {
    let same = |event: &Event| match event {
        Event::ReturnSubmitted(earlier) if earlier.ret == *ret => Some(earlier.revision),
        _ => None,
    };
    let latest_at = appender.latest_revision_at(&ret.org, &ret.collection, ret.period)?;
    let latest = latest_at.map_or(0, |r| r.revision);
    if let Some(mut receipt) = earlier_receipt(appender, &ret.org, &ret.submission_id, same)? {
        if let Receipt::Accepted {
            revision, notices, ..
        } = &mut receipt
        {
            if latest > *revision {
                notices.push(Notice {
                    code: NoticeCode::Superseded,
                    message: format!(
                        "this is revision {revision} of {} {} {}; revision {latest}, sent since, is the one in force",
                        ret.org, ret.collection, ret.period
                    ),
                });
            }
        }
        return Ok(receipt);
    }
    let revision = latest + 1;
    // What the revision before had that this one leaves out, so the submitter hears of it.
    let dropped: Vec<String> = match latest_at.and_then(|r| r.seq) {
        Some(seq) => match appender.envelope(seq)? {
            Some(Envelope {
                event: Event::ReturnSubmitted(earlier),
                ..
            }) => earlier
                .ret
                .values
                .iter()
                .map(|(metric, _)| metric)
                .filter(|metric| ret.value(metric).is_none())
                .cloned()
                .collect(),
            _ => Vec::new(),
        },
        None => Vec::new(),
    };
    let event = Event::ReturnSubmitted(ReturnSubmitted {
        revision,
        ret: ret.clone(),
    });
    let mut receipt = append_revision(appender, recorded_at, &ret.org, event, revision)?;
    if let (false, Receipt::Accepted { notices, .. }) = (dropped.is_empty(), &mut receipt) {
        notices.push(Notice {
            code: NoticeCode::MetricsDropped,
            message: format!(
                "revision {revision} leaves out {} that revision {latest} had: for {} {} they now have no figure from {}",
                dropped.join(", "),
                ret.collection,
                ret.period,
                ret.org
            ),
        });
    }
    Ok(receipt)
}

/// The receipt for one plan, by the rules of returns: a duplicate, a conflict, or the next
/// revision of its (organisation, plan).
fn decide_plan(
    appender: &mut Appender<'_>,
    plan: &Plan,
    recorded_at: Timestamp,
) -> Result<Receipt, LogError> {
    let same = |event: &Event| match event {
        Event::PlanSubmitted(earlier) if earlier.plan == *plan => Some(earlier.revision),
        _ => None,
    };
    if let Some(receipt) = earlier_receipt(appender, &plan.org, &plan.submission_id, same)? {
        return Ok(receipt);
    }
    let revision = appender.latest_plan_revision(&plan.org, &plan.plan)? + 1;
    let event = Event::PlanSubmitted(PlanSubmitted {
        revision,
        plan: plan.clone(),
    });
    append_revision(appender, recorded_at, &plan.org, event, revision)
}

/// When the submission id was accepted before: the original receipt if `same` finds the same
/// content there (and gives its revision), else a conflict. `None` for a new id.
fn earlier_receipt(
    appender: &Appender<'_>,
    org: &str,
    submission_id: &str,
    same: impl Fn(&Event) -> Option<u32>,
) -> Result<Option<Receipt>, LogError> {
    let Some(seq) = appender.submission_seq(org, submission_id)? else {
        return Ok(None);
    };
    let earlier = appender.envelope(seq)?;
    Ok(Some(match earlier.as_ref().and_then(|e| same(&e.event)) {
        Some(revision) => Receipt::accepted(seq, revision, true),
        None => Receipt::rejected(Reason::new(
            ReasonCode::SubmissionConflict,
            "submission_id",
            format!("submission id `{submission_id}` was accepted at seq {seq} with other content; choose a new id for a new revision"),
        )),
    }))
}

fn append_revision(
    appender: &mut Appender<'_>,
    recorded_at: Timestamp,
    org: &str,
    event: Event,
    revision: u32,
) -> Result<Receipt, LogError> {
    let seq = appender.append(recorded_at, org, event)?.seq;
    Ok(Receipt::accepted(seq, revision, false))
}

/// Appends reference events in one durable transaction (seeding, and later the admin commands).
pub fn append_reference(
    log: &mut EventLog,
    sender: &str,
    events: Vec<Event>,
) -> Result<Vec<Envelope>, LogError> {
    let recorded_at = Timestamp::now();
    log.append_batch(|appender| {
        for event in events {
            appender.append(recorded_at, sender, event)?;
        }
        Ok(())
    })
    .map(|((), envelopes)| envelopes)
}
