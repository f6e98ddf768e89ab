//! The whole log, checked: every entry's checksum, the chain of links that ties each entry to
//! the one before it, and the look-up tables against the entries they are derived from.
//!
//! Each entry's link is the SHA-256 of the link before it and the entry's stored bytes, kept in
//! the `chain` table in the same transaction as the entry. An entry changed after it was written
//! (even with its checksum made to fit) no longer matches its link; links rewritten to hide it
//! change every link after it, up to the head, which `oversight verify` prints so that it can be
//! recorded elsewhere and compared.

use redb::{ReadTransaction, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableError};
use sha2::{Digest, Sha256};

use proto_schema::Envelope;

use crate::{
    lookup_keys, storage, undecodable, Database, LogError, CHAIN, INDEX_SEQ, LOG, META, REFERENCE,
    REVISIONS, REVISION_SEQS, SUBMISSIONS,
};

/// A link of the chain: SHA-256 of the previous link and an entry's stored bytes.
pub type Link = [u8; 32];

/// The link before the first entry.
pub const GENESIS: Link = [0; 32];

/// The link of an entry whose stored bytes are `entry`, after `previous`.
pub fn link(previous: &Link, entry: &[u8]) -> Link {
    let mut hasher = Sha256::new();
    hasher.update(previous);
    hasher.update(entry);
    hasher.finalize().into()
}

/// A link as 64 hex digits.
pub fn hex(link: &Link) -> String {
    link.iter().map(|byte| format!("{byte:02x}")).collect()
}

/// What a walk of the whole log found, when every entry and link holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verified {
    /// Entries walked: the last seq.
    pub entries: u64,
    /// The link of the last entry ([`GENESIS`] for an empty log).
    pub head: Link,
    /// Entries that had no stored link: all of them in a log written before links were kept,
    /// none otherwise.
    pub unlinked: u64,
    /// The first look-up that does not agree with the entries, if one does not.
    pub lookup_damage: Option<String>,
}

/// Every link, in seq order, so a log written before links were kept can be given them.
pub(crate) struct Walked {
    pub verified: Verified,
    pub links: Option<Vec<Link>>,
}

/// Entries read per step of the walk, and between calls of `progress`.
const STEP: u64 = 65_536;

