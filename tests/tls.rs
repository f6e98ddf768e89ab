//! NATS over TLS: the service and the client trust a CA named in their configuration; a client
//! that does not trust it cannot connect. Certificates are made by openssl for the test.

use std::path::Path;
use std::time::Duration;

use oversight::client::Client;
use oversight::config::NatsArgs;
use proto_schema::Receipt;

use crate::harness::{ae_return, data_dir, debian_tool, run_ok, NatsServer, Service};

fn openssl(dir: &Path, args: &[&str]) {
    run_ok(
        debian_tool("openssl", "openssl")
            .args(args)
            .current_dir(dir),
    );
}

/// A CA and a server certificate for 127.0.0.1 signed by it, in `dir`.
fn certificates(dir: &Path) {
    openssl(
        dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca-key.pem",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=oversight test CA",
        ],
    );
    openssl(
        dir,
        &[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "server-key.pem",
            "-out",
            "server.csr",
            "-subj",
            "/CN=127.0.0.1",
        ],
    );
    std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").expect("ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca-key.pem",
            "-CAcreateserial",
            "-out",
            "server.pem",
            "-days",
            "2",
            "-extfile",
            "san.ext",
        ],
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn service_and_clients_speak_tls_when_configured() {
    let tmp = tempfile::tempdir().expect("tempdir");
    certificates(tmp.path());
    let conf = tmp.path().join("nats-server.conf");
    std::fs::write(
        &conf,
        format!(
            "tls {{\n  cert_file: \"{}\"\n  key_file: \"{}\"\n}}\n",
            tmp.path().join("server.pem").display(),
            tmp.path().join("server-key.pem").display()
        ),
    )
    .expect("conf");
    let nats =
        NatsServer::start(&["-c", &conf.display().to_string()]).unwrap_or_else(|e| panic!("{e:#}"));
    let ca = tmp.path().join("ca.pem");
    let service_toml = tmp.path().join("oversight.toml");
    std::fs::write(
        &service_toml,
        format!("version = 1\n[nats]\ntls_ca_file = \"{}\"\n", ca.display()),
    )
    .expect("service config");
    let _service = Service::start_with(
        &nats.url(),
        &data_dir(tmp.path()),
        &["--config", &service_toml.display().to_string()],
        "warn",
    );

    let trusting = NatsArgs {
        tls_ca_file: Some(ca.clone()),
        ..NatsArgs::anonymous(&nats.url())
    };
    let client = Client::connect_as(&trusting.target(), Duration::from_secs(5))
        .await
        .expect("a client trusting the CA connects");
    oversight::client::wait_until_serving(&client)
        .await
        .expect("the service connected over TLS and serves");
    let receipt = client
        .submit(&ae_return("tls-1", "2019-01", 1000))
        .await
        .expect("submit over TLS");
    assert!(
        matches!(
            receipt,
            Receipt::Accepted {
                duplicate: false,
                ..
            }
        ),
        "{receipt:?}"
    );

    let untrusting = Client::connect(&nats.url(), Duration::from_secs(2)).await;
    assert!(
        untrusting.is_err(),
        "a client that does not trust the CA cannot connect"
    );
}
