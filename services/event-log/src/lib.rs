//! The durable event log: one redb file, `seq -> envelope bytes`, dense from 1 and append-only,
//! plus the look-ups that idempotency and revisions need. The only crate that opens the file.
//!
//! Every append happens inside [`EventLog::append_batch`], one write transaction committed with
//! [`redb::Durability::Immediate`] (fsync) before it returns: a caller that acknowledges after it
//! returns has the data on disk (contract 1).
//!
//! The look-up tables (submission id -> seq, latest revision) are derived from the log. Writing
//! them per batch would scatter each batch over hundreds of random B-tree leaves, so recent
//! entries are kept in memory and, every [`EventLog::index_flush_every`] entries, set aside and
//! written in key order a slice per batch, in the same transactions as the log batches that
//! follow (so no one batch waits for the whole sweep). The last slice records the seq the
//! tables now cover (`index_seq`). Opening the log replays the entries after `index_seq` into
//! memory, so a crash at any instant loses no look-up; a look-up held in memory wins over the
//! tables, so a half-written sweep is harmless.

mod checkpoint;
pub mod metrics;
mod verify;

pub use checkpoint::{Checkpoint, CheckpointStore};
pub use verify::{hex, link, Link, Verified, GENESIS};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use proto_schema::{DecodeError, Envelope, Event, Period, Timestamp, SCHEMA_VERSION};
use redb::{
    Database, Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, Table,
    TableDefinition,
};

/// seq -> postcard envelope.
pub(crate) const LOG: TableDefinition<u64, &[u8]> = TableDefinition::new("log");
/// `org \x1f submission id` -> seq of the accepted return.
pub(crate) const SUBMISSIONS: TableDefinition<&str, u64> = TableDefinition::new("submissions");
/// `org \x1f collection \x1f period` -> latest revision.
pub(crate) const REVISIONS: TableDefinition<&str, u32> = TableDefinition::new("revisions");
/// The same key -> the seq of that latest revision, to read what it held. Written beside
/// REVISIONS from the first build that has it; a key swept before then has none.
pub(crate) const REVISION_SEQS: TableDefinition<&str, u64> = TableDefinition::new("revision_seqs");
/// seqs of reference-data events, so start-up reads the geography without scanning returns.
pub(crate) const REFERENCE: TableDefinition<u64, ()> = TableDefinition::new("reference");
/// seq -> the entry's link: SHA-256 of the link before it and its stored bytes (`verify.rs`).
pub(crate) const CHAIN: TableDefinition<u64, &[u8]> = TableDefinition::new("chain");

/// `index_seq` -> the last seq the SUBMISSIONS and REVISIONS tables cover.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
pub(crate) const INDEX_SEQ: &str = "index_seq";

/// Default for [`EventLog::index_flush_every`].
pub const DEFAULT_INDEX_FLUSH_EVERY: usize = 65_536;

/// Default for [`EventLog::sweep_slice`]: about half a millisecond of B-tree writes (a whole
/// sweep of 65,536 entries took 100–140 ms).
pub const DEFAULT_SWEEP_SLICE: usize = 512;

/// A separator that cannot appear in an ODS code, collection name or period.
const SEP: char = '\u{1f}';

#[derive(Debug, thiserror::Error)]
pub enum LogError {
    #[error("there is no event log at {path}")]
    Missing { path: String },
    #[error("cannot open the event log at {path}")]
    Open {
        path: String,
        source: redb::DatabaseError,
    },
    #[error(
        "the event log at {path} is in use by another process (one writer per data directory)"
    )]
    InUse { path: String },
    #[error("event log storage: {0}")]
    Storage(#[from] redb::Error),
    #[error("log entry {seq} is damaged ({source}); the service will not run on a damaged log: restore the data directory from a backup")]
    Corrupt { seq: u64, source: DecodeError },
    #[error("log entry {seq} was written by a newer version of oversight (schema version {version}; this build reads {SCHEMA_VERSION}): run that version or newer")]
    NewerSchema { seq: u64, version: u16 },
    #[error(
        "the entry for seq {seq} cannot be encoded ({source}); nothing of its batch was stored"
    )]
    Encode {
        seq: u64,
        source: proto_schema::EncodeError,
    },
    #[error("the log is not dense: last seq {last_seq} but {count} entries")]
    NotDense { last_seq: u64, count: u64 },
    #[error("log entry {seq} says it is entry {claims}; the service will not run on a damaged log: restore the data directory from a backup")]
    Misplaced { seq: u64, claims: u64 },
    #[error("the chain of links breaks at log entry {seq}: it, or the link before it, was changed after it was written; the service will not run on a damaged log: restore the data directory from a backup")]
    ChainBroken { seq: u64 },
    #[error("log entry {seq} has no link in the chain, though the entries around it do: links were removed; the service will not run on a damaged log: restore the data directory from a backup")]
    LinkMissing { seq: u64 },
}

