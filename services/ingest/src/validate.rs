//! Validation of a submitted return or plan: pure, total, and it reports every reason at once.

use std::collections::{BTreeMap, HashSet};

use proto_schema::{
    Collection, Date, Halves, Organisation, Period, PeriodKind, Plan, PlanForm, Reason, ReasonCode,
    Return, ReturnForm, Value, MAX_SUBMISSION_ID_BYTES,
};

use crate::reference::Reference;

/// The longest collection or plan name, in bytes.
const MAX_COLLECTION_BYTES: usize = 64;

/// Reasons found so far.
#[derive(Default)]
struct Reasons(Vec<Reason>);

impl Reasons {
    fn reject(&mut self, code: ReasonCode, field: &str, message: String) {
        self.0.push(Reason::new(code, field, message));
    }
}

/// Checks `form`, submitted on the subject of `subject_org`, against the reference data as of
/// `today`. Returns the normalised return (values sorted by metric id) or every reason it fails.
pub fn validate(
    form: ReturnForm,
    subject_org: &str,
    reference: &Reference,
    today: Date,
) -> Result<Return, Vec<Reason>> {
    let mut reasons = Reasons::default();
    check_submission_id(&form.submission_id, &mut reasons);
    check_subject(&form.org, subject_org, "return", &mut reasons);
    let collection = if is_name(&form.collection) {
        known_collection(&form.collection, reference, &mut reasons)
    } else {
        reasons.reject(ReasonCode::MalformedCollection, "collection",
            format!("collection `{}` must be 1 to {MAX_COLLECTION_BYTES} lower-case letters, digits, `-` or `_` (such as `ae-monthly`)", form.collection));
        None
    };

    let period = match Period::parse(&form.period) {
        Ok(period) => {
            if period.first_day() > today {
                reasons.reject(
                    ReasonCode::PeriodInFuture,
                    "period",
                    format!(
                        "period {period} starts on {} which is after today ({today})",
                        period.first_day()
                    ),
                );
            } else if period.last_day() >= today {
                // A figure for a period still running would become a scope's headline and then
                // change under it: a return is for a period that is over.
                reasons.reject(
                    ReasonCode::PeriodNotEnded,
                    "period",
                    format!(
                        "period {period} is not over until the end of {}; send its return from {}",
                        period.last_day(),
                        Date::from_days_since_epoch(period.last_day().days_since_epoch() + 1)
                    ),
                );
            }
            Some(period)
        }
        Err(e) => {
            reasons.reject(ReasonCode::MalformedPeriod, "period", e.to_string());
            None
        }
    };
    if let (Some(collection), Some(period)) = (collection, period) {
        if PeriodKind::of(period) != collection.period_kind {
            reasons.reject(
                ReasonCode::WrongPeriodKind,
                "period",
                format!(
                    "`{}` returns are for {}, and {period} is not",
                    collection.id,
                    collection.period_kind.example()
                ),
            );
        }
    }

    let organisation = known_organisation(&form.org, reference, &mut reasons);
    if let (Some(org), Some(period)) = (organisation, period) {
        check_open(org, period, "period", &mut reasons);
    }

    if form.values.is_empty() {
        reasons.reject(
            ReasonCode::EmptyValues,
            "values",
            "the return has no values".into(),
        );
    }
    let mut seen = HashSet::new();
    for (metric_id, value) in &form.values {
        let field = format!("values.{metric_id}");
        if !seen.insert(metric_id.as_str()) {
            reasons.reject(
                ReasonCode::DuplicateMetric,
                &field,
                format!("metric `{metric_id}` appears more than once"),
            );
            continue;
        }
        if check_metric(metric_id, &field, organisation, reference, &mut reasons) {
            if let Some(collection) = collection {
                check_in_collection(metric_id, collection, &field, reference, &mut reasons);
            }
            check_value(metric_id, value, &field, reference, &mut reasons);
        }
    }

    match period {
        Some(period) if reasons.0.is_empty() => {
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
        _ => Err(reasons.0),
    }
}

/// Checks a plan sent on the subject of `subject_org`. Plans are for future periods too, so there
/// is no check against today; every planned figure is checked as a returned one would be.
pub fn validate_plan(
    form: PlanForm,
    subject_org: &str,
    reference: &Reference,
) -> Result<Plan, Vec<Reason>> {
    let mut reasons = Reasons::default();
    check_submission_id(&form.submission_id, &mut reasons);
    check_subject(&form.org, subject_org, "plan", &mut reasons);
    if !is_name(&form.plan) {
        reasons.reject(ReasonCode::MalformedPlanName, "plan",
            format!("plan `{}` must be 1 to {MAX_COLLECTION_BYTES} lower-case letters, digits, `-` or `_` (such as `2019-20`)", form.plan));
    }
    let organisation = known_organisation(&form.org, reference, &mut reasons);
    if form.trajectories.iter().all(|(_, t)| t.0.is_empty()) {
        reasons.reject(
            ReasonCode::EmptyValues,
            "trajectories",
            "the plan has no planned figures".into(),
        );
    }
    let mut trajectories: BTreeMap<String, BTreeMap<Period, Value>> = BTreeMap::new();
    for (metric_id, trajectory) in &form.trajectories {
        let field = format!("trajectories.{metric_id}");
        if trajectories.contains_key(metric_id) {
            reasons.reject(
                ReasonCode::DuplicateMetric,
                &field,
                format!("metric `{metric_id}` appears more than once"),
            );
            continue;
        }
        let metric_ok = check_metric(metric_id, &field, organisation, reference, &mut reasons);
        let points = trajectories.entry(metric_id.clone()).or_default();
        for (written, value) in &trajectory.0 {
            let field = format!("{field}.{written}");
            let period = match Period::parse(written) {
                Ok(period) => period,
                Err(e) => {
                    reasons.reject(ReasonCode::MalformedPeriod, &field, e.to_string());
                    continue;
                }
            };
            if points.insert(period, *value).is_some() {
                reasons.reject(
                    ReasonCode::DuplicatePeriod,
                    &field,
                    format!("period {period} appears more than once for `{metric_id}`"),
                );
                continue;
            }
            if let Some(org) = organisation {
                check_open(org, period, &field, &mut reasons);
            }
            if metric_ok {
                check_value(metric_id, value, &field, reference, &mut reasons);
            }
        }
    }
    if !reasons.0.is_empty() {
        return Err(reasons.0);
    }
    trajectories.retain(|_, points| !points.is_empty());
    Ok(Plan {
        submission_id: form.submission_id,
        org: form.org,
        plan: form.plan,
        trajectories,
    })
}

fn check_submission_id(submission_id: &str, reasons: &mut Reasons) {
    if submission_id.is_empty() {
        reasons.reject(
            ReasonCode::SubmissionIdEmpty,
            "submission_id",
            "the submission id is empty; choose one per submission so that a retry is recognised"
                .into(),
        );
    } else if submission_id.chars().any(char::is_control) {
        reasons.0.extend(proto_schema::check_text(
            "submission_id",
            submission_id,
            MAX_SUBMISSION_ID_BYTES,
        ));
    } else if submission_id.len() > MAX_SUBMISSION_ID_BYTES {
        reasons.reject(
            ReasonCode::SubmissionIdTooLong,
            "submission_id",
            format!(
                "the submission id is {} bytes; at most {MAX_SUBMISSION_ID_BYTES} are allowed",
                submission_id.len()
            ),
        );
    }
}

fn check_subject(org: &str, subject_org: &str, what: &str, reasons: &mut Reasons) {
    if org != subject_org {
        reasons.reject(
            ReasonCode::OrgMismatch,
            "org",
            format!("the {what} is for `{org}` but was sent on the subject for `{subject_org}`"),
        );
    }
}

/// A collection or plan name: lower-case letters, digits, `-` and `_`.
fn is_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_COLLECTION_BYTES
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

fn known_organisation<'r>(
    code: &str,
    reference: &'r Reference,
    reasons: &mut Reasons,
) -> Option<&'r Organisation> {
    let organisation = reference.organisation(code);
    if organisation.is_none() {
        let meant = reference
            .organisation_like(code)
            .map(|known| format!("; did you mean `{known}`?"))
            .unwrap_or_default();
        reasons.reject(
            ReasonCode::UnknownOrganisation,
            "org",
            format!("no organisation with ODS code `{code}` is registered{meant}"),
        );
    }
    organisation
}

