//! NHS England's A&E spreadsheet at provider level (the "AE by provider" workbook, its provider
//! sheet, or that sheet saved as CSV): title rows, then a header with `Code`, `Region`, `Name`
//! and columns per department type, figures with thousands separators (`"16,839"`), `-` for no
//! figure, percentages with `%`, and no period column: the month is in the file's name (or a
//! `Period:` title row), or else given with `--period`.

use std::collections::BTreeMap;
use std::path::Path;

use calamine::{open_workbook_auto, open_workbook_auto_from_rs, Data, Reader, Sheets};
use proto_schema::{Halves, ReturnForm, Value, SCHEMA_VERSION, UNASSIGNED};

use super::ae::{Attendances, Layout, Parsed, COLLECTION};
use super::{whole_number, BadFile, BadRow, Row, Site};

/// A sheet as rows of text, each with its row number in the file (from 1).
#[derive(Debug, Clone, Default)]
pub struct Table {
    pub rows: Vec<(u64, Vec<String>)>,
}

/// How far down the title rows may push the header.
const HEADER_WITHIN: usize = 40;

/// The regions by the names the sheet's `Region` column gives them (with or without
/// "NHS England"), and by their codes.
const REGIONS: [(&str, &str); 7] = [
    ("LONDON", "Y56"),
    ("SOUTH WEST", "Y58"),
    ("SOUTH EAST", "Y59"),
    ("MIDLANDS", "Y60"),
    ("EAST OF ENGLAND", "Y61"),
    ("NORTH WEST", "Y62"),
    ("NORTH EAST AND YORKSHIRE", "Y63"),
];

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

impl Table {
    /// A CSV file's rows, as they are (the sheet saved as CSV).
    pub fn from_csv(text: &str) -> Result<Table, BadRow> {
        let mut reader = csv::ReaderBuilder::new()
            .has_headers(false)
            .flexible(true)
            .trim(csv::Trim::All)
            .from_reader(text.as_bytes());
        let mut rows = Vec::new();
        for record in reader.records() {
            let record =
                record.map_err(|e| super::csv_error(e.position().map_or(0, |p| p.line()), &e))?;
            let line = record.position().map_or(0, |p| p.line());
            rows.push((line, record.iter().map(str::to_owned).collect()));
        }
        Ok(Table { rows })
    }

    /// The provider sheet of a workbook (`.xlsx`, `.xls`, `.xlsb`, `.ods`): the first sheet with
    /// a `Code` and `Name` header.
    pub fn from_workbook(path: &Path) -> anyhow::Result<Table> {
        let shown = path.display().to_string();
        guarded(&shown, || {
            let mut workbook = open_workbook_auto(path)
                .map_err(|e| anyhow::anyhow!("cannot read {shown} as a spreadsheet: {e}"))?;
            provider_table(&mut workbook, &shown)
        })
    }

    /// The same from a workbook's bytes, its format told by its content.
    pub fn from_workbook_bytes(shown: &str, bytes: &[u8]) -> anyhow::Result<Table> {
        guarded(shown, || {
            let mut workbook = open_workbook_auto_from_rs(std::io::Cursor::new(bytes))
                .map_err(|e| anyhow::anyhow!("cannot read {shown} as a spreadsheet: {e}"))?;
            provider_table(&mut workbook, shown)
        })
    }

    /// Whether the table has the provider sheet's header.
    pub fn is_provider_sheet(&self) -> bool {
        header_row(self).is_some()
    }
}

/// A cell as the sheet shows it: whole numbers without a decimal point.
fn cell_text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::String(s) => s.trim().to_owned(),
        other => other.to_string(),
    }
}

/// Lower case, one space between words: how headers are compared.
fn normalise(text: &str) -> String {
    text.split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Reads a workbook, turning a panic inside the spreadsheet reader into an error: a damaged
/// cell reference made calamine 0.38 overflow a multiplication (found by fuzzing), and a damaged
/// file must be refused, not end the import.
fn guarded(shown: &str, read: impl FnOnce() -> anyhow::Result<Table>) -> anyhow::Result<Table> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(read)).unwrap_or_else(|_| {
        Err(anyhow::anyhow!(
            "{shown}: the workbook is damaged (a cell or sheet in it cannot be read); save it again from the spreadsheet program, or export the provider sheet as CSV"
        ))
    })
}

