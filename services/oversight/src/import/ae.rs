//! NHS England monthly A&E files: the MSitAE layout (2020 on, one row per site and month, with
//! booked appointments) and the 2016–2019 provider layout (one row per provider, month and
//! department type). The layout is recognised from the header.

use std::collections::BTreeMap;

use proto_schema::{Halves, ReturnForm, Value, SCHEMA_VERSION, UNASSIGNED};

use super::{whole_number, BadFile, BadRow, Row, Site};

/// The collection A&E returns are filed under.
pub const COLLECTION: &str = "ae-monthly";

/// The published layouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Layout {
    /// `Period,Org Code,Parent Org,Org name,A&E attendances Type 1,...`
    MonthlySitrep,
    /// `"period","org_code","type","attendances","breaches","admissions"`
    Provider2016To2019,
    /// NHS England's provider spreadsheet (or its sheet saved as CSV): `Code,Region,Name,...`
    /// under title rows, with no period column ([`super::ae_sheet`]).
    ProviderSheet,
}

/// The regions as MSitAE's `Parent Org` names them, with their codes.
const PARENT_ORGS: [(&str, &str); 7] = [
    ("NHS ENGLAND LONDON", "Y56"),
    ("NHS ENGLAND SOUTH WEST", "Y58"),
    ("NHS ENGLAND SOUTH EAST", "Y59"),
    ("NHS ENGLAND MIDLANDS", "Y60"),
    ("NHS ENGLAND EAST OF ENGLAND", "Y61"),
    ("NHS ENGLAND NORTH WEST", "Y62"),
    ("NHS ENGLAND NORTH EAST AND YORKSHIRE", "Y63"),
];

const MONTHS: [&str; 12] = [
    "JANUARY",
    "FEBRUARY",
    "MARCH",
    "APRIL",
    "MAY",
    "JUNE",
    "JULY",
    "AUGUST",
    "SEPTEMBER",
    "OCTOBER",
    "NOVEMBER",
    "DECEMBER",
];

/// The figures of one site and month, summed over department types.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Attendances {
    /// All attendances, booked appointments included.
    pub attendances: i64,
    /// Attendances over 4 hours.
    pub over_4_hours: i64,
    /// Waits of 12 hours or more from decision to admit; absent from the 2016–2019 layout.
    pub waits_12_hours_dta: Option<i64>,
    /// Emergency admissions via A&E.
    pub admissions: i64,
}

impl Attendances {
    /// The return these figures make. A site with no attendances reports no 4-hour ratio.
    pub fn to_form(&self, org: &str, period: &str) -> ReturnForm {
        let mut values = Vec::new();
        if self.attendances > 0 {
            values.push((
                "ae_4hr".to_owned(),
                Value::Ratio {
                    numerator: Halves::whole(self.attendances - self.over_4_hours),
                    denominator: Halves::whole(self.attendances),
                },
            ));
        }
        if let Some(waits) = self.waits_12_hours_dta {
            values.push(("ae_12hr_dta".to_owned(), Value::Count(waits)));
        }
        values.push((
            "ae_emergency_admissions".to_owned(),
            Value::Count(self.admissions),
        ));
        ReturnForm {
            schema_version: SCHEMA_VERSION,
            submission_id: String::new(),
            org: org.to_owned(),
            collection: COLLECTION.to_owned(),
            period: period.to_owned(),
            values,
        }
    }
}

/// A parsed file: the returns, and the national total row where the layout has one.
#[derive(Debug, Clone)]
pub struct Parsed {
    pub layout: Layout,
    pub rows: Vec<Row>,
    /// MSitAE's `TOTAL` row, by period.
    pub totals: BTreeMap<String, Attendances>,
}

/// Recognises the layout from the header line.
pub fn layout(text: &str) -> Option<Layout> {
    let header = text
        .lines()
        .next()?
        .trim_start_matches('\u{feff}')
        .to_ascii_lowercase();
    if header.starts_with("period,org code,parent org") {
        Some(Layout::MonthlySitrep)
    } else if header
        .replace('"', "")
        .starts_with("period,org_code,type,attendances,breaches,admissions")
    {
        Some(Layout::Provider2016To2019)
    } else if super::ae_sheet::Table::from_csv(text).is_ok_and(|t| t.is_provider_sheet()) {
        Some(Layout::ProviderSheet)
    } else {
        None
    }
}

/// Parses a whole file, or names every row that cannot be read.
pub fn parse(file: &str, text: &str) -> Result<Parsed, BadFile> {
    parse_for(file, text, None)
}

