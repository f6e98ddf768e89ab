//! Views over NATS: snapshots per scope, live deltas a consumer can follow, as-of snapshots, and
//! a clear error for a scope that does not exist.

use std::time::Duration;

use futures_util::StreamExt;
use oversight::client::{Client, ClientError};
use oversight::subjects;
use oversight::wire::Encoding;
use proto_schema::{
    Delta, Halves, Period, Receipt, ReturnForm, SnapshotRequest, Value, View, SCHEMA_VERSION,
};

use crate::harness::{data_dir, nats, serving_client, views_at, Service};

/// April 2025 A&E figures of four London trusts (NHS England MSitAE): within 4 hours,
/// attendances, 12-hour waits from decision to admit.
const LONDON: [(&str, i64, i64, i64); 4] = [
    ("RJ1", 13_476, 17_442, 64),
    ("RAL", 30_638, 41_463, 1_792),
    ("R1H", 31_091, 44_402, 1_148),
    ("RJ7", 10_480, 12_519, 834),
];

fn london_return(org: &str, within: i64, attendances: i64, dta: i64, id: &str) -> ReturnForm {
    ReturnForm {
        schema_version: SCHEMA_VERSION,
        submission_id: id.into(),
        org: org.into(),
        collection: "ae-monthly".into(),
        period: "2025-04".into(),
        values: vec![
            (
                "ae_4hr".into(),
                Value::Ratio {
                    numerator: Halves::whole(within),
                    denominator: Halves::whole(attendances),
                },
            ),
            ("ae_12hr_dta".into(), Value::Count(dta)),
        ],
    }
}

