//! Encodings on the wire: postcard by default, JSON when a request carries
//! `Content-Type: application/json` (and then the reply is JSON too).

use async_nats::HeaderMap;
use proto_schema::{
    decode_plan_form, decode_return_form, DecodeError, PlanForm, Reason, ReasonCode, ReturnForm,
    SCHEMA_VERSION,
};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

pub const CONTENT_TYPE: &str = "Content-Type";
pub const JSON: &str = "application/json";

/// Set on a reply that is an error rather than the requested data (the NATS micro convention).
pub const SERVICE_ERROR: &str = "Nats-Service-Error";
pub const SERVICE_ERROR_CODE: &str = "Nats-Service-Error-Code";

/// The statuses an error reply carries in `Nats-Service-Error-Code`, named once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// The request cannot be read, or asks for something contradictory.
    BadRequest = 400,
    /// The requester may not read it.
    Forbidden = 403,
    /// No such scope.
    NotFound = 404,
    /// The answer would not fit in one NATS message.
    TooLarge = 413,
    /// The service failed answering (a storage error).
    Internal = 500,
    /// Not now: the service is busy or cannot reach what it needs; ask again.
    Unavailable = 503,
}

/// An error reply: a status and a sentence saying what to do.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct ServiceError {
    pub status: Status,
    pub message: String,
}

impl ServiceError {
    pub fn new(status: Status, message: impl Into<String>) -> ServiceError {
        ServiceError {
            status,
            message: message.into(),
        }
    }

    /// The headers of the reply that carries this error (its body is empty).
    pub fn headers(&self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(SERVICE_ERROR, self.message.as_str());
        headers.insert(
            SERVICE_ERROR_CODE,
            (self.status as u16).to_string().as_str(),
        );
        headers
    }
}

/// Sends `error` to `reply`; a reply that cannot be sent is logged, as the requester times out.
pub async fn reply_error(
    nats: &async_nats::Client,
    reply: async_nats::Subject,
    error: &ServiceError,
) {
    if let Err(send) = nats
        .publish_with_headers(reply, error.headers(), bytes::Bytes::new())
        .await
    {
        tracing::warn!(error = %send, "cannot send an error reply");
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Postcard,
    Json,
}

impl Encoding {
    /// JSON when the headers ask for it: the media type `application/json` (any case,
    /// parameters such as `; charset=utf-8` allowed), not merely a value that begins so.
    pub fn of(headers: Option<&HeaderMap>) -> Encoding {
        let is_json = headers
            .and_then(|h| h.get(CONTENT_TYPE))
            .map(|v| {
                let media_type = v.as_str().split(';').next().unwrap_or_default();
                media_type.trim().eq_ignore_ascii_case(JSON)
            })
            .unwrap_or(false);
        if is_json {
            Encoding::Json
        } else {
            Encoding::Postcard
        }
    }

    /// Headers that ask for this encoding in a request.
    pub fn request_headers(self) -> HeaderMap {
        let mut headers = HeaderMap::new();
        if self == Encoding::Json {
            headers.insert(CONTENT_TYPE, JSON);
        }
        headers
    }

    pub fn encode<T: Serialize>(self, value: &T) -> Vec<u8> {
        // Encoding the service's own plain data cannot fail in either format.
        match self {
            Encoding::Postcard => postcard::to_stdvec(value).unwrap_or_default(),
            Encoding::Json => serde_json::to_vec(value).unwrap_or_default(),
        }
    }

    /// Decodes a request body that is not a return (log reads and the like).
    pub fn decode<'a, T: Deserialize<'a>>(self, bytes: &'a [u8]) -> Result<T, String> {
        match self {
            Encoding::Postcard => {
                postcard::from_bytes(bytes).map_err(|e| DecodeError::from(e).to_string())
            }
            Encoding::Json => serde_json::from_slice(bytes).map_err(|e| e.to_string()),
        }
    }

    /// Decodes a submitted return, or the one reason it cannot be read.
    pub fn decode_return(self, bytes: &[u8]) -> Result<ReturnForm, Reason> {
        self.decode_form(bytes, "return", decode_return_form)
    }

    /// Decodes a submitted plan, or the one reason it cannot be read.
    pub fn decode_plan(self, bytes: &[u8]) -> Result<PlanForm, Reason> {
        self.decode_form(bytes, "plan", decode_plan_form)
    }

    fn decode_form<T: DeserializeOwned>(
        self,
        bytes: &[u8],
        what: &str,
        from_postcard: fn(&[u8]) -> Result<T, DecodeError>,
    ) -> Result<T, Reason> {
        match self {
            Encoding::Postcard if looks_like_json(bytes) => Err(Reason::new(
                ReasonCode::MalformedPayload,
                "",
                format!("the payload looks like JSON but came without the header `{CONTENT_TYPE}: {JSON}`, so it was read as postcard: send the header with JSON"),
            )),
            Encoding::Postcard => from_postcard(bytes).map_err(|e| match e {
                DecodeError::Truncated => Reason::new(ReasonCode::TruncatedPayload, "", format!("the postcard payload ends before the {what} does")),
                DecodeError::UnknownSchemaVersion(v) => unknown_version(v),
                other => Reason::new(ReasonCode::MalformedPayload, "", format!("the payload is not a postcard {what} ({other}); send JSON with the header `Content-Type: application/json`")),
            }),
            Encoding::Json => decode_json_form(bytes),
        }
    }
}

/// A JSON object: no postcard return starts so (its first byte is the schema version, 1).
fn looks_like_json(bytes: &[u8]) -> bool {
    bytes
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|b| *b == b'{')
}

