//! `oversight bench soak`: the service under a steady load for a long time (one hour at 2,000
//! returns/s by default) with a live consumer following England's deltas and readers asking for
//! as-of snapshots, printing resident memory and receipt latency every interval, so that growth
//! over time (a leak, a look-up that slows with the log) shows.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures_util::StreamExt;
use proto_schema::{
    Delta, Period, Receipt, ReturnForm, SnapshotRequest, Value, View, NATIONAL, SCHEMA_VERSION,
};

use super::intake::p50_p99;
use super::views::{provider_codes, resident_bytes};
use crate::client::Client;
use crate::config::Config;
use crate::subjects;
use crate::wire::Encoding;
use natsd::NatsServer;

#[derive(Debug, Clone, clap::Args)]
pub struct SoakArgs {
    /// How long the load runs, in seconds.
    #[arg(long, default_value_t = 3600)]
    pub seconds: u64,
    /// Returns submitted per second.
    #[arg(long, default_value_t = 2000)]
    pub rate: u64,
    /// Seconds between report lines.
    #[arg(long, default_value_t = 60)]
    pub report_every: u64,
    /// Clients asking for as-of snapshots, one after another each.
    #[arg(long, default_value_t = 2)]
    pub as_of_readers: usize,
}

/// What one interval saw.
#[derive(Debug, Clone, PartialEq)]
pub struct Interval {
    pub at_seconds: u64,
    pub resident_mb: f64,
    pub accepted: u64,
    pub p50: Duration,
    pub p99: Duration,
    pub deltas: u64,
    pub as_of_answered: u64,
}

/// Counters the load's tasks share.
#[derive(Debug, Default)]
struct Counts {
    accepted: AtomicU64,
    refused: AtomicU64,
    deltas: AtomicU64,
    gaps: AtomicU64,
    as_of_answered: AtomicU64,
    as_of_busy: AtomicU64,
    latencies: Mutex<Vec<Duration>>,
}

/// Returns sent at once, at most.
const IN_FLIGHT: usize = 512;