fn check_open(org: &Organisation, period: Period, field: &str, reasons: &mut Reasons) {
    if !org.existed_during(period) {
        let closed = org
            .closed
            .map(|d| format!(", closed {d}"))
            .unwrap_or_default();
        reasons.reject(
            ReasonCode::OrganisationNotOpen,
            field,
            format!(
                "`{}` ({}) did not exist during {period}: opened {}{closed}",
                org.code, org.name, org.opened
            ),
        );
    }
}

/// The collection of a return, when the data standard defines it.
fn known_collection<'r>(
    id: &str,
    reference: &'r Reference,
    reasons: &mut Reasons,
) -> Option<&'r Collection> {
    let collection = reference.collection(id);
    if collection.is_none() {
        let meant = reference
            .collection_like(id)
            .map(|known| format!("; did you mean `{known}`?"))
            .unwrap_or_default();
        reasons.reject(
            ReasonCode::UnknownCollection,
            "collection",
            format!("no collection `{id}` in the data standard{meant}"),
        );
    }
    collection
}

/// Whether a known metric is one the return's collection carries.
fn check_in_collection(
    metric_id: &str,
    collection: &Collection,
    field: &str,
    reference: &Reference,
    reasons: &mut Reasons,
) {
    if collection.metrics.iter().any(|m| m == metric_id) {
        return;
    }
    let belongs = reference
        .collection_of(metric_id)
        .map(|other| format!(": it is returned in `{other}`"))
        .unwrap_or_default();
    reasons.reject(
        ReasonCode::MetricNotInCollection,
        field,
        format!(
            "`{metric_id}` is not a metric of `{}` (its metrics: {}){belongs}",
            collection.id,
            collection.metrics.join(", ")
        ),
    );
}

