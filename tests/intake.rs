//! Idempotency, revisions and dense seqs across restarts.

use std::time::Duration;

use proto_schema::{Event, ReasonCode, Receipt, Value};

use crate::harness::{ae_return, data_dir, nats, serving_client, Service};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retries_are_idempotent_and_later_returns_are_revisions() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let seeded = client.read_log(1, 1).await.expect("log").last_seq;
    assert!(seeded > 600, "reference data seeded ({seeded} entries)");

    let first = ae_return("RJ1-ae-2019-01-v1", "2019-01", 21_289);
    let receipt = client.submit(&first).await.expect("submit");
    assert_eq!(receipt, Receipt::accepted(seeded + 1, 1, false));

    let again = client.submit(&first).await.expect("resubmit");
    assert_eq!(again, Receipt::accepted(seeded + 1, 1, true));

    // The same return through the JSON path is the same content.
    let json = serde_json::to_vec(&first).expect("json");
    let via_json = client.submit_json("RJ1", json).await.expect("json submit");
    assert_eq!(via_json, Receipt::accepted(seeded + 1, 1, true));

    let mut changed = first.clone();
    changed.values[1].1 = Value::Count(9);
    match client.submit(&changed).await.expect("conflict") {
        Receipt::Rejected { reasons } => {
            assert_eq!(reasons[0].code, ReasonCode::SubmissionConflict)
        }
        other => panic!("expected a conflict, got {other:?}"),
    }

    let revised = ae_return("RJ1-ae-2019-01-v2", "2019-01", 21_300);
    assert_eq!(
        client.submit(&revised).await.expect("revision"),
        Receipt::accepted(seeded + 2, 2, false)
    );
    // Sending the first again (a re-import of the file it came from) is still its duplicate, and
    // says that revision 2 is the one in force, so the figure compared with the file is explained.
    match client.submit(&first).await.expect("resend") {
        Receipt::Accepted {
            seq,
            revision: 1,
            duplicate: true,
            notices,
        } => {
            assert_eq!(seq, seeded + 1);
            assert_eq!(notices.len(), 1, "{notices:?}");
            assert_eq!(notices[0].code, proto_schema::NoticeCode::Superseded);
            assert!(notices[0].message.contains("revision 2"), "{notices:?}");
        }
        other => panic!("expected the duplicate, got {other:?}"),
    }
    let other_period = ae_return("RJ1-ae-2019-02-v1", "2019-02", 20_000);
    assert_eq!(
        client.submit(&other_period).await.expect("other"),
        Receipt::accepted(seeded + 3, 1, false)
    );

    let log = client.read_log(seeded + 1, 100).await.expect("log");
    assert_eq!(
        log.last_seq,
        seeded + 3,
        "the duplicate and the conflict appended nothing"
    );
    let revisions: Vec<(String, u32)> = log
        .entries
        .iter()
        .map(|e| match &e.event {
            Event::ReturnSubmitted(s) => (s.ret.submission_id.clone(), s.revision),
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    assert_eq!(
        revisions,
        vec![
            ("RJ1-ae-2019-01-v1".into(), 1),
            ("RJ1-ae-2019-01-v2".into(), 2),
            ("RJ1-ae-2019-02-v1".into(), 1)
        ]
    );

    // A revision that leaves out a metric the one before it had says so.
    let mut narrower = ae_return("RJ1-ae-2019-01-v3", "2019-01", 21_300);
    narrower.values.retain(|(metric, _)| metric != "ae_4hr");
    match client.submit(&narrower).await.expect("narrower revision") {
        Receipt::Accepted {
            revision: 3,
            duplicate: false,
            notices,
            ..
        } => {
            assert_eq!(notices.len(), 1, "{notices:?}");
            assert_eq!(notices[0].code, proto_schema::NoticeCode::MetricsDropped);
            assert!(notices[0].message.contains("ae_4hr"), "{notices:?}");
        }
        other => panic!("expected revision 3, got {other:?}"),
    }
    // One that keeps every metric says nothing.
    let full = ae_return("RJ1-ae-2019-01-v4", "2019-01", 21_400);
    match client.submit(&full).await.expect("fuller revision") {
        Receipt::Accepted {
            revision: 4,
            notices,
            ..
        } => assert!(notices.is_empty(), "{notices:?}"),
        other => panic!("expected revision 4, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn seqs_stay_dense_and_are_never_reused_across_restarts() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let mut accepted = Vec::new();
    for round in 0..3 {
        let mut service = Service::start(&nats.url(), &data);
        let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
        for n in 0..4 {
            let form = ae_return(
                &format!("restart-{round}-{n}"),
                &format!("2018-{:02}", n + 1),
                1000 + n,
            );
            match client.submit(&form).await.expect("submit") {
                Receipt::Accepted {
                    seq,
                    duplicate: false,
                    ..
                } => accepted.push(seq),
                other => panic!("expected acceptance, got {other:?}"),
            }
        }
        if round == 1 {
            service.kill();
        } else {
            drop(service);
        }
    }
    let _service = Service::start(&nats.url(), &data);
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let log = client.read_log(1, 10_000).await.expect("log");
    let seqs: Vec<u64> = log.entries.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=log.last_seq).collect::<Vec<_>>(), "dense from 1");
    let first = accepted[0];
    assert_eq!(
        accepted,
        (first..first + 12).collect::<Vec<_>>(),
        "each restart continued where the last stopped"
    );
    assert_eq!(log.last_seq, first + 11, "seeding happened once");
}

/// A log written before collections were data (reference data without them) is given data
/// standard v1's collections once at start-up, and its returns are checked against them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_from_before_collections_and_methodologies_is_given_them_once() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    std::fs::create_dir_all(&data).expect("data dir");
    {
        let (events, _) =
            ingest::seed::seed_events(&ingest::seed::ReferenceFiles::bundled()).expect("seed");
        let older: Vec<Event> = events
            .into_iter()
            .filter(|e| {
                !matches!(
                    e,
                    Event::CollectionDefined(_)
                        | Event::MethodologyDefined(_)
                        | Event::TrustTypeSet(_)
                )
            })
            .collect();
        let mut log = event_log::EventLog::open(&data.join("oversight.redb")).expect("log");
        ingest::writer::append_reference(&mut log, "oversight-seed", older).expect("append");
    }
    let count = |entries: &[proto_schema::Envelope], of: fn(&Event) -> bool| {
        entries.iter().filter(|e| of(&e.event)).count()
    };
    let shipped_trust_types = ingest::seed::seed_events(&ingest::seed::ReferenceFiles::bundled())
        .expect("seed")
        .0
        .iter()
        .filter(|e| matches!(e, Event::TrustTypeSet(_)))
        .count();
    assert!(shipped_trust_types > 200);
    for start in 0..2 {
        let mut service = Service::start(&nats.url(), &data);
        let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
        let mut entries = Vec::new();
        let mut from = 1;
        loop {
            let page = client.read_log(from, 1000).await.expect("log");
            let Some(last) = page.entries.last().map(|e| e.seq) else {
                break;
            };
            entries.extend(page.entries);
            from = last + 1;
        }
        assert_eq!(
            count(&entries, |e| matches!(e, Event::CollectionDefined(_))),
            proto_schema::collections_v1().len(),
            "start {start}: collections defined once"
        );
        assert_eq!(
            count(&entries, |e| matches!(e, Event::MethodologyDefined(_))),
            proto_schema::methodologies_v1().len(),
            "start {start}: methodologies defined once"
        );
        assert_eq!(
            count(&entries, |e| matches!(e, Event::TrustTypeSet(_))),
            shipped_trust_types,
            "start {start}: trust types set once"
        );
        let mut wrong = ae_return(&format!("old-log-{start}"), "2019-01", 1000);
        wrong.collection = "cancer-monthly".into();
        match client.submit(&wrong).await.expect("submit") {
            Receipt::Rejected { reasons } => {
                assert_eq!(reasons[0].code, ReasonCode::MetricNotInCollection)
            }
            other => panic!("expected a rejection, got {other:?}"),
        }
        service.terminate();
    }
}
