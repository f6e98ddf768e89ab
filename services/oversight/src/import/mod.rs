//! Importers: published NHS files turned into returns and submitted through NATS like any trust
//! would, one return per organisation and period, with ids derived from the content, so a
//! re-import is a duplicate and a republished file with changed figures a new revision.
//!
//! A file is parsed whole before anything is sent: if any row cannot be read, every such row is
//! reported (file, line, column) and nothing is imported, because half a publication would make
//! regional totals silently wrong. Returns the service rejects are reported by line; the rest of
//! the file is still imported, since each return stands on its own.

pub mod ae;
pub mod ae_sheet;
pub mod cancer;
pub mod ods;
pub mod rtt;

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::time::Duration;

use futures_util::{stream, StreamExt};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use proto_schema::{
    Date, Halves, NoticeCode, OrgRole, Organisation, Reason, ReasonCode, Receipt, ReturnForm,
    UNASSIGNED,
};

use crate::client::{content_submission_id, retry_busy, Client, ClientError};
use crate::subjects;

/// Requests in flight while importing.
const IN_FLIGHT: usize = 64;

/// The date a site with no ODS record is registered as open from: the founding of the NHS, so
/// that every period a published file can hold falls inside it.
const NHS_FOUNDED: (i32, u8, u8) = (1948, 7, 5);

/// One return built from a file, with where it came from.
#[derive(Debug, Clone)]
pub struct Row {
    /// The line of the file the return was built from (its first line when several were summed).
    pub line: u64,
    pub form: ReturnForm,
    /// How to register the site if the reference data does not know it.
    pub site: Site,
}

/// A site as a file names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Site {
    pub code: String,
    pub name: String,
    /// A region code, or `unassigned` when the file names none.
    pub region: String,
}

/// A row that cannot be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadRow {
    pub line: u64,
    pub column: String,
    pub message: String,
}

/// Every unreadable row of a file.
#[derive(Debug)]
pub struct BadFile {
    pub file: String,
    pub rows: Vec<BadRow>,
}

impl fmt::Display for BadFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{}: {} row(s) cannot be read; nothing was imported",
            self.file,
            self.rows.len()
        )?;
        for row in self.rows.iter().take(20) {
            writeln!(
                f,
                "  {}:{}: column {}: {}",
                self.file, row.line, row.column, row.message
            )?;
        }
        if self.rows.len() > 20 {
            writeln!(f, "  ... and {} more", self.rows.len() - 20)?;
        }
        Ok(())
    }
}

impl std::error::Error for BadFile {}

/// What an import did.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Report {
    pub returns: usize,
    pub accepted: usize,
    /// Already accepted with the same figures (a re-import).
    pub duplicates: usize,
    /// (line, organisation, period) of the returns already there whose figures a later revision
    /// has replaced: the figures in force are not the file's.
    pub superseded: Vec<(u64, String, String)>,
    /// Accepted as a later revision of a period already submitted.
    pub revisions: usize,
    /// Sites registered because the reference data did not know them.
    pub registered: Vec<String>,
    /// (line, organisation, reasons) of each return the service refused.
    pub rejected: Vec<(u64, String, Vec<Reason>)>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} returns: {} accepted ({} as revisions), {} already there, {} rejected; {} sites registered",
            self.returns,
            self.accepted,
            self.revisions,
            self.duplicates,
            self.rejected.len(),
            self.registered.len()
        )?;
        if !self.superseded.is_empty() {
            writeln!(
                f,
                "{} of those already there have been replaced by a later revision, so the figures in force are not this file's:",
                self.superseded.len()
            )?;
            for (line, org, period) in self.superseded.iter().take(20) {
                writeln!(f, "  line {line} ({org} {period})")?;
            }
            if self.superseded.len() > 20 {
                writeln!(f, "  ... and {} more", self.superseded.len() - 20)?;
            }
        }
        write!(f, "{}", self.rejections())
    }
}

impl Report {
    /// The first rejections, one line per reason.
    pub fn rejections(&self) -> Rejections<'_> {
        Rejections(&self.rejected)
    }
}

/// Rejected rows as an importer prints them.
#[derive(Debug)]
pub struct Rejections<'a>(&'a [(u64, String, Vec<Reason>)]);

