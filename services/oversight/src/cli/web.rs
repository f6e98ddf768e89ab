//! `oversight web`: the web pages on their own, against a service elsewhere: the views answer
//! over NATS, and the reference data the pages name scopes by is read from the log.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::shutdown_signal;
use crate::client::Client;
use crate::config::NatsArgs;

#[derive(Debug, clap::Args)]
pub struct WebArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// Where the pages are served; an address other machines can reach needs --web-users.
    #[arg(long, default_value = "127.0.0.1:9730", value_name = "HOST:PORT")]
    web_addr: SocketAddr,
    /// The web users (CSV: user,password_hash,scope); every page then needs signing in.
    #[arg(long, value_name = "FILE")]
    web_users: Option<PathBuf>,
    /// Mark session cookies Secure (the pages are reached over TLS, through a reverse proxy).
    #[arg(long)]
    secure_cookies: bool,
    /// Print an argon2 hash of the password on standard input, for the users file, and exit.
    #[arg(long)]
    hash_password: bool,
}

pub async fn run(args: WebArgs) -> anyhow::Result<()> {
    if args.hash_password {
        let mut password = String::new();
        std::io::stdin()
            .read_line(&mut password)
            .context("cannot read the password from standard input")?;
        let password = password.trim_end_matches(['\n', '\r']);
        anyhow::ensure!(!password.is_empty(), "no password on standard input");
        println!("{}", crate::web::access::hash_password(password)?);
        return Ok(());
    }
    let access = match &args.web_users {
        Some(file) => crate::web::access::Access::from_file(file, args.secure_cookies)?,
        None => crate::web::access::Access::open(),
    };
    crate::web::check_addr(args.web_addr, &access)?;
    let listener = crate::web::bind(args.web_addr).await?;
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(30)).await?;
    let directory = crate::web::reference_feed::follow(client.clone()).await?;
    crate::web::serve(listener, client, directory, access, shutdown_signal()).await
}
