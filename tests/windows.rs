//! Collection windows over NATS and on the pages: completeness and published figures in JSON
//! snapshots, in the deltas a consumer follows, and on a scope's page.

use std::time::Duration;

use futures_util::StreamExt;
use oversight::subjects;
use oversight::wire::Encoding;
use proto_schema::{
    due_date, Date, Delta, Period, Receipt, ReturnForm, SnapshotRequest, Timestamp, NATIONAL,
};

use crate::harness::{ae_return, data_dir, http_get, nats, serving_client, views_at, Service};

fn return_of(org: &str, period: Period, attendances: i64) -> ReturnForm {
    let mut form = ae_return(&format!("{org}-{period}"), &period.to_string(), attendances);
    form.org = org.into();
    form
}

/// The month `back` months before the one `today` is in.
fn month_before(today: Date, back: i32) -> Period {
    let months = today.year() * 12 + i32::from(today.month()) - 1 - back;
    Period::parse(&format!(
        "{}-{:02}",
        months.div_euclid(12),
        months.rem_euclid(12) + 1
    ))
    .expect("a month")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn completeness_and_published_figures_reach_snapshots_deltas_and_pages() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let service = Service::start_with_web(&nats.url(), &data_dir(tmp.path()), &[]);
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let seeded = client.read_log(1, 1).await.expect("log").last_seq;
    views_at(&client, seeded).await;
    let mut deltas = client
        .nats()
        .subscribe(subjects::view_delta(NATIONAL))
        .await
        .expect("subscribe");
    let mut held = client
        .snapshot(NATIONAL, &SnapshotRequest::default())
        .await
        .expect("England");

    let today = Timestamp::now().date();
    // Two months back is past its deadline whatever the day: a backfill, closed on arrival.
    let backfilled = month_before(today, 2);
    // The month just ended is open until its deadline, ten working days after it.
    let latest = month_before(today, 1);
    let open = today <= due_date("ae-monthly", latest);
    let mut last = 0;
    for form in [
        return_of("RJ1", backfilled, 17_000),
        return_of("RAL", backfilled, 41_000),
        return_of("RJ1", latest, 17_400),
    ] {
        match client.submit(&form).await.expect("submit") {
            Receipt::Accepted { seq, .. } => last = seq,
            other => panic!("{}: {other:?}", form.submission_id),
        }
    }
    let one_in = views_at(&client, last).await;
    let c = &one_in.completeness["ae-monthly"][&latest];
    assert_eq!((c.expected, c.received), (2, 1));
    assert_eq!(
        c.state.as_str(),
        if open { "provisional" } else { "closed" },
        "{latest} is due by {}",
        c.closes
    );
    assert_eq!(c.closes, due_date("ae-monthly", latest));
    match client
        .submit(&return_of("RAL", latest, 41_400))
        .await
        .expect("RAL")
    {
        Receipt::Accepted { seq, .. } => last = seq,
        other => panic!("RAL: {other:?}"),
    }
    views_at(&client, last).await;

    // England in JSON, as an analyst's script reads it.
    let reply = client
        .request(
            subjects::view_snapshot(NATIONAL),
            Encoding::Json,
            b"{}".to_vec(),
        )
        .await
        .expect("snapshot");
    let national: serde_json::Value = serde_json::from_slice(&reply).expect("JSON view");
    let now = &national["completeness"]["ae-monthly"][latest.to_string()];
    assert_eq!(now["expected"], 2);
    assert_eq!(now["received"], 2);
    assert_eq!(now["state"], if open { "complete" } else { "closed" });
    assert_eq!(now["after_close"], if open { 0 } else { 2 });
    let back = &national["completeness"]["ae-monthly"][backfilled.to_string()];
    assert_eq!(back["state"], "closed");
    assert_eq!(back["after_close"], 2);
    // Nothing was in by its deadline, so nothing was published for the backfilled month.
    assert_eq!(back["published_seq"], serde_json::Value::Null);
    assert!(national["published"]["ae_4hr"]
        .get(backfilled.to_string())
        .is_none());

    // The consumer that followed the deltas holds the same completeness as a fresh snapshot.
    let fresh = client
        .snapshot(NATIONAL, &SnapshotRequest::default())
        .await
        .expect("England again");
    while held.seq < fresh.last_change_seq {
        let message = tokio::time::timeout(Duration::from_secs(5), deltas.next())
            .await
            .expect("a delta in time")
            .expect("subscription open");
        let delta: Delta = Encoding::Postcard.decode(&message.payload).expect("delta");
        held.apply_delta(&delta).expect("no gap");
    }
    assert_eq!(held.completeness, fresh.completeness);
    assert_eq!(held.published, fresh.published);

    // England's page shows the latest period's window, how many are in and its state.
    let addr = service.web_addr;
    let (status, page) = http_get(addr, "/scope/national").expect("page");
    assert_eq!(status, 200);
    let row = page
        .split("data-collection=\"ae-monthly\"")
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("an ae-monthly row");
    assert!(row.contains(&latest.to_string()), "{row}");
    assert!(row.contains("data-field=\"expected\">2<"), "{row}");
    let state = if open { "complete" } else { "closed" };
    assert!(row.contains(&format!("data-state=\"{state}\"")), "{row}");
    // RJ1's returns page says which of its returns came after the deadline.
    let (_, returns) = http_get(addr, "/scope/RJ1/returns").expect("returns page");
    let backfilled_row = returns
        .split(&format!("data-period=\"{backfilled}\""))
        .nth(1)
        .and_then(|rest| rest.split("</tr>").next())
        .expect("the backfilled month");
    assert!(
        backfilled_row.contains("Received after the deadline"),
        "{backfilled_row}"
    );
}
