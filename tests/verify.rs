//! Damage the service must find: an entry changed mid-log stops `serve` and `oversight verify`
//! names its seq; look-ups that disagree with the log are rebuilt from it, so a resend is still
//! recognised.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use proto_schema::Receipt;
use redb::ReadableTable;

use crate::harness::{ae_return, data_dir, nats, serving_client, Service};

const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");
const SUBMISSIONS: redb::TableDefinition<&str, u64> = redb::TableDefinition::new("submissions");

/// `oversight verify --data DIR`: its exit status and what it printed.
fn verify(data: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["verify", "--data"])
        .arg(data)
        .output()
        .expect("run oversight verify");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A log with the reference data and 12 returns in it, of a service that has stopped.
async fn stopped_log_with_returns(nats_url: &str, data: &Path) -> Vec<u64> {
    let mut service = Service::start(nats_url, data);
    let client = serving_client(nats_url, Duration::from_secs(5)).await;
    let mut seqs = Vec::new();
    for month in 1..=12 {
        let period = format!("2024-{month:02}");
        match client
            .submit(&ae_return(&format!("verify-{period}"), &period, 1000))
            .await
            .expect("submit")
        {
            Receipt::Accepted { seq, .. } => seqs.push(seq),
            other => panic!("{other:?}"),
        }
    }
    service.terminate();
    seqs
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_entry_damaged_mid_log_stops_serve_and_verify_names_its_seq() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let seqs = stopped_log_with_returns(&nats.url(), &data).await;

    let (code, sound) = verify(&data);
    assert_eq!(code, 0, "{sound}");
    assert!(
        sound.contains("every entry, link and look-up holds"),
        "{sound}"
    );
    assert!(sound.contains(" head "), "{sound}");

    // The fourth return, a byte flipped: not the last entry, which was all that was checked.
    let damaged = seqs[3];
    {
        let db = redb::Database::open(data.join("oversight.redb")).expect("open redb");
        let txn = db.begin_write().expect("write");
        {
            let mut table = txn.open_table(LOG).expect("log");
            let mut bytes = table
                .get(damaged)
                .expect("get")
                .expect("entry")
                .value()
                .to_vec();
            let middle = bytes.len() / 2;
            bytes[middle] ^= 0x01;
            table.insert(damaged, bytes.as_slice()).expect("insert");
        }
        txn.commit().expect("commit");
    }
    let (code, report) = verify(&data);
    assert_eq!(code, 6, "{report}");
    assert!(
        report.contains(&format!("first bad seq: {damaged}")),
        "{report}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["serve", "--nats", &nats.url(), "--data"])
        .arg(&data)
        .args(["--metrics-addr", "127.0.0.1:0", "--web-addr", "127.0.0.1:0"])
        .env("RUST_LOG", "warn")
        .output()
        .expect("run serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(
        stderr.contains(&format!("log entry {damaged} is damaged")),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn look_ups_that_lost_a_return_are_rebuilt_and_a_resend_is_a_duplicate() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    let seqs = stopped_log_with_returns(&nats.url(), &data).await;
    let log_path = data.join("oversight.redb");
    {
        // Two more returns, with look-ups swept into their tables at once, so that the tables
        // (not memory) answer for every return after a restart.
        let mut log = event_log::EventLog::open(&log_path).expect("open");
        log.index_flush_every(1);
        for month in ["2023-01", "2023-02"] {
            let mut form = ae_return(&format!("swept-{month}"), month, 1000);
            form.org = "RJ1".into();
            let ret = proto_schema::Return {
                submission_id: form.submission_id,
                org: form.org,
                collection: form.collection,
                period: proto_schema::Period::parse(month).expect("period"),
                values: form.values,
            };
            log.append_batch(|a| {
                a.append(
                    proto_schema::Timestamp(0),
                    "RJ1",
                    proto_schema::Event::ReturnSubmitted(proto_schema::ReturnSubmitted {
                        revision: 1,
                        ret,
                    }),
                )?;
                Ok(())
            })
            .expect("append");
        }
    }
    {
        // As a flipped index page did: the look-up of one accepted return is gone.
        let db = redb::Database::open(&log_path).expect("open redb");
        let txn = db.begin_write().expect("write");
        {
            let mut table = txn.open_table(SUBMISSIONS).expect("submissions");
            let removed = table.remove("RJ1\u{1f}verify-2024-05").expect("remove");
            assert!(removed.is_some(), "the look-up was in its table");
        }
        txn.commit().expect("commit");
    }
    let (code, report) = verify(&data);
    assert_eq!(code, 6, "{report}");
    assert!(report.contains("look-up tables do not agree"), "{report}");

    let _service = Service::start(&nats.url(), &data);
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let resent = client
        .submit(&ae_return("verify-2024-05", "2024-05", 1000))
        .await
        .expect("resend");
    assert!(
        matches!(
            resent,
            Receipt::Accepted {
                duplicate: true,
                seq,
                revision: 1,
                ..
            } if seq == seqs[4]
        ),
        "the resend is the return already held, not a conflict or a new revision: {resent:?}"
    );
}