async fn snapshot(
    client: &Client,
    scope: &str,
    request: &SnapshotRequest,
) -> Result<View, ClientError> {
    client.snapshot(scope, request).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn london_adds_up_live_and_as_of() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let seeded = client.read_log(1, 1).await.expect("log").last_seq;
    views_at(&client, seeded).await;

    let mut deltas = client
        .nats()
        .subscribe(subjects::view_delta("Y56"))
        .await
        .expect("subscribe");
    let mut held = snapshot(&client, "Y56", &SnapshotRequest::default())
        .await
        .expect("London snapshot");

    let mut last = 0;
    for (org, within, attendances, dta) in LONDON {
        let form = london_return(org, within, attendances, dta, &format!("{org}-v1"));
        match client.submit(&form).await.expect("submit") {
            Receipt::Accepted { seq, .. } => last = seq,
            other => panic!("{org}: {other:?}"),
        }
    }
    let before_revision = last;
    // RJ1 corrects its figures: the revision replaces its contribution.
    let corrected = london_return("RJ1", 13_500, 17_442, 65, "RJ1-v2");
    match client.submit(&corrected).await.expect("revision") {
        Receipt::Accepted { seq, revision, .. } => {
            assert_eq!(revision, 2);
            last = seq;
        }
        other => panic!("revision: {other:?}"),
    }
    views_at(&client, last).await;

    // England, in JSON, as an analyst would ask.
    let reply = client
        .request(
            subjects::view_snapshot("national"),
            Encoding::Json,
            b"{}".to_vec(),
        )
        .await
        .expect("national snapshot");
    let national: serde_json::Value = serde_json::from_slice(&reply).expect("JSON view");
    let cell = &national["metrics"]["ae_4hr"]["2025-04"];
    let within: i64 = 13_500 + 30_638 + 31_091 + 10_480;
    let attendances: i64 = LONDON.iter().map(|r| r.2).sum();
    assert_eq!(cell["numerator"], within);
    assert_eq!(cell["denominator"], attendances);
    assert_eq!(cell["met"], false);
    let expected = 100.0 * within as f64 / attendances as f64;
    assert!((cell["value"].as_f64().expect("value") - expected).abs() < 1e-9);
    assert_eq!(cell["organisations"].as_object().expect("rows").len(), 4);
    assert_eq!(cell["organisations"]["RJ1"]["numerator"], 13_500);
    assert_eq!(
        national["metrics"]["ae_12hr_dta"]["2025-04"]["count"],
        65 + 1_792 + 1_148 + 834
    );

    // The consumer that followed London's deltas holds exactly a fresh snapshot.
    let fresh = snapshot(&client, "Y56", &SnapshotRequest::default())
        .await
        .expect("London again");
    while held.seq < fresh.last_change_seq {
        let message = tokio::time::timeout(Duration::from_secs(5), deltas.next())
            .await
            .expect("a delta in time")
            .expect("subscription open");
        let delta: Delta = Encoding::Postcard
            .decode(&message.payload)
            .expect("a delta");
        held.apply_delta(&delta).expect("no gap");
    }
    assert_eq!(held.metrics, fresh.metrics);
    assert_eq!(held.spc, fresh.spc);

    // As it stood before the revision.
    let earlier = snapshot(
        &client,
        "RJ1",
        &SnapshotRequest {
            as_of_seq: Some(before_revision),
            ..SnapshotRequest::default()
        },
    )
    .await
    .expect("as-of snapshot");
    assert_eq!(earlier.seq, before_revision);
    let rj1 = &earlier.metrics["ae_4hr"];
    let figure = rj1.values().next().expect("April").summary.total;
    assert_eq!(
        figure,
        Value::Ratio {
            numerator: Halves::whole(13_476),
            denominator: Halves::whole(17_442)
        }
    );

    // ...and it equals the view rebuilt here from the log's entries up to that seq.
    let mut rebuilt = projector::Projection::default();
    let mut from = 1;
    while from <= before_revision {
        let page = client.read_log(from, 1000).await.expect("log");
        for envelope in page.entries.iter().filter(|e| e.seq <= before_revision) {
            rebuilt.apply(envelope);
        }
        from += 1000;
    }
    for scope in ["national", "Y56", "RJ1"] {
        let as_of = snapshot(
            &client,
            scope,
            &SnapshotRequest {
                as_of_seq: Some(before_revision),
                ..SnapshotRequest::default()
            },
        )
        .await
        .expect("as-of snapshot");
        let expected = rebuilt.view(scope, proto_schema::GeographyMode::AsReported);
        assert_eq!(
            as_of.metrics, expected.metrics,
            "{scope} as of {before_revision}"
        );
    }

    match snapshot(&client, "NOWHERE", &SnapshotRequest::default()).await {
        Err(ClientError::Service { code, message }) => {
            assert_eq!(code, "404");
            assert!(message.contains("NOWHERE"), "{message}");
        }
        other => panic!("expected a 404, got {other:?}"),
    }

    // A point in time asked two ways, or after the last seq, is refused rather than guessed.
    let last = fresh.seq;
    let contradictory = [
        (
            SnapshotRequest {
                as_of_seq: Some(before_revision),
                as_of: Some(proto_schema::Timestamp::now()),
                ..SnapshotRequest::default()
            },
            "both as_of_seq",
        ),
        (
            SnapshotRequest {
                as_of_seq: Some(last + 1_000),
                ..SnapshotRequest::default()
            },
            "beyond the last seq",
        ),
    ];
    for (request, says) in contradictory {
        match snapshot(&client, "Y56", &request).await {
            Err(ClientError::Service { code, message }) => {
                assert_eq!(code, "400", "{request:?}");
                assert!(message.contains(says), "{message}");
            }
            other => panic!("expected a 400 for {request:?}, got {other:?}"),
        }
    }
    // A misspelt field is refused, not ignored into the live view.
    match client
        .request(
            subjects::view_snapshot("Y56"),
            Encoding::Json,
            br#"{"as_of_seqq": 1}"#.to_vec(),
        )
        .await
    {
        Err(ClientError::Service { code, message }) => {
            assert_eq!(code, "400");
            assert!(message.contains("as_of_seqq"), "{message}");
        }
        other => panic!("expected a 400 for a misspelt field, got {other:?}"),
    }
}

