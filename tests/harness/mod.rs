//! Starting and stopping the real processes the system tests talk to.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use oversight::client::Client;
use proto_schema::{Halves, ReturnForm, Value, SCHEMA_VERSION};

pub use natsd::NatsServer;

/// An `oversight serve` child process; killed (SIGKILL) on drop.
pub struct Service {
    child: Child,
    /// Where its metrics are served.
    pub metrics_addr: SocketAddr,
    /// Where its web pages are served (`--web-addr`), the web tests' address.
    pub web_addr: SocketAddr,
}

impl Service {
    /// Starts `oversight serve` on `data` against `nats_url`, logging warnings to `data.log`,
    /// without the web pages: a test that does not read them needs no second free port, which
    /// another test could take between it being picked and bound.
    pub fn start(nats_url: &str, data: &Path) -> Service {
        Service::start_with(nats_url, data, &[], "warn")
    }

    /// The same with more arguments and another log level.
    pub fn start_with(nats_url: &str, data: &Path, args: &[&str], log_level: &str) -> Service {
        let mut all = vec!["--no-web"];
        all.extend_from_slice(args);
        Service::spawn(
            nats_url,
            data,
            &all,
            log_level,
            SocketAddr::from(([0, 0, 0, 0], 0)),
        )
    }

    /// The same with the web pages, on a free port.
    pub fn start_with_web(nats_url: &str, data: &Path, args: &[&str]) -> Service {
        Service::start_serving_web_on(nats_url, data, args, "warn", free_loopback_addr())
    }

    /// The same with the web pages on `web_addr` (to start again where an open page expects it).
    pub fn start_serving_web_on(
        nats_url: &str,
        data: &Path,
        args: &[&str],
        log_level: &str,
        web_addr: SocketAddr,
    ) -> Service {
        let addr = web_addr.to_string();
        let mut all = vec!["--web-addr", addr.as_str()];
        all.extend_from_slice(args);
        Service::spawn(nats_url, data, &all, log_level, web_addr)
    }

    fn spawn(
        nats_url: &str,
        data: &Path,
        args: &[&str],
        log_level: &str,
        web_addr: SocketAddr,
    ) -> Service {
        let log_path = data.with_extension("log");
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("serve log file");
        let metrics_addr = free_loopback_addr();
        let child = Command::new(env!("CARGO_BIN_EXE_oversight"))
            .args(["serve", "--nats", nats_url, "--data"])
            .arg(data)
            .arg("--metrics-addr")
            .arg(metrics_addr.to_string())
            .args(args)
            .env("RUST_LOG", log_level)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start oversight serve");
        Service {
            child,
            metrics_addr,
            web_addr,
        }
    }

    /// SIGTERM, then waits for the graceful shutdown to finish.
    pub fn terminate(&mut self) {
        let _ = self.terminate_status();
    }

    /// SIGTERM; the exit status once the graceful shutdown finished.
    pub fn terminate_status(&mut self) -> std::io::Result<std::process::ExitStatus> {
        if let Ok(pid) = i32::try_from(self.child.id()) {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGTERM,
            );
        }
        self.child.wait()
    }

    /// Its exit status, if it has stopped by itself.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// SIGKILL: no chance to flush or finish anything.
    pub fn kill(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Service {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A nats-server, or a failure that says how to install one.
pub fn nats() -> NatsServer {
    NatsServer::start(&[]).unwrap_or_else(|e| panic!("{e:#}"))
}

/// A client with a short request timeout, once the service answers.
pub async fn serving_client(url: &str, timeout: Duration) -> Client {
    let client = Client::connect(url, timeout)
        .await
        .expect("connect to nats");
    oversight::client::wait_until_serving(&client)
        .await
        .expect("service up");
    client
}

/// A fresh data directory inside `root`.
pub fn data_dir(root: &Path) -> PathBuf {
    root.join("data")
}

/// A valid A&E return for RJ1.
pub fn ae_return(submission_id: &str, period: &str, attendances: i64) -> ReturnForm {
    ReturnForm {
        schema_version: SCHEMA_VERSION,
        submission_id: submission_id.into(),
        org: "RJ1".into(),
        collection: "ae-monthly".into(),
        period: period.into(),
        values: vec![
            (
                "ae_4hr".into(),
                Value::Ratio {
                    numerator: Halves::whole(attendances * 4 / 5),
                    denominator: Halves::whole(attendances),
                },
            ),
            ("ae_12hr_dta".into(), Value::Count(2)),
        ],
    }
}

/// Waits until the views have applied the log up to its last seq now; returns that seq.
pub async fn views_settled(client: &Client) -> u64 {
    let last = client.read_log(1, 1).await.expect("log").last_seq;
    views_at(client, last).await;
    last
}

/// Waits until the views have applied the log up to `seq`; returns England's view then.
pub async fn views_at(client: &Client, seq: u64) -> proto_schema::View {
    let now = proto_schema::SnapshotRequest::default();
    for _ in 0..600 {
        if let Ok(view) = client.snapshot(proto_schema::NATIONAL, &now).await {
            if view.seq >= seq {
                return view;
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("the views did not reach seq {seq} within 30 s");
}

/// A loopback address with a port free now (the OS picks it; it is released for the caller).
pub fn free_loopback_addr() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
}

/// `GET path` over HTTP/1.0: the status code and the body.
pub fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let (status, body) = http_get_bytes(addr, path)?;
    Ok((status, String::from_utf8_lossy(&body).into_owned()))
}

/// The same, for a body that is not text (a spreadsheet).
pub fn http_get_bytes(addr: SocketAddr, path: &str) -> std::io::Result<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(10)))?;
    write!(
        stream,
        "GET {path} HTTP/1.0\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let head_end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or(response.len());
    let head = String::from_utf8_lossy(&response[..head_end]);
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response.get(head_end + 4..).unwrap_or_default().to_vec();
    Ok((status, body))
}

/// Percent-encodes a query-string value.
pub fn url_encode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// Runs `command` to its end and fails the test, with its output, unless it succeeded.
pub fn run_ok(command: &mut Command) {
    let out = command.output().unwrap_or_else(|e| {
        panic!("cannot run {command:?}: {e} (deploy/install-deps.sh installs what the tests need)")
    });
    assert!(
        out.status.success(),
        "{command:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Runs a tool from Debian's packages, or fails saying which package installs it.
pub fn debian_tool(program: &str, package: &str) -> Command {
    let found = std::env::var_os("PATH")
        .is_some_and(|path| std::env::split_paths(&path).any(|dir| dir.join(program).is_file()));
    assert!(
        found,
        "`{program}` not found on PATH: install it with `apt-get install {package}` (or run deploy/install-deps.sh)"
    );
    Command::new(program)
}
