//! `oversight bench web`: the web pages over ten years of monthly returns from every
//! organisation: the time to serve a region's page, England's and a metric page (asking the views
//! for the snapshot, rendering, sending), and the time from submitting a return to the open
//! page's live stream carrying it and to London's page in Chromium showing it, at a steady rate.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::Context;
use event_log::EventLog;
use proto_schema::{Period, Receipt, ReturnForm, Timestamp, Value, SCHEMA_VERSION};

use super::views::{envelope, month, organisations, returns_for, seal};
use crate::client::Client;
use crate::config::Config;
use natsd::NatsServer;

/// What to measure.
#[derive(Debug, Clone, clap::Args)]
pub struct WebBenchArgs {
    /// Years of monthly returns from every organisation in the log served.
    #[arg(long, default_value_t = 10)]
    pub years: u64,
    /// Requests timed for each page.
    #[arg(long, default_value_t = 50)]
    pub requests: usize,
    /// Seconds each live-update rate runs.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Time the live updates only to the page's event stream, not in Chromium's DOM as well.
    #[arg(long)]
    pub no_browser: bool,
}

/// The scope whose pages are timed: London.
const REGION: &str = "Y56";

pub async fn run(args: WebBenchArgs) -> anyhow::Result<()> {
    let data = std::env::temp_dir().join(format!("oversight-bench-web-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&data);
    std::fs::create_dir_all(&data)?;
    let returns = write_log(&data, args.years)?;
    let nats = NatsServer::start(&[])?;
    let url = nats.url();
    let web_addr = free_loopback_addr()?;
    let mut config = Config::with(&url, data.clone());
    config.web.addr = web_addr;
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let serve = tokio::spawn(crate::serve::run(config, async {
        let _ = stop_rx.await;
    }));
    let client = Client::connect(&url, Duration::from_secs(30)).await?;
    crate::client::wait_until_serving(&client).await?;
    let last = client.read_log(1, 1).await?.last_seq;
    eprintln!("serving {last} entries ({returns} returns); waiting for the views");
    loop {
        match client
            .snapshot(REGION, &proto_schema::SnapshotRequest::default())
            .await
        {
            Ok(view) if view.seq >= last => break,
            _ => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }

    let mut rows = Vec::new();
    for (name, path) in [
        ("London's page", format!("/scope/{REGION}")),
        ("England's page", "/".to_owned()),
        (
            "London's ae_4hr page (XmR chart)",
            format!("/scope/{REGION}/ae_4hr"),
        ),
        ("London's CSV", format!("/scope/{REGION}.csv")),
    ] {
        eprintln!("timing {path}");
        let requests = args.requests;
        let timed =
            tokio::task::spawn_blocking(move || -> anyhow::Result<(Vec<Duration>, usize)> {
                let mut timings = Vec::with_capacity(requests);
                let mut bytes = 0;
                for _ in 0..requests {
                    let asked = Instant::now();
                    let (status, body) = http_get(web_addr, &path)?;
                    timings.push(asked.elapsed());
                    anyhow::ensure!(status == 200, "{path}: status {status}");
                    bytes = body.len();
                }
                Ok((timings, bytes))
            })
            .await??;
        rows.push((name, timed.0, timed.1));
    }

    let providers = london_providers(&client).await?;
    let mut live = Vec::new();
    for rate in [100u64, 1_000] {
        eprintln!("live stream: {rate} returns/s for {} s", args.seconds);
        let watcher = Watcher::stream(web_addr).await?;
        live.push((
            format!("stream, at {rate} returns/s"),
            live_latency(&client, watcher, &providers, rate, args.seconds).await?,
        ));
        if !args.no_browser {
            eprintln!("browser: {rate} returns/s for {} s", args.seconds);
            let watcher = tokio::task::spawn_blocking(move || Watcher::browser(web_addr)).await??;
            live.push((
                format!("Chromium's DOM, at {rate} returns/s"),
                live_latency(&client, watcher, &providers, rate, args.seconds).await?,
            ));
        }
    }
    let _ = stop_tx.send(());
    serve.await??;
    let _ = std::fs::remove_dir_all(&data);

    println!();
    println!(
        "{:<52} {:>10} {:>10} {:>10}",
        "page (server: snapshot, render, send)", "p50 ms", "p99 ms", "KB"
    );
    for (name, mut timings, bytes) in rows {
        let (p50, p99) = super::intake::p50_p99(&mut timings);
        println!(
            "{:<52} {:>10.1} {:>10.1} {:>10.0}",
            name,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            bytes as f64 / 1024.0
        );
    }
    println!();
    println!(
        "{:<52} {:>10} {:>10} {:>10}",
        "submit -> London's open page updated", "p50 ms", "p99 ms", "measured"
    );
    for (what, (mut timings, submitted)) in live {
        let measured = timings.len();
        let (p50, p99) = super::intake::p50_p99(&mut timings);
        println!(
            "{:<52} {:>10.1} {:>10.1} {:>10}",
            what,
            p50.as_secs_f64() * 1e3,
            p99.as_secs_f64() * 1e3,
            format!("{measured}/{submitted}")
        );
    }
    println!();
    println!(
        "log: {returns} returns, {} years of months from every organisation; targets: a region's \
         page <= 50 ms, the page updated p99 <= 250 ms at 1,000/s (in the browser's DOM)",
        args.years
    );
    Ok(())
}

/// Writes the reference data and `years` of monthly returns from every organisation open today
/// into a log in `data`; the number of returns.
fn write_log(data: &std::path::Path, years: u64) -> anyhow::Result<u64> {
    let orgs = organisations()?;
    eprintln!(
        "writing {years} years of monthly returns from {} organisations",
        orgs.providers.len() + orgs.commissioners.len()
    );
    let mut log = EventLog::open(&data.join("oversight.redb"))?;
    let mut entries = Vec::new();
    let mut seq = 0u64;
    for event in &orgs.reference {
        seq += 1;
        entries.push(seal(seq, Timestamp(0), "seed", event.clone()));
    }
    let mut returns = 0;
    for m in 0..years * 12 {
        for (list, provider) in [(&orgs.providers, true), (&orgs.commissioners, false)] {
            for org in list.iter() {
                for (collection, values) in returns_for(provider, seq) {
                    seq += 1;
                    returns += 1;
                    entries.push(envelope(seq, org, collection, month(m), values, 1));
                }
            }
        }
    }
    for chunk in entries.chunks(10_000) {
        log.append_batch(|appender| {
            for envelope in chunk {
                appender.append(
                    envelope.recorded_at,
                    &envelope.sender,
                    envelope.event.clone(),
                )?;
            }
            Ok(())
        })?;
    }
    Ok(returns)
}

async fn london_providers(client: &Client) -> anyhow::Result<Vec<String>> {
    let providers = super::views::provider_codes()?;
    Ok(client
        .look_up_organisations(&providers)
        .await?
        .into_iter()
        .filter(|org| org.region == REGION)
        .map(|org| org.code)
        .collect())
}

/// Milliseconds since 1970, as a browser's `performance.timeOrigin + performance.now()` reads.
fn wall_ms() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64() * 1e3)
}

/// When each figures update arrived (ms since 1970) and the log entry it was at, in arrival order.
type Arrivals = Arc<Mutex<Vec<(f64, u64)>>>;

/// Where the open page's updates are seen: its live stream read directly, or its DOM in Chromium.
enum Watcher {
    Stream {
        stream: TcpStream,
        reader: std::thread::JoinHandle<()>,
        arrivals: Arrivals,
    },
    Browser(BrowserDriver),
}

impl Watcher {
    /// London's live stream, read once its first figures have arrived.
    async fn stream(web_addr: SocketAddr) -> anyhow::Result<Watcher> {
        let arrivals: Arrivals = Arc::default();
        let mut stream = TcpStream::connect(web_addr)?;
        write!(
            stream,
            "GET /live/{REGION} HTTP/1.0\r\nHost: {web_addr}\r\nAccept: text/event-stream\r\n\r\n"
        )?;
        let reader_stream = stream.try_clone()?;
        let recorded = Arc::clone(&arrivals);
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(reader_stream).lines() {
                let Ok(line) = line else { return };
                if let Some(id) = line.strip_prefix("id:") {
                    if let Ok(seq) = id.trim().parse::<u64>() {
                        if let Ok(mut arrivals) = recorded.lock() {
                            arrivals.push((wall_ms(), seq));
                        }
                    }
                }
            }
        });
        let connected = Instant::now();
        while arrivals.lock().map(|a| a.is_empty()).unwrap_or(true) {
            anyhow::ensure!(
                connected.elapsed() < Duration::from_secs(30),
                "no live figures"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        Ok(Watcher::Stream {
            stream,
            reader,
            arrivals,
        })
    }

    /// London's page open in Chromium, recording each update of its DOM.
    fn browser(web_addr: SocketAddr) -> anyhow::Result<Watcher> {
        let mut driver = BrowserDriver::start(&format!("http://{web_addr}"))?;
        driver.ask(&format!("record_seqs /scope/{REGION}"))?;
        Ok(Watcher::Browser(driver))
    }

    fn finish(self) -> anyhow::Result<Vec<(f64, u64)>> {
        match self {
            Watcher::Stream {
                stream,
                reader,
                arrivals,
            } => {
                let _ = stream.shutdown(std::net::Shutdown::Both);
                let _ = reader.join();
                Ok(arrivals.lock().map(|a| a.clone()).unwrap_or_default())
            }
            Watcher::Browser(mut driver) => {
                let answer = driver.ask("recorded_seqs")?;
                let seqs = answer["seqs"].as_array().cloned().unwrap_or_default();
                Ok(seqs
                    .iter()
                    .filter_map(|pair| Some((pair[0].as_f64()?, pair[1].as_u64()?)))
                    .collect())
            }
        }
    }
}

/// Submits London returns at `rate` for `seconds` while `watcher` watches London's page, and
/// times each from sending to the first update at or after its seq. Returns the timings and how
/// many were submitted.
async fn live_latency(
    client: &Client,
    watcher: Watcher,
    providers: &[String],
    rate: u64,
    seconds: f64,
) -> anyhow::Result<(Vec<Duration>, u64)> {
    anyhow::ensure!(!providers.is_empty(), "London's providers");
    let total = (rate as f64 * seconds) as u64;
    let sent: Arc<Mutex<Vec<(u64, f64)>>> = Arc::default();
    let started = Instant::now();
    // Each run its own weeks, so every return is a first revision that changes London's figures.
    let run = RUNS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let mut tasks = Vec::new();
    for i in 0..total {
        let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
        tokio::time::sleep_until(due.into()).await;
        let org = providers[(i % providers.len() as u64) as usize].clone();
        let week = (i / providers.len() as u64) % 250;
        let period = Period::parse(&format!("{}-W{:02}", 2021 + week / 50, week % 50 + 1))
            .map(|p| p.to_string())
            .context("a week")?;
        let form = ReturnForm {
            schema_version: SCHEMA_VERSION,
            submission_id: format!("web-bench-{run}-{rate}-{i}"),
            org,
            collection: "ae-weekly".into(),
            period,
            values: vec![(
                "ae_12hr_dta".into(),
                Value::Count((i % 90) as i64 + rate as i64),
            )],
        };
        let (client, sent) = (client.clone(), Arc::clone(&sent));
        tasks.push(tokio::spawn(async move {
            let at = wall_ms();
            if let Ok(Receipt::Accepted { seq, .. }) = client.submit(&form).await {
                if let Ok(mut sent) = sent.lock() {
                    sent.push((seq, at));
                }
            }
        }));
    }
    for task in tasks {
        let _ = task.await;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    let arrivals = tokio::task::spawn_blocking(move || watcher.finish()).await??;
    let sent = sent.lock().map(|s| s.clone()).unwrap_or_default();
    let mut timings = Vec::new();
    for (seq, at) in &sent {
        if let Some((arrived, _)) = arrivals.iter().find(|(_, shown)| shown >= seq) {
            timings.push(Duration::from_secs_f64((arrived - at).max(0.0) / 1e3));
        }
    }
    Ok((timings, total))
}

static RUNS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// The browser test's driver (`tests/browser/pages.py`: Playwright for Python and Debian's
/// Chromium), one command at a time.
struct BrowserDriver {
    child: std::process::Child,
    commands: std::process::ChildStdin,
    answers: BufReader<std::process::ChildStdout>,
}

impl BrowserDriver {
    fn start(base: &str) -> anyhow::Result<BrowserDriver> {
        use std::process::{Command, Stdio};
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        let driver = root.join("tests/browser/pages.py");
        let axe = root.join("tests/browser/vendor/axe-core/axe.min.js");
        anyhow::ensure!(
            driver.exists(),
            "the browser driver {} is not here: run the bench from the project's checkout",
            driver.display()
        );
        let chromium = ["/usr/lib/chromium/chromium", "/usr/bin/chromium"]
            .into_iter()
            .find(|path| std::path::Path::new(path).exists())
            .context(
                "Chromium is not installed: run `bash deploy/install-deps.sh` (Debian's \
                 `chromium`), or pass --no-browser",
            )?;
        let mut child = Command::new("python3")
            .arg(&driver)
            .arg(base)
            .arg(&axe)
            .arg(chromium)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .context("cannot run python3: run `bash deploy/install-deps.sh`")?;
        let commands = child.stdin.take().context("the driver's stdin")?;
        let answers = BufReader::new(child.stdout.take().context("the driver's stdout")?);
        Ok(BrowserDriver {
            child,
            commands,
            answers,
        })
    }

    fn ask(&mut self, command: &str) -> anyhow::Result<serde_json::Value> {
        writeln!(self.commands, "{command}")?;
        self.commands.flush()?;
        let mut line = String::new();
        let read = self.answers.read_line(&mut line)?;
        anyhow::ensure!(
            read > 0,
            "the browser driver ended at `{command}`: is Playwright installed? run `bash \
             deploy/install-deps.sh` (PyPI `playwright`), or pass --no-browser"
        );
        let answer: serde_json::Value = serde_json::from_str(&line)?;
        if let Some(error) = answer.get("error") {
            anyhow::bail!("`{command}` failed in the browser: {error}");
        }
        Ok(answer)
    }
}

impl Drop for BrowserDriver {
    fn drop(&mut self) {
        let _ = writeln!(self.commands, "quit");
        let _ = self.commands.flush();
        let _ = self.child.wait();
    }
}

fn free_loopback_addr() -> anyhow::Result<SocketAddr> {
    let listener = std::net::TcpListener::bind("127.0.0.1:0")?;
    Ok(listener.local_addr()?)
}

/// A plain HTTP/1.0 GET: status and body.
fn http_get(addr: SocketAddr, path: &str) -> anyhow::Result<(u16, String)> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n")?;
    let mut response = String::new();
    stream.read_to_string(&mut response)?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|code| code.parse().ok())
        .unwrap_or(0);
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, body)| body.to_owned())
        .unwrap_or_default();
    Ok((status, body))
}
