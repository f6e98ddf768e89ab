//! Catch-up reads of the log over `oversight.log.read`.

use serde::{Deserialize, Serialize};

use crate::envelope::Envelope;

/// `{"from": 1, "max": 1000}`: up to `max` entries from seq `from` on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogReadRequest {
    #[serde(default = "first_seq")]
    pub from: u64,
    #[serde(default = "default_max")]
    pub max: u32,
}

fn first_seq() -> u64 {
    1
}
fn default_max() -> u32 {
    1000
}

/// `{"entries": [...], "last_seq": 1234}`. `last_seq` is the log's last seq when read, so a
/// reader knows whether to ask again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntries {
    pub entries: Vec<Envelope>,
    pub last_seq: u64,
}
