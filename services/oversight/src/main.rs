//! `oversight`: run the service, submit a return, read the log, measure.

use std::io::{IsTerminal, Read};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Parser, Subcommand};
use oversight::bench::{self, BenchArgs};
use oversight::client::{content_submission_id, retry_busy, Client};
use oversight::config::{Config, NatsArgs, ServeArgs};
use oversight::exit::{exit_of, Exit, ExitOnError};
use oversight::import;
use oversight::serve;
use proto_schema::{Envelope, Event, Halves, Receipt, ReturnForm, Value, SCHEMA_VERSION};

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
}

#[derive(Debug, Subcommand)]
enum ConfigCommand {
    /// Validate FILE and print the configuration `oversight serve --config FILE` would run with.
    Check {
        /// The TOML file.
        file: PathBuf,
    },
    /// Print the defaults, as a file to start from.
    Defaults,
}

#[derive(Debug, Subcommand)]
enum DeployCommand {
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

#[derive(Debug, Subcommand)]
enum ImportCommand {
    /// NHS England monthly A&E: an MSitAE file (Monthly-AE-April-2025.csv), the 2016-2019
    /// provider file (ae_attendances_2016_2019.csv), or the provider spreadsheet
    /// (AE-by-provider-October-2025.xlsx or .xls, or its sheet saved as CSV); the layout is
    /// recognised from the header.
    Ae(AeImportArgs),
    /// An ODS organisation file (etr.csv for trusts, eccg.csv for CCGs, headerless): defines the
    /// systems it names and registers every organisation with its open and close dates. Rows the
    /// reference data already holds come back as duplicates; changed rows are recorded.
    Ods(ImportArgs),
    /// Referral to treatment, incomplete pathways by provider (rtt_incomplete_provider_clean.csv):
    /// each provider's all-functions (C_999) row gives rtt_18wk and rtt_52wk.
    Rtt(ImportArgs),
    /// Cancer 62-day combined standard by trust and month (gold_62d_trust_month.csv): cancer_62d,
    /// halves kept exactly.
    Cancer(ImportArgs),
}

#[derive(Debug, clap::Args)]
struct ImportArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// The CSV file, as published.
    file: PathBuf,
    /// Seconds to wait for each receipt.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct AeImportArgs {
    #[command(flatten)]
    import: ImportArgs,
    /// The month of a provider spreadsheet whose file name does not say it, such as 2025-10
    /// (the other layouts name their month in every row).
    #[arg(long, value_name = "YYYY-MM")]
    period: Option<String>,
}

#[derive(Debug, clap::Args)]
struct WatchArgs {
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

#[derive(Debug, clap::Args)]
struct ProjectArgs {
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

#[derive(Debug, clap::Args)]
struct SubmitArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// A JSON return (fields submission_id, org, collection, period, values); "-" for stdin.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["org", "collection", "period", "values"])]
    file: Option<PathBuf>,
    /// Your organisation's ODS code, such as RJ1.
    #[arg(long, required_unless_present = "file")]
    org: Option<String>,
    /// The collection, such as ae-monthly.
    #[arg(long, required_unless_present = "file")]
    collection: Option<String>,
    /// The period: a month (2019-01), an ISO week (2019-W05) or a day (2019-01-31).
    #[arg(long, required_unless_present = "file")]
    period: Option<String>,
    /// A value as METRIC=FIGURE, repeatable. Ratio: ae_4hr=17020/21289 (halves allowed: 20.5/25);
    /// count: ae_12hr_dta=3; money in pence: finance_surplus=-120000000p; duration: SECONDS s/CASES,
    /// such as ambulance_cat1=430s/1200.
    #[arg(
        long = "value",
        value_name = "METRIC=FIGURE",
        required_unless_present = "file"
    )]
    values: Vec<String>,
    /// Your id for this return; a retry with the same id is recognised. Default: derived from the
    /// organisation, collection, period and figures, so re-running the same command is harmless
    /// and changed figures make a new revision.
    #[arg(long)]
    submission_id: Option<String>,
    /// Print the receipt as JSON.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the receipt.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct PlanArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// The JSON plan; "-" reads standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Print the receipt as JSON.
    #[arg(long)]
    json: bool,
    /// Seconds to wait for the receipt.
    #[arg(long, default_value_t = 10)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
