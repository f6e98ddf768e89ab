//! View checkpoints: the projection's state at a seq, in its own redb file beside the log, so a
//! restart resumes from there rather than replaying the whole log. A separate file keeps a large
//! checkpoint write from holding up the log's commits.

use std::path::Path;

use proto_schema::Timestamp;
use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use crate::{open_database, storage, LogError};

/// `latest` -> header + state bytes.
const CHECKPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoints");
const LATEST: &str = "latest";
/// Checkpoints kept for as-of views: seq -> header + state bytes.
const RETAINED: TableDefinition<u64, &[u8]> = TableDefinition::new("retained");
/// The latest `recorded_at` (millis) among the entries a checkpoint covers: seq -> millis for
/// the retained ones, `latest` -> millis for the latest. Absent when not known.
const RECORDED_UNTIL: TableDefinition<u64, i64> = TableDefinition::new("retained_until");
const LATEST_UNTIL: TableDefinition<&str, i64> = TableDefinition::new("latest_until");

/// A saved state: the seq it covers, the checksum of the log entry at that seq (so a checkpoint
/// from another log is recognised), and the state's own bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoint {
    pub seq: u64,
    pub entry_checksum: u32,
    pub state: Vec<u8>,
}

/// The checkpoint file.
#[derive(Debug)]
pub struct CheckpointStore {
    db: Database,
}

impl CheckpointStore {
    pub fn open(path: &Path) -> Result<CheckpointStore, LogError> {
        Ok(CheckpointStore {
            db: open_database(path)?,
        })
    }

    /// Replaces the checkpoint, durably. `recorded_until` is the latest time any entry it
    /// covers was recorded, when known.
    pub fn save(
        &self,
        checkpoint: &Checkpoint,
        recorded_until: Option<Timestamp>,
    ) -> Result<(), LogError> {
        self.write(checkpoint, recorded_until, false)
    }

    /// Replaces the checkpoint and also keeps it, for as-of views to start from.
    pub fn save_retained(
        &self,
        checkpoint: &Checkpoint,
        recorded_until: Option<Timestamp>,
    ) -> Result<(), LogError> {
        self.write(checkpoint, recorded_until, true)
    }

    fn write(
        &self,
        checkpoint: &Checkpoint,
        recorded_until: Option<Timestamp>,
        retain: bool,
    ) -> Result<(), LogError> {
        let mut bytes = Vec::with_capacity(12 + checkpoint.state.len());
        bytes.extend_from_slice(&checkpoint.seq.to_le_bytes());
        bytes.extend_from_slice(&checkpoint.entry_checksum.to_le_bytes());
        bytes.extend_from_slice(&checkpoint.state);
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        {
            let mut table = txn.open_table(CHECKPOINTS).map_err(storage)?;
            table.insert(LATEST, bytes.as_slice()).map_err(storage)?;
            let mut latest_until = txn.open_table(LATEST_UNTIL).map_err(storage)?;
            match recorded_until {
                Some(until) => latest_until.insert(LATEST, until.millis()),
                None => latest_until.remove(LATEST),
            }
            .map_err(storage)?;
            if retain {
                let mut retained = txn.open_table(RETAINED).map_err(storage)?;
                retained
                    .insert(checkpoint.seq, bytes.as_slice())
                    .map_err(storage)?;
                let mut until = txn.open_table(RECORDED_UNTIL).map_err(storage)?;
                match recorded_until {
                    Some(at) => until.insert(checkpoint.seq, at.millis()),
                    None => until.remove(checkpoint.seq),
                }
                .map_err(storage)?;
            }
        }
        txn.commit().map_err(storage)?;
        Ok(())
    }

