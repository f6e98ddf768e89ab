//! Reference data for an empty log: the regions, the systems and organisations from the ODS
//! extracts, and the metrics of data standard v1, as events.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use proto_schema::{
    collections_v1, data_standard_v1, methodologies_v1, Date, Event, OrgRole, Organisation, Region,
    System, TrustType, TrustTypeSet,
};

/// The reference files, by name, as `regions.csv`, `etr.csv`, `eccg.csv` and
/// `trust_types.csv`.
#[derive(Debug, Clone)]
pub struct ReferenceFiles {
    pub regions: String,
    pub trusts: String,
    pub ccgs: String,
    /// `code,trust_type`; empty when a directory has none (no trust ranked until one is set).
    pub trust_types: String,
}

impl ReferenceFiles {
    /// The files shipped in `deploy/reference/`, compiled in.
    pub fn bundled() -> ReferenceFiles {
        ReferenceFiles {
            regions: include_str!("../../../deploy/reference/regions.csv").to_owned(),
            trusts: include_str!("../../../deploy/reference/etr.csv").to_owned(),
            ccgs: include_str!("../../../deploy/reference/eccg.csv").to_owned(),
            trust_types: include_str!("../../../deploy/reference/trust_types.csv").to_owned(),
        }
    }

    /// The same files from a directory (`trust_types.csv` may be absent).
    pub fn from_dir(dir: &Path) -> Result<ReferenceFiles, SeedError> {
        let read = |name: &str| {
            let path = dir.join(name);
            std::fs::read_to_string(&path).map_err(|e| SeedError {
                file: path.display().to_string(),
                line: 0,
                message: e.to_string(),
            })
        };
        Ok(ReferenceFiles {
            regions: read("regions.csv")?,
            trusts: read("etr.csv")?,
            ccgs: read("eccg.csv")?,
            trust_types: if dir.join("trust_types.csv").exists() {
                read("trust_types.csv")?
            } else {
                String::new()
            },
        })
    }
}

/// A reference file that cannot be read, with where.
#[derive(Debug, thiserror::Error)]
#[error("{file}, line {line}: {message}")]
pub struct SeedError {
    pub file: String,
    pub line: u64,
    pub message: String,
}

/// What seeding produced, for the start-up log.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct SeedSummary {
    pub regions: usize,
    pub systems: usize,
    pub organisations: usize,
    pub metrics: usize,
    pub collections: usize,
    pub methodologies: usize,
    pub trust_types: usize,
    /// Rows with no English region (Welsh trusts in the trust list).
    pub skipped_outside_england: usize,
}