/// Opens a table that may not exist yet in a file written by an older build.
macro_rules! optional_table {
    ($txn:expr, $table:expr) => {
        match $txn.open_table($table) {
            Ok(table) => Some(table),
            Err(TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(storage(e)),
        }
    };
}

/// Walks the whole log in one read transaction, calling `progress(walked, last_seq)` as it goes.
/// Damage to an entry or a link is an error naming the first bad seq; a look-up that disagrees
/// is reported (the tables are derived, and can be rebuilt from the entries).
pub(crate) fn walk(
    db: &Database,
    keep_links: bool,
    mut progress: impl FnMut(u64, u64),
) -> Result<Walked, LogError> {
    let txn = db.begin_read().map_err(storage)?;
    let Some(log) = optional_table!(txn, LOG) else {
        return Ok(Walked {
            verified: Verified {
                entries: 0,
                head: GENESIS,
                unlinked: 0,
                lookup_damage: None,
            },
            links: keep_links.then(Vec::new),
        });
    };
    let last_seq = log
        .last()
        .map_err(storage)?
        .map(|(k, _)| k.value())
        .unwrap_or(0);
    let chain = optional_table!(txn, CHAIN);
    let stored_links = match &chain {
        Some(chain) => chain.len().map_err(storage)?,
        None => 0,
    };
    let mut links_in_order = match &chain {
        Some(chain) => Some(chain.range(1..).map_err(storage)?),
        None => None,
    };
    let mut lookups = LookupCheck::open(&txn)?;
    let mut head = GENESIS;
    let mut kept = keep_links.then(|| Vec::with_capacity(last_seq as usize));
    for (expected_seq, item) in (1u64..).zip(log.range(1..).map_err(storage)?) {
        let (seq, bytes) = item.map_err(storage)?;
        let seq = seq.value();
        if seq != expected_seq {
            return Err(LogError::NotDense {
                last_seq,
                count: expected_seq - 1,
            });
        }
        let bytes = bytes.value();
        let envelope = Envelope::decode(bytes).map_err(|source| undecodable(seq, source))?;
        if envelope.seq != seq {
            return Err(LogError::Misplaced {
                seq,
                claims: envelope.seq,
            });
        }
        head = link(&head, bytes);
        if stored_links > 0 {
            let stored = links_in_order
                .as_mut()
                .and_then(Iterator::next)
                .transpose()
                .map_err(storage)?;
            match stored {
                Some((at, value)) if at.value() == seq => {
                    if value.value() != head.as_slice() {
                        return Err(LogError::ChainBroken { seq });
                    }
                }
                _ => return Err(LogError::LinkMissing { seq }),
            }
        }
        if let Some(kept) = kept.as_mut() {
            kept.push(head);
        }
        lookups.entry(&envelope)?;
        if seq % STEP == 0 {
            progress(seq, last_seq);
        }
    }
    if stored_links > last_seq {
        return Err(LogError::LinkMissing { seq: last_seq + 1 });
    }
    progress(last_seq, last_seq);
    Ok(Walked {
        verified: Verified {
            entries: last_seq,
            head,
            unlinked: if stored_links == 0 { last_seq } else { 0 },
            lookup_damage: lookups.finish()?,
        },
        links: kept,
    })
}

/// Checks each return's and plan's look-ups, and the reference index, against the entries as
/// they are walked; the first disagreement is kept.
struct LookupCheck {
    txn_tables: Option<LookupTables>,
    index_seq: u64,
    /// Returns and plans at or before `index_seq`, and in all.
    keyed_swept: u64,
    keyed_all: u64,
    /// Their first revisions (one per revision key), likewise.
    firsts_swept: u64,
    firsts_all: u64,
    references: u64,
    damage: Option<String>,
}

struct LookupTables {
    submissions: redb::ReadOnlyTable<&'static str, u64>,
    revisions: redb::ReadOnlyTable<&'static str, u32>,
    revision_seqs: Option<redb::ReadOnlyTable<&'static str, u64>>,
    reference: redb::ReadOnlyTable<u64, ()>,
}

impl LookupCheck {
    fn open(txn: &ReadTransaction) -> Result<LookupCheck, LogError> {
        let index_seq = match optional_table!(txn, META) {
            Some(meta) => meta
                .get(INDEX_SEQ)
                .map_err(storage)?
                .map(|g| g.value())
                .unwrap_or(0),
            None => 0,
        };
        let tables = match (
            optional_table!(txn, SUBMISSIONS),
            optional_table!(txn, REVISIONS),
            optional_table!(txn, REFERENCE),
        ) {
            (Some(submissions), Some(revisions), Some(reference)) => Some(LookupTables {
                submissions,
                revisions,
                revision_seqs: optional_table!(txn, REVISION_SEQS),
                reference,
            }),
            _ => None,
        };
        Ok(LookupCheck {
            txn_tables: tables,
            index_seq,
            keyed_swept: 0,
            keyed_all: 0,
            firsts_swept: 0,
            firsts_all: 0,
            references: 0,
            damage: None,
        })
    }

    fn damaged(&mut self, why: String) {
        if self.damage.is_none() {
            self.damage = Some(why);
        }
    }

    fn entry(&mut self, envelope: &Envelope) -> Result<(), LogError> {
        let seq = envelope.seq;
        let Some(tables) = self.txn_tables.take() else {
            self.damaged("the look-up tables are missing".into());
            return Ok(());
        };
        let outcome = self.entry_against(envelope, seq, &tables);
        self.txn_tables = Some(tables);
        outcome
    }

    fn entry_against(
        &mut self,
        envelope: &Envelope,
        seq: u64,
        tables: &LookupTables,
    ) -> Result<(), LogError> {
        let indexed = tables.reference.get(seq).map_err(storage)?.is_some();
        let is_reference = envelope.event.is_reference();
        if is_reference {
            self.references += 1;
        }
        if indexed != is_reference {
            self.damaged(format!(
                "the reference index {} seq {seq}",
                if indexed {
                    "wrongly lists"
                } else {
                    "leaves out"
                }
            ));
        }
        let Some((submission, revision_key, revision)) = lookup_keys(&envelope.event) else {
            return Ok(());
        };
        let swept = seq <= self.index_seq;
        self.keyed_all += 1;
        if revision == 1 {
            self.firsts_all += 1;
        }
        if swept {
            self.keyed_swept += 1;
            if revision == 1 {
                self.firsts_swept += 1;
            }
        }
        let held = tables
            .submissions
            .get(submission.as_str())
            .map_err(storage)?
            .map(|g| g.value());
        let submission_wrong = match held {
            Some(at) => at != seq,
            None => swept,
        };
        let latest = tables
            .revisions
            .get(revision_key.as_str())
            .map_err(storage)?
            .map(|g| g.value());
        let latest_seq = match &tables.revision_seqs {
            Some(seqs) => seqs
                .get(revision_key.as_str())
                .map_err(storage)?
                .map(|g| g.value()),
            None => None,
        };
        let revision_wrong = match latest {
            None => swept,
            Some(latest) => {
                (swept && latest < revision)
                    || (latest_seq == Some(seq) && latest != revision)
                    || (swept && latest == revision && latest_seq.is_some_and(|at| at != seq))
            }
        };
        if submission_wrong {
            self.damaged(format!(
                "the submission index disagrees with entry {seq} (it holds {held:?})"
            ));
        }
        if revision_wrong {
            self.damaged(format!(
                "the revision index disagrees with entry {seq} (revision {revision}; it holds {latest:?} at {latest_seq:?})"
            ));
        }
        Ok(())
    }

    fn finish(mut self) -> Result<Option<String>, LogError> {
        if let Some(tables) = &self.txn_tables {
            let submissions = tables.submissions.len().map_err(storage)?;
            let revisions = tables.revisions.len().map_err(storage)?;
            let references = tables.reference.len().map_err(storage)?;
            if !(self.keyed_swept..=self.keyed_all).contains(&submissions) {
                self.damaged(format!(
                    "the submission index holds {submissions} ids; the entries give {}",
                    self.keyed_all
                ));
            }
            if !(self.firsts_swept..=self.firsts_all).contains(&revisions) {
                self.damaged(format!(
                    "the revision index holds {revisions} keys; the entries give {}",
                    self.firsts_all
                ));
            }
            if references != self.references {
                self.damaged(format!(
                    "the reference index holds {references} seqs; the entries give {}",
                    self.references
                ));
            }
        }
        Ok(self.damage)
    }
}
