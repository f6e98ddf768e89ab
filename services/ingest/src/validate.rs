//! Validation of a submitted return: pure, total, and it reports every reason at once.

use std::collections::HashSet;

use proto_schema::{
    Date, Halves, Period, Reason, ReasonCode, Return, ReturnForm, Value, MAX_SUBMISSION_ID_BYTES,
};

use crate::reference::Reference;

/// The longest collection name, in bytes.
const MAX_COLLECTION_BYTES: usize = 64;

/// Checks `form`, submitted on the subject of `subject_org`, against the reference data as of
/// `today`. Returns the normalised return (values sorted by metric id) or every reason it fails.
pub fn validate(
    form: ReturnForm,
    subject_org: &str,
    reference: &Reference,
    today: Date,
) -> Result<Return, Vec<Reason>> {
    let mut reasons = Vec::new();
    let mut reject =
        |code, field: &str, message: String| reasons.push(Reason::new(code, field, message));

    if form.submission_id.is_empty() {
        reject(
            ReasonCode::SubmissionIdEmpty,
            "submission_id",
            "the submission id is empty; choose one per return so that a retry is recognised"
                .into(),
        );
    } else if form.submission_id.len() > MAX_SUBMISSION_ID_BYTES {
        reject(
            ReasonCode::SubmissionIdTooLong,
            "submission_id",
            format!(
                "the submission id is {} bytes; at most {MAX_SUBMISSION_ID_BYTES} are allowed",
                form.submission_id.len()
            ),
        );
    }

    if form.org != subject_org {
        reject(
            ReasonCode::OrgMismatch,
            "org",
            format!(
                "the return is for `{}` but was sent on the subject for `{subject_org}`",
                form.org
            ),
        );
    }

    let collection_ok = !form.collection.is_empty()
        && form.collection.len() <= MAX_COLLECTION_BYTES
        && form
            .collection
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_');
    if !collection_ok {
        reject(ReasonCode::MalformedCollection, "collection",
            format!("collection `{}` must be 1 to {MAX_COLLECTION_BYTES} lower-case letters, digits, `-` or `_` (such as `ae-monthly`)", form.collection));
    }

    let period = match Period::parse(&form.period) {
        Ok(period) => {
            if period.first_day() > today {
                reject(
                    ReasonCode::PeriodInFuture,
                    "period",
                    format!(
                        "period {period} starts on {} which is after today ({today})",
                        period.first_day()
                    ),
                );
            }
            Some(period)
        }
        Err(e) => {
            reject(ReasonCode::MalformedPeriod, "period", e.to_string());
            None
        }
    };

    let organisation = reference.organisation(&form.org);
    match (organisation, period) {
        (None, _) => reject(
            ReasonCode::UnknownOrganisation,
            "org",
            format!("no organisation with ODS code `{}` is registered", form.org),
        ),
        (Some(org), Some(period)) if !org.existed_during(period) => {
            let closed = org
                .closed
                .map(|d| format!(", closed {d}"))
                .unwrap_or_default();
            reject(
                ReasonCode::OrganisationNotOpen,
                "period",
                format!(
                    "`{}` ({}) did not exist during {period}: opened {}{closed}",
                    org.code, org.name, org.opened
                ),
            );
        }
        _ => {}
    }

    if form.values.is_empty() {
        reject(
            ReasonCode::EmptyValues,
            "values",
            "the return has no values".into(),
        );
    }
    let mut seen = HashSet::new();
    for (metric_id, value) in &form.values {
        let field = format!("values.{metric_id}");
        if !seen.insert(metric_id.as_str()) {
            reject(
                ReasonCode::DuplicateMetric,
                &field,
                format!("metric `{metric_id}` appears more than once"),
            );
            continue;
        }
        let Some(metric) = reference.metric(metric_id) else {
            reject(
                ReasonCode::UnknownMetric,
                &field,
                format!("no metric `{metric_id}` in the data standard"),
            );
            continue;
        };
        if let Some(org) = organisation {
            if !metric.reported_by.includes(org.role) {
                reject(
                    ReasonCode::MetricNotReportedByOrg,
                    &field,
                    format!(
                        "`{metric_id}` is reported by {:?} organisations, and `{}` is a {:?}",
                        metric.reported_by, org.code, org.role
                    )
                    .to_lowercase(),
                );
            }
        }
        if value.kind() != metric.kind {
            reject(
                ReasonCode::WrongValueKind,
                &field,
                format!(
                    "`{metric_id}` is a {} metric but a {} was given",
                    metric.kind,
                    value.kind()
                ),
            );
            continue;
        }
        for (part, amount) in signed_parts(value) {
            if amount < 0 {
                reject(
                    ReasonCode::NegativeValue,
                    &format!("{field}.{part}"),
                    format!("{part} must not be negative"),
                );
            }
        }
        match *value {
            Value::Ratio {
                numerator,
                denominator,
            } => {
                if denominator == Halves(0) {
                    reject(ReasonCode::ZeroDenominator, &format!("{field}.denominator"), "the denominator is zero; leave the metric out when there is nothing to report".into());
                } else if numerator > denominator {
                    reject(
                        ReasonCode::NumeratorExceedsDenominator,
                        &field,
                        format!("numerator {numerator} is greater than denominator {denominator}"),
                    );
                }
            }
            Value::Duration { cases: 0, .. } => {
                reject(
                    ReasonCode::ZeroDenominator,
                    &format!("{field}.cases"),
                    "a duration needs at least one case".into(),
                );
            }
            _ => {}
        }
    }

    match period {
        Some(period) if reasons.is_empty() => {
            let mut values = form.values;
            values.sort_by(|a, b| a.0.cmp(&b.0));
            Ok(Return {
                submission_id: form.submission_id,
                org: form.org,
                collection: form.collection,
                period,
                values,
            })
        }
        _ => Err(reasons),
    }
}