struct LogArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// First seq to print.
    #[arg(long, default_value_t = 1)]
    from: u64,
    /// Most entries to print.
    #[arg(long, default_value_t = 50)]
    max: u64,
    /// Print the entries as JSON (the oversight.log.read layout), one reply per line.
    #[arg(long)]
    json: bool,
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
    let default_level = if matches!(cli.command, Command::Serve(_) | Command::Project(_)) {
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
            eprintln!("error: cannot start the async runtime: {e}");
            return Exit::Failed.code();
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            exit_of(&e).code()
        }
    }
}

async fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Serve(args) => {
            let config = args.resolve().or_exit(Exit::Usage)?;
            oversight::metrics::serve(config.metrics.addr)?;
            serve::run(config, shutdown_signal())
                .await
                .map(|()| ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Check { file }) => {
            let config = Config::load(Some(&file), std::env::vars()).or_exit(Exit::Usage)?;
            print!("{}", config.to_toml());
            eprintln!("{}: valid", file.display());
            Ok(ExitCode::SUCCESS)
        }
        Command::Deploy(DeployCommand::NatsConfig {
            out,
            reference_dir,
            listen,
        }) => {
            let files = match &reference_dir {
                Some(dir) => ingest::seed::ReferenceFiles::from_dir(dir)?,
                None => ingest::seed::ReferenceFiles::bundled(),
            };
            let earlier = out.join("credentials.csv");
            let known = if earlier.exists() {
                oversight::deploy::NatsConfig::read_credentials(&earlier)?
            } else {
                Default::default()
            };
            let config = oversight::deploy::NatsConfig::generate_keeping(&files, &listen, &known)?;
            let (conf, credentials) = config.write(&out)?;
            let kept = config
                .users
                .iter()
                .filter(|u| known.contains_key(&u.name))
                .count();
            println!(
                "{} users written ({kept} kept their passwords, {} new): {} (for nats-server -c) and {} (hand each new user its line)",
                config.users.len(),
                config.users.len() - kept,
                conf.display(),
                credentials.display()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Config(ConfigCommand::Defaults) => {
            print!("{}", Config::default().to_toml());
            Ok(ExitCode::SUCCESS)
        }
        Command::Submit(args) => submit(args).await,
        Command::Plan(args) => plan(args).await,
        Command::Log(args) => log(args).await.map(|()| ExitCode::SUCCESS),
        Command::Bench(args) => bench::run(args).await.map(|()| ExitCode::SUCCESS),
        Command::Import(ImportCommand::Ae(args)) => import_ae(args).await,
        Command::Import(ImportCommand::Ods(args)) => {
            let text = import::read(&args.file).or_exit(Exit::Input)?;
            let name = args.file.display().to_string();
            let file = import::ods::parse(&name, &text, import::ods::role_of(&name))
                .or_exit(Exit::Input)?;
            eprintln!(
                "{name}: {} systems, {} organisations ({} rows outside England skipped)",
                file.systems.len(),
                file.organisations.len(),
                file.skipped_outside_england
            );
            let client = Client::connect_as(&args.nats, Duration::from_secs(args.timeout)).await?;
            let report = import::ods::submit(&client, file).await?;
            println!(
                "{} systems and organisations: {} recorded, {} already held, {} rejected",
                report.returns,
                report.accepted,
                report.duplicates,
                report.rejected.len()
            );
            print!("{}", report.rejections());
            Ok(if report.rejected.is_empty() {
                ExitCode::SUCCESS
            } else {
                Exit::Rejected.code()
            })
        }
        Command::Import(ImportCommand::Rtt(args)) => {
            let text = import::read(&args.file).or_exit(Exit::Input)?;
            let rows =
                import::rtt::parse(&args.file.display().to_string(), &text).or_exit(Exit::Input)?;
            import_rows(&args, rows).await
        }
        Command::Import(ImportCommand::Cancer(args)) => {
            let text = import::read(&args.file).or_exit(Exit::Input)?;
            let rows = import::cancer::parse(&args.file.display().to_string(), &text)
                .or_exit(Exit::Input)?;
            import_rows(&args, rows).await
        }
        Command::Watch(args) => {
            let client = Client::connect_as(&args.nats, Duration::from_secs(10)).await?;
            let geography = if args.current_geography {
                proto_schema::GeographyMode::Current
            } else {
                proto_schema::GeographyMode::AsReported
            };
            let scope = oversight::subjects::canonical_code(&args.scope);
            let watching = oversight::watch::run(&client, &scope, geography, args.once);
            match args.for_seconds {
                Some(seconds) => {
                    // Running out of time is the normal end here.
                    if let Ok(result) =
                        tokio::time::timeout(Duration::from_secs(seconds), watching).await
                    {
                        result?;
                    }
                }
                None => watching.await?,
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Project(args) => project(args).await.map(|()| ExitCode::SUCCESS),
    }
}

/// Completes on the first SIGINT or SIGTERM; a second one exits at once.
async fn shutdown_signal() {
    use tokio::signal::unix::{signal, SignalKind};
    let Ok(mut term) = signal(SignalKind::terminate()) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
    tokio::spawn(async move {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
        eprintln!("second signal: exiting without waiting");
        std::process::exit(130);
    });
}

async fn import_ae(args: AeImportArgs) -> anyhow::Result<ExitCode> {
    use import::ae_sheet::{self, Table};

    let AeImportArgs {
        import: args,
        period,
    } = args;
    let name = args.file.display().to_string();
    let spreadsheet = args
        .file
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| {
            ["xlsx", "xlsm", "xlsb", "xls", "ods"].contains(&e.to_ascii_lowercase().as_str())
        });
    let parsed = if spreadsheet {
        let table = Table::from_workbook(&args.file).or_exit(Exit::Input)?;
        ae_sheet::parse(&name, &table, period.as_deref()).or_exit(Exit::Input)?
    } else {
        let text = import::read(&args.file).or_exit(Exit::Input)?;
        import::ae::parse_for(&name, &text, period.as_deref()).or_exit(Exit::Input)?
    };
    eprintln!("{name}: {:?} layout", parsed.layout);
    import_rows(&args, parsed.rows).await
}

async fn import_rows(args: &ImportArgs, rows: Vec<import::Row>) -> anyhow::Result<ExitCode> {
    eprintln!("{}: {} returns to submit", args.file.display(), rows.len());
    let client = Client::connect_as(&args.nats, Duration::from_secs(args.timeout)).await?;
    let report = import::submit_all(&client, rows).await?;
    print!("{report}");
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        Exit::Rejected.code()
    })
}