impl LogError {
    /// The storage under the log failed (a full disk, a file system turned read-only, an I/O
    /// error): redb must be closed and opened again before it takes another write.
    pub fn is_storage(&self) -> bool {
        matches!(self, LogError::Storage(_))
    }
}

/// The page cache each redb file keeps in memory. redb's own default is 1 GiB a file, which a
/// long-running service fills as its log grows (the soak bench's resident memory rose by 30-40 MB
/// a minute towards it); appends and look-ups touch few pages, and pages beyond it are read
/// again from the operating system's cache.
pub const CACHE_BYTES: usize = 64 * 1024 * 1024;

/// Opens (or creates) a redb file, naming another process that holds it.
fn open_database(path: &Path) -> Result<Database, LogError> {
    redb::Builder::new()
        .set_cache_size(CACHE_BYTES)
        .create(path)
        .map_err(|source| match source {
            redb::DatabaseError::DatabaseAlreadyOpen => LogError::InUse {
                path: path.display().to_string(),
            },
            source => LogError::Open {
                path: path.display().to_string(),
                source,
            },
        })
}

/// An entry that cannot be read: written by a newer build, or damaged.
pub(crate) fn undecodable(seq: u64, source: DecodeError) -> LogError {
    match source {
        DecodeError::UnknownSchemaVersion(version) if version > SCHEMA_VERSION => {
            LogError::NewerSchema { seq, version }
        }
        source => LogError::Corrupt { seq, source },
    }
}

pub(crate) fn storage(e: impl Into<redb::Error>) -> LogError {
    LogError::Storage(e.into())
}

/// The key of a submission id: scoped by organisation, so one trust's ids never collide with
/// another's.
fn submission_key(org: &str, submission_id: &str) -> String {
    format!("{org}{SEP}{submission_id}")
}

fn revision_key(org: &str, collection: &str, period: Period) -> String {
    format!("{org}{SEP}{collection}{SEP}{period}")
}

/// The key of a plan's revision: an empty collection, which no return has, keeps plans apart.
fn plan_revision_key(org: &str, plan: &str) -> String {
    format!("{org}{SEP}{SEP}{plan}")
}

/// The log, open for appending. One per file; appends go through `&mut self`, so there is one
/// writer by construction.
#[derive(Debug)]
pub struct EventLog {
    db: Arc<Database>,
    path: PathBuf,
    last_seq: u64,
    /// The link of the last entry.
    head: Link,
    /// What the walk at open found.
    verified: Verified,
    /// Look-ups of entries after the sweep in progress (or after `index_seq`), not yet in the
    /// tables.
    recent: Recent,
    /// Look-ups set aside and being written into the tables.
    sweeping: Option<Sweep>,
    /// How many recent look-ups are set aside for a sweep into the tables.
    index_flush_every: usize,
    /// How many set-aside look-ups each batch writes, beyond twice its own.
    sweep_slice: usize,
}

/// Look-ups set aside, in key order, and how far they are written.
#[derive(Debug)]
struct Sweep {
    submissions: Vec<(String, u64)>,
    revisions: Vec<(String, Revision)>,
    /// Submissions, then revisions, written so far.
    written: usize,
    /// The last seq they cover: `index_seq` once all are written.
    covers: u64,
}

impl Sweep {
    fn new(recent: Recent, covers: u64) -> Sweep {
        let submissions: Vec<(String, u64)> = recent.submissions.into_iter().collect();
        let revisions: Vec<(String, Revision)> = recent.revisions.into_iter().collect();
        Sweep {
            submissions,
            revisions,
            written: 0,
            covers,
        }
    }

    fn len(&self) -> usize {
        self.submissions.len() + self.revisions.len()
    }

