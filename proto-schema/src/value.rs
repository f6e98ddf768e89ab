//! Reported values: a ratio, a count, money or a duration, each in its own JSON shape.

use std::fmt;

use serde::{de, Deserialize, Deserializer, Serialize, Serializer};

/// A quantity counted in halves, so that a patient shared between two trusts (0.5 each) adds up
/// exactly. JSON writes it as a plain number: `17020` or `0.5`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Halves(pub i64);

impl Halves {
    pub fn whole(n: i64) -> Halves {
        Halves(n.saturating_mul(2))
    }
    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 2.0
    }
}

impl fmt::Display for Halves {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.0 % 2 == 0 {
            write!(f, "{}", self.0 / 2)
        } else {
            write!(f, "{}", self.as_f64())
        }
    }
}

impl Serialize for Halves {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            s.serialize_i64(self.0)
        } else if self.0 % 2 == 0 {
            s.serialize_i64(self.0 / 2)
        } else {
            s.serialize_f64(self.as_f64())
        }
    }
}

/// Largest magnitude whose halves fit in an i64 and that an f64 holds exactly.
const MAX_HALVES_MAGNITUDE: f64 = (1u64 << 52) as f64;

struct HalvesVisitor;

impl de::Visitor<'_> for HalvesVisitor {
    type Value = Halves;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number or a half (such as 17020 or 0.5)")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Halves, E> {
        v.checked_mul(2)
            .map(Halves)
            .ok_or_else(|| E::custom("number too large"))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Halves, E> {
        i64::try_from(v)
            .map_err(|_| E::custom("number too large"))
            .and_then(|v| self.visit_i64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Halves, E> {
        let doubled = v * 2.0;
        if !doubled.is_finite() || doubled.abs() > MAX_HALVES_MAGNITUDE {
            return Err(E::custom("number too large"));
        }
        if doubled.fract() != 0.0 {
            return Err(E::custom(format!("{v} is not a whole number or a half")));
        }
        Ok(Halves(doubled as i64))
    }
}

impl<'de> Deserialize<'de> for Halves {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Halves, D::Error> {
        if d.is_human_readable() {
            d.deserialize_any(HalvesVisitor)
        } else {
            i64::deserialize(d).map(Halves)
        }
    }
}

/// The kind of a metric's value; decides its shape and how it rolls up.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ValueKind {
    /// Numerator over denominator; rolls up as Σ numerator / Σ denominator.
    Ratio,
    /// A whole number; rolls up as a sum.
    Count,
    /// Signed pence; rolls up as a sum.
    Money,
    /// Mean seconds over a number of cases; rolls up as a case-weighted mean.
    Duration,
}

impl fmt::Display for ValueKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValueKind::Ratio => "ratio",
            ValueKind::Count => "count",
            ValueKind::Money => "money",
            ValueKind::Duration => "duration",
        })
    }
}

/// One reported value. Signs are not checked when decoding: validation rejects a negative count
/// with its own reason, which a decoding error could not name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum Value {
    Ratio {
        numerator: Halves,
        denominator: Halves,
    },
    Count(i64),
    Money {
        pence: i64,
    },
    Duration {
        seconds: i64,
        cases: i64,
    },
}

/// The largest figure one organisation's return may carry, by part. A million organisations
/// each at the bound still sum inside an `i64`, so no scope's total can wrap; each bound is far
/// above any real figure (England's population is 57 million; the largest ICB allocation is
/// under £10bn a year).
pub const MAX_COUNT: i64 = 1_000_000_000_000;
/// The largest numerator or denominator of a ratio, in whole units (`MAX_COUNT`).
pub const MAX_RATIO_PART: i64 = MAX_COUNT;
/// The largest amount of money either way: £20bn, in pence.
pub const MAX_PENCE: i64 = 2_000_000_000_000;
/// The largest mean duration: about 31 years, in seconds.
pub const MAX_SECONDS: i64 = 1_000_000_000;
/// The largest number of cases behind a duration.
pub const MAX_CASES: i64 = MAX_COUNT;

