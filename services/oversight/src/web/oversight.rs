//! The Oversight Framework page, `/oversight` for England and `/scope/<scope>/oversight`: the
//! scope's organisations under a methodology for a quarter, as league tables by trust type, each
//! with its segment, the reason for any finance adjustment or decision, and its metric scores.

use std::collections::HashMap;

use axum::extract::{Path, Query, State};
use axum::response::{IntoResponse, Response};
use maud::{html, Markup};
use proto_schema::{Assessed, Oversight, Quarter, TrustType, NATIONAL};

use super::page::{self, scope_href, Asked};
use super::{html_headers, place_of, read_asked, view_of, PageError, Web};

/// The methodology a page shows when none is asked for.
const DEFAULT_METHODOLOGY: &str = "nof-2025-26";

pub(super) async fn england(
    State(web): State<Web>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    respond(oversight_html(&web, NATIONAL, &query).await)
}

pub(super) async fn scope(
    State(web): State<Web>,
    Path(scope): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    respond(oversight_html(&web, &scope, &query).await)
}

fn respond(page: Result<String, PageError>) -> Response {
    match page {
        Ok(body) => (html_headers(), body).into_response(),
        Err(error) => error.into_response(),
    }
}

/// The href of this page for a scope.
pub(super) fn oversight_href(scope: &str) -> String {
    if scope == NATIONAL {
        "/oversight".into()
    } else {
        format!("/scope/{scope}/oversight")
    }
}

async fn oversight_html(
    web: &Web,
    scope: &str,
    query: &HashMap<String, String>,
) -> Result<String, PageError> {
    let (asked, mut request) = read_asked(query)?;
    let methodology = query
        .get("methodology")
        .filter(|m| !m.is_empty())
        .cloned()
        .unwrap_or_else(|| DEFAULT_METHODOLOGY.to_owned());
    if let Some(text) = query.get("quarter").filter(|q| !q.is_empty()) {
        request.quarter = Some(Quarter::parse(text).map_err(|_| {
            PageError::BadRequest(format!(
                "quarter={text} is not a financial quarter, such as 2025-26-q1"
            ))
        })?);
    }
    request.methodology = Some(methodology);
    // Only the assessment is shown: the latest period keeps the rest of the view small.
    request.last = Some(1);
    let (oversight, assessed_seq) = assessed(web, scope, &request).await?;
    // An organisation's page says what moved it since the quarter before.
    let earlier = match oversight.organisations.get(scope) {
        Some(_) => {
            let mut before = request.clone();
            before.quarter = Some(oversight.quarter.back(1));
            Some(assessed(web, scope, &before).await?.0)
        }
        None => None,
    };
    // How final the quarter's figures are: its months' collection windows in this scope, asked
    // with only the metrics scored so the view stays small (windows are by collection).
    let months = oversight.quarter.months();
    let scored: std::collections::BTreeSet<&str> = oversight
        .organisations
        .values()
        .flat_map(|assessed| assessed.scores.iter().map(|s| s.metric.as_str()))
        .collect();
    let windows = if scored.is_empty() {
        Default::default()
    } else {
        view_of(
            web,
            scope,
            &proto_schema::SnapshotRequest {
                as_of_seq: Some(assessed_seq),
                from: Some(months[0]),
                to: Some(months[2]),
                geography: request.geography,
                metrics: scored.into_iter().map(str::to_owned).collect(),
                ..proto_schema::SnapshotRequest::default()
            },
        )
        .await?
        .completeness
    };
    let reference = web
        .directory
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let place = place_of(&reference, scope)?;
    let collection_name = |id: &str| {
        reference
            .collection(id)
            .map_or(id.to_owned(), |collection| collection.name.clone())
    };
    let methodologies: Vec<(String, String)> = {
        let mut known: Vec<(String, String)> = reference
            .methodologies()
            .map(|m| (m.id.clone(), m.name.clone()))
            .collect();
        known.sort();
        known
    };
    let name_of = |code: &str| {
        reference
            .organisation(code)
            .map_or(code.to_owned(), |org| org.name.clone())
    };
    // A metric's name, and its figures' unit where the figure is a share.
    let metric_name = |id: &str| {
        reference
            .metric(id)
            .map_or(id.to_owned(), |metric| metric.name.clone())
    };
    let percent = |id: &str| {
        reference
            .metric(id)
            .is_some_and(|metric| metric.kind == proto_schema::ValueKind::Ratio)
    };
    let trail = page::breadcrumbs(&place, &asked);
    let content = html! {
        span class="nhsuk-caption-l" { (oversight.name) }
        h1 { "Segments and league tables: " (place.name) }
        p class="nhsuk-body" {
            "Each organisation's metric scores (1.00 best to 4.00), their average, its segment and "
            "its place among organisations of its type in England, for "
            (quarter_words(oversight.quarter)) "."
        }
        (quarter_windows(&windows, months, &collection_name))
        (choose(scope, &oversight, &methodologies, &asked))
        @if let (Some(now), Some(then)) = (oversight.organisations.get(scope), earlier.as_ref()) {
            (why_moved(now, then.organisations.get(scope), then.quarter, &metric_name))
        }
        @if oversight.organisations.is_empty() {
            p class="nhsuk-body" data-field="none" { "No organisations in this scope are assessed." }
        }
        @for trust_type in TrustType::ALL {
            (league_table(&oversight, trust_type, &name_of, (&metric_name, &percent), &asked))
        }
    };
    Ok(page::frame(
        &format!("Segments and league tables: {}", place.name),
        &trail,
        content,
    )
    .into_string())
}

