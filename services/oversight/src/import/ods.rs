//! ODS organisation files (`etr.csv` for trusts, `eccg.csv` for CCGs): each system they name is
//! defined and each organisation registered through `oversight.admin.*`. What the reference data
//! already holds comes back as a duplicate; a changed row (a closure, a new system) is recorded
//! as a new registration.

use std::collections::BTreeSet;

use ingest::seed::{ods_organisations, ReferenceFiles};
use proto_schema::{OrgRole, Organisation, Receipt, System};

use super::{BadFile, BadRow, Report};
use crate::client::{Client, ClientError};
use crate::subjects;

/// What an ODS file holds, read whole.
#[derive(Debug, Clone)]
pub struct OdsFile {
    pub organisations: Vec<(u64, Organisation)>,
    /// (system, region).
    pub systems: Vec<(String, String)>,
    /// Rows with no English region (Welsh trusts).
    pub skipped_outside_england: usize,
}

/// The role a file's organisations take: CCG files (`eccg`) hold commissioners.
pub fn role_of(file: &str) -> OrgRole {
    if file.to_ascii_lowercase().contains("ccg") {
        OrgRole::Commissioner
    } else {
        OrgRole::Provider
    }
}

/// Parses a whole file, or names the row that cannot be read.
pub fn parse(file: &str, text: &str, role: OrgRole) -> Result<OdsFile, BadFile> {
    let regions: BTreeSet<String> =
        csv::Reader::from_reader(ReferenceFiles::bundled().regions.as_bytes())
            .records()
            .filter_map(Result::ok)
            .filter_map(|row| row.get(0).map(|code| code.trim().to_owned()))
            .collect();
    let rows = ods_organisations(file, text, role, &regions).map_err(|e| BadFile {
        file: file.to_owned(),
        rows: vec![BadRow {
            line: e.line,
            column: "-".into(),
            message: e.message,
        }],
    })?;
    Ok(OdsFile {
        organisations: rows.organisations,
        systems: rows.systems.into_iter().collect(),
        skipped_outside_england: rows.skipped_outside_england,
    })
}

/// Defines the systems, then registers the organisations.
pub async fn submit(client: &Client, file: OdsFile) -> Result<Report, ClientError> {
    let mut report = Report {
        returns: file.systems.len() + file.organisations.len(),
        ..Report::default()
    };
    for (code, region) in &file.systems {
        let system = System {
            code: code.clone(),
            name: code.clone(),
            region: region.clone(),
        };
        let receipt = client.admin(subjects::DEFINE_SYSTEM, &system).await?;
        tally(&mut report, 0, code, receipt);
    }
    for (line, organisation) in &file.organisations {
        let receipt = client
            .admin(subjects::REGISTER_ORGANISATION, organisation)
            .await?;
        tally(&mut report, *line, &organisation.code, receipt);
    }
    Ok(report)
}

fn tally(report: &mut Report, line: u64, code: &str, receipt: Receipt) {
    match receipt {
        Receipt::Accepted {
            duplicate: true, ..
        } => report.duplicates += 1,
        Receipt::Accepted { .. } => {
            report.accepted += 1;
            report.registered.push(code.to_owned());
        }
        Receipt::Rejected { reasons } => report.rejected.push((line, code.to_owned(), reasons)),
        Receipt::Busy { .. } => {}
    }
}