/// A snapshot narrowed to some metrics and periods holds exactly those, with the same figures and
/// charts as the whole view; a range that asks for nothing is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_narrowed_to_metrics_and_periods_hold_exactly_those() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    for month in 1..=12u32 {
        let period = format!("2024-{month:02}");
        let form = crate::harness::ae_return(
            &format!("narrow-{month}"),
            &period,
            1_000 + i64::from(month),
        );
        let receipt = client.submit(&form).await.expect("submit");
        assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    }
    crate::harness::views_settled(&client).await;
    let whole = client
        .snapshot("Y56", &SnapshotRequest::default())
        .await
        .expect("whole view");
    assert_eq!(whole.metrics["ae_4hr"].len(), 12);

    let ask = |body: &'static str| {
        let client = client.clone();
        async move {
            client
                .request(
                    subjects::view_snapshot("Y56"),
                    Encoding::Json,
                    body.as_bytes().to_vec(),
                )
                .await
        }
    };
    let reply = ask(r#"{"metrics": ["ae_4hr"], "last": 3}"#)
        .await
        .expect("narrowed");
    let narrowed: serde_json::Value = serde_json::from_slice(&reply).expect("JSON");
    let metrics = narrowed["metrics"].as_object().expect("metrics");
    assert_eq!(metrics.keys().collect::<Vec<_>>(), ["ae_4hr"]);
    let periods: Vec<&String> = metrics["ae_4hr"]
        .as_object()
        .expect("periods")
        .keys()
        .collect();
    assert_eq!(periods, ["2024-10", "2024-11", "2024-12"]);
    let october = Period::parse("2024-10").expect("period");
    assert_eq!(
        metrics["ae_4hr"]["2024-10"]["numerator"],
        serde_json::json!(match whole.metrics["ae_4hr"][&october].summary.total {
            Value::Ratio { numerator, .. } => numerator.0 / 2,
            _ => -1,
        })
    );
    let points = narrowed["spc"]["ae_4hr"]["points"]
        .as_object()
        .expect("chart points");
    assert_eq!(
        points.len(),
        3,
        "the chart's points in the periods asked for"
    );
    assert_eq!(
        narrowed["spc"]["ae_4hr"]["mean"].as_f64(),
        Some(whole.spc["ae_4hr"].mean),
        "the chart drawn from the whole series"
    );

    let ranged = client
        .snapshot(
            "Y56",
            &SnapshotRequest {
                from: Some(Period::parse("2024-04").expect("period")),
                to: Some(Period::parse("2024-06").expect("period")),
                ..SnapshotRequest::default()
            },
        )
        .await
        .expect("a range");
    for (metric, periods) in &ranged.metrics {
        let kept: Vec<String> = periods.keys().map(|p| p.to_string()).collect();
        assert_eq!(kept, ["2024-04", "2024-05", "2024-06"], "{metric}");
        for (period, cell) in periods {
            assert_eq!(cell, &whole.metrics[metric][period], "{metric} {period}");
        }
    }

    for (body, says) in [
        (r#"{"last": 0}"#, "last = 0"),
        (r#"{"from": "2024-06", "to": "2024-04"}"#, "is after to"),
        (r#"{"from": "June"}"#, "`June` is not a period"),
    ] {
        match ask(body).await {
            Err(ClientError::Service { code, message }) => {
                assert_eq!(code, "400", "{body}");
                assert!(message.contains(says), "{body}: {message}");
            }
            other => panic!("expected a 400 for {body}, got {other:?}"),
        }
    }
}

/// Moving a trust between regions: its earlier month stays in the old region as reported, and
/// counts in the new one under today's geography.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_trust_moved_between_regions_is_shown_both_ways() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;

    let march = london_return("RQW", 9_000, 12_000, 40, "RQW-2025-03");
    let march = ReturnForm {
        period: "2025-03".into(),
        ..march
    };
    assert!(matches!(
        client.submit(&march).await.expect("submit"),
        Receipt::Accepted { .. }
    ));
    let moved = proto_schema::OrganisationMoved {
        code: "RQW".into(),
        system: "QMJ".into(),
        region: "Y56".into(),
        from: proto_schema::Period::parse("2025-04").expect("period"),
    };
    let reply = client
        .request(
            subjects::admin(subjects::MOVE_ORGANISATION),
            Encoding::Json,
            serde_json::to_vec(&moved).expect("json"),
        )
        .await
        .expect("move");
    let receipt: Receipt = Encoding::Json.decode(&reply).expect("receipt");
    let Receipt::Accepted { seq, .. } = receipt else {
        panic!("move refused: {receipt:?}");
    };
    views_at(&client, seq).await;

    let as_reported = SnapshotRequest::default();
    let current = SnapshotRequest {
        geography: proto_schema::GeographyMode::Current,
        ..SnapshotRequest::default()
    };
    let march_period = proto_schema::Period::parse("2025-03").expect("period");
    let holds_rqw = |view: &View| {
        view.metrics
            .get("ae_4hr")
            .and_then(|periods| periods.get(&march_period))
            .is_some_and(|cell| cell.organisations.contains_key("RQW"))
    };
    let east = snapshot(&client, "Y61", &as_reported).await.expect("Y61");
    let london = snapshot(&client, "Y56", &as_reported).await.expect("Y56");
    assert!(
        holds_rqw(&east) && !holds_rqw(&london),
        "as reported: East of England"
    );
    let east_now = snapshot(&client, "Y61", &current).await.expect("Y61 now");
    let london_now = snapshot(&client, "Y56", &current).await.expect("Y56 now");
    assert!(
        !holds_rqw(&east_now) && holds_rqw(&london_now),
        "today: London"
    );

    // A move naming a system of another region is refused, and changes nothing.
    let wrong = proto_schema::OrganisationMoved {
        region: "Y58".into(),
        ..moved
    };
    let reply = client
        .request(
            subjects::admin(subjects::MOVE_ORGANISATION),
            Encoding::Json,
            serde_json::to_vec(&wrong).expect("json"),
        )
        .await
        .expect("move");
    match Encoding::Json.decode::<Receipt>(&reply).expect("receipt") {
        Receipt::Rejected { reasons } => {
            assert_eq!(reasons[0].code, proto_schema::ReasonCode::UnknownSystem)
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

/// A plan on `oversight.plan.<org>`: receipts by the rules of returns, and London's view shows
/// the plan rolled up and actual minus plan.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plans_are_received_like_returns_and_shown_against_actuals() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;

    for (org, within, attendances, dta) in &LONDON[..2] {
        let form = london_return(org, *within, *attendances, *dta, &format!("{org}-actual"));
        assert!(matches!(
            client.submit(&form).await.expect("submit"),
            Receipt::Accepted { .. }
        ));
    }
    let plan = |org: &str, id: &str, within: i64| {
        format!(
            r#"{{"submission_id": "{id}", "org": "{org}", "plan": "2025-26",
                "trajectories": {{"ae_4hr": {{"2025-04": {{"numerator": {within}, "denominator": 20000}},
                                              "2025-05": {{"numerator": {within}, "denominator": 20000}}}}}}}}"#
        )
        .into_bytes()
    };
    let send = |org: &'static str, json: Vec<u8>| {
        let client = &client;
        async move { client.submit_plan_json(org, json).await.expect("plan") }
    };
    let first = send("RJ1", plan("RJ1", "RJ1-plan-v1", 15_000)).await;
    assert!(
        matches!(
            first,
            Receipt::Accepted {
                revision: 1,
                duplicate: false,
                ..
            }
        ),
        "{first:?}"
    );
    let again = send("RJ1", plan("RJ1", "RJ1-plan-v1", 15_000)).await;
    assert!(matches!(
        again,
        Receipt::Accepted {
            revision: 1,
            duplicate: true,
            ..
        }
    ));
    let conflict = send("RJ1", plan("RJ1", "RJ1-plan-v1", 15_500)).await;
    assert!(matches!(&conflict, Receipt::Rejected { reasons }
        if reasons[0].code == proto_schema::ReasonCode::SubmissionConflict));
    let revised = send("RJ1", plan("RJ1", "RJ1-plan-v2", 16_000)).await;
    assert!(
        matches!(revised, Receipt::Accepted { revision: 2, .. }),
        "{revised:?}"
    );
    let theirs = send("RJ1", plan("RAL", "RAL-plan-v1", 16_000)).await;
    assert!(matches!(&theirs, Receipt::Rejected { reasons }
        if reasons[0].code == proto_schema::ReasonCode::OrgMismatch));
    let wrong_kind = br#"{"submission_id": "x", "org": "RAL", "plan": "2025-26",
        "trajectories": {"ae_4hr": {"2025-04": {"count": 3}}}}"#;
    match send("RAL", wrong_kind.to_vec()).await {
        Receipt::Rejected { reasons } => {
            assert_eq!(reasons[0].code, proto_schema::ReasonCode::WrongValueKind);
            assert_eq!(reasons[0].field, "trajectories.ae_4hr.2025-04");
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
    let Receipt::Accepted { seq, .. } = send("RAL", plan("RAL", "RAL-plan-v1", 14_000)).await
    else {
        panic!("RAL's plan refused");
    };
    views_at(&client, seq).await;

    let reply = client
        .request(
            subjects::view_snapshot("Y56"),
            Encoding::Json,
            b"{}".to_vec(),
        )
        .await
        .expect("London snapshot");
    let london: serde_json::Value = serde_json::from_slice(&reply).expect("JSON view");
    let april = &london["plans"]["ae_4hr"]["2025-04"];
    assert_eq!(
        april["numerator"],
        16_000 + 14_000,
        "RJ1's revision counts, not its first"
    );
    assert_eq!(april["denominator"], 40_000);
    assert_eq!(april["organisations"].as_object().expect("rows").len(), 2);
    assert!(
        london["plans"]["ae_4hr"]["2025-05"].is_object(),
        "plans run ahead of actuals"
    );
    let actual = london["metrics"]["ae_4hr"]["2025-04"]["value"]
        .as_f64()
        .expect("actual");
    let variance = london["variance"]["ae_4hr"]["2025-04"]["value"]
        .as_f64()
        .expect("variance");
    assert!(
        (variance - (actual - 75.0)).abs() < 1e-9,
        "{variance} vs {actual}"
    );
    assert!(london["variance"]["ae_4hr"].get("2025-05").is_none());
}

/// A standard newly missed raises one alert, not one per delta; a region's segment decision
/// shows beside the suggestion, and a segment outside 1 to 4 is refused.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn alerts_come_once_and_segments_are_decided() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let seeded = client.read_log(1, 1).await.expect("log").last_seq;
    views_at(&client, seeded).await;
    let mut alerts = client
        .nats()
        .subscribe(subjects::alert("RJ1"))
        .await
        .expect("subscribe");

    let month = |period: &str, within: i64, id: &str| ReturnForm {
        period: period.into(),
        ..london_return("RJ1", within, 1_000, 0, id)
    };
    for form in [
        month("2025-03", 960, "RJ1-03"),
        month("2025-04", 800, "RJ1-04"),
        month("2025-04", 810, "RJ1-04-v2"),
    ] {
        match client.submit(&form).await.expect("submit") {
            Receipt::Accepted { seq, .. } => views_at(&client, seq).await,
            other => panic!("{other:?}"),
        };
    }
    let mut received = Vec::new();
    while let Ok(Some(message)) =
        tokio::time::timeout(Duration::from_millis(1500), alerts.next()).await
    {
        let alert: proto_schema::Alert =
            serde_json::from_slice(&message.payload).expect("a JSON alert");
        received.push(alert);
    }
    let missed: Vec<_> = received
        .iter()
        .filter(|a| a.kind == proto_schema::AlertKind::StandardMissed && a.subject == "ae_4hr")
        .collect();
    assert_eq!(missed.len(), 1, "once per occurrence: {received:?}");
    assert_eq!(missed[0].period.to_string(), "2025-04");
    assert!(
        missed[0].message.contains("80.00%"),
        "{}",
        missed[0].message
    );

    let decide = |segment: u8| proto_schema::SegmentDecided {
        org: "RJ1".into(),
        segment,
        rationale: "A&E below standard since April".into(),
    };
    let Receipt::Accepted { seq, .. } = client
        .admin(subjects::DECIDE_SEGMENT, &decide(3))
        .await
        .expect("decide")
    else {
        panic!("decision refused");
    };
    views_at(&client, seq).await;
    let rj1 = snapshot(&client, "RJ1", &SnapshotRequest::default())
        .await
        .expect("RJ1");
    let segment = rj1.segment.expect("RJ1 has a segment");
    assert_eq!(segment.decided.map(|d| d.segment), Some(3));
    assert!(segment.suggested >= 2, "the standard missed is a trigger");
    assert!(segment
        .triggers
        .iter()
        .any(|t| t.kind == proto_schema::TriggerKind::StandardMissed));
    match client
        .admin(subjects::DECIDE_SEGMENT, &decide(6))
        .await
        .expect("decide")
    {
        Receipt::Rejected { reasons } => {
            assert_eq!(reasons[0].code, proto_schema::ReasonCode::SegmentOutOfRange)
        }
        other => panic!("expected a rejection, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_largest_figures_from_every_provider_of_england_add_up_exactly() {
    use proto_schema::{Event, OrgRole, MAX_COUNT, MAX_PENCE, MAX_RATIO_PART};
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;

    let april = proto_schema::Date::new(2025, 4, 1).expect("date");
    let (seed, _) = ingest::seed::seed_events(&ingest::seed::ReferenceFiles::bundled())
        .expect("the bundled reference data");
    let providers: Vec<proto_schema::Organisation> = seed
        .into_iter()
        .filter_map(|event| match event {
            Event::OrganisationRegistered(org)
                if org.role == OrgRole::Provider && org.closed.is_none() && org.opened <= april =>
            {
                Some(org)
            }
            _ => None,
        })
        .collect();
    assert!(providers.len() > 150, "{} providers", providers.len());
    let forms = providers.iter().flat_map(|org| {
        let form = |collection: &str, values: Vec<(String, Value)>| ReturnForm {
            schema_version: SCHEMA_VERSION,
            submission_id: format!("largest-{}-{collection}", org.code),
            org: org.code.clone(),
            collection: collection.into(),
            period: "2025-04".into(),
            values,
        };
        [
            form(
                "ae-monthly",
                vec![
                    (
                        "ae_4hr".into(),
                        Value::Ratio {
                            numerator: Halves::whole(MAX_RATIO_PART),
                            denominator: Halves::whole(MAX_RATIO_PART),
                        },
                    ),
                    ("ae_12hr_dta".into(), Value::Count(MAX_COUNT)),
                ],
            ),
            form(
                "finance-monthly",
                vec![("finance_surplus".into(), Value::Money { pence: MAX_PENCE })],
            ),
        ]
    });
    let receipts: Vec<Receipt> = futures_util::stream::iter(forms.map(|form| {
        let client = &client;
        async move { client.submit(&form).await.expect("submit") }
    }))
    .buffer_unordered(32)
    .collect()
    .await;
    for receipt in &receipts {
        assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    }
    // One more than the largest is refused, naming the bound.
    let mut beyond = london_return("RJ1", 1, 2, 3, "beyond");
    beyond.values[1].1 = Value::Count(MAX_COUNT + 1);
    match client.submit(&beyond).await.expect("submit") {
        Receipt::Rejected { reasons } => {
            assert_eq!(reasons[0].code, proto_schema::ReasonCode::ValueTooLarge);
            assert_eq!(reasons[0].field, "values.ae_12hr_dta.count");
        }
        other => panic!("{other:?}"),
    }

    let last = client.read_log(1, 1).await.expect("log").last_seq;
    let england = views_at(&client, last).await;
    let n = providers.len() as i64;
    let april = proto_schema::Period::parse("2025-04").expect("period");
    let cell = |view: &View, metric: &str| view.metrics[metric][&april].summary.clone();
    assert_eq!(
        cell(&england, "ae_12hr_dta").total,
        Value::Count(n * MAX_COUNT)
    );
    assert_eq!(
        cell(&england, "finance_surplus").total,
        Value::Money {
            pence: n * MAX_PENCE
        }
    );
    let four_hours = cell(&england, "ae_4hr");
    assert_eq!(
        four_hours.total,
        Value::Ratio {
            numerator: Halves::whole(n * MAX_RATIO_PART),
            denominator: Halves::whole(n * MAX_RATIO_PART),
        }
    );
    assert_eq!(four_hours.met, Some(true), "100% meets at least 95%");
    // Each region adds up too, and the regions add up to England.
    let mut regions_total = 0;
    for region in ["Y56", "Y58", "Y59", "Y60", "Y61", "Y62", "Y63"] {
        let in_region = providers.iter().filter(|o| o.region == region).count() as i64;
        let view = client
            .snapshot(region, &SnapshotRequest::default())
            .await
            .expect("region snapshot");
        if in_region == 0 {
            continue;
        }
        assert_eq!(
            cell(&view, "ae_12hr_dta").total,
            Value::Count(in_region * MAX_COUNT),
            "{region}"
        );
        regions_total += in_region;
    }
    assert_eq!(
        regions_total, n,
        "every provider is in one of the seven regions"
    );
}

/// The in-process feed can drop a batch when full; with nothing after it the gap once went
/// unseen (the views 149 entries behind, the lag metric 0). The views now see the log ahead of
/// them and read the entries themselves.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_that_lose_the_feed_s_last_entries_read_them_from_the_log() {
    use oversight::log_source::LogSource;
    use oversight::project::{self, Checkpoints, Feed};
    use proto_schema::{Event, Period, Return, ReturnSubmitted, Timestamp};

    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut log = event_log::EventLog::open(&tmp.path().join("oversight.redb")).expect("log");
    let (seed, _) = ingest::seed::seed_events(&ingest::seed::ReferenceFiles::bundled())
        .expect("the bundled reference data");
    ingest::writer::append_reference(&mut log, "oversight-seed", seed).expect("seed");
    let returns = |months: std::ops::RangeInclusive<u32>| {
        months
            .map(|month| {
                Event::ReturnSubmitted(ReturnSubmitted {
                    revision: 1,
                    ret: Return {
                        submission_id: format!("feed-{month}"),
                        org: "RJ1".into(),
                        collection: "ae-monthly".into(),
                        period: Period::parse(&format!("2023-{month:02}")).expect("period"),
                        values: vec![("ae_12hr_dta".into(), Value::Count(i64::from(month)))],
                    },
                })
            })
            .collect::<Vec<_>>()
    };
    fn append(log: &mut event_log::EventLog, events: Vec<Event>) -> Vec<proto_schema::Envelope> {
        log.append_batch(|a| {
            for event in events {
                a.append(Timestamp::now(), "RJ1", event)?;
            }
            Ok(())
        })
        .expect("append")
        .1
    }
    append(&mut log, returns(1..=2));

    let connection = async_nats::connect(nats.url()).await.expect("connect");
    let client = Client::over(connection.clone());
    let (feed, fed) = tokio::sync::mpsc::channel(16);
    let stop = tokio_util::sync::CancellationToken::new();
    let reader = log.reader();
    let views = tokio::spawn(project::run(
        Client::over(connection),
        LogSource::Local(reader),
        stop.clone(),
        Checkpoints::default(),
        Feed::Local(fed),
        projector::Analytics::Off,
    ));
    let caught_up = log.last_seq();
    views_at(&client, caught_up).await;

    // Twelve more entries committed; the feed carries only the first five.
    let committed = append(&mut log, returns(3..=12));
    feed.send(committed[..5].to_vec()).await.expect("feed");
    let last = committed.last().expect("entries").seq;
    let view = views_at(&client, last).await;
    assert_eq!(
        view.seq, last,
        "the views reached the log's last seq on their own"
    );
    let december = Period::parse("2023-12").expect("period");
    assert_eq!(
        view.metrics["ae_12hr_dta"][&december].summary.total,
        Value::Count(12)
    );
    stop.cancel();
    drop(feed);
    views.await.expect("joined").expect("the views ended well");
}

/// As-of views start from a retained checkpoint (the nearest before the point asked for) and
/// replay only the log after it: each equals the view rebuilt here from the whole log, by seq and
/// by time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn as_of_views_from_retained_checkpoints_equal_a_replay_of_the_whole_log() {
    use proto_schema::{Envelope, GeographyMode};
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let config = tmp.path().join("oversight.toml");
    std::fs::write(
        &config,
        "version = 1\n[views]\ncheckpoint_every = 3\nretain_every = 7\n",
    )
    .expect("config");
    let config = config.to_str().expect("utf-8 path");
    let mut service = Service::start_with(&nats.url(), &data, &["--config", config], "warn");
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    for month in 1..=40u32 {
        let period = format!("{}-{:02}", 2020 + (month - 1) / 12, (month - 1) % 12 + 1);
        let mut form = crate::harness::ae_return(
            &format!("retained-{month}"),
            &period,
            1_000 + i64::from(month),
        );
        form.org = LONDON[(month % 4) as usize].0.into();
        let receipt = client.submit(&form).await.expect("submit");
        assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
    }
    let last = client.read_log(1, 1).await.expect("log").last_seq;
    views_at(&client, last).await;

    let mut log: Vec<Envelope> = Vec::new();
    let mut from = 1;
    while from <= last {
        let page = client.read_log(from, 1_000).await.expect("log");
        from = page.entries.last().map_or(last + 1, |e| e.seq + 1);
        log.extend(page.entries);
    }
    let replayed = |until: &dyn Fn(&Envelope) -> bool| {
        let mut projection = projector::Projection::default();
        for envelope in log.iter().take_while(|e| until(e)) {
            projection.apply_silently(envelope);
        }
        projection.view("Y56", GeographyMode::AsReported)
    };
    let first_return = log
        .iter()
        .position(|e| matches!(e.event, proto_schema::Event::ReturnSubmitted(_)))
        .expect("returns") as u64;
    for seq in [first_return + 3, first_return + 18, last - 5, last] {
        let asked = client
            .snapshot(
                "Y56",
                &SnapshotRequest {
                    as_of_seq: Some(seq),
                    ..SnapshotRequest::default()
                },
            )
            .await
            .expect("as-of by seq");
        assert_eq!(
            asked,
            replayed(&|e: &Envelope| e.seq <= seq),
            "as of seq {seq}"
        );
        let at = log[seq as usize - 1].recorded_at;
        let asked = client
            .snapshot(
                "Y56",
                &SnapshotRequest {
                    as_of: Some(at),
                    ..SnapshotRequest::default()
                },
            )
            .await
            .expect("as-of by time");
        assert_eq!(
            asked,
            replayed(&|e: &Envelope| e.recorded_at <= at),
            "as of {at}"
        );
    }
    service.terminate();
    let store = event_log::CheckpointStore::open(&data.join("views.redb")).expect("checkpoints");
    let kept = store.retained_for(u64::MAX, None).expect("read");
    assert!(
        kept.is_some_and(|c| c.seq > first_return),
        "checkpoints were kept as the log grew"
    );
    drop(store);

    // Rebuilt from the log alone (the checkpoints lost), the views keep checkpoints along the
    // way, not only one at the end: an as-of view of a point in the middle still replays at most
    // `retain_every` entries.
    std::fs::remove_file(data.join("views.redb")).expect("remove the checkpoints");
    let mut service = Service::start_with(&nats.url(), &data, &["--config", config], "warn");
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    views_at(&client, last).await;
    service.terminate();
    let store = event_log::CheckpointStore::open(&data.join("views.redb")).expect("checkpoints");
    let middle = last / 2;
    let nearest = store
        .retained_for(middle, None)
        .expect("read")
        .map(|c| c.seq);
    assert!(
        nearest.is_some_and(|seq| seq <= middle && middle - seq < 7),
        "a checkpoint within retain_every before seq {middle} of {last}: {nearest:?}"
    );
}

/// Views run apart from the log (`oversight project`) catch up over `oversight.log.read` and then
/// follow `oversight.log.events`, one message per commit, to the same figures.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn views_apart_from_the_log_follow_its_commits() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let config = tmp.path().join("oversight.toml");
    std::fs::write(&config, "version = 1\n[views]\nenabled = false\n").expect("config");
    let config = config.to_str().expect("utf-8 path");
    let _service = Service::start_with(
        &nats.url(),
        &data_dir(tmp.path()),
        &["--config", config],
        "warn",
    );
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let submit_all = |forms: Vec<ReturnForm>| {
        let client = client.clone();
        async move {
            let mut last = 0;
            for form in forms {
                match client.submit(&form).await.expect("submit") {
                    Receipt::Accepted { seq, .. } => last = seq,
                    other => panic!("{}: {other:?}", form.org),
                }
            }
            last
        }
    };
    let forms: Vec<ReturnForm> = LONDON
        .iter()
        .map(|(org, within, all, dta)| {
            london_return(org, *within, *all, *dta, &format!("{org}-v1"))
        })
        .collect();
    // Two returns before the views start, read from the log; two after, followed live.
    submit_all(forms[..2].to_vec()).await;
    let stderr = std::fs::File::create(tmp.path().join("project.log")).expect("log file");
    let mut project = std::process::Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args([
            "project",
            "--nats",
            &nats.url(),
            "--no-analytics",
            "--metrics-addr",
        ])
        .arg(crate::harness::free_loopback_addr().to_string())
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(stderr)
        .spawn()
        .expect("start oversight project");
    let mut answered = false;
    for _ in 0..600 {
        if snapshot(&client, "Y56", &SnapshotRequest::default())
            .await
            .is_ok()
        {
            answered = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(answered, "oversight project answers snapshots");
    let last = submit_all(forms[2..].to_vec()).await;
    let mut london = None;
    for _ in 0..600 {
        match snapshot(&client, "Y56", &SnapshotRequest::default()).await {
            Ok(view) if view.seq >= last => {
                london = Some(view);
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    let _ = project.kill();
    let _ = project.wait();
    let london = london.expect("the views followed the commits within 30 s");
    let period = Period::parse("2025-04").expect("period");
    assert_eq!(
        london.metrics["ae_12hr_dta"][&period].summary.total,
        Value::Count(LONDON.iter().map(|r| r.3).sum())
    );
    assert_eq!(
        london.metrics["ae_12hr_dta"][&period].organisations.len(),
        4
    );
}
