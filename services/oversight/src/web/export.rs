//! A scope's figures to download: `/scope/<scope>.csv` and `/scope/<scope>.xlsx`, the same rows
//! in each — every metric, period and organisation figure, with the parts a ratio is made of so
//! analysts can total them again.

use std::collections::HashMap;

use axum::http::{header, HeaderValue};
use axum::response::{IntoResponse, Response};
use proto_schema::{Value, View};

use super::page;
use super::{read_asked, view_of, PageError, Web};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Format {
    Csv,
    Xlsx,
}

impl Format {
    fn extension(self) -> &'static str {
        match self {
            Format::Csv => "csv",
            Format::Xlsx => "xlsx",
        }
    }

    fn content_type(self) -> &'static str {
        match self {
            Format::Csv => "text/csv; charset=utf-8",
            Format::Xlsx => "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        }
    }
}

const COLUMNS: [&str; 9] = [
    "scope",
    "metric",
    "period",
    "organisation",
    "value",
    "numerator",
    "denominator",
    "standard_met",
    "seq",
];

/// The columns a spreadsheet holds as numbers rather than text.
const NUMERIC: [&str; 4] = ["value", "numerator", "denominator", "seq"];

pub(super) async fn download(
    web: &Web,
    scope: &str,
    query: &HashMap<String, String>,
    format: Format,
) -> Response {
    let result = async {
        let (_, request) = read_asked(query)?;
        let view = view_of(web, scope, &request).await?;
        let written = match format {
            Format::Csv => view_csv(&view).map_err(|e| e.to_string()),
            Format::Xlsx => view_xlsx(&view).map_err(|e| e.to_string()),
        };
        written.map_err(|e| {
            PageError::Unavailable(format!("cannot write the {}: {e}", format.extension()))
        })
    }
    .await;
    match result {
        Ok(body) => (
            [
                (
                    header::CONTENT_TYPE,
                    HeaderValue::from_static(format.content_type()),
                ),
                (
                    header::CONTENT_DISPOSITION,
                    HeaderValue::from_str(&format!(
                        "attachment; filename=\"{scope}.{}\"",
                        format.extension()
                    ))
                    .unwrap_or_else(|_| HeaderValue::from_static("attachment")),
                ),
                (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
            ],
            body,
        )
            .into_response(),
        Err(error) => error.into_response(),
    }
}

/// Calls `row` with each row of the view: one for the scope's total (organisation empty) and one
/// per organisation in it.
fn for_each_row<E>(view: &View, mut row: impl FnMut([&str; 9]) -> Result<(), E>) -> Result<(), E> {
    let seq = view.seq.to_string();
    for (metric, periods) in &view.metrics {
        for (period, cell) in periods {
            let period = period.to_string();
            let (numerator, denominator) = parts(&cell.summary.total);
            row([
                view.scope.as_str(),
                metric,
                &period,
                "",
                &number(cell.summary.value),
                &numerator,
                &denominator,
                met_text(cell.summary.met),
                &seq,
            ])?;
            for (org, value) in &cell.organisations {
                let (numerator, denominator) = parts(value);
                let met = met_text(cell.summary.standard.and_then(|s| s.is_met_by(value)));
                row([
                    view.scope.as_str(),
                    metric,
                    &period,
                    org,
                    &number(page::value_headline(value)),
                    &numerator,
                    &denominator,
                    met,
                    &seq,
                ])?;
            }
        }
    }
    Ok(())
}

fn view_csv(view: &View) -> Result<Vec<u8>, csv::Error> {
    let mut out = csv::Writer::from_writer(Vec::new());
    out.write_record(COLUMNS)?;
    for_each_row(view, |row| out.write_record(row))?;
    out.into_inner().map_err(|e| e.into_error().into())
}

/// The same rows as the CSV in one worksheet named after the scope, figures as numbers.
fn view_xlsx(view: &View) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut workbook = rust_xlsxwriter::Workbook::new();
    let sheet = workbook.add_worksheet();
    sheet.set_name(view.scope.as_str())?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (column, name) in COLUMNS.iter().enumerate() {
        sheet.write_string_with_format(0, column as u16, *name, &bold)?;
    }
    let mut line = 0u32;
    for_each_row(view, |row| {
        line += 1;
        for (column, text) in row.iter().enumerate() {
            let number = NUMERIC
                .contains(&COLUMNS[column])
                .then(|| text.parse::<f64>().ok())
                .flatten();
            match number {
                Some(number) => sheet.write_number(line, column as u16, number)?,
                None if text.is_empty() => sheet,
                None => sheet.write_string(line, column as u16, *text)?,
            };
        }
        Ok::<(), rust_xlsxwriter::XlsxError>(())
    })?;
    sheet.set_freeze_panes(1, 0)?;
    workbook.save_to_buffer()
}

/// Whether a figure meets its standard, as the CSV writes it: empty without one.
fn met_text(met: Option<bool>) -> &'static str {
    match met {
        Some(true) => "true",
        Some(false) => "false",
        None => "",
    }
}

fn parts(value: &Value) -> (String, String) {
    match value {
        Value::Ratio {
            numerator,
            denominator,
        } => (numerator.to_string(), denominator.to_string()),
        _ => (String::new(), String::new()),
    }
}

fn number(value: f64) -> String {
    if value.is_finite() {
        value.to_string()
    } else {
        String::new()
    }
}
