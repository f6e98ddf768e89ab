//! View checkpoints: the projection's state at a seq, in its own redb file beside the log, so a
//! restart resumes from there rather than replaying the whole log. A separate file keeps a large
//! checkpoint write from holding up the log's commits.

use std::path::Path;

use redb::{Database, Durability, ReadableDatabase, TableDefinition};

use crate::{open_database, storage, LogError};

/// `latest` -> header + state bytes.
const CHECKPOINTS: TableDefinition<&str, &[u8]> = TableDefinition::new("checkpoints");
const LATEST: &str = "latest";

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

    /// Replaces the checkpoint, durably.
    pub fn save(&self, checkpoint: &Checkpoint) -> Result<(), LogError> {
        let mut bytes = Vec::with_capacity(12 + checkpoint.state.len());
        bytes.extend_from_slice(&checkpoint.seq.to_le_bytes());
        bytes.extend_from_slice(&checkpoint.entry_checksum.to_le_bytes());
        bytes.extend_from_slice(&checkpoint.state);
        let mut txn = self.db.begin_write().map_err(storage)?;
        txn.set_durability(Durability::Immediate).map_err(storage)?;
        {
            let mut table = txn.open_table(CHECKPOINTS).map_err(storage)?;
            table.insert(LATEST, bytes.as_slice()).map_err(storage)?;
        }
        txn.commit().map_err(storage)?;
        Ok(())
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
        let bytes = value.value();
        if bytes.len() < 12 {
            return Ok(None);
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&bytes[..8]);
        let mut checksum = [0u8; 4];
        checksum.copy_from_slice(&bytes[8..12]);
        Ok(Some(Checkpoint {
            seq: u64::from_le_bytes(seq),
            entry_checksum: u32::from_le_bytes(checksum),
            state: bytes[12..].to_vec(),
        }))
    }
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
                    .save(&Checkpoint {
                        seq,
                        entry_checksum: 7,
                        state: vec![seq as u8; 3],
                    })
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
}