    /// The latest time an entry the latest checkpoint covers was recorded, when known.
    pub fn latest_recorded_until(&self) -> Result<Option<Timestamp>, LogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = match txn.open_table(LATEST_UNTIL) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        Ok(table
            .get(LATEST)
            .map_err(storage)?
            .map(|g| Timestamp(g.value())))
    }

    /// The retained checkpoint nearest before the view as it stood after `seq` (and, with `at`,
    /// at that time: every entry it covers recorded by then), if any.
    pub fn retained_for(
        &self,
        seq: u64,
        at: Option<Timestamp>,
    ) -> Result<Option<Checkpoint>, LogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let retained = match txn.open_table(RETAINED) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let until = match txn.open_table(RECORDED_UNTIL) {
            Ok(table) => Some(table),
            Err(redb::TableError::TableDoesNotExist(_)) => None,
            Err(e) => return Err(storage(e)),
        };
        for item in retained.range(..=seq).map_err(storage)?.rev() {
            let (at_seq, value) = item.map_err(storage)?;
            let at_seq = at_seq.value();
            if let Some(at) = at {
                let recorded = match &until {
                    Some(until) => until.get(at_seq).map_err(storage)?.map(|g| g.value()),
                    None => None,
                };
                // A checkpoint whose times are unknown, or that covers an entry recorded after
                // `at`, is not the view as it stood then.
                if recorded.is_none_or(|millis| millis > at.millis()) {
                    continue;
                }
            }
            return Ok(decode(value.value()));
        }
        Ok(None)
    }

    /// The latest checkpoint, if any.
    pub fn latest(&self) -> Result<Option<Checkpoint>, LogError> {
        let txn = self.db.begin_read().map_err(storage)?;
        let table = match txn.open_table(CHECKPOINTS) {
            Ok(table) => table,
            Err(redb::TableError::TableDoesNotExist(_)) => return Ok(None),
            Err(e) => return Err(storage(e)),
        };
        let Some(value) = table.get(LATEST).map_err(storage)? else {
            return Ok(None);
        };
        Ok(decode(value.value()))
    }
}

fn decode(bytes: &[u8]) -> Option<Checkpoint> {
    if bytes.len() < 12 {
        return None;
    }
    let mut seq = [0u8; 8];
    seq.copy_from_slice(&bytes[..8]);
    let mut checksum = [0u8; 4];
    checksum.copy_from_slice(&bytes[8..12]);
    Some(Checkpoint {
        seq: u64::from_le_bytes(seq),
        entry_checksum: u32::from_le_bytes(checksum),
        state: bytes[12..].to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_latest_checkpoint_survives_reopening() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("views.redb");
        {
            let store = CheckpointStore::open(&path).expect("open");
            assert_eq!(store.latest().expect("read"), None);
            for seq in [10, 20] {
                store
                    .save(
                        &Checkpoint {
                            seq,
                            entry_checksum: 7,
                            state: vec![seq as u8; 3],
                        },
                        Some(Timestamp(seq as i64)),
                    )
                    .expect("save");
            }
        }
        let store = CheckpointStore::open(&path).expect("reopen");
        assert_eq!(
            store.latest().expect("read"),
            Some(Checkpoint {
                seq: 20,
                entry_checksum: 7,
                state: vec![20; 3]
            })
        );
    }

    #[test]
    fn an_as_of_view_starts_from_the_nearest_retained_checkpoint_before_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let store = CheckpointStore::open(&dir.path().join("views.redb")).expect("open");
        let checkpoint = |seq: u64| Checkpoint {
            seq,
            entry_checksum: seq as u32,
            state: vec![seq as u8],
        };
        store
            .save_retained(&checkpoint(100), Some(Timestamp(1_000)))
            .expect("save");
        store
            .save(&checkpoint(150), Some(Timestamp(1_500)))
            .expect("save");
        store
            .save_retained(&checkpoint(200), Some(Timestamp(2_000)))
            .expect("save");
        store.save_retained(&checkpoint(300), None).expect("save");
        let seq_of = |found: Option<Checkpoint>| found.map(|c| c.seq);
        assert_eq!(seq_of(store.retained_for(99, None).expect("read")), None);
        assert_eq!(
            seq_of(store.retained_for(199, None).expect("read")),
            Some(100)
        );
        assert_eq!(
            seq_of(store.retained_for(250, None).expect("read")),
            Some(200)
        );
        assert_eq!(
            seq_of(store.retained_for(u64::MAX, None).expect("read")),
            Some(300)
        );
        // By time: only checkpoints whose every entry was recorded by then.
        assert_eq!(
            seq_of(
                store
                    .retained_for(u64::MAX, Some(Timestamp(1_999)))
                    .expect("read")
            ),
            Some(100)
        );
        assert_eq!(
            seq_of(
                store
                    .retained_for(u64::MAX, Some(Timestamp(2_000)))
                    .expect("read")
            ),
            Some(200),
            "unknown times are never taken for a time"
        );
        assert_eq!(
            store.latest_recorded_until().expect("read"),
            None,
            "the latest (300) has no known time"
        );
        assert_eq!(store.latest().expect("read").map(|c| c.seq), Some(300));
    }
}
