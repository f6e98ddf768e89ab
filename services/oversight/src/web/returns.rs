//! An organisation's returns page, `/scope/<org>/returns`: every return it sent, as the log holds
//! them (`oversight.returns.<org>`), and what is due and overdue (its view). Trust analysts check
//! here that what they sent is what is counted.

use std::collections::{BTreeMap, HashMap};

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use proto_schema::{
    due_date_after, Period, ReturnsPage, ReturnsRequest, SnapshotRequest, Value, View,
};

use super::directory::ScopeKind;
use super::page::{self, Asked};
use super::{html_headers, place_of, view_of, PageError, Web, PAGE_PERIODS};
use crate::client::ClientError;

/// Returns listed on one page; older ones are a link away.
pub(crate) const RETURNS_PER_PAGE: u32 = 50;

/// Periods of each collection the due-and-overdue table shows, latest first.
const DUE_PERIODS: usize = 12;

pub(super) async fn returns(
    State(web): State<Web>,
    Path(org): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match returns_html(&web, &org, &query).await {
        Ok(body) => (html_headers(), body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn returns_html(
    web: &Web,
    org: &str,
    query: &HashMap<String, String>,
) -> Result<String, PageError> {
    let before = match query.get("before").filter(|b| !b.is_empty()) {
        None => None,
        Some(text) => Some(text.parse::<u64>().map_err(|_| {
            PageError::BadRequest(format!(
                "before={text} is not a log entry's number, such as 700"
            ))
        })?),
    };
    let place = {
        let reference = web
            .directory
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        place_of(&reference, org)?
    };
    if place.kind != ScopeKind::Organisation {
        return Err(PageError::NotFound(format!(
            "{} is not an organisation: returns are listed for each trust and CCG.",
            place.name
        )));
    }
    let request = ReturnsRequest {
        before,
        max: RETURNS_PER_PAGE,
    };
    let sent = web
        .client
        .returns(org, &request)
        .await
        .map_err(returns_error)?;
    let view = view_of(
        web,
        org,
        &SnapshotRequest {
            last: Some(PAGE_PERIODS),
            ..SnapshotRequest::default()
        },
    )
    .await?;
    let due_days: BTreeMap<String, (String, u32)> = {
        let reference = web
            .directory
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        view.received
            .keys()
            .chain(view.missing.keys())
            .chain(sent.returns.iter().map(|r| &r.ret.collection))
            .filter_map(|id| reference.collection(id))
            .map(|c| (c.id.clone(), (c.name.clone(), c.due_working_days)))
            .collect()
    };
    let trail = page::breadcrumbs(&place, &Asked::default());
    let content = html! {
        span class="nhsuk-caption-l" { "Returns" }
        h1 { (place.name) }
        p class="nhsuk-body" {
            "Every return " (place.name) " has sent, as the log holds it, and what is due. "
            "Only the revision in force for a period is counted in the figures."
        }
        (due_table(&view, &due_days))
        (sent_table(&sent, &due_days))
    };
    Ok(page::frame(&format!("Returns from {}", place.name), &trail, content).into_string())
}

/// The returns service's answer as a page's error.
fn returns_error(error: ClientError) -> PageError {
    match error {
        ClientError::Service { code, message } if code == "400" => PageError::BadRequest(message),
        ClientError::Service { message, .. } => PageError::Unavailable(message),
        ClientError::NoResponders { .. } => PageError::Unavailable(
            "The service is not answering on oversight.returns: it may be starting. Try again in a moment."
                .into(),
        ),
        other => PageError::Unavailable(other.to_string()),
    }
}

/// For each collection, its latest periods: when each was due and whether it came.
fn due_table(view: &View, collections: &BTreeMap<String, (String, u32)>) -> Markup {
    // Overdue, unless received since: a collection's period is in one map or both.
    let mut due: BTreeMap<(&String, Period), bool> = BTreeMap::new();
    for (received, cells) in [(false, &view.missing), (true, &view.received)] {
        for (collection, periods) in cells {
            for (period, cell) in periods {
                if matches!(cell.summary.total, Value::Count(n) if n > 0) {
                    due.insert((collection, *period), received);
                }
            }
        }
    }
    let mut rows: Vec<(&String, Period, bool)> = due
        .into_iter()
        .map(|((c, p), received)| (c, p, received))
        .collect();
    if rows.is_empty() {
        return html! {
            h2 { "Due and overdue" }
            p class="nhsuk-body" data-field="due" { "Nothing has been due from this organisation yet." }
        };
    }
    // Latest first within each collection, and a collection's last few periods only.
    rows.sort_by(|a, b| a.0.cmp(b.0).then(b.1.end_order().cmp(&a.1.end_order())));
    let mut shown: BTreeMap<&String, usize> = BTreeMap::new();
    rows.retain(|(collection, _, _)| {
        let n = shown.entry(collection).or_default();
        *n += 1;
        *n <= DUE_PERIODS
    });
    html! {
        h2 { "Due and overdue" }
        table class="nhsuk-table" data-field="due" {
            caption class="nhsuk-table__caption nhsuk-u-visually-hidden" {
                "Each collection's latest periods: when the return was due and whether it came"
            }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    th class="nhsuk-table__header" scope="col" { "Collection" }
                    th class="nhsuk-table__header" scope="col" { "Period" }
                    th class="nhsuk-table__header" scope="col" { "Due by" }
                    th class="nhsuk-table__header" scope="col" { "Status" }
                }
            }
            tbody class="nhsuk-table__body" {
                @for (collection, period, received) in &rows {
                    @let (name, due_days) = collections.get(*collection)
                        .map(|(name, days)| (name.clone(), Some(*days)))
                        .unwrap_or_else(|| ((*collection).clone(), None));
                    tr class="nhsuk-table__row" data-collection=(collection) data-period=(period) {
                        td class="nhsuk-table__cell" { (name) }
                        td class="nhsuk-table__cell" { (page::period_time(*period)) }
                        td class="nhsuk-table__cell" {
                            @if let Some(c) = view.completeness.get(*collection).and_then(|p| p.get(period)) {
                                (page::long_date(c.closes))
                            } @else if let Some(days) = due_days {
                                (page::long_date(due_date_after(days, *period)))
                            }
                        }
                        td class="nhsuk-table__cell" data-field="status" {
                            @let late = view.completeness.get(*collection)
                                .and_then(|p| p.get(period))
                                .is_some_and(|c| c.after_close > 0);
                            @if *received && late {
                                strong class="nhsuk-tag nhsuk-tag--orange" { "Received after the deadline" }
                            } @else if *received {
                                strong class="nhsuk-tag nhsuk-tag--green" { "Received" }
                            } @else {
                                strong class="nhsuk-tag nhsuk-tag--red" { "Overdue" }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// The returns sent, newest first, with a link to older ones.
fn sent_table(sent: &ReturnsPage, collections: &BTreeMap<String, (String, u32)>) -> Markup {
    html! {
        h2 { "Returns received" }
        @if sent.returns.is_empty() {
            p class="nhsuk-body" data-field="sent" { "No returns have been received from this organisation." }
        } @else {
            table class="nhsuk-table oversight-returns" data-field="sent" {
                caption class="nhsuk-table__caption nhsuk-u-visually-hidden" {
                    "Returns received, newest first"
                }
                thead class="nhsuk-table__head" {
                    tr class="nhsuk-table__row" {
                        th class="nhsuk-table__header" scope="col" { "Received" }
                        th class="nhsuk-table__header" scope="col" { "Collection and period" }
                        th class="nhsuk-table__header" scope="col" { "Submission" }
                        th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Revision" }
                        th class="nhsuk-table__header" scope="col" { "Counted" }
                        th class="nhsuk-table__header" scope="col" { "Sent by" }
                        th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Log entry" }
                    }
                }
                tbody class="nhsuk-table__body" {
                    @for r in &sent.returns {
                        tr class="nhsuk-table__row" data-seq=(r.seq) data-submission=(r.ret.submission_id) {
                            td class="nhsuk-table__cell" {
                                time datetime=(r.recorded_at) { (readable_time(&r.recorded_at.to_string())) }
                            }
                            td class="nhsuk-table__cell" {
                                (collections.get(&r.ret.collection).map_or(r.ret.collection.as_str(), |c| c.0.as_str()))
                                " " (r.ret.period)
                            }
                            td class="nhsuk-table__cell oversight-returns__id" { (r.ret.submission_id) }
                            td class="nhsuk-table__cell nhsuk-table__cell--numeric" { (r.revision) }
                            td class="nhsuk-table__cell" data-field="in-force" {
                                @if r.in_force {
                                    strong class="nhsuk-tag nhsuk-tag--blue" { "In force" }
                                } @else {
                                    strong class="nhsuk-tag nhsuk-tag--grey" { "Replaced" }
                                }
                            }
                            td class="nhsuk-table__cell" { (r.sender) }
                            td class="nhsuk-table__cell nhsuk-table__cell--numeric" { (r.seq) }
                        }
                    }
                }
            }
            @if sent.more {
                @if let Some(last) = sent.returns.last() {
                    p class="nhsuk-body" {
                        a href=(format!("/scope/{}/returns?before={}", sent.org, last.seq)) { "Older returns" }
                    }
                }
            }
        }
    }
}

/// `2026-12-02T18:46:18.341Z` as `2026-12-02 18:46:18 UTC`: to the second, as people read it.
fn readable_time(rfc3339: &str) -> String {
    match rfc3339.split_once('T') {
        Some((date, time)) => {
            let seconds = time.split(['.', 'Z']).next().unwrap_or(time);
            format!("{date} {seconds} UTC")
        }
        None => rfc3339.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn times_read_to_the_second() {
        assert_eq!(
            super::readable_time("2026-12-02T18:46:18.341Z"),
            "2026-12-02 18:46:18 UTC"
        );
        assert_eq!(
            super::readable_time("2026-12-02T18:46:18Z"),
            "2026-12-02 18:46:18 UTC"
        );
    }
}
