//! What a submitter gets back: accepted (only once durable), rejected with every reason, or busy.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Machine-readable rejection codes. Part of the public interface: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReasonCode {
    /// Postcard bytes that are not a return.
    MalformedPayload,
    /// Postcard bytes that end early.
    TruncatedPayload,
    /// A JSON request that does not parse as a return.
    InvalidJson,
    UnknownSchemaVersion,
    PayloadTooLarge,
    SubmissionIdEmpty,
    SubmissionIdTooLong,
    /// The organisation in the subject differs from the one in the return.
    OrgMismatch,
    UnknownOrganisation,
    /// The organisation did not exist during the period (opened later or closed earlier).
    OrganisationNotOpen,
    MalformedCollection,
    MalformedPeriod,
    PeriodInFuture,
    EmptyValues,
    DuplicateMetric,
    UnknownMetric,
    /// The metric is reported by the other kind of organisation (e.g. a trust sending a CCG metric).
    MetricNotReportedByOrg,
    WrongValueKind,
    NegativeValue,
    /// The last reason of a receipt that found more than it lists: how many more, by code.
    ReasonsNotListed,
    /// A submission id, name or rationale with a control character (a newline, an escape).
    ControlCharacter,
    /// A name or rationale longer than its bound.
    TextTooLong,
    /// A JSON number that is not exactly a whole number or a half (never rounded).
    InexactNumber,
    /// A registration that would move an organisation to another region or system: that is a
    /// move from a period (`move_organisation`), which keeps where its past returns count.
    RegistrationMoves,
    /// A figure beyond the bound for its kind (`MAX_COUNT` and the others).
    ValueTooLarge,
    NumeratorExceedsDenominator,
    ZeroDenominator,
    /// The submission id was used before for a return with other content.
    SubmissionConflict,
    /// The subject is not `oversight.submit.<org>`.
    MalformedSubject,
    /// A reference-data command names a region that is not defined.
    UnknownRegion,
    /// A reference-data command names a system that is not defined (or is in another region).
    UnknownSystem,
    /// An organisation code that is empty, too long, or not upper-case letters and digits.
    MalformedOrganisationCode,
    /// An organisation that closes before it opens.
    ClosedBeforeOpened,
    /// The sender's role may not do this: a trust or CCG submitting for another organisation,
    /// or a reference-data command from outside the data-standards role.
    NotPermitted,
    /// A plan gives the same period twice for one metric.
    DuplicatePeriod,
    /// A plan's name is empty, too long, or not lower-case letters, digits, `-` or `_`.
    MalformedPlanName,
    /// A segment decision outside 1 to 4.
    SegmentOutOfRange,
    /// The period has begun but is not over (a month still running, or today's daily sitrep).
    PeriodNotEnded,
    /// A collection the data standard does not define.
    UnknownCollection,
    /// A metric of the data standard that the return's collection does not carry.
    MetricNotInCollection,
    /// A period of another kind than the collection's (a week in a monthly collection).
    WrongPeriodKind,
    /// A methodology that cannot be scored as defined (an unknown metric, thresholds out of
    /// order, a version not above the one in force, ...).
    MalformedMethodology,
    /// A segment 5 decision without a rationale: intensive support is always explained.
    RationaleRequired,
}