    fn submission(&self, key: &str) -> Option<u64> {
        held_under(&self.submissions, key)
    }

    fn revision(&self, key: &str) -> Option<Revision> {
        held_under(&self.revisions, key)
    }
}

/// The value under `key` in a list sorted by key.
fn held_under<T: Copy>(sorted: &[(String, T)], key: &str) -> Option<T> {
    let at = sorted.binary_search_by(|(k, _)| k.as_str().cmp(key)).ok()?;
    Some(sorted[at].1)
}

/// Look-ups held in memory: submission key -> seq, revision key -> revision. Kept in key order,
/// so setting them aside for a sweep needs no sort and they grow without ever being rehashed:
/// either, on tens of thousands of keys, held up the writer (and every submitter waiting on it)
/// for milliseconds.
#[derive(Debug, Default)]
struct Recent {
    submissions: BTreeMap<String, u64>,
    revisions: BTreeMap<String, Revision>,
}

/// The latest revision of a return or plan, and the seq it is stored at.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    pub revision: u32,
    /// `None` for a revision swept into the tables before they held seqs.
    pub seq: Option<u64>,
}

impl Recent {
    fn len(&self) -> usize {
        self.submissions.len() + self.revisions.len()
    }

    fn absorb(&mut self, other: Recent) {
        self.submissions.extend(other.submissions);
        self.revisions.extend(other.revisions);
    }

    fn note(&mut self, event: &Event, seq: u64) {
        if let Some((submission, revision_key, revision)) = lookup_keys(event) {
            self.submissions.insert(submission, seq);
            self.revisions.insert(
                revision_key,
                Revision {
                    revision,
                    seq: Some(seq),
                },
            );
        }
    }
}

/// The look-ups an entry feeds: its submission key, its revision key and its revision (returns
/// and plans only).
pub(crate) fn lookup_keys(event: &Event) -> Option<(String, String, u32)> {
    match event {
        Event::ReturnSubmitted(submitted) => {
            let r = &submitted.ret;
            Some((
                submission_key(&r.org, &r.submission_id),
                revision_key(&r.org, &r.collection, r.period),
                submitted.revision,
            ))
        }
        Event::PlanSubmitted(submitted) => {
            let p = &submitted.plan;
            Some((
                submission_key(&p.org, &p.submission_id),
                plan_revision_key(&p.org, &p.plan),
                submitted.revision,
            ))
        }
        _ => None,
    }
}

impl EventLog {
    /// Opens the log at `path`, creating it if absent, and verifies all of it (see
    /// [`EventLog::open_with_progress`]).
    pub fn open(path: &Path) -> Result<EventLog, LogError> {
        EventLog::open_with_progress(path, |_, _| {})
    }

    /// Opens the log at `path`, creating it if absent, and verifies every entry, its link and the
    /// look-ups before anything is appended, calling `progress(walked, last_seq)` on the way. A
    /// damaged entry or link refuses the log; look-ups that disagree with the entries are
    /// rebuilt from them ([`Verified::lookup_damage`] says why); a log written before links were
    /// kept is given them.
    pub fn open_with_progress(
        path: &Path,
        progress: impl FnMut(u64, u64),
    ) -> Result<EventLog, LogError> {
        EventLog::open_database(open_database(path)?, path, progress)
    }

    /// Opens the log kept in `backend` (for fault tests: storage that fails on demand); `path`
    /// names it in messages and metrics.
    pub fn open_with_backend(
        path: &Path,
        backend: impl redb::StorageBackend,
    ) -> Result<EventLog, LogError> {
        let db = redb::Builder::new()
            .set_cache_size(CACHE_BYTES)
            .create_with_backend(backend)
            .map_err(|source| LogError::Open {
                path: path.display().to_string(),
                source,
            })?;
        EventLog::open_database(db, path, |_, _| {})
    }