/// Whether the quarter's figures are final: each collection's windows for its three months,
/// with how many of the organisations expected are in.
fn quarter_windows(
    windows: &std::collections::BTreeMap<
        String,
        std::collections::BTreeMap<proto_schema::Period, proto_schema::Completeness>,
    >,
    months: [proto_schema::Period; 3],
    collection_name: &dyn Fn(&str) -> String,
) -> Markup {
    if windows.is_empty() {
        return html! {};
    }
    html! {
        table class="nhsuk-table" data-field="quarter-windows" {
            caption class="nhsuk-table__caption" { "How final these figures are" }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    th class="nhsuk-table__header" scope="col" { "Collection" }
                    @for month in months {
                        th class="nhsuk-table__header" scope="col" { (page::period_time(month)) }
                    }
                }
            }
            tbody class="nhsuk-table__body" {
                @for (collection, periods) in windows {
                    tr class="nhsuk-table__row" data-collection=(collection) {
                        td class="nhsuk-table__cell" { (collection_name(collection)) }
                        @for month in months {
                            td class="nhsuk-table__cell" data-period=(month) {
                                @if let Some(c) = periods.get(&month) {
                                    (page::window_tag(c.state)) " "
                                    (c.received) " of " (c.expected) " in"
                                } @else {
                                    span class="oversight-muted" { "no returns" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

async fn assessed(
    web: &Web,
    scope: &str,
    request: &proto_schema::SnapshotRequest,
) -> Result<(Oversight, u64), PageError> {
    let view = view_of(web, scope, request).await?;
    let seq = view.seq;
    view.oversight
        .map(|oversight| (oversight, seq))
        .ok_or_else(|| PageError::Unavailable("The views did not assess this scope.".into()))
}

/// "Why did we move": an organisation's segment and position against the quarter before, and
/// the metric scores that changed, largest first.
fn why_moved(
    now: &Assessed,
    before: Option<&Assessed>,
    quarter_before: Quarter,
    metric_name: &impl Fn(&str) -> String,
) -> Markup {
    let placed = |a: Option<&Assessed>| {
        a.and_then(|a| a.placed)
            .map_or("none".to_owned(), |s| s.to_string())
    };
    let position = |a: Option<&Assessed>| match a.and_then(|a| a.position.map(|p| (p, a.of))) {
        Some((p, of)) => format!("{p} of {of}"),
        None => "not ranked".to_owned(),
    };
    let moved = before.map_or_else(
        || {
            proto_schema::scores_moved(
                &Assessed {
                    scores: Vec::new(),
                    ..now.clone()
                },
                now,
            )
        },
        |before| proto_schema::scores_moved(before, now),
    );
    let score = |s: Option<f64>| s.map_or("not scored".to_owned(), |s| format!("{s:.2}"));
    html! {
        h2 { "Since " (quarter_words(quarter_before)) }
        dl class="nhsuk-summary-list" data-field="moved" {
            div class="nhsuk-summary-list__row" {
                dt class="nhsuk-summary-list__key" { "Segment" }
                dd class="nhsuk-summary-list__value" data-field="segment-moved" {
                    (placed(before)) " then, " (placed(Some(now))) " now"
                }
            }
            div class="nhsuk-summary-list__row" {
                dt class="nhsuk-summary-list__key" { "Position" }
                dd class="nhsuk-summary-list__value" data-field="position-moved" {
                    (position(before)) " then, " (position(Some(now))) " now"
                }
            }
        }
        @if moved.is_empty() {
            p class="nhsuk-body" data-field="scores-moved" { "No metric score changed." }
        } @else {
            table class="nhsuk-table" data-field="scores-moved" {
                caption class="nhsuk-table__caption" { "Metric scores that changed, largest first" }
                thead class="nhsuk-table__head" {
                    tr class="nhsuk-table__row" {
                        th class="nhsuk-table__header" scope="col" { "Metric" }
                        th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Then" }
                        th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Now" }
                    }
                }
                tbody class="nhsuk-table__body" {
                    @for m in &moved {
                        tr class="nhsuk-table__row" data-metric=(m.metric) {
                            td class="nhsuk-table__cell" { (metric_name(&m.metric)) }
                            td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="then" { (score(m.before)) }
                            td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="now" { (score(m.after)) }
                        }
                    }
                }
            }
        }
    }
}

fn quarter_words(quarter: Quarter) -> String {
    format!(
        "quarter {} of {}/{:02}",
        quarter.quarter,
        quarter.year,
        (quarter.year + 1) % 100
    )
}

/// A form to see the same scope under another methodology or quarter.
fn choose(
    scope: &str,
    oversight: &Oversight,
    methodologies: &[(String, String)],
    asked: &Asked,
) -> Markup {
    html! {
        form class="oversight-choose" method="get" action=(oversight_href(scope)) {
            div class="nhsuk-form-group" {
                label class="nhsuk-label" for="methodology" { "Methodology" }
                select class="nhsuk-select" id="methodology" name="methodology" {
                    @for (id, name) in methodologies {
                        option value=(id) selected[*id == oversight.methodology] { (name) }
                    }
                }
            }
            div class="nhsuk-form-group" {
                label class="nhsuk-label" for="quarter" { "Quarter" }
                select class="nhsuk-select" id="quarter" name="quarter" {
                    @for quarter in &oversight.quarters {
                        option value=(quarter.id()) selected[*quarter == oversight.quarter] { (quarter_words(*quarter)) }
                    }
                    @if !oversight.quarters.contains(&oversight.quarter) {
                        option value=(oversight.quarter.id()) selected { (quarter_words(oversight.quarter)) }
                    }
                }
            }
            @if let Some(at) = &asked.as_of {
                input type="hidden" name="as_of" value=(at);
            }
            @if let Some(seq) = asked.as_of_seq {
                input type="hidden" name="as_of_seq" value=(seq);
            }
            button class="nhsuk-button nhsuk-button--secondary" type="submit" { "Show" }
        }
    }
}

/// One trust type's league table: by position, then those not placed.
fn league_table(
    oversight: &Oversight,
    trust_type: TrustType,
    name_of: &impl Fn(&str) -> String,
    (metric_name, percent): (&impl Fn(&str) -> String, &impl Fn(&str) -> bool),
    asked: &Asked,
) -> Markup {
    let mut rows: Vec<(&String, &Assessed)> = oversight
        .organisations
        .iter()
        .filter(|(_, a)| a.trust_type == Some(trust_type))
        .collect();
    if rows.is_empty() {
        return html! {};
    }
    rows.sort_by_key(|(org, a)| (a.position.is_none(), a.position, *org));
    let metrics: Vec<&str> = {
        let mut seen: Vec<&str> = Vec::new();
        for (_, a) in &rows {
            for s in &a.scores {
                if !seen.contains(&s.metric.as_str()) {
                    seen.push(&s.metric);
                }
            }
        }
        seen
    };
    html! {
        h2 { (trust_type.plural()) }
        table class="nhsuk-table oversight-league" data-trust-type=(trust_type.id()) {
            caption class="nhsuk-table__caption nhsuk-u-visually-hidden" {
                (trust_type.plural()) ", by segment then average score"
            }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Position" }
                    th class="nhsuk-table__header" scope="col" { "Organisation" }
                    th class="nhsuk-table__header" scope="col" { "Segment" }
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Average score" }
                    @for metric in &metrics {
                        th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" data-metric=(metric) { (metric_name(metric)) }
                    }
                }
            }
            tbody class="nhsuk-table__body" {
                @for (org, a) in &rows {
                    tr class="nhsuk-table__row" data-org=(org) {
                        td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="position" {
                            @match a.position {
                                Some(position) => { (position) " of " (a.of) }
                                None => { "not ranked" }
                            }
                        }
                        td class="nhsuk-table__cell" {
                            a href=(scope_href(org, asked)) { (name_of(org)) }
                        }
                        td class="nhsuk-table__cell" data-field="segment" {
                            @match a.placed {
                                Some(segment) => { strong { (segment) } }
                                None => { "none" }
                            }
                            @if let Some(reason) = a.finance_reason() {
                                br; span class="oversight-reason" data-field="finance" { (reason) }
                            }
                            @if let Some(decided) = &a.decided {
                                br; span class="oversight-reason" data-field="decided" {
                                    "Decided: " (decided.segment) ", " (decided.rationale)
                                }
                            }
                        }
                        td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="average" {
                            @match a.average {
                                Some(average) => { (format!("{average:.2}")) }
                                None => { "–" }
                            }
                        }
                        @for metric in &metrics {
                            td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-metric=(metric) {
                                @match a.scores.iter().find(|s| s.metric == *metric) {
                                    Some(s) => {
                                        (format!("{:.2}", s.score))
                                        br; span class="oversight-reason" { (format!("{:.1}{}", s.figure, if percent(metric) { "%" } else { "" })) ", rank " (s.rank) " of " (s.of) }
                                    }
                                    None => { "not scored" }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}
