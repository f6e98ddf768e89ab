//! `oversight watch`: one scope's view, live.

use std::time::Duration;

use crate::client::Client;
use crate::config::NatsArgs;

#[derive(Debug, clap::Args)]
pub struct WatchArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// The scope to watch, such as national or Y56.
    scope: String,
    /// Count each return under today's geography rather than the one in force for its period.
    #[arg(long)]
    current_geography: bool,
    /// Print the table once and exit.
    #[arg(long)]
    once: bool,
    /// Stop watching after this many seconds (default: until interrupted).
    #[arg(long = "for", value_name = "SECONDS")]
    for_seconds: Option<u64>,
}

/// `oversight watch SCOPE`: until interrupted, for `--for` seconds, or once.
pub async fn run(args: WatchArgs) -> anyhow::Result<std::process::ExitCode> {
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(10)).await?;
    let geography = if args.current_geography {
        proto_schema::GeographyMode::Current
    } else {
        proto_schema::GeographyMode::AsReported
    };
    let scope = crate::subjects::canonical_code(&args.scope);
    let watching = crate::watch::run(&client, &scope, geography, args.once);
    match args.for_seconds {
        Some(seconds) => {
            // Running out of time is the normal end here.
            if let Ok(result) = tokio::time::timeout(Duration::from_secs(seconds), watching).await {
                result?;
            }
        }
        None => watching.await?,
    }
    Ok(std::process::ExitCode::SUCCESS)
}