impl ReasonCode {
    /// Every code, in the order they were added.
    pub const ALL: [ReasonCode; 43] = [
        ReasonCode::MalformedPayload,
        ReasonCode::TruncatedPayload,
        ReasonCode::InvalidJson,
        ReasonCode::UnknownSchemaVersion,
        ReasonCode::PayloadTooLarge,
        ReasonCode::SubmissionIdEmpty,
        ReasonCode::SubmissionIdTooLong,
        ReasonCode::OrgMismatch,
        ReasonCode::UnknownOrganisation,
        ReasonCode::OrganisationNotOpen,
        ReasonCode::MalformedCollection,
        ReasonCode::MalformedPeriod,
        ReasonCode::PeriodInFuture,
        ReasonCode::EmptyValues,
        ReasonCode::DuplicateMetric,
        ReasonCode::UnknownMetric,
        ReasonCode::MetricNotReportedByOrg,
        ReasonCode::WrongValueKind,
        ReasonCode::NegativeValue,
        ReasonCode::ReasonsNotListed,
        ReasonCode::ControlCharacter,
        ReasonCode::TextTooLong,
        ReasonCode::InexactNumber,
        ReasonCode::RegistrationMoves,
        ReasonCode::ValueTooLarge,
        ReasonCode::NumeratorExceedsDenominator,
        ReasonCode::ZeroDenominator,
        ReasonCode::SubmissionConflict,
        ReasonCode::MalformedSubject,
        ReasonCode::UnknownRegion,
        ReasonCode::UnknownSystem,
        ReasonCode::MalformedOrganisationCode,
        ReasonCode::ClosedBeforeOpened,
        ReasonCode::NotPermitted,
        ReasonCode::DuplicatePeriod,
        ReasonCode::MalformedPlanName,
        ReasonCode::SegmentOutOfRange,
        ReasonCode::PeriodNotEnded,
        ReasonCode::UnknownCollection,
        ReasonCode::MetricNotInCollection,
        ReasonCode::WrongPeriodKind,
        ReasonCode::MalformedMethodology,
        ReasonCode::RationaleRequired,
    ];

    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            ReasonCode::MalformedPayload => "malformed_payload",
            ReasonCode::TruncatedPayload => "truncated_payload",
            ReasonCode::InvalidJson => "invalid_json",
            ReasonCode::UnknownSchemaVersion => "unknown_schema_version",
            ReasonCode::PayloadTooLarge => "payload_too_large",
            ReasonCode::SubmissionIdEmpty => "submission_id_empty",
            ReasonCode::SubmissionIdTooLong => "submission_id_too_long",
            ReasonCode::OrgMismatch => "org_mismatch",
            ReasonCode::UnknownOrganisation => "unknown_organisation",
            ReasonCode::OrganisationNotOpen => "organisation_not_open",
            ReasonCode::MalformedCollection => "malformed_collection",
            ReasonCode::MalformedPeriod => "malformed_period",
            ReasonCode::PeriodInFuture => "period_in_future",
            ReasonCode::EmptyValues => "empty_values",
            ReasonCode::DuplicateMetric => "duplicate_metric",
            ReasonCode::UnknownMetric => "unknown_metric",
            ReasonCode::MetricNotReportedByOrg => "metric_not_reported_by_org",
            ReasonCode::WrongValueKind => "wrong_value_kind",
            ReasonCode::NegativeValue => "negative_value",
            ReasonCode::ValueTooLarge => "value_too_large",
            ReasonCode::ReasonsNotListed => "reasons_not_listed",
            ReasonCode::ControlCharacter => "control_character",
            ReasonCode::TextTooLong => "text_too_long",
            ReasonCode::InexactNumber => "inexact_number",
            ReasonCode::RegistrationMoves => "registration_moves",
            ReasonCode::NumeratorExceedsDenominator => "numerator_exceeds_denominator",
            ReasonCode::ZeroDenominator => "zero_denominator",
            ReasonCode::SubmissionConflict => "submission_conflict",
            ReasonCode::MalformedSubject => "malformed_subject",
            ReasonCode::UnknownRegion => "unknown_region",
            ReasonCode::UnknownSystem => "unknown_system",
            ReasonCode::MalformedOrganisationCode => "malformed_organisation_code",
            ReasonCode::ClosedBeforeOpened => "closed_before_opened",
            ReasonCode::NotPermitted => "not_permitted",
            ReasonCode::DuplicatePeriod => "duplicate_period",
            ReasonCode::MalformedPlanName => "malformed_plan_name",
            ReasonCode::SegmentOutOfRange => "segment_out_of_range",
            ReasonCode::PeriodNotEnded => "period_not_ended",
            ReasonCode::UnknownCollection => "unknown_collection",
            ReasonCode::MetricNotInCollection => "metric_not_in_collection",
            ReasonCode::WrongPeriodKind => "wrong_period_kind",
            ReasonCode::MalformedMethodology => "malformed_methodology",
            ReasonCode::RationaleRequired => "rationale_required",
        }
    }
}

impl fmt::Display for ReasonCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One reason a return was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reason {
    pub code: ReasonCode,
    /// Where in the return, such as `values.ae_4hour` or `period`; empty for the whole payload.
    pub field: String,
    /// A sentence for the analyst.
    pub message: String,
}

impl Reason {
    pub fn new(code: ReasonCode, field: impl Into<String>, message: impl Into<String>) -> Reason {
        Reason {
            code,
            field: field.into(),
            message: message.into(),
        }
    }
}

/// Something an accepted submitter should know: the figure it compares with may not be the one
/// in force.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Notice {
    pub code: NoticeCode,
    /// A sentence for the analyst.
    pub message: String,
}