async fn project(args: ProjectArgs) -> anyhow::Result<()> {
    oversight::metrics::serve(args.metrics_addr)?;
    let client = Client::connect_as(&args.nats, Duration::from_secs(30)).await?;
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
    let checkpoints = oversight::project::Checkpoints {
        store,
        every: args.checkpoint_every,
    };
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let analytics = if args.no_analytics {
        projector::Analytics::Off
    } else {
        projector::Analytics::On
    };
    let mut views = tokio::spawn(oversight::project::run(
        client.clone(),
        oversight::log_source::LogSource::Nats(client),
        stop_rx,
        checkpoints,
        oversight::project::Feed::Nats,
        analytics,
    ));
    tokio::select! {
        result = &mut views => return result.context("the views task")?,
        () = shutdown_signal() => {}
    }
    // Stopping saves a last checkpoint.
    let _ = stop_tx.send(true);
    views.await.context("the views task")?
}

async fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let client = Client::connect_as(&args.nats, Duration::from_secs(args.timeout)).await?;
    let receipt = match &args.file {
        Some(path) => {
            let json = read_input(path).or_exit(Exit::Input)?;
            let org = org_of_json(&json)
                .with_context(|| {
                    format!("{}: no \"org\" field to send the return on", path.display())
                })
                .or_exit(Exit::Input)?;
            retry_busy(5, || client.submit_json(&org, json.clone())).await?
        }
        None => {
            let form = form_from_flags(&args).or_exit(Exit::Usage)?;
            retry_busy(5, || client.submit(&form)).await?
        }
    };
    report_receipt(&receipt, args.json)
}

async fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let client = Client::connect_as(&args.nats, Duration::from_secs(args.timeout)).await?;
    let json = read_input(&args.file).or_exit(Exit::Input)?;
    let org = org_of_json(&json)
        .with_context(|| {
            format!(
                "{}: no \"org\" field to send the plan on",
                args.file.display()
            )
        })
        .or_exit(Exit::Input)?;
    let receipt = retry_busy(5, || client.submit_plan_json(&org, json.clone())).await?;
    report_receipt(&receipt, args.json)
}

fn report_receipt(receipt: &Receipt, json: bool) -> anyhow::Result<ExitCode> {
    if json {
        println!("{}", serde_json::to_string(receipt)?);
    } else {
        print_receipt(receipt);
    }
    Ok(match receipt {
        Receipt::Accepted { .. } => ExitCode::SUCCESS,
        Receipt::Rejected { .. } => Exit::Rejected.code(),
        Receipt::Busy { .. } => Exit::Retry.code(),
    })
}

fn read_input(path: &PathBuf) -> anyhow::Result<Vec<u8>> {
    if path.as_os_str() == "-" {
        let mut buffer = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buffer)
            .context("reading the return from standard input")?;
        Ok(buffer)
    } else {
        std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))
    }
}

/// Only the `org` field, to pick the subject; the service checks the rest.
fn org_of_json(json: &[u8]) -> anyhow::Result<String> {
    #[derive(serde::Deserialize)]
    struct OrgOnly {
        org: String,
    }
    Ok(serde_json::from_slice::<OrgOnly>(json)?.org)
}

fn form_from_flags(args: &SubmitArgs) -> anyhow::Result<ReturnForm> {
    let (Some(org), Some(collection), Some(period)) = (&args.org, &args.collection, &args.period)
    else {
        bail!("--org, --collection and --period are needed without --file");
    };
    let values = args
        .values
        .iter()
        .map(|v| parse_value(v))
        .collect::<anyhow::Result<Vec<_>>>()?;
    let mut form = ReturnForm {
        schema_version: SCHEMA_VERSION,
        submission_id: String::new(),
        org: oversight::subjects::canonical_code(org),
        collection: collection.clone(),
        period: period.clone(),
        values,
    };
    form.submission_id = match &args.submission_id {
        Some(id) => id.clone(),
        None => content_submission_id(&form),
    };
    Ok(form)
}

/// Parses `METRIC=FIGURE` (see `oversight submit --help`).
fn parse_value(arg: &str) -> anyhow::Result<(String, Value)> {
    let (metric, figure) = arg
        .split_once('=')
        .with_context(|| format!("`{arg}`: expected METRIC=FIGURE"))?;
    let bad = || anyhow::anyhow!("`{arg}`: the figure must be N/D, N, Np (pence) or Ss/CASES");
    let number = |text: &str| text.trim().parse::<i64>().map_err(|_| bad());
    // Exactly as the importers read published figures: whole numbers or halves, nothing finer.
    let halves = |text: &str| -> anyhow::Result<Halves> {
        import::halves(text).map_err(|why| anyhow::anyhow!("`{arg}`: {why}"))
    };
    let value = if let Some((seconds, cases)) = figure.split_once("s/") {
        Value::Duration {
            seconds: number(seconds)?,
            cases: number(cases)?,
        }
    } else if let Some((n, d)) = figure.split_once('/') {
        Value::Ratio {
            numerator: halves(n)?,
            denominator: halves(d)?,
        }
    } else if let Some(pence) = figure.strip_suffix('p') {
        Value::Money {
            pence: number(pence)?,
        }
    } else {
        Value::Count(number(figure)?)
    };
    Ok((metric.trim().to_owned(), value))
}

