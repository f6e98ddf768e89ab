//! Catch-up reads of the log over `oversight.log.read`.

use serde::{Deserialize, Serialize};

use crate::envelope::{DecodeError, Envelope};

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

/// The payload of `oversight.log.events`: a commit's entries in seq order (as many as fit one
/// message; a large commit is several), each as the log stores it, length-prefixed. One message
/// per commit rather than per entry, and each entry encoded once.
#[derive(Debug)]
pub struct LogEvents;

impl LogEvents {
    /// Packs entries already encoded (`Envelope::encode`) into messages of at most
    /// `max_payload` bytes; an entry larger than that alone is a message of its own, which the
    /// server refuses and followers read from the log as a gap.
    pub fn pack(encoded: &[Vec<u8>], max_payload: usize) -> Vec<Vec<u8>> {
        let mut messages = Vec::new();
        let mut start = 0;
        while start < encoded.len() {
            let mut end = start;
            let mut size = 0;
            while end < encoded.len() {
                let grows = varint_len(encoded[end].len()) + encoded[end].len();
                if end > start && size + grows + varint_len(end + 1 - start) > max_payload {
                    break;
                }
                size += grows;
                end += 1;
            }
            let mut message = Vec::with_capacity(size + 10);
            push_varint(&mut message, end - start);
            for bytes in &encoded[start..end] {
                push_varint(&mut message, bytes.len());
                message.extend_from_slice(bytes);
            }
            messages.push(message);
            start = end;
        }
        messages
    }

    /// The entries of one message, each decoded and checked on its own; `Err` when the message
    /// itself is not one of these.
    pub fn unpack(payload: &[u8]) -> Result<Vec<Result<Envelope, DecodeError>>, DecodeError> {
        let (entries, rest) = postcard::take_from_bytes::<Vec<&[u8]>>(payload)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        Ok(entries.into_iter().map(Envelope::decode).collect())
    }
}

fn varint_len(n: usize) -> usize {
    let bits = usize::BITS - (n | 1).leading_zeros();
    bits.div_ceil(7) as usize
}

fn push_varint(out: &mut Vec<u8>, mut n: usize) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

#[cfg(test)]
mod log_events_tests {
    use super::*;
    use crate::{Event, Region, Timestamp};

    fn entry(seq: u64) -> Envelope {
        Envelope::seal(
            seq,
            Timestamp(1_700_000_000_000),
            "seed".into(),
            Event::RegionDefined(Region {
                code: format!("Y{seq}"),
                name: "x".repeat(seq as usize * 7),
            }),
        )
        .expect("seal")
    }

    #[test]
    fn packed_entries_unpack_in_order_and_each_message_fits() {
        let entries: Vec<Envelope> = (1..=300).map(entry).collect();
        let encoded: Vec<Vec<u8>> = entries
            .iter()
            .map(|e| e.encode().expect("encodes"))
            .collect();
        for max_payload in [4096, 65_536, 1 << 20] {
            let messages = LogEvents::pack(&encoded, max_payload);
            assert!(
                messages.iter().all(|m| m.len() <= max_payload),
                "{max_payload}"
            );
            let unpacked: Vec<Envelope> = messages
                .iter()
                .flat_map(|m| LogEvents::unpack(m).expect("a message"))
                .map(|e| e.expect("an entry"))
                .collect();
            assert_eq!(unpacked, entries, "{max_payload}");
        }
        assert_eq!(
            LogEvents::pack(&encoded, 1 << 20).len(),
            1,
            "one commit, one message"
        );
    }

    #[test]
    fn a_damaged_entry_is_refused_alone() {
        let encoded: Vec<Vec<u8>> = (1..=3)
            .map(|s| entry(s).encode().expect("encodes"))
            .collect();
        let mut message = LogEvents::pack(&encoded, 1 << 20).remove(0);
        let last = message.len() - 1;
        message[last] ^= 0xff;
        let unpacked = LogEvents::unpack(&message).expect("the message reads");
        assert!(unpacked[0].is_ok() && unpacked[1].is_ok() && unpacked[2].is_err());
        assert!(LogEvents::unpack(&message[..message.len() / 2]).is_err());
    }
}