/// The events that seed an empty log, in order: regions, systems, organisations, metrics,
/// collections, methodologies, trust types.
pub fn seed_events(files: &ReferenceFiles) -> Result<(Vec<Event>, SeedSummary), SeedError> {
    let mut summary = SeedSummary::default();
    let mut events = Vec::new();

    let mut regions = BTreeMap::new();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(files.regions.as_bytes());
    for row in reader.records() {
        let row = row.map_err(|e| csv_error("regions.csv", &e))?;
        let line = row.position().map_or(0, |p| p.line());
        let (Some(code), Some(name)) = (row.get(0), row.get(1)) else {
            return Err(SeedError {
                file: "regions.csv".into(),
                line,
                message: "expected code,name".into(),
            });
        };
        regions.insert(code.trim().to_owned(), name.trim().to_owned());
    }
    for (code, name) in &regions {
        events.push(Event::RegionDefined(Region {
            code: code.clone(),
            name: name.clone(),
        }));
    }
    summary.regions = regions.len();

    let mut organisations = Vec::new();
    let mut systems = BTreeMap::new();
    let known: BTreeSet<String> = regions.keys().cloned().collect();
    for (file, text, role) in [
        ("etr.csv", &files.trusts, OrgRole::Provider),
        ("eccg.csv", &files.ccgs, OrgRole::Commissioner),
    ] {
        let rows = ods_organisations(file, text, role, &known)?;
        summary.skipped_outside_england += rows.skipped_outside_england;
        for (system, region) in rows.systems {
            match systems.get(&system) {
                Some(known) if *known != region => {
                    return Err(SeedError {
                        file: file.into(),
                        line: 0,
                        message: format!(
                            "system `{system}` is in region {known} in one file but {region} in another"
                        ),
                    });
                }
                _ => {
                    systems.insert(system, region);
                }
            }
        }
        organisations.extend(rows.organisations.into_iter().map(|(_, org)| org));
    }
    for (code, region) in &systems {
        events.push(Event::SystemDefined(System {
            code: code.clone(),
            name: code.clone(),
            region: region.clone(),
        }));
    }
    summary.systems = systems.len();
    summary.organisations = organisations.len();
    events.extend(organisations.into_iter().map(Event::OrganisationRegistered));

    let metrics = data_standard_v1();
    summary.metrics = metrics.len();
    events.extend(metrics.into_iter().map(Event::MetricDefined));
    let collections = collections_v1();
    summary.collections = collections.len();
    events.extend(collections.into_iter().map(Event::CollectionDefined));
    let methodologies = methodologies_v1();
    summary.methodologies = methodologies.len();
    events.extend(methodologies.into_iter().map(Event::MethodologyDefined));
    let registered: BTreeSet<String> = events
        .iter()
        .filter_map(|e| match e {
            Event::OrganisationRegistered(o) => Some(o.code.clone()),
            _ => None,
        })
        .collect();
    let trust_types = trust_type_events(&files.trust_types, |code| registered.contains(code))?;
    summary.trust_types = trust_types.len();
    events.extend(trust_types);
    Ok((events, summary))
}

/// The trust types of `trust_types.csv` (`code,trust_type`) for the organisations `registered`
/// holds, as events; rows for others are left out.
pub fn trust_type_events(
    text: &str,
    registered: impl Fn(&str) -> bool,
) -> Result<Vec<Event>, SeedError> {
    let mut events = Vec::new();
    if text.trim().is_empty() {
        return Ok(events);
    }
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .from_reader(text.as_bytes());
    for row in reader.records() {
        let row = row.map_err(|e| csv_error("trust_types.csv", &e))?;
        let line = row.position().map_or(0, |p| p.line());
        let (Some(code), Some(kind)) = (row.get(0), row.get(1)) else {
            return Err(SeedError {
                file: "trust_types.csv".into(),
                line,
                message: "expected code,trust_type".into(),
            });
        };
        let Some(trust_type) = TrustType::parse(kind.trim()) else {
            return Err(SeedError {
                file: "trust_types.csv".into(),
                line,
                message: format!(
                    "trust type `{}` is not acute, non_acute, ambulance or commissioner",
                    proto_schema::printable(kind)
                ),
            });
        };
        let code = code.trim();
        if registered(code) {
            events.push(Event::TrustTypeSet(TrustTypeSet {
                org: code.to_owned(),
                trust_type,
            }));
        }
    }
    Ok(events)
}

/// What one ODS file holds: its organisations (with their lines), the systems they name (with
/// their regions), and how many rows had no English region.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OdsRows {
    pub organisations: Vec<(u64, Organisation)>,
    pub systems: BTreeMap<String, String>,
    pub skipped_outside_england: usize,
}

