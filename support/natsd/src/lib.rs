//! A private nats-server on a free loopback port, for the bench and the tests; stopped on drop.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{bail, Context};

/// The environment variable naming the nats-server binary (default: `nats-server` on PATH).
pub const NATS_SERVER_BIN: &str = "NATS_SERVER_BIN";

/// A running nats-server child process.
#[derive(Debug)]
pub struct NatsServer {
    child: Child,
    port: u16,
}

impl NatsServer {
    /// Starts `nats-server` on 127.0.0.1 with a port the OS picks, plus `extra_args`.
    pub fn start(extra_args: &[&str]) -> anyhow::Result<NatsServer> {
        let bin = std::env::var(NATS_SERVER_BIN).unwrap_or_else(|_| "nats-server".to_owned());
        let mut child = Command::new(&bin)
            .args(["-a", "127.0.0.1", "-p", "-1"])
            .args(extra_args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| {
                if e.kind() == std::io::ErrorKind::NotFound {
                    anyhow::anyhow!(
                        "`{bin}` not found: install it with `apt-get install nats-server` (Debian) or set {NATS_SERVER_BIN} to its path"
                    )
                } else {
                    anyhow::anyhow!("cannot start `{bin}`: {e}")
                }
            })?;
        let stderr = child.stderr.take().context("nats-server stderr")?;
        let (port_tx, port_rx) = mpsc::channel();
        // Reads the log for the port, then keeps draining it so the server never blocks on it.
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("Listening for client connections on ").nth(1) {
                    let port = rest
                        .trim()
                        .rsplit(':')
                        .next()
                        .and_then(|p| p.parse::<u16>().ok());
                    let _ = port_tx.send(port);
                }
            }
        });
        let mut server = NatsServer { child, port: 0 };
        match port_rx.recv_timeout(Duration::from_secs(10)) {
            Ok(Some(port)) => server.port = port,
            _ => {
                if let Ok(Some(status)) = server.child.try_wait() {
                    bail!("nats-server exited at start ({status})");
                }
                bail!("nats-server did not report its port within 10 s");
            }
        }
        Ok(server)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn url(&self) -> String {
        format!("nats://127.0.0.1:{}", self.port)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for NatsServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
