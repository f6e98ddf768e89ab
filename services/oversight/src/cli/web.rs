//! `oversight web`: the web pages on their own, against a service elsewhere: the views answer
//! over NATS, and the reference data the pages name scopes by is read from the log.

use std::net::SocketAddr;
use std::time::Duration;

use super::shutdown_signal;
use crate::client::Client;
use crate::config::NatsArgs;

#[derive(Debug, clap::Args)]
pub struct WebArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// Where the pages are served: a loopback address, as no web users can be configured yet.
    #[arg(long, default_value = "127.0.0.1:9730", value_name = "HOST:PORT")]
    web_addr: SocketAddr,
}

pub async fn run(args: WebArgs) -> anyhow::Result<()> {
    crate::web::check_addr(args.web_addr)?;
    let listener = crate::web::bind(args.web_addr).await?;
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(30)).await?;
    let directory = crate::web::reference_feed::follow(client.clone()).await?;
    crate::web::serve(listener, client, directory, shutdown_signal()).await
}
