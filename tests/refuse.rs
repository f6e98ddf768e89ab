//! `oversight serve` refuses to start, with a message that says why, on: a damaged log, a log
//! from a newer schema, a disk too full, a NATS server it cannot reach.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use redb::ReadableTable;

use crate::harness::{data_dir, free_loopback_addr, nats, serving_client, Service};

/// Runs `oversight serve` to its exit; its status and stderr.
fn serve_until_exit(nats_url: &str, data: &Path, env: &[(&str, &str)]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(["serve", "--nats", nats_url, "--data"])
        .arg(data)
        .arg("--metrics-addr")
        .arg(free_loopback_addr().to_string())
        .args(["--web-addr", "127.0.0.1:0"])
        .envs(env.iter().copied())
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
        .expect("run oversight serve");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A log with the reference data in it, written by a service that has stopped.
async fn stopped_log(nats_url: &str, data: &Path) {
    let mut service = Service::start(nats_url, data);
    serving_client(nats_url, Duration::from_secs(5)).await;
    service.terminate();
}

fn tamper_last_entry(log: &Path, damage: impl FnOnce(&mut Vec<u8>)) {
    const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");
    let db = redb::Database::open(log).expect("open redb");
    let txn = db.begin_write().expect("write");
    {
        let mut table = txn.open_table(LOG).expect("log table");
        let (seq, mut bytes) = {
            let (seq, bytes) = table.last().expect("last").expect("an entry");
            (seq.value(), bytes.value().to_vec())
        };
        damage(&mut bytes);
        table.insert(seq, bytes.as_slice()).expect("insert");
    }
    txn.commit().expect("commit");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_log_or_one_from_a_newer_schema_is_refused() {
    let nats = nats();
    for (case, damage, expected) in [
        (
            "damaged",
            Box::new(|b: &mut Vec<u8>| {
                let middle = b.len() / 2;
                b[middle] ^= 0x40;
            }) as Box<dyn FnOnce(&mut Vec<u8>)>,
            "is damaged",
        ),
        (
            "newer",
            Box::new(|b: &mut Vec<u8>| b[0] = (proto_schema::SCHEMA_VERSION + 1) as u8),
            "written by a newer version of oversight",
        ),
    ] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = data_dir(tmp.path());
        stopped_log(&nats.url(), &data).await;
        tamper_last_entry(&data.join("oversight.redb"), damage);
        let (code, stderr) = serve_until_exit(&nats.url(), &data, &[]);
        // Failed (6), not "retry" (2): starting again will not mend the log.
        assert_eq!(code, 6, "{case}: {stderr}");
        assert!(stderr.contains(expected), "{case}: {stderr}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_log_emptied_deleted_or_replaced_is_never_seeded_again() {
    let nats = nats();
    for case in ["emptied", "deleted", "replaced"] {
        let tmp = tempfile::tempdir().expect("tempdir");
        let data = data_dir(tmp.path());
        stopped_log(&nats.url(), &data).await;
        let log = data.join("oversight.redb");
        let checkpoint = std::fs::read(data.join("views.redb")).expect("views checkpoint");
        match case {
            "emptied" => std::fs::write(&log, b"").expect("truncate"),
            "deleted" => std::fs::remove_file(&log).expect("delete"),
            _ => {
                std::fs::remove_file(&log).expect("delete");
                drop(redb::Database::create(&log).expect("a fresh, empty redb file"));
            }
        }
        let (code, stderr) = serve_until_exit(&nats.url(), &data, &[]);
        assert_eq!(code, 6, "{case}: {stderr}");
        assert!(stderr.contains("never re-seeded"), "{case}: {stderr}");
        assert!(stderr.contains("restore"), "{case}: {stderr}");
        assert_eq!(
            std::fs::read(data.join("views.redb")).expect("views checkpoint"),
            checkpoint,
            "{case}: the views' checkpoint is left as it was"
        );
        if case == "replaced" {
            let db = redb::Database::open(&log).expect("open the replaced log");
            let txn = redb::ReadableDatabase::begin_read(&db).expect("read");
            const LOG: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("log");
            let entries = txn.open_table(LOG).map_or(0, |table| {
                redb::ReadableTableMetadata::len(&table).expect("count")
            });
            assert_eq!(entries, 0, "nothing was seeded into the replaced log");
        } else {
            assert_eq!(
                std::fs::metadata(&log).map_or(0, |meta| meta.len()),
                0,
                "{case}: nothing was seeded"
            );
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disk_without_room_is_refused() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let data = data_dir(tmp.path());
    std::fs::create_dir_all(&data).expect("data dir");
    // More than any disk here has free: the same answer as a full disk.
    let (code, stderr) = serve_until_exit(
        &nats.url(),
        &data,
        &[("OVERSIGHT_DATA_MIN_FREE_BYTES", "1000000000000000000")],
    );
    assert_eq!(code, 6, "{stderr}");
    assert!(stderr.contains("MiB free"), "{stderr}");
    assert!(
        !data.join("oversight.redb").exists(),
        "nothing was created on the full disk"
    );
}

#[test]
fn a_nats_server_out_of_reach_is_refused_after_the_retries() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let nowhere = format!("nats://{}", free_loopback_addr());
    let (code, stderr) = serve_until_exit(
        &nowhere,
        &data_dir(tmp.path()),
        &[
            ("OVERSIGHT_NATS_CONNECT_ATTEMPTS", "2"),
            ("OVERSIGHT_NATS_CONNECT_TIMEOUT_MS", "500"),
        ],
    );
    assert_eq!(code, 2, "{stderr}");
    assert!(
        stderr.contains(&format!(
            "cannot connect to NATS at {nowhere} after 2 attempts"
        )),
        "{stderr}"
    );
}