/// Machine-readable notice codes. Part of the public interface: never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NoticeCode {
    /// A resend of a revision that a later revision of the same (organisation, collection,
    /// period) has replaced: the later one counts.
    Superseded,
    /// A new revision that leaves out metrics the revision before it had: for the period, they
    /// now have no figure from this organisation.
    MetricsDropped,
}

impl NoticeCode {
    /// The code as it appears on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeCode::Superseded => "superseded",
            NoticeCode::MetricsDropped => "metrics_dropped",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(remote = "Self")]
pub enum Receipt {
    /// Durable in the log at `seq`. `duplicate` when this submission id was already accepted with
    /// the same content (the original seq and revision are returned).
    Accepted {
        seq: u64,
        revision: u32,
        duplicate: bool,
        /// What the submitter should know beside it (none, most often).
        notices: Vec<Notice>,
    },
    /// Not appended; every reason found.
    Rejected { reasons: Vec<Reason> },
    /// Not appended because the service is at capacity; retry with the same submission id.
    Busy { retry_after_ms: u32 },
}

impl Receipt {
    /// Accepted, with nothing to add.
    pub fn accepted(seq: u64, revision: u32, duplicate: bool) -> Receipt {
        Receipt::Accepted {
            seq,
            revision,
            duplicate,
            notices: Vec::new(),
        }
    }

    pub fn rejected(reason: Reason) -> Receipt {
        Receipt::Rejected {
            reasons: vec![reason],
        }
    }

    /// Rejected for `reasons`, of which at most [`MAX_REASONS_LISTED`] are listed (each field and
    /// message cut to [`MAX_REASON_CHARS`]) and then one `reasons_not_listed` that counts the
    /// rest by code: a receipt always fits in one NATS message, however bad the return.
    pub fn rejected_for(mut reasons: Vec<Reason>) -> Receipt {
        let unlisted: Vec<Reason> = if reasons.len() > MAX_REASONS_LISTED {
            reasons.split_off(MAX_REASONS_LISTED)
        } else {
            Vec::new()
        };
        for reason in &mut reasons {
            shorten(&mut reason.field);
            shorten(&mut reason.message);
        }
        if !unlisted.is_empty() {
            let mut by_code: Vec<(ReasonCode, usize)> = Vec::new();
            for reason in &unlisted {
                match by_code.iter_mut().find(|(code, _)| *code == reason.code) {
                    Some((_, n)) => *n += 1,
                    None => by_code.push((reason.code, 1)),
                }
            }
            let counts: Vec<String> = by_code
                .iter()
                .map(|(code, n)| format!("{code} {n}"))
                .collect();
            reasons.push(Reason::new(
                ReasonCode::ReasonsNotListed,
                "",
                format!(
                    "{} more reasons are not listed ({}): fix those above and send it again to see them",
                    unlisted.len(),
                    counts.join(", ")
                ),
            ));
        }
        Receipt::Rejected { reasons }
    }
}

/// The most reasons a receipt lists before it counts the rest.
pub const MAX_REASONS_LISTED: usize = 100;
/// The longest field or message of a listed reason, in characters.
pub const MAX_REASON_CHARS: usize = 300;

fn shorten(text: &mut String) {
    if let Some((at, _)) = text.char_indices().nth(MAX_REASON_CHARS) {
        text.truncate(at);
        text.push('…');
    }
}

#[derive(Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum ReceiptJsonRef<'a> {
    Accepted {
        seq: u64,
        revision: u32,
        duplicate: bool,
        #[serde(skip_serializing_if = "<[Notice]>::is_empty")]
        notices: &'a [Notice],
    },
    Rejected {
        reasons: &'a [Reason],
    },
    Busy {
        retry_after_ms: u32,
    },
}

#[derive(Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
enum ReceiptJson {
    Accepted {
        seq: u64,
        revision: u32,
        duplicate: bool,
        #[serde(default)]
        notices: Vec<Notice>,
    },
    Rejected {
        reasons: Vec<Reason>,
    },
    Busy {
        retry_after_ms: u32,
    },
}

