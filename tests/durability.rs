//! Contract 1: accepted means durable. The service is killed with SIGKILL while many submissions
//! are in flight, restarted on the same data directory, and every return that got "accepted" is
//! in the log exactly once, at the seq its receipt named, and nothing that was never sent is.
//! `OVERSIGHT_KILL_CYCLES` sets the number of kill cycles (default 20; `deploy/soak.sh` runs more).

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use proto_schema::{Event, Receipt};

use crate::harness::{ae_return, data_dir, nats, serving_client, Service};

const IN_FLIGHT: usize = 64;

#[derive(Default)]
struct Ledger {
    /// Every submission id that was ever sent.
    sent: HashSet<String>,
    /// Submission id -> the seq its "accepted" receipt named.
    accepted: HashMap<String, u64>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_load_loses_no_accepted_return_and_invents_none() {
    let cycles: u32 = std::env::var("OVERSIGHT_KILL_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20);
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let ledger = Arc::new(Mutex::new(Ledger::default()));

    for cycle in 0..cycles {
        let mut service = Service::start(&nats.url(), &data);
        let client = serving_client(&nats.url(), Duration::from_millis(500)).await;
        let stop = Arc::new(AtomicBool::new(false));
        let mut workers = Vec::new();
        for worker in 0..IN_FLIGHT {
            let (client, stop, ledger) = (client.clone(), Arc::clone(&stop), Arc::clone(&ledger));
            workers.push(tokio::spawn(async move {
                let mut n = 0u32;
                while !stop.load(Ordering::Relaxed) {
                    let id = format!("kill-{cycle}-{worker}-{n}");
                    let form = ae_return(
                        &id,
                        &format!("{}-{:02}", 2000 + n % 20, worker % 12 + 1),
                        1000 + i64::from(n),
                    );
                    ledger.lock().expect("ledger").sent.insert(id.clone());
                    match client.submit(&form).await {
                        Ok(Receipt::Accepted {
                            seq,
                            duplicate: false,
                            ..
                        }) => {
                            ledger.lock().expect("ledger").accepted.insert(id, seq);
                        }
                        Ok(Receipt::Busy { .. }) => {}
                        Ok(other) => panic!("{id}: unexpected receipt {other:?}"),
                        // Killed: no answer, or nobody left to answer.
                        Err(_) => break,
                    }
                    n += 1;
                }
            }));
        }
        // Kill at a different moment each cycle, with requests in flight.
        let delay = 80 + (cycle * 37) % 250;
        tokio::time::sleep(Duration::from_millis(u64::from(delay))).await;
        service.kill();
        stop.store(true, Ordering::Relaxed);
        for worker in workers {
            worker.await.expect("worker");
        }
    }

    let _service = Service::start(&nats.url(), &data);
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let mut seen: HashMap<String, u64> = HashMap::new();
    let mut expected_seq = 1;
    loop {
        let page = client.read_log(expected_seq, 10_000).await.expect("log");
        for envelope in &page.entries {
            assert_eq!(envelope.seq, expected_seq, "seqs dense from 1");
            expected_seq += 1;
            if let Event::ReturnSubmitted(s) = &envelope.event {
                let previous = seen.insert(s.ret.submission_id.clone(), envelope.seq);
                assert_eq!(previous, None, "{} appears twice", s.ret.submission_id);
            }
        }
        if page.entries.is_empty() || expected_seq > page.last_seq {
            break;
        }
    }
    let ledger = ledger.lock().expect("ledger");
    assert!(
        ledger.accepted.len() > cycles as usize * 10,
        "load reached the service: {} accepted",
        ledger.accepted.len()
    );
    for (id, seq) in &ledger.accepted {
        assert_eq!(
            seen.get(id),
            Some(seq),
            "accepted {id} at seq {seq} is not in the log there"
        );
    }
    for id in seen.keys() {
        assert!(
            ledger.sent.contains(id),
            "{id} is in the log but was never sent"
        );
    }
    eprintln!(
        "{cycles} kill cycles: {} sent, {} accepted, {} in the log (the rest were in flight at a kill)",
        ledger.sent.len(),
        ledger.accepted.len(),
        seen.len()
    );
}