/// [`parse`], with the month of a provider sheet whose name does not say it.
pub fn parse_for(file: &str, text: &str, period: Option<&str>) -> Result<Parsed, BadFile> {
    let bad = |rows| BadFile {
        file: file.to_owned(),
        rows,
    };
    match layout(text) {
        Some(Layout::ProviderSheet) => {
            let table = super::ae_sheet::Table::from_csv(text).map_err(|row| bad(vec![row]))?;
            super::ae_sheet::parse(file, &table, period)
        }
        Some(Layout::MonthlySitrep) => parse_sitrep(text).map_err(bad),
        Some(Layout::Provider2016To2019) => parse_2016_2019(text).map_err(bad),
        None => Err(bad(vec![BadRow {
            line: 1,
            column: "header".into(),
            message: "not an A&E file: expected the MSitAE header (Period,Org Code,Parent Org,...), the 2016-2019 provider header (period,org_code,type,attendances,breaches,admissions), or the provider sheet's (Code, Region, Name, ... Total attendances ...)".into(),
        }])),
    }
}

/// Column positions of an MSitAE file, found by header name.
struct SitrepColumns {
    period: usize,
    org: usize,
    parent: usize,
    name: usize,
    attendances: Vec<usize>,
    over_4: Vec<usize>,
    waits_12: usize,
    admissions: Vec<usize>,
}

fn sitrep_columns(headers: &csv::StringRecord) -> Result<SitrepColumns, BadRow> {
    let find = |name: &str| {
        headers
            .iter()
            .position(|h| h.eq_ignore_ascii_case(name))
            .ok_or_else(|| BadRow {
                line: 1,
                column: name.into(),
                message: "column missing from the header".into(),
            })
    };
    let starting = |prefix: &str| -> Vec<usize> {
        headers
            .iter()
            .enumerate()
            .filter(|(_, h)| h.to_ascii_lowercase().starts_with(prefix))
            .map(|(i, _)| i)
            .collect()
    };
    let columns = SitrepColumns {
        period: find("Period")?,
        org: find("Org Code")?,
        parent: find("Parent Org")?,
        name: find("Org name")?,
        attendances: starting("a&e attendances"),
        over_4: starting("attendances over 4hrs"),
        waits_12: find("Patients who have waited 12+ hrs from DTA to admission")?,
        admissions: starting("emergency admissions via a&e"),
    };
    if columns.attendances.is_empty() || columns.over_4.is_empty() || columns.admissions.is_empty()
    {
        return Err(BadRow {
            line: 1,
            column: "header".into(),
            message: "no A&E attendances, over-4-hours or emergency-admissions columns".into(),
        });
    }
    Ok(columns)
}

fn parse_sitrep(text: &str) -> Result<Parsed, Vec<BadRow>> {
    let mut reader = super::csv_reader(text);
    let headers = reader
        .headers()
        .map_err(|e| vec![super::csv_error(1, &e)])?
        .clone();
    let columns = sitrep_columns(&headers).map_err(|e| vec![e])?;
    let mut rows = Vec::new();
    let mut totals = BTreeMap::new();
    let mut bad = Vec::new();
    for row in reader.records().map(super::numbered) {
        let (line, record) = match row {
            Ok(row) => row,
            Err(unreadable) => {
                bad.push(unreadable);
                continue;
            }
        };
        let field = |i: usize| record.get(i).unwrap_or("");
        let mut row_bad = Vec::new();
        let mut sum = |indices: &[usize]| -> i64 {
            let mut total = 0i64;
            for &i in indices {
                match whole_number(field(i)) {
                    Ok(n) => total = total.saturating_add(n),
                    Err(message) => row_bad.push(BadRow {
                        line,
                        column: headers.get(i).unwrap_or("?").to_owned(),
                        message,
                    }),
                }
            }
            total
        };
        let figures = Attendances {
            attendances: sum(&columns.attendances),
            over_4_hours: sum(&columns.over_4),
            waits_12_hours_dta: Some(sum(&[columns.waits_12])),
            admissions: sum(&columns.admissions),
        };
        let org = field(columns.org).to_owned();
        if org.eq_ignore_ascii_case("total") {
            // The national total: kept to check against, never a provider.
            match sitrep_period(field(columns.period)) {
                Some(period) => {
                    totals.insert(period, figures);
                }
                None => {
                    // The total row writes TOTAL in its period column too; its month is the file's.
                    totals.insert(String::new(), figures);
                }
            }
            bad.extend(row_bad);
            continue;
        }
        let period = match sitrep_period(field(columns.period)) {
            Some(period) => period,
            None => {
                row_bad.push(BadRow {
                    line,
                    column: "Period".into(),
                    message: format!(
                        "`{}` is not a period like MSitAE-APRIL-2025",
                        field(columns.period)
                    ),
                });
                String::new()
            }
        };
        let parent = field(columns.parent).to_ascii_uppercase();
        let region = PARENT_ORGS
            .iter()
            .find(|(name, _)| *name == parent.trim())
            .map(|(_, code)| (*code).to_owned());
        let Some(region) = region else {
            row_bad.push(BadRow {
                line,
                column: "Parent Org".into(),
                message: format!(
                    "`{}` is not one of the seven NHS England regions",
                    field(columns.parent)
                ),
            });
            bad.extend(row_bad);
            continue;
        };
        if org.is_empty() {
            row_bad.push(BadRow {
                line,
                column: "Org Code".into(),
                message: "empty".into(),
            });
        }
        if !row_bad.is_empty() {
            bad.extend(row_bad);
            continue;
        }
        rows.push(Row {
            line,
            form: figures.to_form(&org, &period),
            site: Site {
                code: org,
                name: field(columns.name).to_owned(),
                region,
            },
        });
    }
    // The total row names no month: it is the month of every other row.
    if let Some(total) = totals.remove("") {
        if let Some(period) = rows.first().map(|r| r.form.period.clone()) {
            totals.insert(period, total);
        }
    }
    if bad.is_empty() {
        Ok(Parsed {
            layout: Layout::MonthlySitrep,
            rows,
            totals,
        })
    } else {
        Err(bad)
    }
}

