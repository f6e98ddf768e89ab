//! `oversight backup DIR`: a consistent copy of a running service's log, taken over
//! `oversight.log.read` while it serves. The log only grows, so entries 1..N as they stood when
//! the backup began are a consistent state; each is stored again byte for byte, so the copy has
//! the same links and head as the log it came from, and `oversight verify` checks it.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use event_log::EventLog;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::client::Client;
use crate::config::NatsArgs;
use crate::data_dir::DataDir;
use crate::log_source::LogSource;

#[derive(Debug, clap::Args)]
pub struct BackupArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// Where to write the copy: a data directory `oversight serve --data` can start from. A copy
    /// already there is brought up to date.
    dir: PathBuf,
}

/// Entries asked for at a time.
const PAGE: u32 = 1_000;

pub async fn run(args: BackupArgs) -> anyhow::Result<ExitCode> {
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(10)).await?;
    let source = LogSource::Nats(client);
    let until = source.last_seq().await?;
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let log_path = args.dir.join("oversight.redb");
    let mut copy = EventLog::open(&log_path)
        .with_context(|| format!("the copy at {} does not verify", log_path.display()))?;
    let held = copy.last_seq();
    if held > 0 {
        let theirs = source.read(held, 1).await?;
        let ours = copy.reader().read(held, 1)?.0;
        anyhow::ensure!(
            theirs.entries.first().map(|e| e.checksum) == ours.first().map(|e| e.checksum),
            "the copy in {} is not of this log: its entry {held} differs; back up into an empty directory",
            args.dir.display()
        );
    }
    anyhow::ensure!(
        held <= until,
        "the copy in {} holds {held} entries, more than the service's {until}: it is of another log",
        args.dir.display()
    );
    let progress = ProgressBar::with_draw_target(Some(until - held), ProgressDrawTarget::stderr());
    if let Ok(style) = ProgressStyle::with_template("{bar:40} {pos}/{len} entries {per_sec}") {
        progress.set_style(style);
    }
    let mut next = held + 1;
    while next <= until {
        let page = source
            .read(next, PAGE.min((until - next + 1) as u32))
            .await?;
        let entries: Vec<_> = page
            .entries
            .into_iter()
            .filter(|e| e.seq <= until)
            .collect();
        let Some(last) = entries.last().map(|e| e.seq) else {
            anyhow::bail!(
                "the service answered no entries from seq {next}, though its log holds {until}"
            );
        };
        copy.append_batch(|appender| {
            for original in &entries {
                let stored = appender.append(
                    original.recorded_at,
                    &original.sender,
                    original.event.clone(),
                )?;
                if stored != original {
                    return Err(event_log::LogError::Misplaced {
                        seq: stored.seq,
                        claims: original.seq,
                    });
                }
            }
            Ok(())
        })
        .with_context(|| format!("copying entries {next} to {last}"))?;
        progress.inc(last + 1 - next);
        next = last + 1;
    }
    progress.finish_and_clear();
    let head = copy.head();
    drop(copy);
    DataDir::new(&args.dir, &log_path, &args.dir.join("views.redb")).mark_held(until)?;
    println!(
        "{}: {until} entries ({} new); head {}",
        args.dir.display(),
        until - held,
        event_log::hex(&head)
    );
    Ok(ExitCode::SUCCESS)
}
