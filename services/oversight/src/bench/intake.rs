//! `oversight bench`: in one run, on this machine, bare NATS request/reply against a trivial
//! responder (the ceiling) and durable accepted returns through the service, side by side.

use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use futures_util::StreamExt;
use proto_schema::{encode_return_form, Halves, Receipt, ReturnForm, Value, SCHEMA_VERSION};

use crate::client::Client;
use crate::config::Config;
use crate::wire::Encoding;
use natsd::NatsServer;

/// What to measure.
#[derive(Debug, Clone, clap::Args)]
pub struct BenchArgs {
    /// Seconds each measurement runs.
    #[arg(long, default_value_t = 5.0)]
    pub seconds: f64,
    /// Requests in flight for the throughput runs.
    #[arg(long, default_value_t = 256)]
    pub in_flight: usize,
    /// Directory for the bench's event log (a fresh temporary one by default).
    #[arg(long, value_name = "DIR")]
    pub data: Option<PathBuf>,
    /// Another bench instead of intake.
    #[command(subcommand)]
    pub other: Option<OtherBench>,
}

/// The benches besides intake.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum OtherBench {
    /// The views: rebuild rate over a generated log, checkpoint resume, memory for ten years of
    /// returns, submit-to-delta latency.
    Views(super::views::ViewsBenchArgs),
    /// A long steady load (an hour at 2,000 returns/s) with a live consumer and as-of readers,
    /// printing resident memory and receipt latency every minute.
    Soak(super::soak::SoakArgs),
    /// The web pages over ten years of monthly returns from every organisation: the time to
    /// serve a region's, England's and a metric page, and from a submission to an open page's
    /// live figures at 100 and 1,000 returns/s.
    Web(super::web::WebBenchArgs),
}

/// Throughput and latency of one run.
#[derive(Debug, Clone)]
pub struct Run {
    pub in_flight: usize,
    pub per_second: f64,
    pub p50: Duration,
    pub p99: Duration,
}

/// A return as a trust's A&E team would send it, unique per (worker, n).
fn bench_return(worker: usize, n: u64) -> ReturnForm {
    ReturnForm {
        schema_version: SCHEMA_VERSION,
        submission_id: format!("bench-{worker}-{n}"),
        org: "RJ1".into(),
        collection: "ae-monthly".into(),
        period: format!("{}-{:02}", 2010 + (n / 12) % 15, n % 12 + 1),
        values: vec![
            (
                "ae_4hr".into(),
                Value::Ratio {
                    numerator: Halves::whole(17_020),
                    denominator: Halves::whole(21_289),
                },
            ),
            ("ae_12hr_dta".into(), Value::Count(3)),
            ("ae_emergency_admissions".into(), Value::Count(5_120)),
        ],
    }
}

/// Whether a bench return's receipt counts as a durable submission: a new acceptance does, busy
/// does not, and anything else is a mistake in the bench.
fn counted(receipt: Receipt) -> anyhow::Result<bool> {
    match receipt {
        Receipt::Accepted {
            duplicate: false, ..
        } => Ok(true),
        Receipt::Busy { .. } => Ok(false),
        other => anyhow::bail!("bench return not accepted: {other:?}"),
    }
}

/// Runs `in_flight` workers, each sending one request after another, for `duration`.
async fn drive<F, Fut>(in_flight: usize, duration: Duration, request: F) -> anyhow::Result<Run>
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: std::future::Future<Output = anyhow::Result<bool>> + Send,
{
    let request = Arc::new(request);
    let stop = Arc::new(AtomicBool::new(false));
    let started = Instant::now();
    let mut workers = Vec::with_capacity(in_flight);
    for worker in 0..in_flight {
        let (request, stop) = (Arc::clone(&request), Arc::clone(&stop));
        workers.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let mut n = 0u64;
            while !stop.load(Ordering::Relaxed) {
                let sent = Instant::now();
                if request(worker, n).await? {
                    latencies.push(sent.elapsed());
                }
                n += 1;
            }
            anyhow::Ok(latencies)
        }));
    }
    tokio::time::sleep(duration).await;
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    for worker in workers {
        latencies.extend(worker.await??);
    }
    let elapsed = started.elapsed().as_secs_f64();
    let (p50, p99) = p50_p99(&mut latencies);
    Ok(Run {
        in_flight,
        per_second: latencies.len() as f64 / elapsed,
        p50,
        p99,
    })
}

/// The median and 99th percentile of `latencies` (sorted in place); zero when empty.
pub(crate) fn p50_p99(latencies: &mut [Duration]) -> (Duration, Duration) {
    latencies.sort_unstable();
    let at = |q: f64| {
        latencies
            .get(((latencies.len() as f64 * q) as usize).min(latencies.len().saturating_sub(1)))
            .copied()
            .unwrap_or_default()
    };
    (at(0.50), at(0.99))
}