pub async fn run(args: SoakArgs) -> anyhow::Result<Vec<Interval>> {
    let providers = provider_codes()?;
    let nats = NatsServer::start(&[])?;
    let url = nats.url();
    let data = std::env::temp_dir().join(format!("oversight-soak-{}", std::process::id()));
    let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
    let config = Config::with(&url, data.join("data"));
    let serve = tokio::spawn(crate::serve::run(config, async {
        let _ = stop_rx.await;
    }));
    let client = Client::connect(&url, Duration::from_secs(10)).await?;
    crate::client::wait_until_serving(&client).await?;
    let counts = Arc::new(Counts::default());
    let running = tokio_util::sync::CancellationToken::new();

    // The live consumer: England's snapshot, then its deltas in order, a fresh snapshot on a gap.
    let consumer = {
        let (client, counts, running) = (client.clone(), Arc::clone(&counts), running.clone());
        tokio::spawn(async move {
            let mut deltas = client
                .nats()
                .subscribe(subjects::view_delta(NATIONAL))
                .await?;
            let Some(mut view) = england_when_ready(&client, &running).await else {
                return Ok(());
            };
            loop {
                let message = tokio::select! {
                    message = deltas.next() => message,
                    () = running.cancelled() => return anyhow::Ok(()),
                };
                let Some(message) = message else {
                    return Ok(());
                };
                let Ok(delta) = Encoding::Postcard.decode::<Delta>(&message.payload) else {
                    continue;
                };
                if delta.seq <= view.seq {
                    continue;
                }
                if view.apply_delta(&delta).is_err() {
                    counts.gaps.fetch_add(1, Ordering::Relaxed);
                    match england_when_ready(&client, &running).await {
                        Some(fresh) => view = fresh,
                        None => return Ok(()),
                    }
                }
                counts.deltas.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    // As-of readers: each asks for London as it stood at a seq from the log so far.
    let mut readers = Vec::new();
    for reader in 0..args.as_of_readers {
        let (client, counts, running) = (client.clone(), Arc::clone(&counts), running.clone());
        readers.push(tokio::spawn(async move {
            let mut rng = fastrand::Rng::with_seed(reader as u64);
            while !running.is_cancelled() {
                let last = client.read_log(u64::MAX, 0).await.map_or(1, |l| l.last_seq);
                let request = SnapshotRequest {
                    as_of_seq: Some(rng.u64(1..=last.max(1))),
                    ..SnapshotRequest::default()
                };
                match client.snapshot("Y56", &request).await {
                    Ok(_) => counts.as_of_answered.fetch_add(1, Ordering::Relaxed),
                    Err(_) => counts.as_of_busy.fetch_add(1, Ordering::Relaxed),
                };
            }
        }));
    }
    // The submitter, paced: return i leaves at i / rate seconds.
    let submitter = {
        let (client, counts) = (client.clone(), Arc::clone(&counts));
        let total = args.seconds * args.rate.max(1);
        let rate = args.rate.max(1);
        tokio::spawn(async move {
            let permits = Arc::new(tokio::sync::Semaphore::new(IN_FLIGHT));
            let started = Instant::now();
            for i in 0..total {
                let due = started + Duration::from_secs_f64(i as f64 / rate as f64);
                tokio::time::sleep_until(due.into()).await;
                let Ok(permit) = Arc::clone(&permits).acquire_owned().await else {
                    break;
                };
                let form = soak_return(&providers, i);
                let (client, counts) = (client.clone(), Arc::clone(&counts));
                tokio::spawn(async move {
                    let _permit = permit;
                    let sent = Instant::now();
                    let receipt = crate::client::retry_busy(20, || client.submit(&form)).await;
                    let took = sent.elapsed();
                    match receipt {
                        Ok(Receipt::Accepted { .. }) => {
                            counts.accepted.fetch_add(1, Ordering::Relaxed);
                            if let Ok(mut latencies) = counts.latencies.lock() {
                                latencies.push(took);
                            }
                        }
                        _ => {
                            counts.refused.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                });
            }
        })
    };

    println!(
        "{:>8} {:>12} {:>10} {:>10} {:>10} {:>10} {:>8}",
        "seconds", "resident MB", "accepted", "p50 ms", "p99 ms", "deltas", "as-of"
    );
    let started = Instant::now();
    let mut intervals = Vec::new();
    let mut ticker = tokio::time::interval(Duration::from_secs(args.report_every.max(1)));
    ticker.tick().await;
    while started.elapsed() < Duration::from_secs(args.seconds) {
        ticker.tick().await;
        let mut latencies = counts
            .latencies
            .lock()
            .map(|mut l| std::mem::take(&mut *l))
            .unwrap_or_default();
        let (p50, p99) = p50_p99(&mut latencies);
        let interval = Interval {
            at_seconds: started.elapsed().as_secs(),
            resident_mb: resident_bytes().unwrap_or(0) as f64 / 1e6,
            accepted: counts.accepted.load(Ordering::Relaxed),
            p50,
            p99,
            deltas: counts.deltas.load(Ordering::Relaxed),
            as_of_answered: counts.as_of_answered.load(Ordering::Relaxed),
        };
        println!(
            "{:>8} {:>12.1} {:>10} {:>10.2} {:>10.2} {:>10} {:>8}",
            interval.at_seconds,
            interval.resident_mb,
            interval.accepted,
            interval.p50.as_secs_f64() * 1e3,
            interval.p99.as_secs_f64() * 1e3,
            interval.deltas,
            interval.as_of_answered
        );
        intervals.push(interval);
    }
    let _ = submitter.await;
    running.cancel();
    for reader in readers {
        let _ = reader.await;
    }
    match consumer.await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => eprintln!("the live consumer stopped: {error:#}"),
        Err(error) => eprintln!("the live consumer failed: {error}"),
    }
    let _ = stop_tx.send(());
    serve.await??;
    let _ = std::fs::remove_dir_all(&data);
    if let (Some(first), Some(last)) = (intervals.first(), intervals.last()) {
        println!(
            "resident memory {:.1} -> {:.1} MB; p99 {:.2} -> {:.2} ms; {} refused; {} gaps healed; {} as-of busy",
            first.resident_mb,
            last.resident_mb,
            first.p99.as_secs_f64() * 1e3,
            last.p99.as_secs_f64() * 1e3,
            counts.refused.load(Ordering::Relaxed),
            counts.gaps.load(Ordering::Relaxed),
            counts.as_of_busy.load(Ordering::Relaxed),
        );
    }
    Ok(intervals)
}

/// England's view, asked for until the views answer (they start after intake does).
async fn england_when_ready(
    client: &Client,
    running: &tokio_util::sync::CancellationToken,
) -> Option<View> {
    while !running.is_cancelled() {
        match client.snapshot(NATIONAL, &SnapshotRequest::default()).await {
            Ok(view) => return Some(view),
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    }
    None
}

/// The `i`th return of the soak: each provider's weeks in turn, then again as revisions.
fn soak_return(providers: &[String], i: u64) -> ReturnForm {
    let org = &providers[(i % providers.len() as u64) as usize];
    let week = i / providers.len() as u64 % 200;
    let period = Period::parse(&format!("{}-W{:02}", 2022 + week / 50, week % 50 + 1))
        .map(|p| p.to_string())
        .unwrap_or_else(|_| "2022-W01".to_owned());
    ReturnForm {
        schema_version: SCHEMA_VERSION,
        submission_id: format!("soak-{i}"),
        org: org.clone(),
        collection: "ae-weekly".into(),
        period,
        values: vec![("ae_12hr_dta".into(), Value::Count((i % 90) as i64))],
    }
}