/// Reads one headerless ODS file (`etr.csv`, `eccg.csv`): columns 1 code, 2 name, 3 region,
/// 4 system, 11 open date and 12 close date (`YYYYMMDD`). Rows whose region is not one of
/// `regions` (Welsh trusts) are skipped and counted.
pub fn ods_organisations(
    file: &str,
    text: &str,
    role: OrgRole,
    regions: &BTreeSet<String>,
) -> Result<OdsRows, SeedError> {
    let mut rows = OdsRows::default();
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(text.as_bytes());
    for row in reader.records() {
        let row = row.map_err(|e| csv_error(file, &e))?;
        let line = row.position().map_or(0, |p| p.line());
        let field = |i: usize| row.get(i).map(str::trim).unwrap_or("");
        let fail = |message: String| SeedError {
            file: file.into(),
            line,
            message,
        };
        let (code, name, region, system) = (field(0), field(1), field(2), field(3));
        if code.is_empty() {
            return Err(fail("the organisation code (column 1) is empty".into()));
        }
        if !regions.contains(region) {
            rows.skipped_outside_england += 1;
            continue;
        }
        if system.is_empty() {
            return Err(fail(format!(
                "`{code}` has a region but no system (column 4)"
            )));
        }
        let opened = ods_date(field(10)).ok_or_else(|| {
            fail(format!(
                "`{code}`: open date `{}` (column 11) is not YYYYMMDD",
                field(10)
            ))
        })?;
        let closed = match field(11) {
            "" => None,
            text => Some(ods_date(text).ok_or_else(|| {
                fail(format!(
                    "`{code}`: close date `{text}` (column 12) is not YYYYMMDD"
                ))
            })?),
        };
        match rows.systems.get(system) {
            Some(known) if known != region => {
                return Err(fail(format!(
                    "system `{system}` is in region {known} elsewhere but {region} here"
                )));
            }
            _ => {
                rows.systems.insert(system.to_owned(), region.to_owned());
            }
        }
        rows.organisations.push((
            line,
            Organisation {
                code: code.to_owned(),
                name: name.to_owned(),
                role,
                system: system.to_owned(),
                region: region.to_owned(),
                opened,
                closed,
            },
        ));
    }
    Ok(rows)
}

fn csv_error(file: &str, e: &csv::Error) -> SeedError {
    SeedError {
        file: file.into(),
        line: e.position().map_or(0, |p| p.line()),
        message: e.to_string(),
    }
}

/// ODS dates are `YYYYMMDD`.
fn ods_date(text: &str) -> Option<Date> {
    if text.len() != 8 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Date::parse(&format!("{}-{}-{}", &text[0..4], &text[4..6], &text[6..8])).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_files_seed_england() {
        let (events, summary) =
            seed_events(&ReferenceFiles::bundled()).expect("bundled files are valid");
        assert_eq!(summary.regions, 7);
        assert_eq!(summary.systems, 42);
        assert_eq!(summary.skipped_outside_england, 3);
        assert_eq!(summary.organisations, 273 + 320 - 3);
        assert_eq!(summary.metrics, 13);
        assert_eq!(summary.collections, 8);
        assert_eq!(summary.methodologies, 3);
        // Every English trust has a trust type; the Welsh rows are not registered.
        assert_eq!(summary.trust_types, 273 - 3);
        assert_eq!(events.len(), 7 + 42 + 590 + 13 + 8 + 3 + 270);
        let type_of = |code: &str| {
            events.iter().find_map(|e| match e {
                Event::TrustTypeSet(t) if t.org == code => Some(t.trust_type),
                _ => None,
            })
        };
        assert_eq!(type_of("RJ1"), Some(TrustType::Acute));
        assert_eq!(type_of("RRU"), Some(TrustType::Ambulance));
        assert_eq!(type_of("RV3"), Some(TrustType::NonAcute));
        let darlington = events.iter().find_map(|e| match e {
            Event::OrganisationRegistered(o) if o.code == "00C" => Some(o.clone()),
            _ => None,
        });
        let darlington = darlington.expect("00C is in eccg.csv");
        assert_eq!(darlington.role, OrgRole::Commissioner);
        assert_eq!(
            darlington.closed.map(|d| d.to_string()),
            Some("2020-03-31".into())
        );
    }

    #[test]
    fn a_bad_row_names_its_file_and_line() {
        let mut files = ReferenceFiles::bundled();
        files.trusts = "\"RJ1\",\"GUY'S\",\"Y56\",\"QMJ\",,,,,,,\"1994-04-01\",\"\"\n".into();
        let err = seed_events(&files).expect_err("bad date");
        assert_eq!((err.file.as_str(), err.line), ("etr.csv", 1));
        assert!(err.message.contains("open date"), "{err}");
    }
}