/// The parts of a value that must not be negative (money may be: a deficit).
fn signed_parts(value: &Value) -> Vec<(&'static str, i64)> {
    match *value {
        Value::Ratio {
            numerator,
            denominator,
        } => vec![("numerator", numerator.0), ("denominator", denominator.0)],
        Value::Count(n) => vec![("count", n)],
        Value::Money { .. } => vec![],
        Value::Duration { seconds, cases } => vec![("seconds", seconds), ("cases", cases)],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_schema::{data_standard_v1, Event, OrgRole, Organisation, SCHEMA_VERSION};

    fn reference() -> Reference {
        let mut reference = Reference::default();
        let org = |code: &str, role, opened: &str, closed: Option<&str>| {
            Event::OrganisationRegistered(Organisation {
                code: code.into(),
                name: format!("{code} NHS"),
                role,
                system: "QMJ".into(),
                region: "Y56".into(),
                opened: Date::parse(opened).expect("date"),
                closed: closed.map(|d| Date::parse(d).expect("date")),
            })
        };
        reference.apply(&org("RJ1", OrgRole::Provider, "1994-04-01", None));
        reference.apply(&org(
            "00C",
            OrgRole::Commissioner,
            "2013-04-01",
            Some("2020-03-31"),
        ));
        for metric in data_standard_v1() {
            reference.apply(&Event::MetricDefined(metric));
        }
        reference
    }

    fn form(org: &str, period: &str, values: Vec<(&str, Value)>) -> ReturnForm {
        ReturnForm {
            schema_version: SCHEMA_VERSION,
            submission_id: format!("{org}-{period}"),
            org: org.into(),
            collection: "ae-monthly".into(),
            period: period.into(),
            values: values.into_iter().map(|(k, v)| (k.to_owned(), v)).collect(),
        }
    }

    fn ratio(n: i64, d: i64) -> Value {
        Value::Ratio {
            numerator: Halves::whole(n),
            denominator: Halves::whole(d),
        }
    }

    fn codes(result: Result<Return, Vec<Reason>>) -> Vec<(ReasonCode, String)> {
        match result {
            Ok(_) => vec![],
            Err(reasons) => reasons.into_iter().map(|r| (r.code, r.field)).collect(),
        }
    }

    fn today() -> Date {
        Date::parse("2026-11-22").expect("date")
    }

    #[test]
    fn a_good_return_is_normalised() {
        let f = form(
            "RJ1",
            "2019-01",
            vec![
                ("ae_4hr", ratio(17020, 21289)),
                ("ae_12hr_dta", Value::Count(3)),
            ],
        );
        let r = validate(f, "RJ1", &reference(), today()).expect("valid");
        assert_eq!(
            r.values.iter().map(|(k, _)| k.as_str()).collect::<Vec<_>>(),
            ["ae_12hr_dta", "ae_4hr"]
        );
        assert_eq!(r.period.to_string(), "2019-01");
    }

    #[test]
    fn each_problem_has_its_own_code_and_field() {
        use ReasonCode::*;
        // The return, the organisation in the subject, and each (code, field) expected.
        type Case = (ReturnForm, &'static str, Vec<(ReasonCode, &'static str)>);
        let cases: Vec<Case> = vec![
            (
                form("RJ1", "2019-01", vec![("ae_4hour", ratio(1, 2))]),
                "RJ1",
                vec![(UnknownMetric, "values.ae_4hour")],
            ),
            (
                form("RX9", "2019-01", vec![("ae_4hr", ratio(1, 2))]),
                "RX9",
                vec![(UnknownOrganisation, "org")],
            ),
            (
                form("RJ1", "2019-01", vec![("ae_4hr", Value::Count(1))]),
                "RJ1",
                vec![(WrongValueKind, "values.ae_4hr")],
            ),
            (
                form("RJ1", "2019-01", vec![("ae_4hr", ratio(3, 2))]),
                "RJ1",
                vec![(NumeratorExceedsDenominator, "values.ae_4hr")],
            ),
            (
                form("RJ1", "2019-01", vec![("ae_4hr", ratio(0, 0))]),
                "RJ1",
                vec![(ZeroDenominator, "values.ae_4hr.denominator")],
            ),
            (
                form("RJ1", "2019-01", vec![("ae_12hr_dta", Value::Count(-1))]),
                "RJ1",
                vec![(NegativeValue, "values.ae_12hr_dta.count")],
            ),
            (
                form("RJ1", "2027-01", vec![("ae_12hr_dta", Value::Count(1))]),
                "RJ1",
                vec![(PeriodInFuture, "period")],
            ),
            (
                form("RJ1", "2019-13", vec![("ae_12hr_dta", Value::Count(1))]),
                "RJ1",
                vec![(MalformedPeriod, "period")],
            ),
            (
                form("RJ1", "2019-01", vec![("ae_12hr_dta", Value::Count(1))]),
                "RX1",
                vec![(OrgMismatch, "org")],
            ),
            (
                form("RJ1", "2019-01", vec![]),
                "RJ1",
                vec![(EmptyValues, "values")],
            ),
            (
                form(
                    "RJ1",
                    "2019-01",
                    vec![
                        ("ae_12hr_dta", Value::Count(1)),
                        ("ae_12hr_dta", Value::Count(2)),
                    ],
                ),
                "RJ1",
                vec![(DuplicateMetric, "values.ae_12hr_dta")],
            ),
            (
                form("00C", "2021-01", vec![("dementia_dx", ratio(1, 2))]),
                "00C",
                vec![(OrganisationNotOpen, "period")],
            ),
            (
                form("RJ1", "2019-01", vec![("dementia_dx", ratio(1, 2))]),
                "RJ1",
                vec![(MetricNotReportedByOrg, "values.dementia_dx")],
            ),
        ];
        for (f, subject, expected) in cases {
            let expected: Vec<(ReasonCode, String)> = expected
                .into_iter()
                .map(|(c, f)| (c, f.to_owned()))
                .collect();
            assert_eq!(
                codes(validate(f.clone(), subject, &reference(), today())),
                expected,
                "{f:?}"
            );
        }
    }

    #[test]
    fn submission_id_and_collection_limits() {
        let mut f = form("RJ1", "2019-01", vec![("ae_12hr_dta", Value::Count(1))]);
        f.submission_id = String::new();
        f.collection = "AE Monthly".into();
        assert_eq!(
            codes(validate(f.clone(), "RJ1", &reference(), today())),
            vec![
                (ReasonCode::SubmissionIdEmpty, "submission_id".into()),
                (ReasonCode::MalformedCollection, "collection".into())
            ]
        );
        f.submission_id = "x".repeat(65);
        f.collection = "ae-monthly".into();
        assert_eq!(
            codes(validate(f.clone(), "RJ1", &reference(), today())),
            vec![(ReasonCode::SubmissionIdTooLong, "submission_id".into())]
        );
        f.submission_id = "x".repeat(64);
        assert!(validate(f, "RJ1", &reference(), today()).is_ok());
    }

    #[test]
    fn every_reason_is_listed_not_just_the_first() {
        let f = form(
            "RX9",
            "2019-13",
            vec![("nope", Value::Count(1)), ("ae_12hr_dta", Value::Count(-2))],
        );
        let found: Vec<ReasonCode> = codes(validate(f, "RJ1", &reference(), today()))
            .into_iter()
            .map(|(c, _)| c)
            .collect();
        assert_eq!(
            found,
            vec![
                ReasonCode::OrgMismatch,
                ReasonCode::MalformedPeriod,
                ReasonCode::UnknownOrganisation,
                ReasonCode::UnknownMetric,
                ReasonCode::NegativeValue
            ]
        );
    }

    #[test]
    fn halves_are_accepted_exactly() {
        let f = form(
            "RJ1",
            "2024-01",
            vec![(
                "cancer_62d",
                Value::Ratio {
                    numerator: Halves(41),
                    denominator: Halves(50),
                },
            )],
        );
        let r = validate(f, "RJ1", &reference(), today()).expect("valid");
        assert_eq!(
            r.value("cancer_62d"),
            Some(&Value::Ratio {
                numerator: Halves(41),
                denominator: Halves(50)
            })
        );
    }
}
