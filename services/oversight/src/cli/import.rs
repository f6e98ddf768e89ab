//! `oversight import`: published NHS files submitted as returns.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Subcommand;

use crate::client::Client;
use crate::config::NatsArgs;
use crate::exit::{Exit, ExitOnError};
use crate::import;

#[derive(Debug, Subcommand)]
pub enum ImportCommand {
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
pub struct ImportArgs {
    #[command(flatten)]
    nats: NatsArgs,
    /// The CSV file, as published.
    file: PathBuf,
    /// Seconds to wait for each receipt.
    #[arg(long, default_value_t = 30)]
    timeout: u64,
}

#[derive(Debug, clap::Args)]
pub struct AeImportArgs {
    #[command(flatten)]
    import: ImportArgs,
    /// The month of a provider spreadsheet whose file name does not say it, such as 2025-10
    /// (the other layouts name their month in every row).
    #[arg(long, value_name = "YYYY-MM")]
    period: Option<String>,
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
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(args.timeout)).await?;
    let report = import::submit_all(&client, rows).await?;
    print!("{report}");
    Ok(if report.rejected.is_empty() {
        ExitCode::SUCCESS
    } else {
        Exit::Rejected.code()
    })
}

/// `oversight import <kind> FILE`.
pub async fn run(command: ImportCommand) -> anyhow::Result<ExitCode> {
    match command {
        ImportCommand::Ae(args) => import_ae(args).await,
        ImportCommand::Ods(args) => import_ods(args).await,
        ImportCommand::Rtt(args) => {
            let text = import::read(&args.file).or_exit(Exit::Input)?;
            let rows =
                import::rtt::parse(&args.file.display().to_string(), &text).or_exit(Exit::Input)?;
            import_rows(&args, rows).await
        }
        ImportCommand::Cancer(args) => {
            let text = import::read(&args.file).or_exit(Exit::Input)?;
            let rows = import::cancer::parse(&args.file.display().to_string(), &text)
                .or_exit(Exit::Input)?;
            import_rows(&args, rows).await
        }
    }
}

async fn import_ods(args: ImportArgs) -> anyhow::Result<ExitCode> {
    let text = import::read(&args.file).or_exit(Exit::Input)?;
    let name = args.file.display().to_string();
    let file =
        import::ods::parse(&name, &text, import::ods::role_of(&name)).or_exit(Exit::Input)?;
    eprintln!(
        "{name}: {} systems, {} organisations ({} rows outside England skipped)",
        file.systems.len(),
        file.organisations.len(),
        file.skipped_outside_england
    );
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(args.timeout)).await?;
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
