//! Cancer 62-day combined standard, by trust and month: `cancer_62d` = treated within 62 days /
//! patients treated. Counts come in halves (a patient shared by two trusts counts half to each)
//! and are kept exactly.

use proto_schema::{Halves, ReturnForm, Value, SCHEMA_VERSION, UNASSIGNED};

use super::{BadFile, BadRow, Row, Site};

/// The collection cancer returns are filed under.
pub const COLLECTION: &str = "cancer-monthly";

/// Parses a whole file, or names every row that cannot be read.
pub fn parse(file: &str, text: &str) -> Result<Vec<Row>, BadFile> {
    parse_rows(text).map_err(|rows| BadFile {
        file: file.to_owned(),
        rows,
    })
}

fn parse_rows(text: &str) -> Result<Vec<Row>, Vec<BadRow>> {
    let mut reader = super::csv_reader(text);
    let (headers, [month, org, name, total, within]) = super::columns(
        &mut reader,
        [
            "period_month",
            "org_code",
            "org_name",
            "total_patients",
            "within_62d",
        ],
        "a cancer 62-day file",
    )?;
    let mut rows = Vec::new();
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
        // The national total of each month is not a provider.
        if field(org).eq_ignore_ascii_case("total") {
            continue;
        }
        let mut halves = |i: usize| match super::halves(field(i)) {
            Ok(h) => h,
            Err(message) => {
                bad.push(BadRow {
                    line,
                    column: headers.get(i).unwrap_or("?").to_owned(),
                    message,
                });
                Halves(0)
            }
        };
        let (total, within) = (halves(total), halves(within));
        let period = match super::month_of(&format!("{}-01", field(month))) {
            Some(period) => period,
            None => {
                bad.push(BadRow {
                    line,
                    column: "period_month".into(),
                    message: format!("`{}` is not a month like 2024-02", field(month)),
                });
                continue;
            }
        };
        // A month with no patients has no ratio to report.
        if total.0 == 0 {
            continue;
        }
        let code = field(org).to_owned();
        rows.push(Row {
            line,
            form: ReturnForm {
                schema_version: SCHEMA_VERSION,
                submission_id: String::new(),
                org: code.clone(),
                collection: COLLECTION.to_owned(),
                period,
                values: vec![(
                    "cancer_62d".to_owned(),
                    Value::Ratio {
                        numerator: within,
                        denominator: total,
                    },
                )],
            },
            // The file names no region.
            site: Site {
                code,
                name: field(name).to_owned(),
                region: UNASSIGNED.to_owned(),
            },
        });
    }
    if bad.is_empty() {
        Ok(rows)
    } else {
        Err(bad)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn halves_are_kept_exactly_and_empty_months_skipped() {
        let file = "metric,period_month,period_date,org_code,org_name,total_patients,within_62d,breached_62d,compliance_rate
62d_combined,2024-02,2024-02-01,AQK,VERNOVA,0.5,0.0,0.5,0.0
62d_combined,2024-02,2024-02-01,RJ1,GUY'S,120.5,101.5,19.0,0.84
62d_combined,2024-03,2024-03-01,RJ1,GUY'S,0.0,0.0,0.0,0.0
62d_combined,2024-02,2024-02-01,Total,Total,121.0,101.5,19.5,0.84
";
        let rows = parse("cancer.csv", file).expect("parses");
        assert_eq!(rows.len(), 2);
        assert_eq!(
            rows[1].form.values[0].1,
            Value::Ratio {
                numerator: Halves(203),
                denominator: Halves(241)
            }
        );
        let bad = file.replace("101.5", "101.25");
        let error = parse("cancer.csv", &bad).expect_err("quarter refused");
        assert_eq!(error.rows[0].column, "within_62d");
    }
}