/// The first sheet of a workbook with a `Code` and `Name` header, as a table.
fn provider_table<RS: std::io::Read + std::io::Seek>(
    workbook: &mut Sheets<RS>,
    shown: &str,
) -> anyhow::Result<Table> {
    let names = workbook.sheet_names().to_owned();
    for name in &names {
        let range = workbook
            .worksheet_range(name)
            .map_err(|e| anyhow::anyhow!("{shown}: sheet `{name}`: {e}"))?;
        let start = range.start().map_or(0, |(row, _)| row as u64);
        let table = Table {
            rows: range
                .rows()
                .enumerate()
                .map(|(i, cells)| (start + i as u64 + 1, cells.iter().map(cell_text).collect()))
                .collect(),
        };
        if header_row(&table).is_some() {
            return Ok(table);
        }
    }
    anyhow::bail!(
        "{shown}: no sheet has a provider table (a header row with Code and Name); its sheets: {}",
        names.join(", ")
    )
}

/// The index in `table.rows` of the header row.
fn header_row(table: &Table) -> Option<usize> {
    table
        .rows
        .iter()
        .take(HEADER_WITHIN)
        .position(|(_, cells)| {
            let has = |name: &str| cells.iter().any(|c| normalise(c) == name);
            has("code") && has("name")
        })
}

/// Column positions, found by header text.
struct Columns {
    code: usize,
    name: usize,
    region: Option<usize>,
    attendances: usize,
    over_4: usize,
    admissions: usize,
    waits_12: Option<usize>,
}

fn columns(header: &[String], line: u64) -> Result<Columns, BadRow> {
    let find = |wanted: &str| header.iter().position(|h| normalise(h) == wanted);
    let containing = |wanted: &str| header.iter().position(|h| normalise(h).contains(wanted));
    let mut missing = Vec::new();
    let mut need = |found: Option<usize>, name: &str| {
        if found.is_none() {
            missing.push(name.to_owned());
        }
        found.unwrap_or(0)
    };
    let columns = Columns {
        code: need(find("code"), "Code"),
        name: need(find("name"), "Name"),
        region: find("region"),
        attendances: need(find("total attendances"), "Total attendances"),
        over_4: need(
            find("total attendances > 4 hours"),
            "Total Attendances > 4 hours",
        ),
        admissions: need(
            find("total emergency admissions via a&e"),
            "Total Emergency Admissions via A&E",
        ),
        waits_12: containing(">12 hours from decision to admit"),
    };
    if missing.is_empty() {
        Ok(columns)
    } else {
        Err(BadRow {
            line,
            column: "header".into(),
            message: format!("columns missing from the header: {}", missing.join(", ")),
        })
    }
}

/// `2025-10` from `--period`, else from the file's name (`AE-by-provider-October-2025.xls`),
/// else from a `Period:` title row (`Period: October 2025`).
fn period_of(file: &str, table: &Table, given: Option<&str>) -> Result<String, BadRow> {
    if let Some(given) = given {
        return match proto_schema::Period::parse(given) {
            Ok(proto_schema::Period::Month { year, month }) => Ok(format!("{year:04}-{month:02}")),
            _ => Err(BadRow {
                line: 0,
                column: "--period".into(),
                message: format!("`{given}` is not a month such as 2025-10"),
            }),
        };
    }
    let name = Path::new(file)
        .file_name()
        .map_or(file.to_owned(), |n| n.to_string_lossy().into_owned());
    if let Some(period) = month_in(&name) {
        return Ok(period);
    }
    let titled = table
        .rows
        .iter()
        .take(HEADER_WITHIN)
        .find_map(|(_, cells)| {
            let joined = cells.join(" ");
            normalise(&joined).strip_prefix("period").and_then(month_in)
        });
    titled.ok_or_else(|| BadRow {
        line: 0,
        column: "period".into(),
        message: "this layout has no period column, and neither the file's name nor a Period row names the month: give it with --period, such as --period 2025-10".into(),
    })
}

/// The first "<month name> <year>" in `text` (any separator; `Oct` or `October`).
fn month_in(text: &str) -> Option<String> {
    let words: Vec<String> = text
        .split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|w| !w.is_empty())
        .map(str::to_lowercase)
        .collect();
    words.windows(2).find_map(|pair| {
        let month = MONTHS
            .iter()
            .position(|m| pair[0] == *m || (pair[0].len() == 3 && m.starts_with(&pair[0])))?;
        let year: i32 = pair[1].parse().ok().filter(|y| (1990..=2100).contains(y))?;
        Some(format!("{year:04}-{:02}", month + 1))
    })
}

