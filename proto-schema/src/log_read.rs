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

/// `oversight.returns.<org>`: `{}` for the newest 100 of an organisation's returns, or
/// `{"before": 42, "max": 20}` for those stored before seq 42.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnsRequest {
    #[serde(default)]
    pub before: Option<u64>,
    #[serde(default = "default_returns_max")]
    pub max: u32,
}

/// The most returns one answer lists.
pub const RETURNS_MAX: u32 = 1000;

fn default_returns_max() -> u32 {
    100
}

impl Default for ReturnsRequest {
    fn default() -> ReturnsRequest {
        ReturnsRequest {
            before: None,
            max: default_returns_max(),
        }
    }
}

/// An organisation's returns as the log holds them, newest first. `more` says older ones remain:
/// ask again with `before` the last `seq` listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnsPage {
    pub org: String,
    pub returns: Vec<ReturnReceived>,
    pub more: bool,
    pub last_seq: u64,
}

/// One return as received: where it is stored, when, from whom, its revision, and whether that
/// revision is the one in force for its (organisation, collection, period).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReturnReceived {
    pub seq: u64,
    pub recorded_at: crate::Timestamp,
    pub sender: String,
    pub revision: u32,
    pub in_force: bool,
    #[serde(rename = "return")]
    pub ret: crate::Return,
}