/// Whether the metric is in the data standard, and reported by this kind of organisation.
/// False when the value cannot be checked further.
fn check_metric(
    metric_id: &str,
    field: &str,
    organisation: Option<&Organisation>,
    reference: &Reference,
    reasons: &mut Reasons,
) -> bool {
    let Some(metric) = reference.metric(metric_id) else {
        let meant = reference
            .metric_like(metric_id)
            .map(|id| format!("; did you mean `{id}`?"))
            .unwrap_or_default();
        reasons.reject(
            ReasonCode::UnknownMetric,
            field,
            format!("no metric `{metric_id}` in the data standard{meant}"),
        );
        return false;
    };
    if let Some(org) = organisation {
        if !metric.reported_by.includes(org.role) {
            reasons.reject(
                ReasonCode::MetricNotReportedByOrg,
                field,
                format!(
                    "`{metric_id}` is reported by {:?} organisations, and `{}` is a {:?}",
                    metric.reported_by, org.code, org.role
                )
                .to_lowercase(),
            );
        }
    }
    true
}

/// The checks on one figure of a known metric: its kind, signs and ratio rules.
fn check_value(
    metric_id: &str,
    value: &Value,
    field: &str,
    reference: &Reference,
    reasons: &mut Reasons,
) {
    let Some(metric) = reference.metric(metric_id) else {
        return;
    };
    if value.kind() != metric.kind {
        reasons.reject(
            ReasonCode::WrongValueKind,
            field,
            format!(
                "`{metric_id}` is a {} metric but a {} was given",
                metric.kind,
                value.kind()
            ),
        );
        return;
    }
    for (part, amount) in signed_parts(value) {
        if amount < 0 {
            reasons.reject(
                ReasonCode::NegativeValue,
                &format!("{field}.{part}"),
                format!("{part} must not be negative"),
            );
        }
    }
    for (part, amount, bound) in value.parts_too_large() {
        reasons.reject(
            ReasonCode::ValueTooLarge,
            &format!("{field}.{part}"),
            format!("{part} {amount} is beyond the largest a return may carry ({bound}); check the figure"),
        );
    }
    match *value {
        Value::Ratio {
            numerator,
            denominator,
        } => {
            if denominator == Halves(0) {
                reasons.reject(
                    ReasonCode::ZeroDenominator,
                    &format!("{field}.denominator"),
                    "the denominator is zero; leave the metric out when there is nothing to report"
                        .into(),
                );
            } else if numerator > denominator {
                reasons.reject(
                    ReasonCode::NumeratorExceedsDenominator,
                    field,
                    format!("numerator {numerator} is greater than denominator {denominator}"),
                );
            }
        }
        Value::Duration { cases: 0, .. } => {
            reasons.reject(
                ReasonCode::ZeroDenominator,
                &format!("{field}.cases"),
                "a duration needs at least one case".into(),
            );
        }
        _ => {}
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
    use proto_schema::{
        collections_v1, data_standard_v1, Event, OrgRole, Organisation, SCHEMA_VERSION,
    };

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
        let ae = collections_v1().remove(0);
        for (id, period_kind) in [
            ("ae-weekly", PeriodKind::Week),
            ("sitrep-daily", PeriodKind::Day),
        ] {
            let collection = Collection {
                id: id.into(),
                period_kind,
                ..ae.clone()
            };
            reference.apply(&Event::CollectionDefined(collection));
        }
        for collection in collections_v1() {
            reference.apply(&Event::CollectionDefined(collection));
        }
        reference
    }

    /// The collection a test return goes in: A&E's for its kind of period, or the one of data
    /// standard v1 that carries its first metric.
    fn collection_for(period: &str, first_metric: Option<&str>) -> String {
        match Period::parse(period) {
            Ok(Period::Week { .. }) => return "ae-weekly".into(),
            Ok(Period::Day(_)) => return "sitrep-daily".into(),
            _ => {}
        }
        first_metric
            .and_then(|metric| {
                collections_v1()
                    .into_iter()
                    .find(|c| c.metrics.iter().any(|m| m == metric))
            })
            .map_or_else(|| "ae-monthly".into(), |c| c.id)
    }

    fn form(org: &str, period: &str, values: Vec<(&str, Value)>) -> ReturnForm {
        ReturnForm {
            schema_version: SCHEMA_VERSION,
            submission_id: format!("{org}-{period}"),
            org: org.into(),
            collection: collection_for(period, values.first().map(|(metric, _)| *metric)),
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
    fn a_period_may_be_returned_from_the_day_after_it_ends() {
        // Today is 2026-11-22: yesterday's sitrep, last week (to Sunday 15th) and October are over.
        for period in ["2026-11-21", "2026-W46", "2026-10"] {
            let f = form("RJ1", period, vec![("ae_12hr_dta", Value::Count(1))]);
            assert!(
                validate(f, "RJ1", &reference(), today()).is_ok(),
                "{period}"
            );
        }
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
            // Today is 2026-11-22: November, its week and the day itself are not over.
            (
                form("RJ1", "2026-11", vec![("ae_12hr_dta", Value::Count(1))]),
                "RJ1",
                vec![(PeriodNotEnded, "period")],
            ),
            (
                form("RJ1", "2026-W47", vec![("ae_12hr_dta", Value::Count(1))]),
                "RJ1",
                vec![(PeriodNotEnded, "period")],
            ),
            (
                form("RJ1", "2026-11-22", vec![("ae_12hr_dta", Value::Count(1))]),
                "RJ1",
                vec![(PeriodNotEnded, "period")],
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
    fn a_return_carries_its_collection_s_metrics_for_its_kind_of_period() {
        use ReasonCode::*;
        let with = |collection: &str, period: &str, metric: &str, value: Value| {
            let mut f = form("RJ1", period, vec![(metric, value)]);
            f.collection = collection.into();
            codes(validate(f, "RJ1", &reference(), today()))
        };
        let field = |code, f: &str| (code, f.to_owned());
        assert_eq!(
            with("ae-montly", "2019-01", "ae_12hr_dta", Value::Count(1)),
            [field(UnknownCollection, "collection")]
        );
        assert_eq!(
            with("cancer-monthly", "2019-01", "ae_4hr", ratio(1, 2)),
            [field(MetricNotInCollection, "values.ae_4hr")]
        );
        assert_eq!(
            with("ae-monthly", "2019-W05", "ae_12hr_dta", Value::Count(1)),
            [field(WrongPeriodKind, "period")]
        );
        assert!(with("cancer-monthly", "2019-01", "cancer_62d", ratio(1, 2)).is_empty());
        let mut typo = form("RJ1", "2019-01", vec![("ae_12hr_dta", Value::Count(1))]);
        typo.collection = "ae-montly".into();
        let reasons = validate(typo, "RJ1", &reference(), today()).expect_err("unknown");
        assert!(
            reasons[0].message.contains("did you mean `ae-monthly`?"),
            "{reasons:?}"
        );
        let mut elsewhere = form("RJ1", "2019-01", vec![("ae_4hr", ratio(1, 2))]);
        elsewhere.collection = "cancer-monthly".into();
        let reasons = validate(elsewhere, "RJ1", &reference(), today()).expect_err("not in");
        assert!(
            reasons[0].message.contains("returned in `ae-monthly`"),
            "{reasons:?}"
        );
    }

    #[test]
    fn a_near_miss_names_what_was_probably_meant() {
        let message = |f: ReturnForm, subject: &str| -> String {
            validate(f, subject, &reference(), today())
                .expect_err("rejected")
                .into_iter()
                .map(|r| r.message)
                .collect::<Vec<_>>()
                .join(" | ")
        };
        let typo = form("RJ1", "2019-01", vec![("ae_4hour", ratio(1, 2))]);
        assert!(message(typo, "RJ1").contains("did you mean `ae_4hr`?"));
        let lower = form("rj1", "2019-01", vec![("ae_12hr_dta", Value::Count(1))]);
        assert!(message(lower, "rj1").contains("did you mean `RJ1`?"));
        let nothing_near = form("RJ1", "2019-01", vec![("waiting_list", Value::Count(1))]);
        assert!(!message(nothing_near, "RJ1").contains("did you mean"));
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

    fn plan(org: &str, name: &str, trajectories: Vec<(&str, Vec<(&str, Value)>)>) -> PlanForm {
        PlanForm {
            schema_version: SCHEMA_VERSION,
            submission_id: format!("{org}-plan-{name}"),
            org: org.into(),
            plan: name.into(),
            trajectories: trajectories
                .into_iter()
                .map(|(metric, points)| {
                    let points = points.into_iter().map(|(p, v)| (p.to_owned(), v)).collect();
                    (metric.to_owned(), proto_schema::Trajectory(points))
                })
                .collect(),
        }
    }

    #[test]
    fn a_plan_for_future_periods_is_accepted_and_sorted() {
        let f = plan(
            "RJ1",
            "2030-31",
            vec![(
                "ae_4hr",
                vec![("2031-01", ratio(90, 100)), ("2030-04", ratio(95, 100))],
            )],
        );
        let p = validate_plan(f, "RJ1", &reference()).expect("valid");
        let periods: Vec<String> = p.trajectories["ae_4hr"]
            .keys()
            .map(|p| p.to_string())
            .collect();
        assert_eq!(periods, ["2030-04", "2031-01"]);
    }

    #[test]
    fn every_problem_in_a_plan_is_named_with_its_place() {
        use ReasonCode::*;
        let f = plan(
            "RJ1",
            "Plan 2019",
            vec![
                (
                    "ae_4hr",
                    vec![
                        ("2019-04", ratio(95, 100)),
                        ("2019-04", ratio(96, 100)),
                        ("2019-13", ratio(1, 2)),
                        ("2019-05", Value::Count(3)),
                        ("2019-06", ratio(101, 100)),
                    ],
                ),
                ("ae_4hour", vec![("2019-04", Value::Count(1))]),
            ],
        );
        let reasons: Vec<(ReasonCode, String)> = validate_plan(f, "RAL", &reference())
            .expect_err("invalid")
            .into_iter()
            .map(|r| (r.code, r.field))
            .collect();
        let field = |code, f: &str| (code, f.to_owned());
        assert_eq!(
            reasons,
            [
                field(OrgMismatch, "org"),
                field(MalformedPlanName, "plan"),
                field(DuplicatePeriod, "trajectories.ae_4hr.2019-04"),
                field(MalformedPeriod, "trajectories.ae_4hr.2019-13"),
                field(WrongValueKind, "trajectories.ae_4hr.2019-05"),
                field(NumeratorExceedsDenominator, "trajectories.ae_4hr.2019-06"),
                field(UnknownMetric, "trajectories.ae_4hour"),
            ]
        );
    }

    #[test]
    fn a_plan_with_no_figures_or_for_a_closed_organisation_is_refused() {
        let empty = plan("RJ1", "2019-20", vec![("ae_4hr", vec![])]);
        let codes: Vec<ReasonCode> = validate_plan(empty, "RJ1", &reference())
            .expect_err("empty")
            .into_iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(codes, [ReasonCode::EmptyValues]);
        let closed = plan(
            "00C",
            "2021-22",
            vec![("dementia_dx", vec![("2021-04", ratio(2, 3))])],
        );
        let codes: Vec<ReasonCode> = validate_plan(closed, "00C", &reference())
            .expect_err("closed")
            .into_iter()
            .map(|r| r.code)
            .collect();
        assert_eq!(codes, [ReasonCode::OrganisationNotOpen]);
    }
}