    fn open_database(
        db: Database,
        path: &Path,
        progress: impl FnMut(u64, u64),
    ) -> Result<EventLog, LogError> {
        let txn = db.begin_write().map_err(storage)?;
        let (last_seq, count, index_seq, links) = {
            let log = txn.open_table(LOG).map_err(storage)?;
            txn.open_table(SUBMISSIONS).map_err(storage)?;
            txn.open_table(REVISIONS).map_err(storage)?;
            txn.open_table(REVISION_SEQS).map_err(storage)?;
            txn.open_table(REFERENCE).map_err(storage)?;
            let chain = txn.open_table(CHAIN).map_err(storage)?;
            let meta = txn.open_table(META).map_err(storage)?;
            let last = log
                .last()
                .map_err(storage)?
                .map(|(k, _)| k.value())
                .unwrap_or(0);
            let index_seq = meta
                .get(INDEX_SEQ)
                .map_err(storage)?
                .map(|g| g.value())
                .unwrap_or(0);
            (
                last,
                log.len().map_err(storage)?,
                index_seq,
                chain.len().map_err(storage)?,
            )
        };
        txn.commit().map_err(storage)?;
        if count != last_seq {
            return Err(LogError::NotDense { last_seq, count });
        }
        let walked = verify::walk(&db, links == 0 && last_seq > 0, progress)?;
        let mut log = EventLog {
            db: Arc::new(db),
            path: path.to_owned(),
            last_seq,
            head: walked.verified.head,
            verified: walked.verified,
            recent: Recent::default(),
            sweeping: None,
            index_flush_every: DEFAULT_INDEX_FLUSH_EVERY,
            sweep_slice: DEFAULT_SWEEP_SLICE,
        };
        if let Some(links) = walked.links {
            log.write_links(&links)?;
        }
        let index_seq = if log.verified.lookup_damage.is_some() {
            log.rebuild_lookups()?;
            log.last_seq
        } else {
            index_seq
        };
        log.replay_recent(index_seq)?;
        metrics::opened(&log.verified);
        metrics::committed(log.last_seq, log.file_bytes(), false);
        Ok(log)
    }

    /// What verifying the log at open found.
    pub fn verified(&self) -> &Verified {
        &self.verified
    }

    /// The link of the last entry: it changes if any entry before it does.
    pub fn head(&self) -> Link {
        self.head
    }

    /// Gives a log written before links were kept the links of its entries, once.
    fn write_links(&mut self, links: &[Link]) -> Result<(), LogError> {
        const PER_COMMIT: usize = 65_536;
        for (chunk_at, chunk) in links.chunks(PER_COMMIT).enumerate() {
            let mut txn = self.db.begin_write().map_err(storage)?;
            txn.set_durability(Durability::Immediate).map_err(storage)?;
            {
                let mut chain = txn.open_table(CHAIN).map_err(storage)?;
                for (i, link) in chunk.iter().enumerate() {
                    let seq = (chunk_at * PER_COMMIT + i) as u64 + 1;
                    chain.insert(seq, link.as_slice()).map_err(storage)?;
                }
            }
            txn.commit().map_err(storage)?;
        }
        Ok(())
    }

