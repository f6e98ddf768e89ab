//! Every kind of bad input gets its own typed code, appends nothing, and leaves the service
//! answering.

use std::time::Duration;

use oversight::subjects;
use oversight::wire::Encoding;
use proto_schema::{encode_return_form, Halves, ReasonCode, Receipt, ReturnForm, Timestamp, Value};

use crate::harness::{ae_return, data_dir, nats, serving_client, Service};

fn with_value(metric: &str, value: Value) -> ReturnForm {
    let mut form = ae_return("bad", "2019-01", 1000);
    form.values = vec![(metric.into(), value)];
    form
}

fn json(form: &ReturnForm) -> Vec<u8> {
    serde_json::to_vec(form).expect("json")
}

/// What is wrong, the organisation in the subject, the encoding, the payload, the codes expected.
type BadCase = (
    &'static str,
    &'static str,
    Encoding,
    Vec<u8>,
    Vec<ReasonCode>,
);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_bad_input_has_its_own_code_and_appends_nothing() {
    use ReasonCode::*;
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let before = client.read_log(1, 1).await.expect("log").last_seq;

    let good = ae_return("good", "2019-01", 1000);
    let good_bytes = encode_return_form(&good);
    let mut version_two = good_bytes.clone();
    version_two[0] = 2;
    let mut oversized = good.clone();
    oversized.submission_id = "x".repeat(70 * 1024);
    let mut long_id = good.clone();
    long_id.submission_id = "x".repeat(65);
    let mut empty_id = good.clone();
    empty_id.submission_id = String::new();
    let mut forged_id = good.clone();
    forged_id.submission_id = "id\nFAKE LINE\r\u{1b}[31m".into();
    let mut future = good.clone();
    future.period = "2099-01".into();
    // This month: not over (the service reads the clock itself).
    let mut running = good.clone();
    let today = Timestamp::now().date();
    running.period = format!("{:04}-{:02}", today.year(), today.month());
    let mut weekly = good.clone();
    weekly.period = "2019-W05".into();
    let mut typo_collection = good.clone();
    typo_collection.collection = "ae-montly".into();
    let mut wrong_collection = good.clone();
    wrong_collection.collection = "cancer-monthly".into();
    let mut malformed_period = good.clone();
    malformed_period.period = "2019-13".into();
    let mut unknown_org = good.clone();
    unknown_org.org = "ZZZ".into();
    let mut empty_values = good.clone();
    empty_values.values.clear();
    let mut closed_ccg = good.clone();
    closed_ccg.org = "00C".into();
    closed_ccg.period = "2021-01".into();
    closed_ccg.collection = "ccg-monthly".into();
    closed_ccg.values = vec![(
        "dementia_dx".into(),
        Value::Ratio {
            numerator: Halves::whole(1),
            denominator: Halves::whole(2),
        },
    )];

    let cases: Vec<BadCase> = vec![
        ("malformed bytes", "RJ1", Encoding::Postcard, [&[1u8][..], &[0xFF; 12]].concat(), vec![MalformedPayload]),
        ("truncated postcard", "RJ1", Encoding::Postcard, good_bytes[..good_bytes.len() - 3].to_vec(), vec![TruncatedPayload]),
        ("invalid JSON", "RJ1", Encoding::Json, b"{\"org\": ".to_vec(), vec![InvalidJson]),
        ("JSON of the wrong shape", "RJ1", Encoding::Json, br#"{"org": "RJ1", "values": []}"#.to_vec(), vec![InvalidJson]),
        ("unknown schema version (postcard)", "RJ1", Encoding::Postcard, version_two, vec![UnknownSchemaVersion]),
        ("unknown schema version (JSON)", "RJ1", Encoding::Json, br#"{"schema_version": 2, "return": {}}"#.to_vec(), vec![UnknownSchemaVersion]),
        ("a wildcard for a subject", "*", Encoding::Json, json(&good), vec![MalformedSubject]),
        ("unknown organisation", "ZZZ", Encoding::Json, json(&unknown_org), vec![UnknownOrganisation]),
        ("organisation closed in the period", "00C", Encoding::Postcard, encode_return_form(&closed_ccg), vec![OrganisationNotOpen]),
        ("unknown metric", "RJ1", Encoding::Json, json(&with_value("ae_4hour", Value::Count(1))), vec![UnknownMetric]),
        ("wrong value kind", "RJ1", Encoding::Json, json(&with_value("ae_4hr", Value::Count(1))), vec![WrongValueKind]),
        ("numerator above denominator", "RJ1", Encoding::Postcard,
            encode_return_form(&with_value("ae_4hr", Value::Ratio { numerator: Halves::whole(3), denominator: Halves::whole(2) })), vec![NumeratorExceedsDenominator]),
        ("control characters in the submission id", "RJ1", Encoding::Json, json(&forged_id), vec![ControlCharacter]),
        ("negative count", "RJ1", Encoding::Json, json(&with_value("ae_12hr_dta", Value::Count(-1))), vec![NegativeValue]),
        ("count that would wrap a sum", "RJ1", Encoding::Json, json(&with_value("ae_12hr_dta", Value::Count(i64::MAX))), vec![ValueTooLarge]),
        ("ratio beyond its bound", "RJ1", Encoding::Postcard,
            encode_return_form(&with_value("ae_4hr", Value::Ratio { numerator: Halves(i64::MAX - 1), denominator: Halves(i64::MAX) })), vec![ValueTooLarge, ValueTooLarge]),
        ("period in the future", "RJ1", Encoding::Json, json(&future), vec![PeriodInFuture]),
        ("period not over", "RJ1", Encoding::Json, json(&running), vec![PeriodNotEnded]),
        ("week in a monthly collection", "RJ1", Encoding::Json, json(&weekly), vec![WrongPeriodKind]),
        ("unknown collection", "RJ1", Encoding::Json, json(&typo_collection), vec![UnknownCollection]),
        ("metrics of another collection", "RJ1", Encoding::Json, json(&wrong_collection),
            vec![MetricNotInCollection, MetricNotInCollection]),
        ("malformed period", "RJ1", Encoding::Json, json(&malformed_period), vec![MalformedPeriod]),
        ("org in subject differs", "RJ7", Encoding::Json, json(&good), vec![OrgMismatch]),
        ("empty values", "RJ1", Encoding::Json, json(&empty_values), vec![EmptyValues]),
        ("duplicate metric", "RJ1", Encoding::Json,
            br#"{"submission_id":"d","org":"RJ1","collection":"ae-monthly","period":"2019-01","values":{"ae_12hr_dta":{"count":1},"ae_12hr_dta":{"count":2}}}"#.to_vec(),
            vec![DuplicateMetric]),
        ("oversized payload", "RJ1", Encoding::Json, json(&oversized), vec![PayloadTooLarge]),
        ("submission id too long", "RJ1", Encoding::Json, json(&long_id), vec![SubmissionIdTooLong]),
        ("submission id empty", "RJ1", Encoding::Postcard, encode_return_form(&empty_id), vec![SubmissionIdEmpty]),
    ];

    for (what, org, encoding, payload, expected) in cases {
        let reply = client
            .request(subjects::submit(org), encoding, payload)
            .await
            .unwrap_or_else(|e| panic!("{what}: {e}"));
        let receipt: Receipt = encoding
            .decode(&reply)
            .unwrap_or_else(|e| panic!("{what}: reply in the request's encoding: {e}"));
        match receipt {
            Receipt::Rejected { reasons } => {
                let codes: Vec<ReasonCode> = reasons.iter().map(|r| r.code).collect();
                assert_eq!(codes, expected, "{what}: {reasons:?}");
                assert!(
                    reasons.iter().all(|r| !r.message.is_empty()),
                    "{what}: every reason has a message"
                );
            }
            other => panic!("{what}: expected a rejection, got {other:?}"),
        }
    }

    assert_eq!(
        client.read_log(1, 1).await.expect("log").last_seq,
        before,
        "nothing appended"
    );
    let receipt = client.submit(&good).await.expect("service still answers");
    assert_eq!(receipt, Receipt::accepted(before + 1, 1, false));
}
