//! Replies larger than the NATS server's largest message (`max_payload`): a log read is cut
//! short, so a reader asking again from where it ends loses nothing, and a snapshot too large to
//! send is refused with an error that says so, rather than left to time out.

use std::time::Duration;

use oversight::subjects;
use oversight::wire::{Encoding, CONTENT_TYPE, JSON, SERVICE_ERROR, SERVICE_ERROR_CODE};
use proto_schema::{LogEntries, Receipt, SnapshotRequest, NATIONAL};

use crate::harness::{ae_return, data_dir, serving_client, NatsServer, Service};

/// The largest message the server in these tests takes, in bytes.
const SMALL_MAX_PAYLOAD: usize = 4096;

/// A nats-server whose `max_payload` is [`SMALL_MAX_PAYLOAD`].
fn nats_with_small_messages(dir: &std::path::Path) -> NatsServer {
    let config = dir.join("nats.conf");
    std::fs::write(&config, format!("max_payload: {SMALL_MAX_PAYLOAD}\n")).expect("nats.conf");
    let config = config.to_str().expect("utf-8 path");
    NatsServer::start(&["-c", config]).unwrap_or_else(|e| panic!("{e:#}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replies_fit_the_largest_message_the_server_takes() {
    const MONTHS: u32 = 72;
    let tmp = tempfile::tempdir().expect("tempdir");
    let nats = nats_with_small_messages(tmp.path());
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;

    // Six years of months: a log and an England view each several times the largest message.
    let mut stored = 0;
    for year in 2019..2025 {
        for month in 1..=12 {
            let period = format!("{year}-{month:02}");
            let id = format!("limits-{period}");
            let receipt = client
                .submit(&ae_return(&id, &period, 1_000 + month))
                .await
                .expect("submit");
            assert!(matches!(receipt, Receipt::Accepted { .. }), "{receipt:?}");
            stored += 1;
        }
    }
    // The views catch up over log reads of many pages; a region with no returns is a small view.
    let last = client.read_log(1, 1).await.expect("log").last_seq;
    assert!(last >= stored);
    let mut settled = false;
    for _ in 0..600 {
        match client.snapshot("Y63", &SnapshotRequest::default()).await {
            Ok(view) if view.seq >= last => {
                settled = true;
                break;
            }
            _ => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    assert!(
        settled,
        "the views did not catch up to seq {last} within 30 s"
    );

    // Read as the views catch up: pages of at most the largest message, until the last seq.
    let (mut next, mut pages) = (1, 0);
    while next <= last {
        let page = client
            .read_log(next, 10_000)
            .await
            .expect("a page of the log");
        let size = Encoding::Postcard
            .encode(&LogEntries {
                entries: page.entries.clone(),
                last_seq: page.last_seq,
            })
            .len();
        assert!(size <= SMALL_MAX_PAYLOAD, "a page of {size} bytes");
        assert!(
            !page.entries.is_empty(),
            "an empty page at seq {next} of {last}"
        );
        for envelope in &page.entries {
            assert_eq!(envelope.seq, next, "entries in order, none missing");
            next += 1;
        }
        pages += 1;
    }
    assert!(pages > 1, "the log fits one message: make it longer");

    // England's view of all six years is larger than a message: it comes in pages, each
    // fitting, at one seq, which put together hold every metric and month.
    let year = SnapshotRequest {
        last: Some(MONTHS),
        ..SnapshotRequest::default()
    };
    let mut request = year.clone();
    let mut pages = Vec::new();
    loop {
        let body = client
            .request(
                subjects::view_snapshot(NATIONAL),
                Encoding::Postcard,
                Encoding::Postcard.encode(&request),
            )
            .await
            .expect("a page of England's view");
        assert!(
            body.len() <= SMALL_MAX_PAYLOAD,
            "a page of {} bytes",
            body.len()
        );
        let page: proto_schema::View = Encoding::Postcard.decode(&body).expect("a view");
        let more = page.more_after.clone();
        pages.push(page);
        match more {
            Some(after) => {
                request = SnapshotRequest {
                    as_of_seq: Some(pages[0].seq),
                    after_metric: Some(after),
                    ..year.clone()
                }
            }
            None => break,
        }
        assert!(pages.len() < 50, "the pages end");
    }
    assert!(
        pages.len() > 1,
        "England's year fits one message: make it larger"
    );
    assert!(pages.iter().all(|p| p.seq == pages[0].seq), "one seq");
    let whole = client
        .snapshot(NATIONAL, &year)
        .await
        .expect("the whole view");
    assert_eq!(whole.more_after, None);
    let mut put_together = pages[0].clone();
    for page in pages.into_iter().skip(1) {
        put_together.absorb_page(page);
    }
    assert_eq!(put_together, whole);
    let four_hours = &whole.metrics["ae_4hr"];
    assert_eq!(four_hours.len(), MONTHS as usize);
    for (period, cell) in four_hours {
        let month: i64 = period.to_string()[5..].parse().expect("month");
        assert!(
            matches!(cell.summary.total, proto_schema::Value::Ratio { denominator, .. }
                if denominator == proto_schema::Halves::whole(1_000 + month)),
            "{period}: {:?}",
            cell.summary.total
        );
    }
    assert_eq!(whole.metrics["ae_12hr_dta"].len(), MONTHS as usize);

    // England's view in JSON is larger than a message: refused, and told why.
    let mut headers = async_nats::HeaderMap::new();
    headers.insert(CONTENT_TYPE, JSON);
    let reply = client
        .nats()
        .request_with_headers(subjects::view_snapshot(NATIONAL), headers, "{}".into())
        .await
        .expect("an answer, not a time-out");
    let headers = reply.headers.expect("an error reply has headers");
    assert_eq!(
        headers.get(SERVICE_ERROR_CODE).map(|v| v.as_str()),
        Some("413")
    );
    let message = headers
        .get(SERVICE_ERROR)
        .map(|v| v.to_string())
        .unwrap_or_default();
    assert!(
        message.contains("max_payload") && message.contains(&SMALL_MAX_PAYLOAD.to_string()),
        "{message}"
    );
}

/// A 49 KB return naming 2,500 unknown metrics once made a 248 KB receipt that never arrived.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_receipt_lists_a_hundred_reasons_and_counts_the_rest() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nats = crate::harness::nats();
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let values: Vec<String> = (0..2_500)
        .map(|i| format!("\"m{i}\":{{\"count\":1}}"))
        .collect();
    let json = format!(
        r#"{{"schema_version": 1, "submission_id": "many-reasons", "org": "RJ1", "collection": "ae-monthly", "period": "2024-01", "values": {{{}}}}}"#,
        values.join(",")
    );
    assert!(json.len() > 40_000, "{} bytes", json.len());
    let reply = client
        .request(subjects::submit("RJ1"), Encoding::Json, json.into_bytes())
        .await
        .expect("a receipt arrives");
    assert!(reply.len() < 64 * 1024, "{} bytes", reply.len());
    let receipt: Receipt = Encoding::Json.decode(&reply).expect("receipt");
    let Receipt::Rejected { reasons } = receipt else {
        panic!("{receipt:?}")
    };
    assert_eq!(
        reasons.len(),
        proto_schema::MAX_REASONS_LISTED + 1,
        "{:?}",
        reasons.first()
    );
    let last = reasons.last().expect("a last reason");
    assert_eq!(last.code, proto_schema::ReasonCode::ReasonsNotListed);
    assert!(
        last.message
            .starts_with("2400 more reasons are not listed (unknown_metric 2400)"),
        "{}",
        last.message
    );
}

/// A flood of log reads once took gigabytes and stopped intake for seconds: reads beyond the few
/// answered at once are told 503 straight away, and a return sent during the flood is accepted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_log_reads_is_told_busy_and_intake_goes_on() {
    use futures_util::StreamExt;
    let tmp = tempfile::tempdir().expect("tempdir");
    let nats = crate::harness::nats();
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(10)).await;
    let flood = futures_util::stream::iter(0..300)
        .map(|_| {
            let client = &client;
            async move { client.read_log(1, 10_000).await }
        })
        .buffer_unordered(300)
        .collect::<Vec<_>>();
    let submit = async {
        tokio::time::sleep(Duration::from_millis(5)).await;
        client
            .submit(&ae_return("during-the-flood", "2024-02", 1_000))
            .await
    };
    let (reads, receipt) = tokio::join!(flood, submit);
    assert!(
        matches!(receipt, Ok(Receipt::Accepted { .. })),
        "{receipt:?}"
    );
    let (mut answered, mut busy) = (0, 0);
    for read in reads {
        match read {
            Ok(page) => {
                assert!(!page.entries.is_empty());
                answered += 1;
            }
            Err(oversight::client::ClientError::Service { code, message }) => {
                assert_eq!(code, "503", "{message}");
                assert!(message.contains("ask again"), "{message}");
                busy += 1;
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert!(
        answered >= 1 && busy >= 1,
        "{answered} answered, {busy} busy"
    );
    assert_eq!(answered + busy, 300);
}
