//! Graceful shutdown under load: SIGTERM while submitters keep sending.

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use event_log::EventLog;
use proto_schema::{Event, Receipt};

use crate::harness::{ae_return, data_dir, nats, serving_client, Service};

/// Concurrent submitters, and the most each sends.
const SUBMITTERS: usize = 32;
const MOST_EACH: usize = 5_000;

#[derive(Debug)]
enum Outcome {
    Accepted(u64),
    Busy,
    NoAnswer,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_loses_nothing_accepted_and_leaves_nothing_unanswered_in_the_log() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let mut service = Service::start_with(&nats.url(), &data, &[], "info");
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut loads = Vec::new();
    for submitter in 0..SUBMITTERS {
        let client = client.clone();
        let stop = Arc::clone(&stop);
        loads.push(tokio::spawn(async move {
            let mut outcomes = Vec::new();
            let started = Instant::now();
            for n in 0..MOST_EACH {
                if stop.load(Ordering::Relaxed) || started.elapsed() > Duration::from_secs(30) {
                    break;
                }
                let id = format!("term-{submitter}-{n}");
                let period = format!("{}-{:02}", 2015 + n % 8, n % 12 + 1);
                let outcome = match client.submit(&ae_return(&id, &period, 1000)).await {
                    Ok(Receipt::Accepted { seq, .. }) => Outcome::Accepted(seq),
                    Ok(Receipt::Busy { .. }) => Outcome::Busy,
                    Ok(Receipt::Rejected { reasons }) => panic!("{id} rejected: {reasons:?}"),
                    Err(_) => {
                        // The service is gone: this submitter stops.
                        outcomes.push((id, Outcome::NoAnswer));
                        break;
                    }
                };
                outcomes.push((id, outcome));
            }
            outcomes
        }));
    }
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let status = tokio::task::spawn_blocking(move || {
        let status = service.terminate_status();
        (service, status)
    })
    .await
    .expect("terminate");
    let (_service, status) = status;
    let status = status.expect("exit status");
    stop.store(true, Ordering::Relaxed);
    let mut outcomes = Vec::new();
    for load in loads {
        outcomes.extend(load.await.expect("submitter"));
    }
    assert!(status.success(), "a graceful stop exits 0: {status}");

    let log = EventLog::open(&data.join("oversight.redb")).expect("the log opens");
    let last_seq = log.last_seq();
    let reader = log.reader();
    let mut in_log: HashMap<String, u64> = HashMap::new();
    let mut from = 1;
    while from <= last_seq {
        let (entries, _) = reader.read(from, 10_000).expect("read");
        for envelope in &entries {
            if let Event::ReturnSubmitted(submitted) = &envelope.event {
                in_log.insert(submitted.ret.submission_id.clone(), envelope.seq);
            }
        }
        from = entries.last().map_or(last_seq + 1, |e| e.seq + 1);
    }

    let accepted = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::Accepted(_)))
        .count();
    let unanswered = outcomes
        .iter()
        .filter(|(_, o)| matches!(o, Outcome::NoAnswer))
        .count();
    eprintln!(
        "{} requests: {accepted} accepted, {unanswered} unanswered; {} returns in the log",
        outcomes.len(),
        in_log.len()
    );
    assert!(accepted > 100, "the load was running ({accepted} accepted)");
    for (id, outcome) in &outcomes {
        match outcome {
            Outcome::Accepted(seq) => assert_eq!(
                in_log.get(id),
                Some(seq),
                "{id} was accepted at seq {seq}, so it is in the log there"
            ),
            Outcome::Busy | Outcome::NoAnswer => assert_eq!(
                in_log.get(id),
                None,
                "{id} got no acceptance, so it was never accepted"
            ),
        }
    }
    assert_eq!(
        in_log.len(),
        accepted,
        "every return in the log was answered accepted"
    );

    let checkpoint = event_log::CheckpointStore::open(&data.join("views.redb"))
        .expect("checkpoint file")
        .latest()
        .expect("readable")
        .expect("a checkpoint");
    assert_eq!(
        checkpoint.seq, last_seq,
        "the views reached the last seq and checkpointed before the process ended"
    );

    let serve_log = std::fs::read_to_string(data.with_extension("log")).expect("serve log");
    let mut at = 0;
    for step in [
        "shutting down (1/5)",
        "shutting down (2/5)",
        "shutting down (3/5)",
        "views stopped",
        "shutting down (4/5)",
        "stopped",
    ] {
        let found = serve_log[at..]
            .find(step)
            .unwrap_or_else(|| panic!("`{step}` after byte {at} in:\n{serve_log}"));
        at += found + step.len();
    }
}
