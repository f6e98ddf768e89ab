//! `oversight backup DIR` while the service takes returns, `oversight verify` on the copy, and a
//! service restored from it that holds every accepted return, byte for byte.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use oversight::client::Client;
use proto_schema::{Envelope, Receipt};

use crate::harness::{ae_return, data_dir, nats, serving_client, Service};

fn oversight(args: &[&str], dir: &Path) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_oversight"))
        .args(args)
        .arg(dir)
        .output()
        .expect("run oversight");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

async fn whole_log(client: &Client) -> Vec<Envelope> {
    let mut entries = Vec::new();
    let mut from = 1;
    loop {
        let page = client.read_log(from, 1_000).await.expect("log");
        let Some(last) = page.entries.last().map(|e| e.seq) else {
            return entries;
        };
        entries.extend(page.entries);
        from = last + 1;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_every_accepted_return() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let mut service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let backup = tmp.path().join("backup");
    let url = nats.url();

    let submit = |months: std::ops::Range<u32>| {
        let client = &client;
        async move {
            let mut seqs = Vec::new();
            for month in months {
                let period = format!("{}-{:02}", 2020 + month / 12, month % 12 + 1);
                match client
                    .submit(&ae_return(
                        &format!("backup-{period}"),
                        &period,
                        900 + i64::from(month),
                    ))
                    .await
                    .expect("submit")
                {
                    Receipt::Accepted { seq, .. } => seqs.push(seq),
                    other => panic!("{other:?}"),
                }
            }
            seqs
        }
    };
    let mut accepted = submit(0..10).await;
    // A backup while returns keep arriving.
    let backup_dir = backup.clone();
    let taking =
        tokio::task::spawn_blocking(move || oversight(&["backup", "--nats", &url], &backup_dir));
    accepted.extend(submit(10..30).await);
    let (code, said) = taking.await.expect("backup");
    assert_eq!(code, 0, "{said}");
    // Brought up to date: only what is new is copied.
    let (code, said) = oversight(&["backup", "--nats", &nats.url()], &backup);
    assert_eq!(code, 0, "{said}");
    let original = whole_log(&client).await;
    assert!(
        said.contains(&format!("{} entries", original.len())),
        "{said}"
    );

    let (code, verified) = oversight(&["verify", "--data"], &backup);
    assert_eq!(code, 0, "{verified}");
    let head = |text: &str| text.rsplit("head ").next().map(|h| h.trim().to_owned());
    assert_eq!(
        head(said.lines().last().unwrap_or_default()),
        head(verified.lines().next().unwrap_or_default()),
        "the copy's head is the one the backup reported"
    );

    // Restore: a service started from the copy holds every accepted return as it was.
    service.terminate();
    let _restored = Service::start(&nats.url(), &backup);
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let restored = whole_log(&client).await;
    assert_eq!(restored, original, "entry for entry, byte for byte");
    for seq in accepted {
        assert!(
            matches!(
                restored[seq as usize - 1].event,
                proto_schema::Event::ReturnSubmitted(_)
            ),
            "seq {seq}"
        );
    }
}