    /// Rebuilds every look-up table from the entries, in one transaction: they are derived, and
    /// the entries (each verified) are the truth.
    fn rebuild_lookups(&mut self) -> Result<(), LogError> {
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        txn.delete_table(SUBMISSIONS).map_err(storage)?;
        txn.delete_table(REVISIONS).map_err(storage)?;
        txn.delete_table(REVISION_SEQS).map_err(storage)?;
        txn.delete_table(REFERENCE).map_err(storage)?;
        {
            let log = txn.open_table(LOG).map_err(storage)?;
            let mut submissions = txn.open_table(SUBMISSIONS).map_err(storage)?;
            let mut revisions = txn.open_table(REVISIONS).map_err(storage)?;
            let mut revision_seqs = txn.open_table(REVISION_SEQS).map_err(storage)?;
            let mut reference = txn.open_table(REFERENCE).map_err(storage)?;
            let mut meta = txn.open_table(META).map_err(storage)?;
            for item in log.range(1..).map_err(storage)? {
                let (seq, bytes) = item.map_err(storage)?;
                let seq = seq.value();
                let envelope =
                    Envelope::decode(bytes.value()).map_err(|source| undecodable(seq, source))?;
                if envelope.event.is_reference() {
                    reference.insert(seq, ()).map_err(storage)?;
                }
                if let Some((submission, revision_key, revision)) = lookup_keys(&envelope.event) {
                    submissions
                        .insert(submission.as_str(), seq)
                        .map_err(storage)?;
                    revisions
                        .insert(revision_key.as_str(), revision)
                        .map_err(storage)?;
                    revision_seqs
                        .insert(revision_key.as_str(), seq)
                        .map_err(storage)?;
                }
            }
            meta.insert(INDEX_SEQ, self.last_seq).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        self.recent = Recent::default();
        self.sweeping = None;
        Ok(())
    }

    /// Rebuilds the in-memory look-ups of the entries after `index_seq`.
    fn replay_recent(&mut self, index_seq: u64) -> Result<(), LogError> {
        let reader = self.reader();
        let mut from = index_seq + 1;
        while from <= self.last_seq {
            let (entries, _) = reader.read(from, 4096)?;
            let Some(last) = entries.last() else { break };
            from = last.seq + 1;
            for envelope in &entries {
                self.recent.note(&envelope.event, envelope.seq);
            }
        }
        Ok(())
    }

    /// Sets how many recent look-ups are held before they are swept into the tables.
    pub fn index_flush_every(&mut self, entries: usize) {
        self.index_flush_every = entries.max(1);
    }

    /// Sets how many look-ups of a sweep each batch writes, beyond twice as many as the batch
    /// itself adds (so a sweep always ends before the next is due).
    pub fn sweep_slice(&mut self, lookups: usize) {
        self.sweep_slice = lookups.max(1);
    }

    /// How many look-ups are held in memory now, a sweep's included (for tests and metrics).
    pub fn recent_lookups(&self) -> usize {
        self.recent.len() + self.sweeping.as_ref().map_or(0, Sweep::len)
    }

    /// Size of the file on disk, if it can be read.
    pub fn file_bytes(&self) -> Option<u64> {
        std::fs::metadata(&self.path).ok().map(|m| m.len())
    }

    /// The seq of the last committed entry (0 when empty).
    pub fn last_seq(&self) -> u64 {
        self.last_seq
    }

    /// A handle for reads that run beside the writer.
    pub fn reader(&self) -> LogReader {
        LogReader {
            db: Arc::clone(&self.db),
        }
    }

    /// Runs `f` inside one write transaction and commits it durably (one fsync). Returns what `f`
    /// returned and the envelopes it appended, in seq order. If `f` or the commit fails, nothing
    /// of the batch is kept and the next seq is unchanged.
    pub fn append_batch<T>(
        &mut self,
        f: impl FnOnce(&mut Appender<'_>) -> Result<T, LogError>,
    ) -> Result<(T, Vec<Envelope>), LogError> {
        self.append_batch_encoded(f)
            .map(|(out, appended)| (out, appended.envelopes))
    }

    /// [`EventLog::append_batch`] with the bytes stored for each envelope, for a caller that
    /// sends them on (as `oversight.log.events`) without encoding them again.
    pub fn append_batch_encoded<T>(
        &mut self,
        f: impl FnOnce(&mut Appender<'_>) -> Result<T, LogError>,
    ) -> Result<(T, Appended), LogError> {
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        let (out, appended, staged, written, head) = {
            let mut appender = Appender {
                log: txn.open_table(LOG).map_err(storage)?,
                submissions: txn.open_table(SUBMISSIONS).map_err(storage)?,
                revisions: txn.open_table(REVISIONS).map_err(storage)?,
                revision_seqs: txn.open_table(REVISION_SEQS).map_err(storage)?,
                reference: txn.open_table(REFERENCE).map_err(storage)?,
                chain: txn.open_table(CHAIN).map_err(storage)?,
                head: self.head,
                recent: &self.recent,
                sweeping: self.sweeping.as_ref(),
                staged: Recent::default(),
                next_seq: self.last_seq + 1,
                appended: Appended::default(),
            };
            let out = f(&mut appender)?;
            let written = match self.sweeping.as_ref() {
                Some(sweep) => {
                    let budget = self.sweep_slice + 2 * appender.staged.len();
                    let written = appender.write_slice(sweep, budget)?;
                    if written == sweep.len() {
                        let mut meta = txn.open_table(META).map_err(storage)?;
                        meta.insert(INDEX_SEQ, sweep.covers).map_err(storage)?;
                    }
                    Some(written)
                }
                None => None,
            };
            (
                out,
                appender.appended,
                appender.staged,
                written,
                appender.head,
            )
        };
        txn.commit().map_err(storage)?;
        self.last_seq += appended.envelopes.len() as u64;
        self.head = head;
        self.recent.absorb(staged);
        let mut swept = false;
        if let (Some(sweep), Some(written)) = (self.sweeping.as_mut(), written) {
            sweep.written = written;
            if written == sweep.len() {
                self.sweeping = None;
                swept = true;
            }
        }
        if self.sweeping.is_none() && self.recent.len() >= self.index_flush_every {
            let recent = std::mem::take(&mut self.recent);
            self.sweeping = Some(Sweep::new(recent, self.last_seq));
        }
        metrics::committed(self.last_seq, self.file_bytes(), swept);
        Ok((out, appended))
    }
}

/// Appends and look-ups inside one write transaction; look-ups see the batch's own appends.
pub struct Appender<'txn> {
    log: Table<'txn, u64, &'static [u8]>,
    submissions: Table<'txn, &'static str, u64>,
    revisions: Table<'txn, &'static str, u32>,
    revision_seqs: Table<'txn, &'static str, u64>,
    reference: Table<'txn, u64, ()>,
    chain: Table<'txn, u64, &'static [u8]>,
    /// The link of the last entry appended so far.
    head: Link,
    /// Committed look-ups not yet in the tables.
    recent: &'txn Recent,
    /// Older committed look-ups, being written into the tables.
    sweeping: Option<&'txn Sweep>,
    /// This batch's look-ups; kept only if the batch commits.
    staged: Recent,
    next_seq: u64,
    appended: Appended,
}

/// What a batch appended, in seq order: each envelope and the bytes stored for it.
#[derive(Debug, Default)]
pub struct Appended {
    pub envelopes: Vec<Envelope>,
    pub encoded: Vec<Vec<u8>>,
}

impl std::fmt::Debug for Appender<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Appender")
            .field("next_seq", &self.next_seq)
            .finish_non_exhaustive()
    }
}