/// `MSitAE-APRIL-2025` -> `2025-04`.
fn sitrep_period(text: &str) -> Option<String> {
    let rest = text.trim().to_ascii_uppercase();
    let rest = rest.strip_prefix("MSITAE-")?;
    let (month, year) = rest.rsplit_once('-')?;
    let month = MONTHS.iter().position(|m| *m == month)? + 1;
    let year: i32 = year.parse().ok()?;
    Some(format!("{year:04}-{month:02}"))
}

fn parse_2016_2019(text: &str) -> Result<Parsed, Vec<BadRow>> {
    let mut reader = super::csv_reader(text);
    let mut by_site: BTreeMap<(String, String), (u64, Attendances)> = BTreeMap::new();
    let mut bad = Vec::new();
    for row in reader.records().map(super::numbered) {
        let (line, record) = match row {
            Ok(row) => row,
            Err(unreadable) => {
                bad.push(unreadable);
                continue;
            }
        };
        let field = |i: usize| record.get(i).unwrap_or("");
        let period = match super::month_of(field(0)) {
            Some(period) => period,
            None => {
                bad.push(BadRow {
                    line,
                    column: "period".into(),
                    message: format!("`{}` is not a date like 2019-01-01", field(0)),
                });
                continue;
            }
        };
        let org = field(1).to_owned();
        if org.is_empty() {
            bad.push(BadRow {
                line,
                column: "org_code".into(),
                message: "empty".into(),
            });
            continue;
        }
        let mut number = |i: usize, name: &str| match whole_number(field(i)) {
            Ok(n) => n,
            Err(message) => {
                bad.push(BadRow {
                    line,
                    column: name.into(),
                    message,
                });
                0
            }
        };
        let attendances = number(3, "attendances");
        let breaches = number(4, "breaches");
        let admissions = number(5, "admissions");
        let entry = by_site
            .entry((org, period))
            .or_insert((line, Attendances::default()));
        entry.1.attendances += attendances;
        entry.1.over_4_hours += breaches;
        entry.1.admissions += admissions;
    }
    if !bad.is_empty() {
        return Err(bad);
    }
    let rows = by_site
        .into_iter()
        .map(|((org, period), (line, figures))| Row {
            line,
            form: figures.to_form(&org, &period),
            // The file names no region: a site no reference file knows is unassigned, not guessed.
            site: Site {
                code: org.clone(),
                name: org,
                region: UNASSIGNED.to_owned(),
            },
        })
        .collect();
    Ok(Parsed {
        layout: Layout::Provider2016To2019,
        rows,
        totals: BTreeMap::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const SITREP: &str = "Period,Org Code,Parent Org,Org name,A&E attendances Type 1,A&E attendances Type 2,A&E attendances Other A&E Department,A&E attendances Booked Appointments Type 1,A&E attendances Booked Appointments Type 2,A&E attendances Booked Appointments Other Department,Attendances over 4hrs Type 1,Attendances over 4hrs Type 2,Attendances over 4hrs Other Department,Attendances over 4hrs Booked Appointments Type 1,Attendances over 4hrs Booked Appointments Type 2,Attendances over 4hrs Booked Appointments Other Department,Patients who have waited 4-12 hs from DTA to admission,Patients who have waited 12+ hrs from DTA to admission,Emergency admissions via A&E - Type 1,Emergency admissions via A&E - Type 2,Emergency admissions via A&E - Other A&E department,Other emergency admissions
MSitAE-APRIL-2025,RHW,NHS ENGLAND SOUTH EAST ,ROYAL BERKSHIRE NHS FOUNDATION TRUST,10298,2462,2087,1217,19,0,4206,33,0,381,0,0,672,25,2214,1,0,460
MSitAE-APRIL-2025,NTV0B,NHS ENGLAND SOUTH EAST ,ASHFORD WALK-IN-CENTRE,0,0,2333,0,0,0,0,0,49,0,0,0,0,0,0,0,0,0
TOTAL,TOTAL,TOTAL,TOTAL,10298,2462,4420,1217,19,0,4206,33,49,381,0,0,672,25,2214,1,0,460
";

    #[test]
    fn a_sitrep_row_becomes_a_return_and_the_total_is_kept() {
        let parsed = parse("april.csv", SITREP).expect("parses");
        assert_eq!(parsed.layout, Layout::MonthlySitrep);
        assert_eq!(parsed.rows.len(), 2);
        let rhw = &parsed.rows[0];
        assert_eq!(rhw.line, 2);
        assert_eq!(rhw.site.region, "Y59");
        assert_eq!(rhw.form.period, "2025-04");
        let attendances = 10298 + 2462 + 2087 + 1217 + 19;
        let over = 4206 + 33 + 381;
        assert_eq!(
            rhw.form.values[0],
            (
                "ae_4hr".to_owned(),
                Value::Ratio {
                    numerator: Halves::whole(attendances - over),
                    denominator: Halves::whole(attendances)
                }
            )
        );
        assert_eq!(
            rhw.form.values[1],
            ("ae_12hr_dta".to_owned(), Value::Count(25))
        );
        assert_eq!(
            rhw.form.values[2],
            ("ae_emergency_admissions".to_owned(), Value::Count(2215))
        );
        let total = &parsed.totals["2025-04"];
        assert_eq!(total.attendances, attendances + 2333);
        assert_eq!(total.over_4_hours, over + 49);
    }

    #[test]
    fn every_bad_row_is_named_with_its_line_and_column() {
        let broken = SITREP
            .replace(
                "ROYAL BERKSHIRE NHS FOUNDATION TRUST,10298",
                "ROYAL BERKSHIRE NHS FOUNDATION TRUST,10x98",
            )
            .replace(
                "NHS ENGLAND SOUTH EAST ,ASHFORD",
                "NHS ENGLAND NOWHERE,ASHFORD",
            );
        let error = parse("april.csv", &broken).expect_err("refused");
        let rows: Vec<(u64, &str)> = error
            .rows
            .iter()
            .map(|r| (r.line, r.column.as_str()))
            .collect();
        assert_eq!(rows, [(2, "A&E attendances Type 1"), (3, "Parent Org")]);
        assert!(error.to_string().contains("nothing was imported"));
    }

    #[test]
    fn the_2016_2019_layout_sums_department_types() {
        let text = "\"period\",\"org_code\",\"type\",\"attendances\",\"breaches\",\"admissions\"
\"2019-01-01\",\"RF4\",\"1\",21289,2879,5060
\"2019-01-01\",\"RF4\",\"2\",813,22,0
\"2019-01-01\",\"NLO12\",\"other\",1000,\"1,000\",0
";
        let parsed = parse("ae.csv", text).expect("parses");
        assert_eq!(parsed.layout, Layout::Provider2016To2019);
        let rf4 = parsed
            .rows
            .iter()
            .find(|r| r.form.org == "RF4")
            .expect("RF4");
        assert_eq!(
            rf4.form.values[0].1,
            Value::Ratio {
                numerator: Halves::whole(21289 + 813 - 2879 - 22),
                denominator: Halves::whole(21289 + 813)
            }
        );
        assert_eq!(rf4.site.region, UNASSIGNED);
        let nlo = parsed
            .rows
            .iter()
            .find(|r| r.form.org == "NLO12")
            .expect("NLO12");
        assert_eq!(
            nlo.form.values[0].1,
            Value::Ratio {
                numerator: Halves(0),
                denominator: Halves::whole(1000)
            }
        );
    }

    #[test]
    fn an_unknown_layout_is_refused() {
        assert!(parse("x.csv", "a,b,c\n1,2,3\n").is_err());
    }
}