impl Value {
    /// Each part of the value beyond its bound: its name, the figure and the bound as a person
    /// reads them (halves as sent, money in pounds and bounded either way).
    pub fn parts_too_large(&self) -> Vec<(&'static str, String, String)> {
        let beyond = |value: i64, bound: i64| value.unsigned_abs() > bound.unsigned_abs();
        let whole = |part, value: i64, bound: i64| (part, value.to_string(), bound.to_string());
        let halves = |part, value: Halves| {
            (
                part,
                value.to_string(),
                Halves::whole(MAX_RATIO_PART).to_string(),
            )
        };
        let mut parts = Vec::new();
        match *self {
            Value::Ratio {
                numerator,
                denominator,
            } => {
                for (part, value) in [("numerator", numerator), ("denominator", denominator)] {
                    if beyond(value.0, 2 * MAX_RATIO_PART) {
                        parts.push(halves(part, value));
                    }
                }
            }
            Value::Count(n) if beyond(n, MAX_COUNT) => parts.push(whole("count", n, MAX_COUNT)),
            Value::Money { pence } if beyond(pence, MAX_PENCE) => parts.push((
                "pence",
                crate::show_pence(pence),
                format!("±{}", crate::show_pence(MAX_PENCE)),
            )),
            Value::Duration { seconds, cases } => {
                if beyond(seconds, MAX_SECONDS) {
                    parts.push(whole("seconds", seconds, MAX_SECONDS));
                }
                if beyond(cases, MAX_CASES) {
                    parts.push(whole("cases", cases, MAX_CASES));
                }
            }
            _ => {}
        }
        parts
    }

    pub fn kind(&self) -> ValueKind {
        match self {
            Value::Ratio { .. } => ValueKind::Ratio,
            Value::Count(_) => ValueKind::Count,
            Value::Money { .. } => ValueKind::Money,
            Value::Duration { .. } => ValueKind::Duration,
        }
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Value::Ratio {
                numerator,
                denominator,
            } => {
                let pct = if denominator.0 == 0 {
                    0.0
                } else {
                    100.0 * numerator.as_f64() / denominator.as_f64()
                };
                write!(f, "{numerator}/{denominator} ({pct:.2}%)")
            }
            Value::Count(n) => write!(f, "{n}"),
            Value::Money { pence } => {
                let sign = if pence < 0 { "-" } else { "" };
                write!(
                    f,
                    "{sign}£{}.{:02}",
                    pence.unsigned_abs() / 100,
                    pence.unsigned_abs() % 100
                )
            }
            Value::Duration { seconds, cases } => write!(f, "{seconds}s over {cases} cases"),
        }
    }
}

/// The JSON shape: the fields name the kind (`{"count": 3}`, `{"numerator": 1, "denominator": 2}`).
#[derive(Serialize, Deserialize, Default)]
#[serde(
    deny_unknown_fields,
    expecting = "a value: {\"numerator\", \"denominator\"}, {\"count\"}, {\"pence\"} or {\"seconds\", \"cases\"}"
)]
struct ValueJson {
    #[serde(skip_serializing_if = "Option::is_none")]
    numerator: Option<Halves>,
    #[serde(skip_serializing_if = "Option::is_none")]
    denominator: Option<Halves>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    count: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    pence: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    seconds: Option<i64>,
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "whole_number"
    )]
    cases: Option<i64>,
}

/// A whole number however it is written (`17020`, `17020.0`, `1.702e4`): the JSON rule for
/// figures (`numbers.rs`).
fn whole_number<'de, D: Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    d.deserialize_any(WholeVisitor).map(Some)
}

struct WholeVisitor;

impl de::Visitor<'_> for WholeVisitor {
    type Value = i64;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a whole number (such as 17020)")
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<i64, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<i64, E> {
        i64::try_from(v).map_err(|_| E::custom("number too large"))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<i64, E> {
        if !v.is_finite() || v.abs() > MAX_HALVES_MAGNITUDE {
            return Err(E::custom("number too large"));
        }
        if v.fract() != 0.0 {
            return Err(E::custom(format!("{v} is not a whole number")));
        }
        Ok(v as i64)
    }
}

const VALUE_SHAPES: &str = "a value is one of {\"numerator\", \"denominator\"}, {\"count\"}, \
                            {\"pence\"} or {\"seconds\", \"cases\"}";

impl Serialize for Value {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return Value::serialize(self, s);
        }
        let json = match *self {
            Value::Ratio {
                numerator,
                denominator,
            } => ValueJson {
                numerator: Some(numerator),
                denominator: Some(denominator),
                ..ValueJson::default()
            },
            Value::Count(n) => ValueJson {
                count: Some(n),
                ..ValueJson::default()
            },
            Value::Money { pence } => ValueJson {
                pence: Some(pence),
                ..ValueJson::default()
            },
            Value::Duration { seconds, cases } => ValueJson {
                seconds: Some(seconds),
                cases: Some(cases),
                ..ValueJson::default()
            },
        };
        json.serialize(s)
    }
}