impl fmt::Display for Rejections<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (line, code, reasons) in self.0.iter().take(20) {
            for reason in reasons {
                writeln!(
                    f,
                    "  line {line} ({code}): {} [{}]: {}",
                    reason.code.as_str(),
                    reason.field,
                    reason.message
                )?;
            }
        }
        if self.0.len() > 20 {
            writeln!(f, "  ... and {} more", self.0.len() - 20)?;
        }
        Ok(())
    }
}

/// Reads a file whole, naming it in the error.
pub fn read(path: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))
}

/// Submits every row, registering unknown sites on the way, with a progress bar on a terminal.
pub async fn submit_all(client: &Client, rows: Vec<Row>) -> Result<Report, ClientError> {
    let mut report = Report {
        returns: rows.len(),
        registered: register_unknown_sites(client, &rows).await?,
        ..Report::default()
    };
    let progress = progress_bar(rows.len() as u64);
    let mut results = stream::iter(rows.into_iter().map(|mut row| {
        row.form.submission_id = content_submission_id(&row.form);
        async move {
            let receipt = submit_registering(client, &row).await;
            (row, receipt)
        }
    }))
    .buffer_unordered(IN_FLIGHT);
    while let Some((row, outcome)) = results.next().await {
        progress.inc(1);
        let (receipt, registered) = outcome?;
        if registered {
            report.registered.push(row.site.code.clone());
        }
        match receipt {
            Receipt::Accepted {
                duplicate: true,
                notices,
                ..
            } => {
                report.duplicates += 1;
                if notices.iter().any(|n| n.code == NoticeCode::Superseded) {
                    report.superseded.push((
                        row.line,
                        row.form.org.clone(),
                        row.form.period.clone(),
                    ));
                }
            }
            Receipt::Accepted { revision, .. } => {
                report.accepted += 1;
                if revision > 1 {
                    report.revisions += 1;
                }
            }
            Receipt::Rejected { reasons } => {
                report.rejected.push((row.line, row.form.org, reasons))
            }
            Receipt::Busy { .. } => {
                return Err(ClientError::Request {
                    subject: subjects::submit(&row.form.org),
                    message:
                        "the service stayed busy; run the import again (what was accepted is kept)"
                            .into(),
                })
            }
        }
    }
    progress.finish_and_clear();
    report.rejected.sort_by_key(|(line, _, _)| *line);
    report.superseded.sort();
    report.registered.sort();
    report.registered.dedup();
    Ok(report)
}

/// Codes asked about in one look-up, well inside any payload limit.
const LOOK_UP_CODES: usize = 1_000;

/// Registers the sites the service does not know before any of their returns is sent, so none
/// is refused (and counted as refused) for an unknown organisation. An account that may not look
/// organisations up registers on refusal instead (see `submit_registering`).
async fn register_unknown_sites(client: &Client, rows: &[Row]) -> Result<Vec<String>, ClientError> {
    let mut unknown: BTreeMap<&str, &Site> = rows
        .iter()
        .map(|row| (row.site.code.as_str(), &row.site))
        .collect();
    let codes: Vec<String> = unknown.keys().map(|code| (*code).to_owned()).collect();
    for chunk in codes.chunks(LOOK_UP_CODES) {
        match client.look_up_organisations(chunk).await {
            Ok(known) => {
                for organisation in &known {
                    unknown.remove(organisation.code.as_str());
                }
            }
            Err(ClientError::NotPermitted { .. }) => return Ok(Vec::new()),
            Err(error) => return Err(error),
        }
    }
    let mut registered = Vec::new();
    for site in unknown.values() {
        // A refused registration leaves its returns to be refused, each with its reason.
        if let Receipt::Accepted { .. } = register(client, site).await? {
            registered.push(site.code.clone());
        }
    }
    Ok(registered)
}

/// Submits one return; if its organisation is unknown, registers the site and submits again.
async fn submit_registering(client: &Client, row: &Row) -> Result<(Receipt, bool), ClientError> {
    let receipt = retry_busy(20, || client.submit(&row.form)).await?;
    let unknown = matches!(&receipt, Receipt::Rejected { reasons }
        if reasons.iter().any(|r| r.code == ReasonCode::UnknownOrganisation));
    if !unknown {
        return Ok((receipt, false));
    }
    match register(client, &row.site).await? {
        Receipt::Accepted { .. } => {}
        refused => return Ok((refused, false)),
    }
    Ok((retry_busy(20, || client.submit(&row.form)).await?, true))
}

