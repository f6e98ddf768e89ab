//! A return: one organisation's figures for one collection and period.
//!
//! [`ReturnForm`] is what a submitter sends, decoded as loosely as the encoding allows so that
//! validation can name every problem at once; [`Return`] is what validation makes of it and what
//! the log stores (period parsed, values sorted by metric id, no duplicates).

use std::fmt;

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::calendar::Period;
use crate::envelope::{decode_versioned, DecodeError, SCHEMA_VERSION};
use crate::value::Value;

fn current_schema_version() -> u16 {
    SCHEMA_VERSION
}

/// A return as submitted, before validation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReturnForm {
    /// Leads the binary form so an unknown version is recognised before anything else is read.
    /// Optional in JSON (defaults to the current version).
    #[serde(default = "current_schema_version")]
    pub schema_version: u16,
    /// Chosen by the submitter; retrying with the same id is safe.
    pub submission_id: String,
    pub org: String,
    pub collection: String,
    /// As written; validation parses it so a malformed period gets its own reason.
    pub period: String,
    /// Metric id to value, in the order given; duplicates are kept for validation to reject.
    #[serde(with = "values_in_order")]
    pub values: Vec<(String, Value)>,
}

/// A validated return, as the log holds it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Return {
    pub submission_id: String,
    pub org: String,
    pub collection: String,
    pub period: Period,
    /// Sorted by metric id, each id once.
    #[serde(with = "values_in_order")]
    pub values: Vec<(String, Value)>,
}

impl Return {
    pub fn value(&self, metric: &str) -> Option<&Value> {
        self.values
            .binary_search_by(|(id, _)| id.as_str().cmp(metric))
            .ok()
            .map(|i| &self.values[i].1)
    }
}

impl From<&Return> for ReturnForm {
    fn from(r: &Return) -> ReturnForm {
        ReturnForm {
            schema_version: SCHEMA_VERSION,
            submission_id: r.submission_id.clone(),
            org: r.org.clone(),
            collection: r.collection.clone(),
            period: r.period.to_string(),
            values: r.values.clone(),
        }
    }
}

/// Values as a JSON object (`{"ae_4hr": {...}}`) or, in postcard, a sequence of pairs; both keep
/// the order and any duplicate keys.
pub(crate) mod values_in_order {
    use std::marker::PhantomData;

    use super::*;

    pub fn serialize<V: Serialize, S: Serializer>(
        values: &[(String, V)],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_map(values.iter().map(|(k, v)| (k, v)))
        } else {
            values.serialize(s)
        }
    }

    pub fn deserialize<'de, V: Deserialize<'de>, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, V)>, D::Error> {
        if d.is_human_readable() {
            d.deserialize_map(PairsVisitor(PhantomData))
        } else {
            Vec::deserialize(d)
        }
    }

    struct PairsVisitor<V>(PhantomData<V>);

    impl<'de, V: Deserialize<'de>> Visitor<'de> for PairsVisitor<V> {
        type Value = Vec<(String, V)>;

        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0).min(256));
            while let Some(pair) = map.next_entry::<String, V>()? {
                pairs.push(pair);
            }
            Ok(pairs)
        }
    }
}

/// Encodes a return form in postcard, the default wire form of `oversight.submit.<org>`.
pub fn encode_return_form(form: &ReturnForm) -> Vec<u8> {
    // Encoding plain owned data into a Vec cannot fail.
    postcard::to_stdvec(form).unwrap_or_default()
}

/// Decodes a postcard return form, checking the schema version first.
pub fn decode_return_form(bytes: &[u8]) -> Result<ReturnForm, DecodeError> {
    decode_versioned(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::Halves;

    const DESIGN_EXAMPLE: &str = r#"{"submission_id": "RJ1-ae-monthly-2019-01-v1",
     "org": "RJ1", "collection": "ae-monthly", "period": "2019-01",
     "values": {"ae_4hr":          {"numerator": 17020, "denominator": 21289},
                "ae_12hr_dta":     {"count": 3},
                "finance_surplus": {"pence": -120000000},
                "ambulance_cat1":  {"seconds": 430, "cases": 1200}}}"#;

    #[test]
    fn reads_the_design_example() {
        let form: ReturnForm = serde_json::from_str(DESIGN_EXAMPLE).expect("decodes");
        assert_eq!(form.schema_version, SCHEMA_VERSION);
        assert_eq!(form.org, "RJ1");
        assert_eq!(form.values.len(), 4);
        assert_eq!(
            form.values[0],
            (
                "ae_4hr".to_owned(),
                Value::Ratio {
                    numerator: Halves::whole(17020),
                    denominator: Halves::whole(21289)
                }
            )
        );
        let bytes = encode_return_form(&form);
        assert_eq!(decode_return_form(&bytes), Ok(form));
    }

    #[test]
    fn keeps_duplicate_metric_keys_for_validation() {
        let json = r#"{"submission_id":"a","org":"RJ1","collection":"c","period":"2019-01",
                       "values":{"ae_12hr_dta":{"count":1},"ae_12hr_dta":{"count":2}}}"#;
        let form: ReturnForm = serde_json::from_str(json).expect("decodes");
        assert_eq!(form.values.len(), 2);
    }

    #[test]
    fn refuses_unknown_fields_and_truncation() {
        let json = r#"{"submission_id":"a","org":"RJ1","collection":"c","period":"2019-01","values":{},"extra":1}"#;
        assert!(serde_json::from_str::<ReturnForm>(json).is_err());
        let form: ReturnForm = serde_json::from_str(DESIGN_EXAMPLE).expect("decodes");
        let bytes = encode_return_form(&form);
        assert_eq!(
            decode_return_form(&bytes[..bytes.len() - 3]),
            Err(DecodeError::Truncated)
        );
        let mut longer = bytes.clone();
        longer.push(0);
        assert_eq!(decode_return_form(&longer), Err(DecodeError::TrailingBytes));
        let mut future = bytes;
        future[0] = 9;
        assert_eq!(
            decode_return_form(&future),
            Err(DecodeError::UnknownSchemaVersion(9))
        );
    }
}
