//! The envelope every log entry is stored and published in: schema version, seq, time, sender,
//! event and a CRC-32 of everything before it.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::checksum::crc32;
use crate::event::Event;
use crate::timestamp::Timestamp;

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: u16 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Envelope {
    pub schema_version: u16,
    /// Position in the log: dense from 1, never reused.
    pub seq: u64,
    pub recorded_at: Timestamp,
    /// Who sent it: the organisation of the subject, or the service that seeded reference data.
    pub sender: String,
    pub event: Event,
    /// CRC-32 of the postcard bytes of all the fields above.
    pub checksum: u32,
}

/// The checksummed prefix of an envelope, borrowed for encoding.
#[derive(Serialize)]
struct BodyRef<'a> {
    schema_version: u16,
    seq: u64,
    recorded_at: Timestamp,
    sender: &'a str,
    event: &'a Event,
}

#[derive(Deserialize)]
struct Body {
    schema_version: u16,
    seq: u64,
    recorded_at: Timestamp,
    sender: String,
    event: Event,
}

/// Why bytes could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError {
    /// The bytes end before the value does.
    Truncated,
    /// The bytes are not a value of this type.
    Malformed(String),
    /// A whole value was read and bytes were left over.
    TrailingBytes,
    /// Written by a schema this build does not know.
    UnknownSchemaVersion(u16),
    /// The stored checksum does not match the bytes.
    ChecksumMismatch { stored: u32, computed: u32 },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::Truncated => f.write_str("the bytes end before the value does"),
            DecodeError::Malformed(why) => write!(f, "malformed bytes: {why}"),
            DecodeError::TrailingBytes => f.write_str("bytes left over after the value"),
            DecodeError::UnknownSchemaVersion(v) => {
                write!(
                    f,
                    "schema version {v} is not known (this build reads version {SCHEMA_VERSION})"
                )
            }
            DecodeError::ChecksumMismatch { stored, computed } => {
                write!(
                    f,
                    "checksum mismatch: stored {stored:08x}, computed {computed:08x}"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

/// Why a value could not be encoded. Nothing is stored or sent in its place: an entry that
/// cannot be encoded is never appended (an empty or partial entry would be acknowledged as a
/// return and read back as damage).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError {
    pub what: &'static str,
    pub why: String,
}

impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode {} as postcard: {}", self.what, self.why)
    }
}

impl std::error::Error for EncodeError {}

/// The postcard bytes of `value`, or why there are none.
pub fn to_postcard<T: Serialize + ?Sized>(
    what: &'static str,
    value: &T,
) -> Result<Vec<u8>, EncodeError> {
    postcard::to_stdvec(value).map_err(|e| EncodeError {
        what,
        why: e.to_string(),
    })
}

impl From<postcard::Error> for DecodeError {
    fn from(e: postcard::Error) -> DecodeError {
        match e {
            postcard::Error::DeserializeUnexpectedEnd => DecodeError::Truncated,
            other => DecodeError::Malformed(other.to_string()),
        }
    }
}

/// Decodes a value whose first field is a `u16` schema version, refusing other versions before
/// reading further and refusing trailing bytes.
pub(crate) fn decode_versioned<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, DecodeError> {
    let (version, _) = postcard::take_from_bytes::<u16>(bytes)?;
    if version != SCHEMA_VERSION {
        return Err(DecodeError::UnknownSchemaVersion(version));
    }
    let (value, rest) = postcard::take_from_bytes::<T>(bytes)?;
    if !rest.is_empty() {
        return Err(DecodeError::TrailingBytes);
    }
    Ok(value)
}

impl Envelope {
    /// Builds an envelope at the current schema version, computing its checksum.
    pub fn seal(
        seq: u64,
        recorded_at: Timestamp,
        sender: String,
        event: Event,
    ) -> Result<Envelope, EncodeError> {
        Envelope::seal_encoded(seq, recorded_at, sender, event).map(|(envelope, _)| envelope)
    }

    /// [`Envelope::seal`] with the envelope's bytes (what [`Envelope::encode`] gives), encoded
    /// once: the stored bytes are the checksummed body followed by its checksum.
    pub fn seal_encoded(
        seq: u64,
        recorded_at: Timestamp,
        sender: String,
        event: Event,
    ) -> Result<(Envelope, Vec<u8>), EncodeError> {
        let body = BodyRef {
            schema_version: SCHEMA_VERSION,
            seq,
            recorded_at,
            sender: &sender,
            event: &event,
        };
        let mut bytes = to_postcard("a log entry", &body)?;
        let checksum = crc32(&bytes);
        bytes = postcard::to_extend(&checksum, bytes).map_err(|e| EncodeError {
            what: "a log entry",
            why: e.to_string(),
        })?;
        let envelope = Envelope {
            schema_version: SCHEMA_VERSION,
            seq,
            recorded_at,
            sender,
            event,
            checksum,
        };
        Ok((envelope, bytes))
    }

    /// The postcard bytes stored in the log and published on `oversight.log.events`.
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        to_postcard("a log entry", self)
    }

    /// Decodes stored bytes, checking the schema version and the checksum.
    pub fn decode(bytes: &[u8]) -> Result<Envelope, DecodeError> {
        let (version, _) = postcard::take_from_bytes::<u16>(bytes)?;
        if version != SCHEMA_VERSION {
            return Err(DecodeError::UnknownSchemaVersion(version));
        }
        let (body, rest) = postcard::take_from_bytes::<Body>(bytes)?;
        let body_len = bytes.len() - rest.len();
        let (checksum, rest) = postcard::take_from_bytes::<u32>(rest)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes);
        }
        let computed = crc32(&bytes[..body_len]);
        if computed != checksum {
            return Err(DecodeError::ChecksumMismatch {
                stored: checksum,
                computed,
            });
        }
        Ok(Envelope {
            schema_version: body.schema_version,
            seq: body.seq,
            recorded_at: body.recorded_at,
            sender: body.sender,
            event: body.event,
            checksum,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value whose encoding fails, as a map of unknown length does in postcard.
    struct Unencodable;

    impl Serialize for Unencodable {
        fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
            use serde::ser::SerializeSeq;
            s.serialize_seq(None)?.end()
        }
    }

    #[test]
    fn a_value_that_cannot_be_encoded_gives_an_error_not_empty_bytes() {
        let error = to_postcard("a test value", &Unencodable).expect_err("must fail");
        assert_eq!(error.what, "a test value");
        assert!(error.to_string().starts_with("cannot encode a test value"));
    }

    #[test]
    fn sealing_with_the_bytes_gives_what_encoding_the_envelope_gives() {
        let region = crate::Region {
            code: "Y56".into(),
            name: "London".into(),
        };
        // A checksum over 2^7 needs a multi-byte varint: both lengths are covered over these seqs.
        for seq in [1, 2, 300, 70_000, u64::MAX / 3] {
            let event = Event::RegionDefined(region.clone());
            let (envelope, bytes) =
                Envelope::seal_encoded(seq, Timestamp(1_700_000_000_000), "seed".into(), event)
                    .expect("seals");
            assert_eq!(bytes, envelope.encode().expect("encodes"), "seq {seq}");
            assert_eq!(Envelope::decode(&bytes).expect("decodes"), envelope);
        }
    }
}
