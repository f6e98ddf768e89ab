//! `oversight config` and `oversight deploy`: checking configuration, generating what a
//! deployment needs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Subcommand;

use crate::config::Config;
use crate::exit::{Exit, ExitOnError};

#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Validate FILE and print the configuration `oversight serve --config FILE` would run with.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
    /// Print the defaults, as a file to start from.
    Defaults,
}

#[derive(Debug, Subcommand)]
pub enum DeployCommand {
    /// Write nats-server.conf (accounts, users and subject permissions for every trust, CCG,
    /// regional team, corporate and data standards) and credentials.csv (their passwords) from
    /// the reference data. Both files are readable by their owner only. Run it again after
    /// organisations are registered or move: users already in DIR/credentials.csv keep their
    /// passwords; then `nats-server --signal reload`.
    NatsConfig {
        /// The directory to write into.
        #[arg(long, value_name = "DIR")]
        out: PathBuf,
        /// Reference files (regions.csv, etr.csv, eccg.csv); default: the built-in copies.
        #[arg(long, value_name = "DIR")]
        reference_dir: Option<PathBuf>,
        /// Where nats-server listens.
        #[arg(long, default_value = "127.0.0.1:4222", value_name = "HOST:PORT")]
        listen: String,
    },
}

/// `oversight config check FILE` and `oversight config defaults`.
pub fn config(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Check { file } => {
            let config = Config::load(Some(&file), std::env::vars()).or_exit(Exit::Usage)?;
            print!("{}", config.to_toml());
            eprintln!("{}: valid", file.display());
        }
        ConfigCommand::Defaults => print!("{}", Config::default().to_toml()),
    }
    Ok(ExitCode::SUCCESS)
}

/// `oversight deploy nats-config`.
pub fn run(command: DeployCommand) -> anyhow::Result<ExitCode> {
    let DeployCommand::NatsConfig {
        out,
        reference_dir,
        listen,
    } = command;
    let files = match &reference_dir {
        Some(dir) => ingest::seed::ReferenceFiles::from_dir(dir).or_exit(Exit::Input)?,
        None => ingest::seed::ReferenceFiles::bundled(),
    };
    let earlier = out.join("credentials.csv");
    let known = if earlier.exists() {
        crate::deploy::NatsConfig::read_credentials(&earlier).or_exit(Exit::Input)?
    } else {
        Default::default()
    };
    let config = crate::deploy::NatsConfig::generate_keeping(&files, &listen, &known)?;
    let (conf, credentials, web_users) = config.write(&out)?;
    let kept = config
        .users
        .iter()
        .filter(|u| known.contains_key(&u.name))
        .count();
    println!(
        "{} users written ({kept} kept their passwords, {} new): {} (for nats-server -c), {} (hand each new user its line) and {} (the same users for the web pages: [web] users_file)",
        config.users.len(),
        config.users.len() - kept,
        conf.display(),
        credentials.display(),
        web_users.display()
    );
    Ok(ExitCode::SUCCESS)
}