impl Serialize for Receipt {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if !s.is_human_readable() {
            return Receipt::serialize(self, s);
        }
        match self {
            Receipt::Accepted {
                seq,
                revision,
                duplicate,
                notices,
            } => ReceiptJsonRef::Accepted {
                seq: *seq,
                revision: *revision,
                duplicate: *duplicate,
                notices,
            },
            Receipt::Rejected { reasons } => ReceiptJsonRef::Rejected { reasons },
            &Receipt::Busy { retry_after_ms } => ReceiptJsonRef::Busy { retry_after_ms },
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for Receipt {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Receipt, D::Error> {
        if !d.is_human_readable() {
            return Receipt::deserialize(d);
        }
        Ok(match ReceiptJson::deserialize(d)? {
            ReceiptJson::Accepted {
                seq,
                revision,
                duplicate,
                notices,
            } => Receipt::Accepted {
                seq,
                revision,
                duplicate,
                notices,
            },
            ReceiptJson::Rejected { reasons } => Receipt::Rejected { reasons },
            ReceiptJson::Busy { retry_after_ms } => Receipt::Busy { retry_after_ms },
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rejection_lists_a_bounded_number_of_bounded_reasons() {
        let long = "x".repeat(10_000);
        let mut reasons: Vec<Reason> = (0..150)
            .map(|_| Reason::new(ReasonCode::UnknownMetric, long.clone(), long.clone()))
            .collect();
        reasons.push(Reason::new(ReasonCode::NegativeValue, "", "negative"));
        let Receipt::Rejected { reasons } = Receipt::rejected_for(reasons) else {
            unreachable!("rejected_for rejects")
        };
        assert_eq!(reasons.len(), MAX_REASONS_LISTED + 1);
        assert!(reasons[..MAX_REASONS_LISTED]
            .iter()
            .all(|r| r.message.chars().count() == MAX_REASON_CHARS + 1
                && r.field.chars().count() == MAX_REASON_CHARS + 1));
        assert_eq!(
            reasons[MAX_REASONS_LISTED].message,
            "51 more reasons are not listed (unknown_metric 50, negative_value 1): fix those above and send it again to see them"
        );
        let few = Receipt::rejected_for(vec![Reason::new(ReasonCode::NegativeValue, "f", "m")]);
        assert_eq!(
            few,
            Receipt::rejected(Reason::new(ReasonCode::NegativeValue, "f", "m"))
        );
    }

    #[test]
    fn json_receipts_are_as_the_design_writes_them() {
        let cases = [
            (
                Receipt::accepted(42, 1, false),
                r#"{"status":"accepted","seq":42,"revision":1,"duplicate":false}"#,
            ),
            (
                Receipt::Accepted {
                    seq: 7,
                    revision: 1,
                    duplicate: true,
                    notices: vec![Notice {
                        code: NoticeCode::Superseded,
                        message: "revision 2 is in force".into(),
                    }],
                },
                r#"{"status":"accepted","seq":7,"revision":1,"duplicate":true,"notices":[{"code":"superseded","message":"revision 2 is in force"}]}"#,
            ),
            (
                Receipt::rejected(Reason::new(
                    ReasonCode::UnknownMetric,
                    "values.ae_4hour",
                    "no metric `ae_4hour` in data standard v1",
                )),
                r#"{"status":"rejected","reasons":[{"code":"unknown_metric","field":"values.ae_4hour","message":"no metric `ae_4hour` in data standard v1"}]}"#,
            ),
            (
                Receipt::Busy { retry_after_ms: 50 },
                r#"{"status":"busy","retry_after_ms":50}"#,
            ),
        ];
        for (receipt, json) in cases {
            assert_eq!(serde_json::to_string(&receipt).expect("encodes"), json);
            assert_eq!(
                serde_json::from_str::<Receipt>(json).expect("decodes"),
                receipt
            );
            let bytes = postcard::to_stdvec(&receipt).expect("encodes");
            assert_eq!(
                postcard::from_bytes::<Receipt>(&bytes).expect("decodes"),
                receipt
            );
        }
    }

    #[test]
    fn all_lists_every_code_in_order() {
        for (index, code) in ReasonCode::ALL.into_iter().enumerate() {
            let bytes = postcard::to_stdvec(&code).expect("encodes");
            assert_eq!(
                bytes,
                postcard::to_stdvec(&(index as u32)).expect("encodes")
            );
        }
        // Nothing after the last: a code added without listing it here fails this.
        let next = postcard::to_stdvec(&(ReasonCode::ALL.len() as u32)).expect("encodes");
        assert!(postcard::from_bytes::<ReasonCode>(&next).is_err());
    }

    #[test]
    fn wire_names_match_serde_names() {
        for code in ReasonCode::ALL {
            assert_eq!(
                serde_json::to_string(&code).expect("encodes"),
                format!("\"{}\"", code.as_str())
            );
        }
    }
}