/// Registers a site the reference data does not know, as a provider.
pub async fn register(client: &Client, site: &Site) -> Result<Receipt, ClientError> {
    let (year, month, day) = NHS_FOUNDED;
    let organisation = Organisation {
        code: site.code.clone(),
        name: site.name.clone(),
        role: OrgRole::Provider,
        system: UNASSIGNED.to_owned(),
        region: site.region.clone(),
        opened: Date::new(year, month, day).unwrap_or_else(|| Date::from_days_since_epoch(0)),
        closed: None,
    };
    client
        .admin(subjects::REGISTER_ORGANISATION, &organisation)
        .await
}

fn progress_bar(len: u64) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(Some(len), ProgressDrawTarget::stderr());
    if let Ok(style) =
        ProgressStyle::with_template("{bar:40} {pos}/{len} returns {per_sec} eta {eta}")
    {
        bar.set_style(style);
    }
    bar.enable_steady_tick(Duration::from_millis(200));
    bar
}

/// Parses a whole number as published: thousands separators and spaces allowed; empty is zero.
pub fn whole_number(text: &str) -> Result<i64, String> {
    let cleaned: String = text
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    if cleaned.is_empty() {
        return Ok(0);
    }
    cleaned
        .parse::<i64>()
        .map_err(|_| format!("`{text}` is not a whole number"))
}

/// Parses a figure that may be a half (`12.5`), exactly: anything finer is refused.
pub fn halves(text: &str) -> Result<Halves, String> {
    let cleaned: String = text
        .chars()
        .filter(|c| *c != ',' && !c.is_whitespace())
        .collect();
    let refuse = || format!("`{text}` is not a whole number or a half (such as 12.5)");
    let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
    let whole: i64 = if whole.is_empty() {
        0
    } else {
        whole.parse().map_err(|_| refuse())?
    };
    let half = match fraction.trim_end_matches('0') {
        "" => 0,
        "5" => 1,
        _ => return Err(refuse()),
    };
    let sign = if cleaned.starts_with('-') { -1 } else { 1 };
    Ok(Halves(whole.saturating_mul(2).saturating_add(sign * half)))
}

/// `2026-03-01` -> `2026-03`.
pub fn month_of(date: &str) -> Option<String> {
    let date = Date::parse(date.trim()).ok()?;
    Some(format!("{:04}-{:02}", date.year(), date.month()))
}

/// A CSV record with its line, or the row that cannot be read:
/// `reader.records().map(numbered)`.
pub(crate) fn numbered(
    record: Result<csv::StringRecord, csv::Error>,
) -> Result<(u64, csv::StringRecord), BadRow> {
    match record {
        Ok(record) => Ok((record.position().map_or(0, |p| p.line()), record)),
        Err(e) => Err(csv_error(e.position().map_or(0, |p| p.line()), &e)),
    }
}

pub(crate) fn csv_error(line: u64, e: &csv::Error) -> BadRow {
    BadRow {
        line,
        column: "-".into(),
        message: format!("not CSV: {e}"),
    }
}

/// A CSV reader that trims every field.
pub(crate) fn csv_reader(text: &str) -> csv::Reader<&[u8]> {
    csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::All)
        .from_reader(text.as_bytes())
}

/// The headers and the position of each named column, or why the file is not of this kind.
pub(crate) fn columns<const N: usize>(
    reader: &mut csv::Reader<&[u8]>,
    names: [&str; N],
    kind: &str,
) -> Result<(csv::StringRecord, [usize; N]), Vec<BadRow>> {
    let headers = reader
        .headers()
        .map_err(|e| vec![csv_error(1, &e)])?
        .clone();
    let mut index = [0; N];
    let mut missing = Vec::new();
    for (slot, name) in index.iter_mut().zip(names) {
        match headers.iter().position(|h| h.eq_ignore_ascii_case(name)) {
            Some(i) => *slot = i,
            None => missing.push(BadRow {
                line: 1,
                column: name.into(),
                message: format!("column missing from the header: not {kind}"),
            }),
        }
    }
    if missing.is_empty() {
        Ok((headers, index))
    } else {
        Err(missing)
    }
}