impl Appender<'_> {
    /// The seq of the return or plan accepted earlier under this organisation's submission id.
    pub fn submission_seq(&self, org: &str, submission_id: &str) -> Result<Option<u64>, LogError> {
        let key = submission_key(org, submission_id);
        let held = self
            .staged
            .submissions
            .get(&key)
            .or_else(|| self.recent.submissions.get(&key))
            .copied()
            .or_else(|| self.sweeping.and_then(|sweep| sweep.submission(&key)));
        if let Some(seq) = held {
            return Ok(Some(seq));
        }
        Ok(self
            .submissions
            .get(key.as_str())
            .map_err(storage)?
            .map(|g| g.value()))
    }

    /// The envelope at `seq`, including ones appended earlier in this batch.
    pub fn envelope(&self, seq: u64) -> Result<Option<Envelope>, LogError> {
        let Some(bytes) = self.log.get(seq).map_err(storage)? else {
            return Ok(None);
        };
        Envelope::decode(bytes.value())
            .map(Some)
            .map_err(|source| undecodable(seq, source))
    }

    /// The latest revision of (organisation, collection, period), 0 if none.
    pub fn latest_revision(
        &self,
        org: &str,
        collection: &str,
        period: Period,
    ) -> Result<u32, LogError> {
        Ok(self
            .latest_revision_at(org, collection, period)?
            .map_or(0, |r| r.revision))
    }

    /// The latest revision of (organisation, collection, period) and where it is stored.
    pub fn latest_revision_at(
        &self,
        org: &str,
        collection: &str,
        period: Period,
    ) -> Result<Option<Revision>, LogError> {
        self.revision_of(revision_key(org, collection, period))
    }

    /// The latest revision of an organisation's plan, 0 if none.
    pub fn latest_plan_revision(&self, org: &str, plan: &str) -> Result<u32, LogError> {
        Ok(self
            .revision_of(plan_revision_key(org, plan))?
            .map_or(0, |r| r.revision))
    }

    fn revision_of(&self, key: String) -> Result<Option<Revision>, LogError> {
        if let Some(revision) = self
            .staged
            .revisions
            .get(&key)
            .or_else(|| self.recent.revisions.get(&key))
            .copied()
            .or_else(|| self.sweeping.and_then(|sweep| sweep.revision(&key)))
        {
            return Ok(Some(revision));
        }
        let Some(revision) = self
            .revisions
            .get(key.as_str())
            .map_err(storage)?
            .map(|g| g.value())
        else {
            return Ok(None);
        };
        let seq = self
            .revision_seqs
            .get(key.as_str())
            .map_err(storage)?
            .map(|g| g.value());
        Ok(Some(Revision { revision, seq }))
    }

    /// Writes up to `budget` more of a sweep's look-ups into the tables, in key order; how many
    /// of them are written after this.
    fn write_slice(&mut self, sweep: &Sweep, budget: usize) -> Result<usize, LogError> {
        let end = (sweep.written + budget).min(sweep.len());
        let subs = sweep.submissions.len();
        for (key, seq) in &sweep.submissions[sweep.written.min(subs)..end.min(subs)] {
            self.submissions
                .insert(key.as_str(), *seq)
                .map_err(storage)?;
        }
        for (key, revision) in
            &sweep.revisions[sweep.written.max(subs) - subs..end.max(subs) - subs]
        {
            self.revisions
                .insert(key.as_str(), revision.revision)
                .map_err(storage)?;
            if let Some(seq) = revision.seq {
                self.revision_seqs
                    .insert(key.as_str(), seq)
                    .map_err(storage)?;
            }
        }
        Ok(end)
    }

    /// Appends `event` at the next seq and updates the look-ups it feeds.
    pub fn append(
        &mut self,
        recorded_at: Timestamp,
        sender: &str,
        event: Event,
    ) -> Result<&Envelope, LogError> {
        let seq = self.next_seq;
        // An entry that cannot be encoded fails the whole batch: nothing of it is committed, so no
        // empty entry is ever acknowledged.
        let encode_error = |source| LogError::Encode { seq, source };
        let (envelope, bytes) = Envelope::seal_encoded(seq, recorded_at, sender.to_owned(), event)
            .map_err(encode_error)?;
        if envelope.event.is_reference() {
            self.reference.insert(seq, ()).map_err(storage)?;
        }
        self.staged.note(&envelope.event, seq);
        self.log.insert(seq, bytes.as_slice()).map_err(storage)?;
        self.head = link(&self.head, &bytes);
        self.chain
            .insert(seq, self.head.as_slice())
            .map_err(storage)?;
        self.next_seq += 1;
        self.appended.encoded.push(bytes);
        self.appended.envelopes.push(envelope);
        Ok(self.appended.envelopes.last().expect("just pushed"))
    }
}

