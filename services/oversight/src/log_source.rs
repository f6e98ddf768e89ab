//! Where the views read the log from: the event log file itself when they run inside `oversight
//! serve`, or `oversight.log.read` when they run apart (`oversight project`).

use anyhow::Context;
use event_log::LogReader;
use proto_schema::LogEntries;

use std::time::Duration;

use crate::client::{Client, ClientError};

/// How long a reader waits out a service that says it is busy, and between attempts.
const BUSY_WAIT_MILLIS: u64 = 30_000;
const BUSY_PAUSE_MILLIS: u64 = 50;

/// A reader of committed log entries; cheap to clone.
#[derive(Debug, Clone)]
pub enum LogSource {
    /// The log of this process, read directly (no trip through the NATS server).
    Local(LogReader),
    /// A log served elsewhere, over `oversight.log.read`.
    Nats(Client),
}

impl LogSource {
    /// The seq of the last entry the log holds now.
    pub async fn last_seq(&self) -> anyhow::Result<u64> {
        Ok(self.read(u64::MAX, 0).await?.last_seq)
    }

    /// Up to `max` entries from seq `from` on, in seq order, and the last committed seq.
    pub async fn read(&self, from: u64, max: u32) -> anyhow::Result<LogEntries> {
        match self {
            LogSource::Local(reader) => {
                let reader = reader.clone();
                let (entries, last_seq) =
                    tokio::task::spawn_blocking(move || reader.read(from, max as usize))
                        .await
                        .context("the log read task")?
                        .context("reading the event log")?;
                Ok(LogEntries { entries, last_seq })
            }
            LogSource::Nats(client) => {
                // The service answers 503 while it serves as many reads as it allows at once.
                let mut waited = 0;
                loop {
                    match client.read_log(from, max).await {
                        Err(ClientError::Service { code, .. })
                            if code == "503" && waited < BUSY_WAIT_MILLIS =>
                        {
                            tokio::time::sleep(Duration::from_millis(BUSY_PAUSE_MILLIS)).await;
                            waited += BUSY_PAUSE_MILLIS;
                        }
                        outcome => return outcome.context("reading over oversight.log.read"),
                    }
                }
            }
        }
    }
}
