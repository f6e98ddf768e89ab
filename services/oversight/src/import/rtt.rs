//! Referral to treatment, incomplete pathways, by provider: the `C_999` (all treatment
//! functions) row of each provider gives `rtt_18wk` (within 18 weeks / incomplete pathways) and
//! `rtt_52wk` (waiting 52 weeks or more).

use proto_schema::{Halves, ReturnForm, Value, SCHEMA_VERSION};

use super::{whole_number, BadFile, BadRow, Row, Site};

/// The collection RTT returns are filed under.
pub const COLLECTION: &str = "rtt-monthly";

/// The treatment-function code of a provider's total row.
const TOTAL_FUNCTION: &str = "C_999";

const COLUMNS: [&str; 8] = [
    "region_code",
    "provider_code",
    "provider_name",
    "treatment_function_code",
    "total_incomplete_pathways",
    "total_within_18_weeks",
    "total_52_plus",
    "reporting_month",
];

/// Parses a whole file, or names every row that cannot be read.
pub fn parse(file: &str, text: &str) -> Result<Vec<Row>, BadFile> {
    parse_rows(text).map_err(|rows| BadFile {
        file: file.to_owned(),
        rows,
    })
}

fn parse_rows(text: &str) -> Result<Vec<Row>, Vec<BadRow>> {
    let mut reader = super::csv_reader(text);
    let (headers, [region, org, name, function, total, within, over_52, month]) =
        super::columns(&mut reader, COLUMNS, "an RTT incomplete-pathways file")?;
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
        if field(function) != TOTAL_FUNCTION {
            continue;
        }
        let mut number = |i: usize| match whole_number(field(i)) {
            Ok(n) => n,
            Err(message) => {
                bad.push(BadRow {
                    line,
                    column: headers.get(i).unwrap_or("?").to_owned(),
                    message,
                });
                0
            }
        };
        let (total, within, over_52) = (number(total), number(within), number(over_52));
        let Some(period) = super::month_of(field(month)) else {
            bad.push(BadRow {
                line,
                column: "reporting_month".into(),
                message: format!("`{}` is not a date like 2026-03-01", field(month)),
            });
            continue;
        };
        let mut values = Vec::new();
        if total > 0 {
            values.push((
                "rtt_18wk".to_owned(),
                Value::Ratio {
                    numerator: Halves::whole(within),
                    denominator: Halves::whole(total),
                },
            ));
        }
        values.push(("rtt_52wk".to_owned(), Value::Count(over_52)));
        let code = field(org).to_owned();
        rows.push(Row {
            line,
            form: ReturnForm {
                schema_version: SCHEMA_VERSION,
                submission_id: String::new(),
                org: code.clone(),
                collection: COLLECTION.to_owned(),
                period,
                values,
            },
            site: Site {
                code,
                name: field(name).to_owned(),
                region: field(region).to_owned(),
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

    const FILE: &str = "region_code,provider_code,provider_name,treatment_function_code,treatment_function,total_incomplete_pathways,total_within_18_weeks,pct_within_18_weeks,median_wait_weeks,p92_wait_weeks,total_52_plus,total_65_plus,total_78_plus,pct_52_plus,reporting_month
Y56,R1H,BARTS HEALTH NHS TRUST,C_100,General Surgery Service,4918,2804,0.57,15.05,41.59,67,1,0,0.0136,2026-03-01
Y56,R1H,BARTS HEALTH NHS TRUST,C_999,Total,121430,75793,0.62,12.69,39.29,1007,4,0,0.0082,2026-03-01
";

    #[test]
    fn the_total_row_of_each_provider_becomes_its_return() {
        let rows = parse("rtt.csv", FILE).expect("parses");
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].form.period, "2026-03");
        assert_eq!(
            rows[0].form.values,
            vec![
                (
                    "rtt_18wk".to_owned(),
                    Value::Ratio {
                        numerator: Halves::whole(75_793),
                        denominator: Halves::whole(121_430)
                    }
                ),
                ("rtt_52wk".to_owned(), Value::Count(1007)),
            ]
        );
        assert_eq!(rows[0].site.region, "Y56");
    }
}
