//! `oversight project`: the views on their own, against a log served elsewhere.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::shutdown_signal;
use crate::client::Client;
use crate::config::NatsArgs;

#[derive(Debug, clap::Args)]
pub struct ProjectArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// A directory for the views' checkpoint (`views.redb`); without it the views are rebuilt
    /// from the log at every start.
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// Log entries applied between checkpoints.
    #[arg(long, default_value_t = 100_000)]
    checkpoint_every: u64,
    /// Where Prometheus scrapes the metrics (`GET /metrics`).
    #[arg(long, default_value = "127.0.0.1:9721", value_name = "HOST:PORT")]
    metrics_addr: std::net::SocketAddr,
    /// Views and deltas without SPC charts.
    #[arg(long)]
    no_analytics: bool,
}

pub async fn run(args: ProjectArgs) -> anyhow::Result<()> {
    crate::metrics::serve(args.metrics_addr)?;
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(30)).await?;
    let store = match &args.data {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            Some(std::sync::Arc::new(event_log::CheckpointStore::open(
                &dir.join("views.redb"),
            )?))
        }
        None => None,
    };
    let checkpoints = crate::project::Checkpoints {
        store,
        every: args.checkpoint_every,
        retain_every: args.checkpoint_every,
    };
    let stop = tokio_util::sync::CancellationToken::new();
    let analytics = if args.no_analytics {
        projector::Analytics::Off
    } else {
        projector::Analytics::On
    };
    let mut views = tokio::spawn(crate::project::run(
        client.clone(),
        crate::log_source::LogSource::Nats(client),
        stop.clone(),
        checkpoints,
        crate::project::Feed::Nats,
        analytics,
    ));
    tokio::select! {
        result = &mut views => return result.context("the views task")?,
        () = shutdown_signal() => {}
    }
    // Stopping saves a last checkpoint.
    stop.cancel();
    views.await.context("the views task")?
}
