//! `oversight`: run the service, submit a return, read the log, measure. Parses the command
//! line, sets up logging and the runtime, and calls the subcommand (`oversight::cli`).

use std::io::IsTerminal;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use oversight::bench::{self, BenchArgs};
use oversight::cli::{
    self, backup::BackupArgs, deploy::ConfigCommand, deploy::DeployCommand, import::ImportCommand,
    log::LogArgs, project::ProjectArgs, submit::PlanArgs, submit::SubmitArgs, verify::VerifyArgs,
    watch::WatchArgs, web::WebArgs,
};
use oversight::config::ServeArgs;
use oversight::exit::{exit_of, Exit, ExitOnError};
use oversight::serve;

/// See Cargo.toml for why.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What each exit status means, the same for every command.
const EXIT_STATUSES: &str = "Exit status: 0 done (a return accepted, also when it was accepted before); \
1 rejected (fix what the receipt lists); 2 busy or out of reach (nothing known stored: send the same \
again later); 3 usage (see --help); 4 a file cannot be read or is not in a layout this reads; \
5 user or password refused, or not permitted; 6 failed (the message says why).";

/// The single performance-oversight backend for the NHS in England.
///
/// Trusts and CCGs submit performance returns once; each is stored durably in the event log and
/// acknowledged only when it is on disk.
#[derive(Debug, Parser)]
#[command(
    name = "oversight",
    version,
    propagate_version = true,
    after_help = EXIT_STATUSES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// How log lines are written to stderr: text for people, json (one object per line) for log
    /// shippers. Which lines: RUST_LOG (default info for serve and project, warn otherwise).
    #[arg(long, global = true, env = "OVERSIGHT_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the service: take returns on oversight.submit.<org>, store them, answer log reads.
    ///
    /// On first start the empty log is seeded with the regions, systems, trusts and CCGs, and
    /// the metrics of data standard v1. Settings: a TOML file (--config; deploy/oversight.toml
    /// documents every field), OVERSIGHT_<SECTION>_<KEY> environment variables, these flags.
    Serve(ServeArgs),
    /// Check a configuration file and print the effective configuration (file, then the
    /// OVERSIGHT_* environment), or say exactly what is wrong with it.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Generate what a deployment needs.
    #[command(subcommand)]
    Deploy(DeployCommand),
    /// Submit one return and print its receipt.
    ///
    /// Either from flags:
    ///
    ///   oversight submit --org RJ1 --collection ae-monthly --period 2019-01 \
    ///     --value ae_4hr=17020/21289 --value ae_12hr_dta=3
    ///
    /// or from a JSON file in the layout the README shows ("-" reads standard input):
    ///
    ///   oversight submit --file return.json
    ///
    /// Exit status: 0 accepted (also when it was already accepted), 1 rejected, 2 busy or
    /// unreachable (send it again), 3 usage, 4 unreadable file, 5 not permitted, 6 failed.
    Submit(SubmitArgs),
    /// Submit a plan (trajectories per metric and period) from a JSON file and print its receipt.
    ///
    ///   oversight plan plan.json
    ///
    /// The file: {"submission_id": "RJ1-plan-2019-20-v1", "org": "RJ1", "plan": "2019-20",
    /// "trajectories": {"ae_4hr": {"2019-04": {"numerator": 17500, "denominator": 21000}}}}.
    /// A later plan with the same "plan" is a new revision and replaces the earlier trajectory
    /// whole. Exit status as for submit.
    Plan(PlanArgs),
    /// Print log entries in seq order.
    Log(LogArgs),
    /// Verify a log whole, changing nothing: every entry's checksum, the chain of links that ties
    /// each entry to the one before it, and the look-ups. Prints the head link (record it: a
    /// later head that differs for the same seq means the log was changed).
    ///
    ///   oversight verify --data /var/lib/oversight
    ///
    /// Exit status: 0 sound; 6 damaged (the first bad seq is printed); see "Verifying, backup and restore"
    /// in the README for what to do.
    Verify(VerifyArgs),
    /// Copy a running service's log into DIR, consistently, while it serves (over
    /// oversight.log.read): a data directory `oversight serve --data DIR` can start from. Run it
    /// again to bring the copy up to date; `oversight verify --data DIR` checks it, and its head
    /// is the service's at the same seq.
    ///
    ///   oversight backup --nats nats://10.0.0.5:4222 /backups/oversight-2026-12-02
    Backup(BackupArgs),
    /// Measure bare NATS request/reply against durable submissions, side by side.
    Bench(BenchArgs),
    /// Import a published NHS file: each organisation and period becomes a return, submitted
    /// like any trust would. Re-importing the same file changes nothing; a republished file with
    /// changed figures makes new revisions.
    #[command(subcommand)]
    Import(ImportCommand),
    /// Show one scope's view live: metric, latest period, value, standard, met?, SPC (variation
    /// and assurance), and the organisations failing it. Scopes: national, a region (Y56 London, Y58 South West,
    /// Y59 South East, Y60 Midlands, Y61 East of England, Y62 North West, Y63 North East and
    /// Yorkshire), a system, an organisation, or unassigned.
    Watch(WatchArgs),
    /// Run the views on their own, against a log served elsewhere: catch up over
    /// oversight.log.read, follow oversight.log.events, answer snapshots, publish deltas.
    Project(ProjectArgs),
    /// Serve the web pages on their own, against a service elsewhere: each page is rendered from
    /// a snapshot asked over NATS, and open pages follow the deltas. `oversight serve` serves the
    /// same pages itself (--web-addr); this is for pages on another machine.
    ///
    ///   oversight web --nats nats://10.0.0.5:4222 --web-addr 127.0.0.1:9730
    Web(WebArgs),
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // --help and --version are not errors; anything else clap refuses is a usage error.
        Err(e) if !e.use_stderr() => {
            let _ = e.print();
            return Exit::Success.code();
        }
        Err(e) => {
            let _ = e.print();
            return Exit::Usage.code();
        }
    };
    let default_level = if matches!(
        cli.command,
        Command::Serve(_) | Command::Project(_) | Command::Web(_)
    ) {
        "info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cli.log_format {
        LogFormat::Text => logs.with_ansi(std::io::stderr().is_terminal()).init(),
        LogFormat::Json => logs.json().with_current_span(false).init(),
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            say_error(&format!("cannot start the async runtime: {e}"));
            return Exit::Failed.code();
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            say_error(&format!("{e:#}"));
            exit_of(&e).code()
        }
    }
}

/// Writes the final error to stderr; a stderr that cannot be written (a log file on a full disk)
/// must not turn the exit status into a panic's.
fn say_error(message: &str) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "error: {message}");
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let config = args.resolve().or_exit(Exit::Usage)?;
            oversight::metrics::serve(config.metrics.addr)?;
            serve::run(config, cli::shutdown_signal())
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Config(command) => cli::deploy::config(command),
        Command::Deploy(command) => cli::deploy::run(command),
        Command::Submit(args) => cli::submit::submit(args).await,
        Command::Plan(args) => cli::submit::plan(args).await,
        Command::Log(args) => cli::log::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Verify(args) => cli::verify::run(args),
        Command::Backup(args) => cli::backup::run(args).await,
        Command::Bench(args) => bench::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Import(command) => cli::import::run(command).await,
        Command::Watch(args) => cli::watch::run(args).await,
        Command::Project(args) => cli::project::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Web(args) => cli::web::run(args).await.map(|()| ExitCode::SUCCESS),
    }
}