/// A figure: `-` or nothing is no figure, thousands separators allowed.
fn figure(text: &str) -> Result<Option<i64>, String> {
    let text = text.trim();
    if text.is_empty() || text == "-" {
        return Ok(None);
    }
    whole_number(text).map(Some)
}

/// The region code a `Region` cell names; empty is `unassigned`.
fn region_of(text: &str) -> Option<String> {
    let upper = normalise(text).to_uppercase();
    if upper.is_empty() {
        return Some(UNASSIGNED.to_owned());
    }
    let name = upper.strip_prefix("NHS ENGLAND ").unwrap_or(&upper);
    REGIONS
        .iter()
        .find(|(region, code)| *region == name || *code == name)
        .map(|(_, code)| (*code).to_owned())
}

/// Parses the provider table, or names every row that cannot be read.
pub fn parse(file: &str, table: &Table, period: Option<&str>) -> Result<Parsed, BadFile> {
    let bad = |rows| BadFile {
        file: file.to_owned(),
        rows,
    };
    let Some(at) = header_row(table) else {
        return Err(bad(vec![BadRow {
            line: 1,
            column: "header".into(),
            message: "no header row with Code and Name".into(),
        }]));
    };
    let (header_line, header) = &table.rows[at];
    let columns = columns(header, *header_line).map_err(|e| bad(vec![e]))?;
    let period = period_of(file, table, period).map_err(|e| bad(vec![e]))?;
    let mut rows = Vec::new();
    let mut totals = BTreeMap::new();
    let mut unreadable = Vec::new();
    for (line, cells) in &table.rows[at + 1..] {
        let cell = |i: usize| cells.get(i).map_or("", String::as_str);
        let code = cell(columns.code).trim().to_owned();
        let name = cell(columns.name).trim().to_owned();
        let is_total = name.eq_ignore_ascii_case("england") || code.eq_ignore_ascii_case("total");
        if (code.is_empty() || code == "-") && !is_total {
            // Footnotes and blank rows.
            continue;
        }
        let mut row_bad = Vec::new();
        let mut read = |i: usize| match figure(cell(i)) {
            Ok(n) => n,
            Err(message) => {
                row_bad.push(BadRow {
                    line: *line,
                    column: header.get(i).cloned().unwrap_or_default(),
                    message,
                });
                None
            }
        };
        let attendances = read(columns.attendances);
        let over_4 = read(columns.over_4);
        let admissions = read(columns.admissions);
        let waits_12 = columns.waits_12.and_then(&mut read);
        if let (Some(all), Some(over)) = (attendances, over_4) {
            if over > all {
                row_bad.push(BadRow {
                    line: *line,
                    column: header[columns.over_4].clone(),
                    message: format!("{over} over 4 hours of {all} attendances"),
                });
            }
        }
        if is_total {
            totals.insert(
                period.clone(),
                Attendances {
                    attendances: attendances.unwrap_or(0),
                    over_4_hours: over_4.unwrap_or(0),
                    waits_12_hours_dta: waits_12,
                    admissions: admissions.unwrap_or(0),
                },
            );
            unreadable.extend(row_bad);
            continue;
        }
        let region = columns
            .region
            .map_or_else(|| Some(UNASSIGNED.to_owned()), |i| region_of(cell(i)));
        let Some(region) = region else {
            row_bad.push(BadRow {
                line: *line,
                column: "Region".into(),
                message: format!(
                    "`{}` is not one of the seven NHS England regions",
                    cell(columns.region.unwrap_or(0))
                ),
            });
            unreadable.extend(row_bad);
            continue;
        };
        if !row_bad.is_empty() {
            unreadable.extend(row_bad);
            continue;
        }
        let mut values = Vec::new();
        if let (Some(all), Some(over)) = (attendances, over_4) {
            if all > 0 {
                values.push((
                    "ae_4hr".to_owned(),
                    Value::Ratio {
                        numerator: Halves::whole(all - over),
                        denominator: Halves::whole(all),
                    },
                ));
            }
        }
        if let Some(waits) = waits_12 {
            values.push(("ae_12hr_dta".to_owned(), Value::Count(waits)));
        }
        if let Some(admissions) = admissions {
            values.push((
                "ae_emergency_admissions".to_owned(),
                Value::Count(admissions),
            ));
        }
        if values.is_empty() {
            // A provider with no figure at all this month: nothing to return.
            continue;
        }
        rows.push(Row {
            line: *line,
            form: ReturnForm {
                schema_version: SCHEMA_VERSION,
                submission_id: String::new(),
                org: code.to_ascii_uppercase(),
                collection: COLLECTION.to_owned(),
                period: period.clone(),
                values,
            },
            site: Site {
                code: code.to_ascii_uppercase(),
                name,
                region,
            },
        });
    }
    if unreadable.is_empty() {
        Ok(Parsed {
            layout: Layout::ProviderSheet,
            rows,
            totals,
        })
    } else {
        Err(bad(unreadable))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The provider sheet as NHS England lays it out, rows of cells as a spreadsheet shows them.
    pub(crate) fn published_rows() -> Vec<Vec<&'static str>> {
        vec![
            vec!["Title:", "A&E Attendances and Emergency Admissions"],
            vec!["Summary:", "Monthly A&E attendances by provider"],
            vec![],
            vec![
                "Code",
                "Region",
                "Name",
                "Type 1 Departments - Major A&E",
                "Type 2 Departments - Single Specialty",
                "Type 3 Departments - Other A&E/Minor Injury Unit",
                "Total attendances",
                "Type 1 Departments - Major A&E",
                "Type 2 Departments - Single Specialty",
                "Type 3 Departments - Other A&E/Minor Injury Unit",
                "Total Attendances > 4 hours",
                "Percentage in 4 hours or less (all)",
                "Total Emergency Admissions via A&E",
                "Number of patients spending >12 hours from decision to admit to admission",
            ],
            vec![
                "-",
                "-",
                "England",
                "1,398,231",
                "52,034",
                "860,122",
                "2,310,387",
                "425,061",
                "1,500",
                "40,611",
                "467,172",
                "79.8%",
                "480,202",
                "45,000",
            ],
            vec![
                "RJ1",
                "NHS England London",
                "Guy's and St Thomas'",
                "16,839",
                "-",
                "3,204",
                "20,043",
                "5,100",
                "-",
                "93",
                "5,193",
                "74.1%",
                "3,120",
                "120",
            ],
            vec![
                "R0D",
                "South West",
                "University Hospitals Dorset",
                "12,001",
                "-",
                "-",
                "12,001",
                "3,500",
                "-",
                "-",
                "3,500",
                "70.8%",
                "2,900",
                "-",
            ],
            vec![
                "NLO12",
                "",
                "A walk-in centre",
                "-",
                "-",
                "2,000",
                "2,000",
                "-",
                "-",
                "20",
                "20",
                "99.0%",
                "-",
                "-",
            ],
            vec!["Note: figures are provisional"],
        ]
    }

    type Values = Vec<(String, Value)>;

    fn table(rows: &[Vec<&str>]) -> Table {
        Table {
            rows: rows
                .iter()
                .enumerate()
                .map(|(i, r)| (i as u64 + 1, r.iter().map(|c| (*c).to_owned()).collect()))
                .collect(),
        }
    }

    #[test]
    fn the_provider_sheet_gives_one_return_per_provider() {
        let parsed = parse(
            "AE-by-provider-October-2025.csv",
            &table(&published_rows()),
            None,
        )
        .expect("parses");
        assert_eq!(parsed.layout, Layout::ProviderSheet);
        let got: Vec<(&str, &str, &str, &Values)> = parsed
            .rows
            .iter()
            .map(|r| {
                (
                    r.form.org.as_str(),
                    r.site.region.as_str(),
                    r.form.period.as_str(),
                    &r.form.values,
                )
            })
            .collect();
        let ratio = |n, d| Value::Ratio {
            numerator: Halves::whole(n),
            denominator: Halves::whole(d),
        };
        assert_eq!(
            got,
            [
                (
                    "RJ1",
                    "Y56",
                    "2025-10",
                    &vec![
                        ("ae_4hr".to_owned(), ratio(20_043 - 5_193, 20_043)),
                        ("ae_12hr_dta".to_owned(), Value::Count(120)),
                        ("ae_emergency_admissions".to_owned(), Value::Count(3_120)),
                    ]
                ),
                (
                    "R0D",
                    "Y58",
                    "2025-10",
                    // `-` is no figure, not zero: no 12-hour count is returned.
                    &vec![
                        ("ae_4hr".to_owned(), ratio(12_001 - 3_500, 12_001)),
                        ("ae_emergency_admissions".to_owned(), Value::Count(2_900)),
                    ]
                ),
                (
                    "NLO12",
                    UNASSIGNED,
                    "2025-10",
                    &vec![("ae_4hr".to_owned(), ratio(1_980, 2_000))]
                ),
            ]
        );
        let england = &parsed.totals["2025-10"];
        assert_eq!(
            (england.attendances, england.over_4_hours),
            (2_310_387, 467_172)
        );
    }

    #[test]
    fn the_month_comes_from_the_name_a_period_row_or_the_flag_and_is_refused_when_none_does() {
        let rows = published_rows();
        let month = |file: &str, given: Option<&str>, rows: &[Vec<&str>]| {
            parse(file, &table(rows), given).map(|p| p.rows[0].form.period.clone())
        };
        assert_eq!(
            month("AE-by-provider-Oct-2025.xlsx", None, &rows)
                .ok()
                .as_deref(),
            Some("2025-10")
        );
        assert_eq!(
            month("ae.csv", Some("2025-09"), &rows).ok().as_deref(),
            Some("2025-09")
        );
        let mut titled = rows.clone();
        titled.insert(1, vec!["Period:", "October 2025"]);
        assert_eq!(
            month("ae.csv", None, &titled).ok().as_deref(),
            Some("2025-10")
        );
        let refused = month("ae.csv", None, &rows).expect_err("no month anywhere");
        assert!(refused.to_string().contains("--period"), "{refused}");
        let refused = month("ae.csv", Some("2025-W40"), &rows).expect_err("not a month");
        assert!(refused.to_string().contains("not a month"), "{refused}");
    }

    #[test]
    fn an_unreadable_figure_is_named_by_row_and_column() {
        let mut rows = published_rows();
        rows[5][6] = "20,04three";
        let error = parse("AE-October-2025.csv", &table(&rows), None).expect_err("refused");
        assert_eq!(error.rows.len(), 1, "{error}");
        assert_eq!(error.rows[0].line, 6);
        assert_eq!(error.rows[0].column, "Total attendances");
    }

    #[test]
    fn the_same_sheet_reads_alike_from_a_workbook_and_from_its_csv() {
        let dir = tempfile::tempdir().expect("tempdir");
        let rows = published_rows();
        // The workbook, with figures as numbers where a spreadsheet holds numbers.
        let mut workbook = rust_xlsxwriter::Workbook::new();
        let sheet = workbook.add_worksheet();
        sheet.set_name("Provider Level Data").expect("name");
        for (r, cells) in rows.iter().enumerate() {
            for (c, text) in cells.iter().enumerate() {
                let number: Option<f64> = text.replace(',', "").parse().ok();
                match number {
                    Some(n) => sheet.write_number(r as u32, c as u16, n).map(|_| ()),
                    None => sheet.write_string(r as u32, c as u16, *text).map(|_| ()),
                }
                .expect("cell");
            }
        }
        let xlsx = dir.path().join("AE-by-provider-October-2025.xlsx");
        workbook.save(&xlsx).expect("save");
        let from_workbook = Table::from_workbook(&xlsx).expect("workbook");
        let csv_text: String = rows
            .iter()
            .map(|cells| {
                cells
                    .iter()
                    .map(|c| format!("\"{c}\""))
                    .collect::<Vec<_>>()
                    .join(",")
                    + "\n"
            })
            .collect();
        let from_csv = Table::from_csv(&csv_text).expect("csv");
        assert!(from_csv.is_provider_sheet() && from_workbook.is_provider_sheet());
        let forms = |t: &Table| -> Vec<ReturnForm> {
            parse("AE-by-provider-October-2025.xlsx", t, None)
                .expect("parses")
                .rows
                .into_iter()
                .map(|r| r.form)
                .collect()
        };
        assert_eq!(forms(&from_workbook), forms(&from_csv));
        assert_eq!(forms(&from_csv).len(), 3);
    }
}
