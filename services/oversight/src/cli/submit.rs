//! `oversight submit` and `oversight plan`: one return, or one plan, and its receipt.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{bail, Context};
use proto_schema::{Halves, ReturnForm, Value, SCHEMA_VERSION};

use super::{read_input, report_receipt};
use crate::client::{content_submission_id, retry_busy, Client};
use crate::config::NatsArgs;
use crate::exit::{Exit, ExitOnError};
use crate::import;

#[derive(Debug, clap::Args)]
pub struct SubmitArgs {
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
pub struct PlanArgs {
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

pub async fn submit(args: SubmitArgs) -> anyhow::Result<ExitCode> {
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(args.timeout)).await?;
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

pub async fn plan(args: PlanArgs) -> anyhow::Result<ExitCode> {
    let client = Client::connect_as(&args.nats.target(), Duration::from_secs(args.timeout)).await?;
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
        org: crate::subjects::canonical_code(org),
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
