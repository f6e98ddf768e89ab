//! The instant an event was recorded: milliseconds since the Unix epoch, UTC.
//!
//! JSON shows it as RFC 3339 (`2026-11-22T10:00:00.123Z`) so analysts can read it; postcard keeps
//! the integer.

use std::fmt;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::Date;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub i64);

const MS_PER_DAY: i64 = 86_400_000;

impl Timestamp {
    pub fn now() -> Timestamp {
        let ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp(ms)
    }

    pub fn millis(self) -> i64 {
        self.0
    }

    /// The UTC calendar date of this instant.
    pub fn date(self) -> Date {
        Date::from_days_since_epoch(self.0.div_euclid(MS_PER_DAY))
    }

    /// Parses RFC 3339 in UTC: `2026-11-22T10:00:00Z`, with optional fractional seconds and
    /// `+00:00` in place of `Z`.
    pub fn parse(input: &str) -> Option<Timestamp> {
        let body = input
            .strip_suffix('Z')
            .or_else(|| input.strip_suffix("+00:00"))?;
        let (date, time) = body.split_once('T').or_else(|| body.split_once(' '))?;
        let date = Date::parse(date).ok()?;
        let (hms, frac) = match time.split_once('.') {
            Some((hms, frac)) => (hms, frac),
            None => (time, ""),
        };
        let mut parts = hms.split(':');
        let mut field = |max: i64| -> Option<i64> {
            let part = parts.next()?;
            let value: i64 = (part.len() == 2 && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())??;
            (value <= max).then_some(value)
        };
        let (h, m, s) = (field(23)?, field(59)?, field(60)?);
        if parts.next().is_some() || !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let millis: i64 = format!("{frac:0<3}")[..3].parse().ok()?;
        let day_ms = ((h * 60 + m) * 60 + s) * 1000 + millis;
        Some(Timestamp(date.days_since_epoch() * MS_PER_DAY + day_ms))
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0.rem_euclid(MS_PER_DAY);
        let (h, m, s, milli) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
        write!(f, "{}T{h:02}:{m:02}:{s:02}.{milli:03}Z", self.date())
    }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            s.serialize_i64(self.0)
        }
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Timestamp, D::Error> {
        if d.is_human_readable() {
            let text = String::deserialize(d)?;
            Timestamp::parse(&text)
                .ok_or_else(|| de::Error::custom(format!("`{text}` is not an RFC 3339 UTC time")))
        } else {
            i64::deserialize(d).map(Timestamp)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Timestamp;

    #[test]
    fn prints_and_parses_rfc3339() {
        let t = Timestamp::parse("2026-11-22T10:00:00Z").expect("valid");
        assert_eq!(t.to_string(), "2026-11-22T10:00:00.000Z");
        assert_eq!(
            Timestamp::parse("2026-11-22T10:00:00.5+00:00"),
            Some(Timestamp(t.0 + 500))
        );
        assert_eq!(Timestamp::parse(&t.to_string()), Some(t));
        assert_eq!(Timestamp(0).to_string(), "1970-01-01T00:00:00.000Z");
        for bad in [
            "2026-11-22",
            "2026-11-22T25:00:00Z",
            "2026-11-22T10:00Z",
            "yesterday",
        ] {
            assert_eq!(Timestamp::parse(bad), None, "{bad}");
        }
    }
}