fn print_receipt(receipt: &Receipt) {
    match receipt {
        Receipt::Accepted {
            seq,
            revision,
            duplicate: false,
            ..
        } => println!("accepted: seq {seq}, revision {revision}"),
        Receipt::Accepted {
            seq,
            revision,
            duplicate: true,
            ..
        } => {
            println!("accepted: seq {seq}, revision {revision} (already accepted earlier with this submission id; nothing new stored)")
        }
        Receipt::Rejected { reasons } => {
            println!(
                "rejected, nothing stored ({} reason{}):",
                reasons.len(),
                if reasons.len() == 1 { "" } else { "s" }
            );
            for r in reasons {
                let field = if r.field.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", r.field)
                };
                println!("  {}{field}: {}", r.code, r.message);
            }
        }
        Receipt::Busy { retry_after_ms } => {
            println!("busy: the service is at capacity; try again in {retry_after_ms} ms")
        }
    }
    if let Receipt::Accepted { notices, .. } = receipt {
        for notice in notices {
            println!("  note ({}): {}", notice.code.as_str(), notice.message);
        }
    }
}

async fn log(args: LogArgs) -> anyhow::Result<()> {
    let client = Client::connect_as(&args.nats, Duration::from_secs(10)).await?;
    let mut from = args.from.max(1);
    let mut remaining = args.max;
    while remaining > 0 {
        let page = client.read_log(from, remaining.min(1000) as u32).await?;
        if args.json {
            println!("{}", serde_json::to_string(&page)?);
        } else {
            for envelope in &page.entries {
                println!("{}", describe(envelope));
            }
        }
        let Some(last) = page.entries.last() else {
            break;
        };
        remaining -= page.entries.len() as u64;
        from = last.seq + 1;
        if last.seq >= page.last_seq {
            break;
        }
    }
    Ok(())
}

/// One line per entry, for people.
fn describe(envelope: &Envelope) -> String {
    let what = match &envelope.event {
        Event::ReturnSubmitted(s) => {
            let r = &s.ret;
            let values: Vec<String> = r.values.iter().map(|(id, v)| format!("{id} {v}")).collect();
            format!(
                "{} {} {} rev {} [{}]: {}",
                r.org,
                r.collection,
                r.period,
                s.revision,
                r.submission_id,
                values.join(", ")
            )
        }
        Event::RegionDefined(r) => format!("{} {}", r.code, r.name),
        Event::SystemDefined(s) => format!("{} in {}", s.code, s.region),
        Event::OrganisationRegistered(o) => {
            let closed = o
                .closed
                .map(|d| format!(", closed {d}"))
                .unwrap_or_default();
            format!(
                "{} {} ({:?}, {} {}, opened {}{closed})",
                o.code, o.name, o.role, o.region, o.system, o.opened
            )
        }
        Event::MetricDefined(m) => format!("{} ({}): {}", m.id, m.kind, m.name),
        Event::OrganisationMoved(m) => {
            format!("{} to {} {} from {}", m.code, m.region, m.system, m.from)
        }
        Event::PlanSubmitted(s) => {
            let p = &s.plan;
            let metrics: Vec<String> = p
                .trajectories
                .iter()
                .map(|(id, points)| {
                    let first = points.keys().next().map(|p| p.to_string());
                    let last = points.keys().last().map(|p| p.to_string());
                    format!(
                        "{id} {}..{}",
                        first.unwrap_or_default(),
                        last.unwrap_or_default()
                    )
                })
                .collect();
            format!(
                "{} plan {} rev {} [{}]: {}",
                p.org,
                p.plan,
                s.revision,
                p.submission_id,
                metrics.join(", ")
            )
        }
        Event::SegmentDecided(d) => {
            format!("{} segment {}: {}", d.org, d.segment, d.rationale)
        }
        Event::CollectionDefined(c) => format!(
            "{} ({:?}, due {} working days after): {}",
            c.id,
            c.period_kind,
            c.due_working_days,
            c.metrics.join(", ")
        ),
    };
    format!(
        "{:>8}  {}  {:<14}  {:<24}  {what}",
        envelope.seq,
        envelope.recorded_at,
        envelope.sender,
        envelope.event.kind()
    )
}