fn unknown_version(version: u16) -> Reason {
    Reason::new(
        ReasonCode::UnknownSchemaVersion,
        "schema_version",
        format!(
            "schema version {version} is not known; this service reads version {SCHEMA_VERSION}"
        ),
    )
}

/// Reads only the version, so a submission of another version is named as such rather than as bad
/// JSON.
#[derive(Deserialize)]
struct VersionProbe {
    #[serde(default)]
    schema_version: Option<u16>,
}

fn decode_json_form<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Reason> {
    if let Ok(VersionProbe {
        schema_version: Some(v),
    }) = serde_json::from_slice::<VersionProbe>(bytes)
    {
        if v != SCHEMA_VERSION {
            return Err(unknown_version(v));
        }
    }
    // Figures are exact: a number that is not exactly a whole number or a half is refused
    // before the decoder could round it.
    if let Some((number, why)) = proto_schema::first_inexact_number(bytes) {
        return Err(Reason::new(
            ReasonCode::InexactNumber,
            "",
            format!("`{number}` is refused: {why}; figures are whole numbers (a ratio's numerator and denominator may be halves, such as 0.5), written exactly"),
        ));
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let form: T = serde_path_to_error::deserialize(&mut deserializer).map_err(|e| {
        // serde_path_to_error writes `?` for a place it cannot name: leave such places out
        // rather than show the analyst a question mark.
        let field = e
            .path()
            .to_string()
            .split('.')
            .filter(|part| !part.is_empty() && *part != "?")
            .collect::<Vec<_>>()
            .join(".");
        Reason::new(ReasonCode::InvalidJson, field, e.into_inner().to_string())
    })?;
    deserializer
        .end()
        .map_err(|e| Reason::new(ReasonCode::InvalidJson, "", e.to_string()))?;
    Ok(form)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_read_exactly_however_written_and_never_rounded() {
        let with = |count: &str| {
            format!(
                r#"{{"submission_id":"a","org":"RJ1","collection":"ae-monthly","period":"2019-01","values":{{"ae_12hr_dta":{{"count":{count}}},"ae_4hr":{{"numerator":1.5e1,"denominator":20}}}}}}"#
            )
        };
        for exact in ["17020", "17020.0", "1.702e4"] {
            let form = Encoding::Json
                .decode_return(with(exact).as_bytes())
                .expect("exact");
            assert_eq!(
                form.values[0].1,
                proto_schema::Value::Count(17020),
                "{exact}"
            );
        }
        let three = Encoding::Json
            .decode_return(with("3e0").as_bytes())
            .expect("3e0 is 3");
        assert_eq!(three.values[0].1, proto_schema::Value::Count(3));
        let rounded = Encoding::Json
            .decode_return(with("17020.0000000000000001").as_bytes())
            .expect_err("not exact");
        assert_eq!(rounded.code, ReasonCode::InexactNumber);
        assert!(
            rounded.message.contains("17020.0000000000000001"),
            "{}",
            rounded.message
        );
        let half = Encoding::Json
            .decode_return(with("0.5").as_bytes())
            .expect_err("a count is whole");
        assert_eq!(half.code, ReasonCode::InvalidJson);
        assert_eq!(half.field, "values.ae_12hr_dta.count");
    }

    #[test]
    fn json_is_the_media_type_application_json_not_a_prefix_of_it() {
        let of = |value: &str| {
            let mut headers = HeaderMap::new();
            headers.insert(CONTENT_TYPE, value);
            Encoding::of(Some(&headers))
        };
        assert_eq!(of("application/json"), Encoding::Json);
        assert_eq!(of("Application/JSON; charset=utf-8"), Encoding::Json);
        assert_eq!(of("application/jsonpgarbage"), Encoding::Postcard);
        assert_eq!(of("application/json-seq"), Encoding::Postcard);
        assert_eq!(Encoding::of(None), Encoding::Postcard);
    }

    #[test]
    fn json_errors_name_the_field() {
        let json = br#"{"submission_id":"a","org":"RJ1","collection":"c","period":"2019-01","values":{"ae_4hr":{"numerator":"x","denominator":1}}}"#;
        let reason = Encoding::Json
            .decode_return(json)
            .expect_err("bad numerator");
        assert_eq!(reason.code, ReasonCode::InvalidJson);
        assert_eq!(reason.field, "values.ae_4hr.numerator");
    }

    #[test]
    fn a_bare_number_for_a_value_is_explained_in_the_analyst_s_terms() {
        let json = br#"{"submission_id":"a","org":"RJ1","collection":"ae-monthly","period":"2019-01","values":{"ae_12hr_dta":3}}"#;
        let reason = Encoding::Json
            .decode_return(json)
            .expect_err("a bare number");
        assert_eq!(reason.code, ReasonCode::InvalidJson);
        assert!(!reason.message.contains("ValueJson"), "{}", reason.message);
        assert!(reason.message.contains("{\"count\"}"), "{}", reason.message);
        assert_eq!(reason.field, "values.ae_12hr_dta");
    }

    #[test]
    fn json_sent_without_the_header_is_named_as_such() {
        let json = br#" {"submission_id":"a","org":"RJ1","collection":"c","period":"2019-01","values":{}}"#;
        let reason = Encoding::Postcard
            .decode_return(json)
            .expect_err("not postcard");
        assert_eq!(reason.code, ReasonCode::MalformedPayload);
        assert!(
            reason.message.contains("looks like JSON"),
            "{}",
            reason.message
        );
        assert!(
            reason.message.contains("Content-Type: application/json"),
            "{}",
            reason.message
        );
        assert!(
            !reason.message.contains("schema version"),
            "{}",
            reason.message
        );
    }

    #[test]
    fn unknown_versions_are_named_in_both_encodings() {
        let json = br#"{"schema_version":7,"whatever":true}"#;
        assert_eq!(
            Encoding::Json.decode_return(json).map_err(|r| r.code),
            Err(ReasonCode::UnknownSchemaVersion)
        );
        assert_eq!(
            Encoding::Postcard
                .decode_return(&[7, 0, 0])
                .map_err(|r| r.code),
            Err(ReasonCode::UnknownSchemaVersion)
        );
        assert_eq!(
            Encoding::Postcard
                .decode_return(&[1, 5, b'a'])
                .map_err(|r| r.code),
            Err(ReasonCode::TruncatedPayload)
        );
        assert_eq!(
            Encoding::Json
                .decode_return(b"{not json")
                .map_err(|r| r.code),
            Err(ReasonCode::InvalidJson)
        );
    }
}