/// Runs the whole bench and prints its table.
pub async fn run(args: BenchArgs) -> anyhow::Result<()> {
    match args.other {
        Some(OtherBench::Views(views)) => return super::views::run(views).await,
        Some(OtherBench::Soak(soak)) => return super::soak::run(soak).await.map(|_| ()),
        Some(OtherBench::Web(web)) => return super::web::run(web).await,
        None => {}
    }
    let nats = NatsServer::start(&[])?;
    let url = nats.url();
    let duration = Duration::from_secs_f64(args.seconds);
    let timeout = Duration::from_secs(10);
    eprintln!(
        "nats-server {} (pid {}); {} s per measurement",
        url,
        nats.pid(),
        args.seconds
    );

    // A trivial responder: answers every request with a receipt-sized payload.
    let responder = async_nats::connect(&url)
        .await
        .context("responder connection")?;
    let mut echo = responder.subscribe("bench.echo").await?;
    let canned = Encoding::Postcard.encode(&Receipt::accepted(1_000_000, 1, false));
    let responder_task = tokio::spawn(async move {
        while let Some(message) = echo.next().await {
            if let Some(reply) = message.reply {
                let _ = responder.publish(reply, canned.clone().into()).await;
            }
        }
    });

    let data = match &args.data {
        Some(dir) => dir.clone(),
        None => std::env::temp_dir().join(format!("oversight-bench-{}", std::process::id())),
    };
    let _ = std::fs::remove_dir_all(&data);
    let client = Client::connect(&url, timeout).await?;
    let mut rows = Vec::new();
    // Intake alone first (views off), then as deployed by default (views in the same process).
    let mut last_seq = 0;
    for views in [false, true] {
        let _ = std::fs::remove_dir_all(&data);
        let mut config = Config::with(&url, data.clone());
        config.views.enabled = views;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let serve = tokio::spawn(crate::serve::run(config, async {
            let _ = stop_rx.await;
        }));
        crate::client::wait_until_serving(&client).await?;
        let label = if views { "views on" } else { "views off" };
        let in_flights: &[usize] = if views {
            &[args.in_flight]
        } else {
            &[args.in_flight, 1]
        };
        for &in_flight in in_flights {
            eprintln!("measuring bare request/reply, {in_flight} in flight ({label})");
            let c = client.clone();
            let bare = drive(in_flight, duration, move |worker, n| {
                let c = c.clone();
                async move {
                    let payload = encode_return_form(&bench_return(worker, n));
                    c.request("bench.echo".into(), Encoding::Postcard, payload)
                        .await?;
                    Ok(true)
                }
            })
            .await?;
            eprintln!("measuring durable submissions, {in_flight} in flight");
            let c = client.clone();
            let tag = if in_flight == 1 { 1_000_000 } else { 0 };
            let durable = drive(in_flight, duration, move |worker, n| {
                let c = c.clone();
                async move {
                    let receipt = c.submit(&bench_return(tag + worker, n)).await?;
                    counted(receipt)
                }
            })
            .await?;
            rows.push((label, bare, durable));
        }
        if views {
            // What Python, R and the `nats` CLI send: JSON in, JSON receipts out.
            let in_flight = args.in_flight;
            eprintln!("measuring bare request/reply in JSON, {in_flight} in flight ({label})");
            let c = client.clone();
            let bare = drive(in_flight, duration, move |worker, n| {
                let c = c.clone();
                async move {
                    let payload = serde_json::to_vec(&bench_return(worker, n))?;
                    c.request("bench.echo".into(), Encoding::Json, payload)
                        .await?;
                    Ok(true)
                }
            })
            .await?;
            eprintln!("measuring durable submissions in JSON, {in_flight} in flight");
            let c = client.clone();
            let durable = drive(in_flight, duration, move |worker, n| {
                let c = c.clone();
                async move {
                    let form = bench_return(2_000_000 + worker, n);
                    let receipt = c.submit_json(&form.org, serde_json::to_vec(&form)?).await?;
                    counted(receipt)
                }
            })
            .await?;
            rows.push(("views on, JSON", bare, durable));
        }
        last_seq = client.read_log(1, 1).await?.last_seq;
        let _ = stop_tx.send(());
        serve.await??;
    }
    responder_task.abort();
    let log_bytes = std::fs::metadata(data.join("oversight.redb"))
        .map(|m| m.len())
        .unwrap_or(0);
    if args.data.is_none() {
        let _ = std::fs::remove_dir_all(&data);
    }

    println!();
    println!(
        "{:<44} {:>9} {:>12} {:>10} {:>10}",
        "measure", "in flight", "per second", "p50 µs", "p99 µs"
    );
    let line = |name: &str, r: &Run| {
        println!(
            "{:<44} {:>9} {:>12.0} {:>10} {:>10}",
            name,
            r.in_flight,
            r.per_second,
            r.p50.as_micros(),
            r.p99.as_micros()
        );
    };
    for (label, bare, durable) in &rows {
        line("(a) bare NATS request/reply", bare);
        line(&format!("(b) durable accepted returns, {label}"), durable);
        println!(
            "{:<44} {:>9} {:>12.3}",
            "(c) ratio b/a",
            bare.in_flight,
            durable.per_second / bare.per_second
        );
    }
    println!();
    println!(
        "log: last seq {last_seq}, {:.1} MiB on disk",
        log_bytes as f64 / (1024.0 * 1024.0)
    );
    println!(
        "(d) submit latency is the p50/p99 of rows (b); targets (c) >= 0.65 in postcard with \
         views off, >= 0.5 in JSON with views on, at {} in flight",
        args.in_flight
    );
    Ok(())
}