/// Verifies the log file at `path` whole, changing nothing: every entry, its link and the
/// look-ups, calling `progress(walked, last_seq)` on the way. For a log no service has open (a
/// stopped one, or a backup).
pub fn verify_file(path: &Path, progress: impl FnMut(u64, u64)) -> Result<Verified, LogError> {
    if !path.exists() {
        return Err(LogError::Missing {
            path: path.display().to_string(),
        });
    }
    let db = open_database(path)?;
    Ok(verify::walk(&db, false, progress)?.verified)
}

/// A page of an organisation's returns ([`LogReader::returns_of`]).
#[derive(Debug, Clone, PartialEq)]
pub struct OrgReturns {
    /// Newest first.
    pub returns: Vec<ReturnInLog>,
    /// Whether older returns remain (ask again with `before` the last seq here).
    pub more: bool,
    /// The last committed seq when this was read.
    pub last_seq: u64,
}

/// One return as the log holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct ReturnInLog {
    pub envelope: Envelope,
    /// Its revision is the latest of its (organisation, collection, period): the one in force.
    pub in_force: bool,
}

/// Read access beside the writer; cheap to clone.
#[derive(Debug, Clone)]
pub struct LogReader {
    db: Arc<Database>,
}

impl LogReader {
    /// Up to `max` envelopes from seq `from` on, in seq order, and the last committed seq.
    pub fn read(&self, from: u64, max: usize) -> Result<(Vec<Envelope>, u64), LogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let log = txn.open_table(LOG).map_err(storage)?;
        let last_seq = log
            .last()
            .map_err(storage)?
            .map(|(k, _)| k.value())
            .unwrap_or(0);
        let mut entries = Vec::with_capacity(max.min(4096));
        for item in log.range(from.max(1)..).map_err(storage)?.take(max) {
            let (seq, bytes) = item.map_err(storage)?;
            let seq = seq.value();
            entries
                .push(Envelope::decode(bytes.value()).map_err(|source| undecodable(seq, source))?);
        }
        Ok((entries, last_seq))
    }

    /// An organisation's returns, newest first: up to `max` with seqs below `before` (all when
    /// `None`), each with whether it is the revision in force for its (collection, period).
    ///
    /// Swept returns come from the submissions look-up; those after `index_seq` are still only
    /// in the writer's memory, so that tail of the log (at most two sweeps' worth) is scanned.
    pub fn returns_of(
        &self,
        org: &str,
        before: Option<u64>,
        max: usize,
    ) -> Result<OrgReturns, LogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let log = txn.open_table(LOG).map_err(storage)?;
        let submissions = txn.open_table(SUBMISSIONS).map_err(storage)?;
        let revisions = txn.open_table(REVISIONS).map_err(storage)?;
        let meta = txn.open_table(META).map_err(storage)?;
        let last_seq = log
            .last()
            .map_err(storage)?
            .map(|(k, _)| k.value())
            .unwrap_or(0);
        let index_seq = meta
            .get(INDEX_SEQ)
            .map_err(storage)?
            .map_or(0, |g| g.value());

        let mut seqs = std::collections::BTreeSet::new();
        // Every key of `org` starts `org \x1f`; the next character up ends the range.
        let (first, beyond) = (format!("{org}{SEP}"), format!("{org}\u{20}"));
        for item in submissions
            .range(first.as_str()..beyond.as_str())
            .map_err(storage)?
        {
            seqs.insert(item.map_err(storage)?.1.value());
        }
        let mut tail = BTreeMap::new();
        let mut tail_latest: BTreeMap<String, u32> = BTreeMap::new();
        for item in log.range(index_seq + 1..).map_err(storage)? {
            let (seq, bytes) = item.map_err(storage)?;
            let seq = seq.value();
            let envelope =
                Envelope::decode(bytes.value()).map_err(|source| undecodable(seq, source))?;
            if let Event::ReturnSubmitted(submitted) = &envelope.event {
                let r = &submitted.ret;
                if r.org == org {
                    let latest = tail_latest
                        .entry(revision_key(&r.org, &r.collection, r.period))
                        .or_default();
                    *latest = (*latest).max(submitted.revision);
                    seqs.insert(seq);
                    tail.insert(seq, envelope);
                }
            }
        }

        let mut out = OrgReturns {
            returns: Vec::new(),
            more: false,
            last_seq,
        };
        let below = before.unwrap_or(u64::MAX);
        for &seq in seqs.range(..below).rev() {
            let envelope = match tail.remove(&seq) {
                Some(envelope) => envelope,
                None => {
                    let bytes = log.get(seq).map_err(storage)?.ok_or(LogError::NotDense {
                        last_seq,
                        count: seq,
                    })?;
                    Envelope::decode(bytes.value()).map_err(|source| undecodable(seq, source))?
                }
            };
            // Plans share the submissions look-up.
            let Event::ReturnSubmitted(submitted) = &envelope.event else {
                continue;
            };
            if out.returns.len() == max {
                out.more = true;
                break;
            }
            let key = {
                let r = &submitted.ret;
                revision_key(&r.org, &r.collection, r.period)
            };
            let swept = revisions
                .get(key.as_str())
                .map_err(storage)?
                .map_or(0, |g| g.value());
            let latest = tail_latest.get(&key).copied().unwrap_or(0).max(swept);
            let in_force = submitted.revision == latest;
            out.returns.push(ReturnInLog { envelope, in_force });
        }
        Ok(out)
    }

    /// Every reference-data envelope (geography, metrics), in seq order.
    pub fn reference_events(&self) -> Result<Vec<Envelope>, LogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let log = txn.open_table(LOG).map_err(storage)?;
        let reference = txn.open_table(REFERENCE).map_err(storage)?;
        let mut out = Vec::new();
        for item in reference.iter().map_err(storage)? {
            let seq = item.map_err(storage)?.0.value();
            let bytes = log.get(seq).map_err(storage)?.ok_or(LogError::NotDense {
                last_seq: seq,
                count: 0,
            })?;
            out.push(Envelope::decode(bytes.value()).map_err(|source| undecodable(seq, source))?);
        }
        Ok(out)
    }
}
