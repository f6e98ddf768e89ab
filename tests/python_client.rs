//! A Python client (nats-py) submits JSON and gets JSON receipts.

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use crate::harness::{data_dir, nats, serving_client, Service};

fn python_submit(url: &str, org: &str, body: &str) -> serde_json::Value {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/python/submit_json.py");
    let output = Command::new("python3")
        .arg(&script)
        .args([url, org, body])
        .output()
        .unwrap_or_else(|e| {
            panic!("cannot run python3 ({e}): install Python 3 and `pip install nats-py`")
        });
    assert!(
        output.status.success(),
        "python client failed ({}): {} (install nats-py with `pip install nats-py`)",
        output.status,
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| {
        panic!(
            "reply is not JSON ({e}): {}",
            String::from_utf8_lossy(&output.stdout)
        )
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_python_client_submits_json_and_reads_a_json_receipt() {
    let nats = nats();
    let tmp = tempfile::tempdir().expect("tempdir");
    let _service = Service::start(&nats.url(), &data_dir(tmp.path()));
    let client = serving_client(&nats.url(), Duration::from_secs(5)).await;
    let seeded = client.read_log(1, 1).await.expect("log").last_seq;

    let body = r#"{"submission_id": "RJ1-ae-monthly-2019-01-v1",
     "org": "RJ1", "collection": "ae-monthly", "period": "2019-01",
     "values": {"ae_4hr":      {"numerator": 17020, "denominator": 21289},
                "ae_12hr_dta": {"count": 3}}}"#;
    let receipt = python_submit(&nats.url(), "RJ1", body);
    assert_eq!(
        receipt,
        serde_json::json!({"status": "accepted", "seq": seeded + 1, "revision": 1, "duplicate": false})
    );
    let again = python_submit(&nats.url(), "RJ1", body);
    assert_eq!(again["duplicate"], serde_json::json!(true));

    let bad = body.replace("ae_4hr", "ae_4hour");
    let rejected = python_submit(&nats.url(), "RJ1", &bad.replace("v1", "v2"));
    assert_eq!(rejected["status"], "rejected");
    assert_eq!(rejected["reasons"][0]["code"], "unknown_metric");
    assert_eq!(rejected["reasons"][0]["field"], "values.ae_4hour");
}