impl<'de> Deserialize<'de> for Value {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Value, D::Error> {
        if !d.is_human_readable() {
            return Value::deserialize(d);
        }
        let v = ValueJson::deserialize(d)?;
        match v {
            ValueJson {
                numerator: Some(numerator),
                denominator: Some(denominator),
                count: None,
                pence: None,
                seconds: None,
                cases: None,
            } => Ok(Value::Ratio {
                numerator,
                denominator,
            }),
            ValueJson {
                count: Some(n),
                numerator: None,
                denominator: None,
                pence: None,
                seconds: None,
                cases: None,
            } => Ok(Value::Count(n)),
            ValueJson {
                pence: Some(pence),
                numerator: None,
                denominator: None,
                count: None,
                seconds: None,
                cases: None,
            } => Ok(Value::Money { pence }),
            ValueJson {
                seconds: Some(seconds),
                cases: Some(cases),
                numerator: None,
                denominator: None,
                count: None,
                pence: None,
            } => Ok(Value::Duration { seconds, cases }),
            _ => Err(de::Error::custom(VALUE_SHAPES)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_beyond_their_bound_are_named_by_part() {
        let named = |value: Value| -> Vec<String> {
            value
                .parts_too_large()
                .into_iter()
                .map(|(part, figure, bound)| format!("{part} {figure} > {bound}"))
                .collect()
        };
        assert!(named(Value::Count(MAX_COUNT)).is_empty());
        assert_eq!(
            named(Value::Count(MAX_COUNT + 1)),
            ["count 1000000000001 > 1000000000000"]
        );
        assert!(named(Value::Money { pence: -MAX_PENCE }).is_empty());
        assert_eq!(
            named(Value::Money { pence: i64::MIN }),
            ["pence -£92,233,720,368,547,758.08 > ±£20,000,000,000"],
            "a deficit is bounded too"
        );
        assert_eq!(
            named(Value::Duration {
                seconds: MAX_SECONDS + 1,
                cases: 1
            }),
            ["seconds 1000000001 > 1000000000"]
        );
        let ratio = Value::Ratio {
            numerator: Halves::whole(MAX_RATIO_PART),
            denominator: Halves(2 * MAX_RATIO_PART + 1),
        };
        assert_eq!(
            named(ratio),
            ["denominator 1000000000000.5 > 1000000000000"],
            "halves as sent"
        );
    }

    #[test]
    fn json_shapes_match_the_design() {
        let cases = [
            (
                r#"{"numerator":17020,"denominator":21289}"#,
                Value::Ratio {
                    numerator: Halves::whole(17020),
                    denominator: Halves::whole(21289),
                },
            ),
            (
                r#"{"numerator":0.5,"denominator":3}"#,
                Value::Ratio {
                    numerator: Halves(1),
                    denominator: Halves(6),
                },
            ),
            (r#"{"count":3}"#, Value::Count(3)),
            (
                r#"{"pence":-120000000}"#,
                Value::Money {
                    pence: -120_000_000,
                },
            ),
            (
                r#"{"seconds":430,"cases":1200}"#,
                Value::Duration {
                    seconds: 430,
                    cases: 1200,
                },
            ),
        ];
        for (json, value) in cases {
            assert_eq!(serde_json::from_str::<Value>(json).expect(json), value);
            assert_eq!(serde_json::to_string(&value).expect("encodes"), json);
            let bytes = postcard::to_stdvec(&value).expect("encodes");
            assert_eq!(
                postcard::from_bytes::<Value>(&bytes).expect("decodes"),
                value
            );
        }
    }

    #[test]
    fn json_refuses_mixed_or_fractional_values() {
        for json in [
            r#"{"count":3,"pence":1}"#,
            r#"{"numerator":1}"#,
            r#"{"numerator":0.3,"denominator":1}"#,
            r#"{"count":1.5}"#,
            r#"{"counts":1}"#,
            r#"{}"#,
            r#"{"numerator":1e300,"denominator":1}"#,
        ] {
            assert!(
                serde_json::from_str::<Value>(json).is_err(),
                "{json} should be refused"
            );
        }
    }
}
