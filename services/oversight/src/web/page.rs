//! The HTML of the pages, in NHS.UK frontend's markup: the frame every page shares (skip link,
//! header, breadcrumbs, one `main`, footer) and a scope's page. Pure functions of a view and the
//! reference data: no I/O here.

use maud::{html, Markup, PreEscaped, DOCTYPE};
use proto_schema::{
    headline_of, show_headline, show_standard, show_variance, Alert, AlertKind, Assurance, Cell,
    Date, GeographyMode, Period, PointType, Polarity, Spc, Standard, Value, ValueKind, View,
    WindowState, NATIONAL,
};

use super::directory::{Place, ScopeKind};

/// The NHS logo from NHS.UK frontend's header template (MIT).
const NHS_LOGO: &str = r#"<svg class="nhsuk-header__logo" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 200 80" height="40" width="100" focusable="false" role="img" aria-label="NHS"><title>NHS</title><path fill="currentcolor" d="M200 0v80H0V0h200Zm-27.5 5.5c-14.5 0-29 5-29 22 0 10.2 7.7 13.5 14.7 16.3l.7.3c5.4 2 10.1 3.9 10.1 8.4 0 6.5-8.5 7.5-14 7.5s-12.5-1.5-16-3.5L135 70c5.5 2 13.5 3.5 20 3.5 15.5 0 32-4.5 32-22.5 0-19.5-25.5-16.5-25.5-25.5 0-5.5 5.5-6.5 12.5-6.5a35 35 0 0 1 14.5 3l4-13.5c-4.5-2-12-3-20-3Zm-131 2h-22l-14 65H22l9-45h.5l13.5 45h21.5l14-65H64l-9 45h-.5l-13-45Zm63 0h-18l-13 65h17l6-28H117l-5.5 28H129l13.5-65H125L119.5 32h-20l5-24.5Z"/></svg>"#;

/// How a page was asked for: which point in the log and which geography.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Asked {
    /// `as_of=<RFC 3339>` as given, when given.
    pub as_of: Option<String>,
    pub as_of_seq: Option<u64>,
    pub geography: GeographyMode,
}

impl Asked {
    /// The query string that asks for the same point and geography (empty for now, as
    /// reported), for links between pages.
    pub fn query(&self) -> String {
        let mut parts = Vec::new();
        if let Some(at) = &self.as_of {
            parts.push(format!("as_of={}", percent_encode(at)));
        }
        if let Some(seq) = self.as_of_seq {
            parts.push(format!("as_of_seq={seq}"));
        }
        if self.geography == GeographyMode::Current {
            parts.push("geography=current".to_owned());
        }
        if parts.is_empty() {
            String::new()
        } else {
            format!("?{}", parts.join("&"))
        }
    }

    fn is_past(&self) -> bool {
        self.as_of.is_some() || self.as_of_seq.is_some()
    }
}

/// Escapes what a query value may hold that would end it (`+` in a time's offset reads as a
/// space otherwise).
pub fn percent_encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b':' => {
                out.push(byte as char)
            }
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}

/// The link to a scope's page.
pub fn scope_href(scope: &str, asked: &Asked) -> String {
    if scope == NATIONAL {
        format!("/{}", asked.query())
    } else {
        format!("/scope/{scope}{}", asked.query())
    }
}

/// The frame around every page's content.
/// A place's trail from England down to it, as (name, href) links for [`frame`].
pub fn breadcrumbs(place: &Place, asked: &Asked) -> Vec<(String, String)> {
    place
        .trail
        .iter()
        .map(|(scope, name)| (name.clone(), scope_href(scope, asked)))
        .collect()
}

pub fn frame(title: &str, trail: &[(String, String)], content: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="theme-color" content="#005eb8";
                title { (title) " – NHS performance oversight" }
                link rel="icon" href="/assets/images/favicon.ico" sizes="48x48";
                link rel="icon" href="/assets/images/favicon.svg" sizes="any" type="image/svg+xml";
                link rel="stylesheet" href="/assets/nhsuk-frontend.min.css";
                link rel="stylesheet" href="/assets/oversight.css";
            }
            body {
                a class="nhsuk-skip-link" href="#maincontent" { "Skip to main content" }
                header class="nhsuk-header" role="banner" {
                    div class="nhsuk-header__container nhsuk-width-container" {
                        div class="nhsuk-header__service" {
                            a class="nhsuk-header__service-logo" href="/"
                                aria-label="NHS performance oversight homepage" {
                                (PreEscaped(NHS_LOGO))
                                span class="nhsuk-header__service-name" { "Performance oversight" }
                            }
                        }
                    }
                }
                @if !trail.is_empty() {
                    div class="nhsuk-width-container" {
                        nav class="nhsuk-breadcrumb" aria-label="Breadcrumb" {
                            ol class="nhsuk-breadcrumb__list" {
                                @for (name, href) in trail {
                                    li class="nhsuk-breadcrumb__list-item" {
                                        a class="nhsuk-breadcrumb__link" href=(href) { (name) }
                                    }
                                }
                            }
                        }
                    }
                }
                div class="nhsuk-width-container" {
                    main class="nhsuk-main-wrapper" id="maincontent" role="main" {
                        (content)
                    }
                }
                script src="/assets/live.js" defer {}
                footer class="nhsuk-footer" role="contentinfo" {
                    div class="nhsuk-width-container" {
                        p class="nhsuk-body-s" {
                            "Figures are the single version of the truth: every return as its "
                            "organisation sent it, totalled exactly."
                        }
                    }
                }
            }
        }
    }
}

/// An error page: what went wrong and what to do.
pub fn error_page(status: u16, title: &str, detail: &str) -> Markup {
    frame(
        title,
        &[("England".into(), "/".into())],
        html! {
            h1 { (title) }
            p class="nhsuk-body" { (detail) }
            p class="nhsuk-body-s" { "HTTP status " (status) "." }
        },
    )
}

/// What a scope's figures are shown with: how the page was asked for, and the reference data's
/// words for metrics, collections and organisations.
pub struct Figures<'a> {
    pub view: &'a View,
    pub asked: &'a Asked,
    /// Metric id -> its name and kind.
    pub metric_names: &'a dyn Fn(&str) -> Option<(String, ValueKind)>,
    /// Collection id -> its name.
    pub collection_names: &'a dyn Fn(&str) -> Option<String>,
    /// Organisation code -> its name.
    pub organisation_names: &'a dyn Fn(&str) -> Option<String>,
}

/// A scope's page: one row per metric, the returns received and overdue, links down.
pub fn scope_page(page: &Figures<'_>, place: &Place, alerts: &[Alert]) -> Markup {
    let view = page.view;
    let asked = page.asked;
    // The scopes above this one; the page itself is its h1, not a breadcrumb.
    let above = &place.trail[..place.trail.len().saturating_sub(1)];
    let trail: Vec<(String, String)> = above
        .iter()
        .map(|(scope, name)| (name.clone(), scope_href(scope, asked)))
        .collect();
    let content = html! {
        span class="nhsuk-caption-l" { (place.kind.label()) }
        h1 { (place.name) }
        @if asked.is_past() {
            div class="nhsuk-warning-callout" data-field="as-of" {
                h2 class="nhsuk-warning-callout__label" {
                    span role="text" { span class="nhsuk-u-visually-hidden" { "Important: " } "Not the figures now" }
                }
                p {
                    "This page shows the figures as they stood "
                    @if let Some(at) = &asked.as_of { "at " (at) }
                    @if let Some(seq) = asked.as_of_seq { "after log entry " (seq) }
                    " (the view at log entry " (view.seq) "). "
                    a href=(scope_href(&view.scope, &Asked { geography: asked.geography, ..Asked::default() })) {
                        "See the figures now"
                    }
                }
            }
        }
        p class="nhsuk-body-s" data-field="geography" {
            @match view.geography {
                GeographyMode::AsReported => "Each return counts where its organisation was in the period it is for. ",
                GeographyMode::Current => "Each return counts where its organisation is now. ",
            }
            @let other = Asked {
                geography: match view.geography {
                    GeographyMode::AsReported => GeographyMode::Current,
                    GeographyMode::Current => GeographyMode::AsReported,
                },
                ..asked.clone()
            };
            a href=(scope_href(&view.scope, &other)) {
                @match view.geography {
                    GeographyMode::AsReported => "Count organisations where they are now",
                    GeographyMode::Current => "Count organisations where they were",
                }
            }
            " · " a href=(format!("/scope/{}.csv{}", view.scope, asked.query())) { "Download as CSV" }
            " · " a href=(format!("/scope/{}.xlsx{}", view.scope, asked.query())) { "as a spreadsheet (.xlsx)" }
            " · " a href=(format!("{}{}", super::oversight::oversight_href(&view.scope), asked.query())) data-field="oversight-link" {
                "Segments and league tables"
            }
            @if place.kind == ScopeKind::Organisation {
                " · " a href=(format!("/scope/{}/returns", view.scope)) data-field="returns-link" {
                    "Every return it has sent"
                }
            }
        }
        @if asked.is_past() {
            div id="figures" { (figures(page)) }
        } @else {
            div id="figures" data-live=(format!("/live/{}{}", view.scope, asked.query())) {
                (figures(page))
            }
            p class="nhsuk-u-visually-hidden" id="figures-status" aria-live="polite" {}
        }
        @if !asked.is_past() {
            h2 { "Latest alerts" }
            @if alerts.is_empty() {
                p class="nhsuk-body" data-field="alerts" { "No alerts since these pages started." }
            } @else {
                ul class="nhsuk-list nhsuk-list--bullet" data-field="alerts" {
                    @for alert in alerts {
                        li data-alert=(alert.kind.as_str()) {
                            strong { (alert_kind_words(alert.kind)) } ": " (alert_sentence(page, alert))
                            " (" (alert.subject) ", " (alert.period)
                            @if let Some(org) = &alert.organisation {
                                ", " a href=(scope_href(org, asked)) { (org) }
                            }
                            ")"
                        }
                    }
                }
            }
        }
        @if !place.children.is_empty() {
            h2 { (place.kind.children_label()) }
            ul class="nhsuk-list" data-field="children" {
                @for (scope, name) in &place.children {
                    li {
                        a href=(scope_href(scope, asked)) { (name) }
                        @if name != scope { " (" (scope) ")" }
                    }
                }
            }
        }
    };
    frame(&place.name, &trail, content)
}

/// The part of a scope page that changes with each commit, sent again whole to an open page
/// after each change (see `live.rs`).
pub fn figures(page: &Figures<'_>) -> Markup {
    let view = page.view;
    html! {
        p class="nhsuk-body-s" {
            "Figures after log entry " span data-field="seq" { (view.seq) } "."
        }
        h2 { "Performance against the standards" }
        (metrics_table(page))
        (returns_table(page))
        @if let Some(segment) = &view.segment {
            h2 { "Oversight segment" }
            dl class="nhsuk-summary-list" data-field="segment" {
                div class="nhsuk-summary-list__row" {
                    dt class="nhsuk-summary-list__key" { "Suggested by the triggers" }
                    dd class="nhsuk-summary-list__value" { "Segment " (segment.suggested) }
                }
                @for trigger in &segment.triggers {
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { (trigger.subject) " " (trigger.period) }
                        dd class="nhsuk-summary-list__value" {
                            (trigger.detail) " (" (trigger.points) " points)"
                        }
                    }
                }
                @if let Some(decided) = &segment.decided {
                    div class="nhsuk-summary-list__row" {
                        dt class="nhsuk-summary-list__key" { "Decided by the region" }
                        dd class="nhsuk-summary-list__value" {
                            "Segment " (decided.segment) ": " (decided.rationale)
                            " (" (decided.by) ", log entry " (decided.seq) ")"
                        }
                    }
                }
            }
        }
    }
}

fn metrics_table(page: &Figures<'_>) -> Markup {
    let view = page.view;
    if view.metrics.is_empty() {
        return html! { p class="nhsuk-body" { "No returns have been received for this scope yet." } };
    }
    html! {
        table class="nhsuk-table oversight-metrics" {
            caption class="nhsuk-table__caption nhsuk-u-visually-hidden" {
                "Each metric's latest period against its standard"
            }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    th class="nhsuk-table__header" scope="col" { "Metric" }
                    th class="nhsuk-table__header" scope="col" { "Period" }
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Value" }
                    th class="nhsuk-table__header" scope="col" { "Standard" }
                    th class="nhsuk-table__header" scope="col" { "Variation" }
                    th class="nhsuk-table__header" scope="col" { "Assurance" }
                    th class="nhsuk-table__header" scope="col" { "Trend" }
                    th class="nhsuk-table__header" scope="col" { "Against plan" }
                    th class="nhsuk-table__header" scope="col" { "Missing the standard" }
                }
            }
            tbody class="nhsuk-table__body" {
                @for (metric, periods) in &view.metrics {
                    @if let Some((period, cell)) = periods.iter().max_by_key(|(p, _)| p.end_order()) {
                        (metric_row(page, metric, periods, *period, cell))
                    }
                }
            }
        }
    }
}

fn metric_row(
    page: &Figures<'_>,
    metric: &str,
    periods: &std::collections::BTreeMap<Period, Cell>,
    period: Period,
    cell: &Cell,
) -> Markup {
    let (name, kind) = (page.metric_names)(metric)
        .unwrap_or_else(|| (metric.to_owned(), cell.summary.total.kind()));
    let spc = page.view.spc.get(metric);
    let variance = page
        .view
        .variance
        .get(metric)
        .and_then(|by_period| by_period.get(&period));
    let published = page
        .view
        .published
        .get(metric)
        .and_then(|by_period| by_period.get(&period));
    let missing: Vec<&String> = match cell.summary.standard {
        Some(standard) => cell
            .organisations
            .iter()
            .filter(|(_, value)| standard.is_met_by(value) == Some(false))
            .map(|(org, _)| org)
            .collect(),
        None => Vec::new(),
    };
    html! {
        tr class="nhsuk-table__row" data-metric=(metric) {
            td class="nhsuk-table__cell" {
                a href=(format!("/scope/{}/{metric}{}", page.view.scope, page.asked.query())) { (name) }
            }
            td class="nhsuk-table__cell" data-field="period" { (period_time(period)) }
            td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="value" {
                (headline(&cell.summary.total, cell.summary.value))
                @if let Some(published) = published.filter(|p| p.summary.total != cell.summary.total) {
                    br;
                    span class="oversight-muted" data-field="published" {
                        "refreshed after the deadline; published "
                        (headline(&published.summary.total, published.summary.value))
                    }
                }
            }
            td class="nhsuk-table__cell" data-field="standard" {
                (standard_words(cell.summary.standard, cell.summary.met, kind))
            }
            td class="nhsuk-table__cell" data-field="variation" { (variation_icon(spc)) }
            td class="nhsuk-table__cell" data-field="assurance" { (assurance_icon(spc)) }
            td class="nhsuk-table__cell" { (sparkline(&name, periods)) }
            td class="nhsuk-table__cell" data-field="plan" {
                @if let Some(variance) = variance {
                    (show_variance(kind, variance.value)) " ("
                    (variance.organisations) " of " (variance.of) " with a plan)"
                } @else {
                    span class="oversight-muted" { "no plan" }
                }
            }
            td class="nhsuk-table__cell" data-field="missing-standard" {
                @if missing.is_empty() {
                    @if cell.summary.standard.is_some() { "none" }
                } @else {
                    @for (i, org) in missing.iter().enumerate() {
                        @if i > 0 { ", " }
                        a href=(scope_href(org, page.asked))
                            title=((page.organisation_names)(org).unwrap_or_default()) { (org) }
                    }
                }
            }
        }
    }
}

/// An alert in the reference data's words (the published message names metrics and
/// collections by id).
fn alert_sentence(page: &Figures<'_>, alert: &Alert) -> String {
    let metric = || (page.metric_names)(&alert.subject).map(|(name, _)| name);
    match (alert.kind, &alert.organisation) {
        (AlertKind::ReturnOverdue, Some(org)) => {
            let organisation = (page.organisation_names)(org).unwrap_or_else(|| org.clone());
            let collection =
                (page.collection_names)(&alert.subject).unwrap_or_else(|| alert.subject.clone());
            format!(
                "{organisation}'s {collection} return for {} is overdue",
                period_words(alert.period)
            )
        }
        (AlertKind::SpcConcern, _) => match metric() {
            Some(name) => format!(
                "{name}, {}: a special cause of concern",
                period_words(alert.period)
            ),
            None => alert.message.clone(),
        },
        (AlertKind::StandardMissed, _) => match metric() {
            Some(name) => format!(
                "{name}, {}: the standard is missed",
                period_words(alert.period)
            ),
            None => alert.message.clone(),
        },
        _ => alert.message.clone(),
    }
}

fn alert_kind_words(kind: AlertKind) -> &'static str {
    match kind {
        AlertKind::StandardMissed => "Standard missed",
        AlertKind::SpcConcern => "Special cause of concern",
        AlertKind::ReturnOverdue => "Return overdue",
    }
}

/// A headline figure as the pages show it: a ratio as a percentage with one decimal.
pub fn headline(total: &Value, value: f64) -> String {
    match total {
        Value::Ratio { .. } if value.is_finite() => format!("{value:.1}%"),
        Value::Ratio { .. } => "no cases".to_owned(),
        _ => show_headline(total, value),
    }
}

fn standard_words(standard: Option<Standard>, met: Option<bool>, kind: ValueKind) -> Markup {
    let Some(standard) = standard else {
        return html! { span class="oversight-muted" { "no standard" } };
    };
    html! {
        (show_standard(standard, kind)) " "
        @match met {
            Some(true) => strong class="nhsuk-tag nhsuk-tag--green" { "Met" },
            Some(false) => strong class="nhsuk-tag nhsuk-tag--red" { "Not met" },
            None => strong class="nhsuk-tag nhsuk-tag--grey" { "No cases" },
        }
    }
}

/// Making Data Count's variation icon: a coloured disc with a letter, and words, so colour is
/// never the only signal (grey common cause, orange concern, blue improvement).
fn variation_icon(spc: Option<&Spc>) -> Markup {
    let Some(spc) = spc else {
        return html! { span class="oversight-muted" { "too few points" } };
    };
    let (class, letter, words) = match spc.variation {
        PointType::CommonCause => ("common", "~", "Common cause"),
        PointType::SpecialCauseImprovement => ("improvement", "I", "Special cause: improvement"),
        PointType::SpecialCauseConcern => ("concern", "C", "Special cause: concern"),
        PointType::SpecialCauseNeutralHigh => ("neutral", "H", "Special cause: higher"),
        PointType::SpecialCauseNeutralLow => ("neutral", "L", "Special cause: lower"),
    };
    html! {
        span class=(format!("oversight-icon oversight-icon--{class}")) aria-hidden="true" { (letter) }
        " " span class="oversight-icon-words" { (words) }
    }
}

/// Making Data Count's assurance icon: pass, fail, or hit and miss against the standard.
fn assurance_icon(spc: Option<&Spc>) -> Markup {
    let Some(assurance) = spc.and_then(|spc| spc.assurance) else {
        return html! { span class="oversight-muted" { "—" } };
    };
    let (class, letter, words) = match assurance {
        Assurance::ConsistentPass => ("pass", "P", "Consistently passes"),
        Assurance::ConsistentFail => ("fail", "F", "Consistently fails"),
        Assurance::Inconsistent => ("hit-and-miss", "?", "Hit and miss"),
    };
    html! {
        span class=(format!("oversight-icon oversight-icon--{class}")) aria-hidden="true" { (letter) }
        " " span class="oversight-icon-words" { (words) }
    }
}

/// The last two years or so of a series as a small line, with its words for screen readers.
fn sparkline(name: &str, periods: &std::collections::BTreeMap<Period, Cell>) -> Markup {
    const POINTS: usize = 24;
    let values: Vec<f64> = periods
        .values()
        .map(|cell| cell.summary.value)
        .filter(|value| value.is_finite())
        .collect();
    let values = &values[values.len().saturating_sub(POINTS)..];
    if values.len() < 2 {
        return html! {};
    }
    let (low, high) = values
        .iter()
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(*v), hi.max(*v))
        });
    let span = if high > low { high - low } else { 1.0 };
    let (width, height) = (96.0, 24.0);
    let step = width / (values.len() - 1) as f64;
    let points: Vec<String> = values
        .iter()
        .enumerate()
        .map(|(i, v)| {
            format!(
                "{:.1},{:.1}",
                i as f64 * step,
                height - 2.0 - (v - low) / span * (height - 4.0)
            )
        })
        .collect();
    let label = format!(
        "{name}: the last {} periods, from {} to {}",
        values.len(),
        round_for_words(values[0]),
        round_for_words(values[values.len() - 1])
    );
    html! {
        svg class="oversight-sparkline" width="96" height="24" viewBox="0 0 96 24" role="img"
            aria-label=(label) {
            polyline fill="none" stroke="currentColor" stroke-width="1.5" points=(points.join(" ")) {}
        }
    }
}

fn round_for_words(value: f64) -> String {
    if value.fract() == 0.0 {
        format!("{value:.0}")
    } else {
        format!("{value:.1}")
    }
}

fn returns_table(page: &Figures<'_>) -> Markup {
    let view = page.view;
    let collections: std::collections::BTreeSet<&String> = view
        .received
        .keys()
        .chain(view.missing.keys())
        .chain(view.completeness.keys())
        .collect();
    if collections.is_empty() {
        return html! {};
    }
    html! {
        h2 { "Returns" }
        p class="nhsuk-body" {
            "Each period of a collection is open from the day after it ends to its deadline. "
            "Figures are provisional until every organisation expected has returned, and are "
            "published as they stand at the deadline; a return after it is a refresh."
        }
        table class="nhsuk-table" data-field="returns" {
            caption class="nhsuk-table__caption nhsuk-u-visually-hidden" {
                "Returns expected, received and overdue for each collection's latest period"
            }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    th class="nhsuk-table__header" scope="col" { "Collection" }
                    th class="nhsuk-table__header" scope="col" { "Latest period" }
                    th class="nhsuk-table__header" scope="col" { "Window" }
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Received" }
                    th class="nhsuk-table__header" scope="col" { "Status" }
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Overdue" }
                    th class="nhsuk-table__header" scope="col" { "Overdue from" }
                }
            }
            tbody class="nhsuk-table__body" {
                @for collection in collections {
                    @let latest = view.received.get(collection).map(|p| p.keys()).into_iter().flatten()
                        .chain(view.missing.get(collection).map(|p| p.keys()).into_iter().flatten())
                        .chain(view.completeness.get(collection).map(|p| p.keys()).into_iter().flatten())
                        .max_by_key(|p| p.end_order());
                    @if let Some(period) = latest {
                        @let received = view.received.get(collection).and_then(|p| p.get(period));
                        @let missing = view.missing.get(collection).and_then(|p| p.get(period));
                        @let completeness = view.completeness.get(collection).and_then(|p| p.get(period));
                        tr class="nhsuk-table__row" data-collection=(collection) {
                            td class="nhsuk-table__cell" {
                                ((page.collection_names)(collection).unwrap_or_else(|| collection.clone()))
                            }
                            td class="nhsuk-table__cell" { (period_time(*period)) }
                            td class="nhsuk-table__cell" data-field="window" {
                                @if let Some(c) = completeness {
                                    (long_date(c.opens)) " to " (long_date(c.closes))
                                }
                            }
                            td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="received" {
                                (count_of(received))
                                @if let Some(c) = completeness {
                                    " of " span data-field="expected" { (c.expected) }
                                }
                            }
                            td class="nhsuk-table__cell" data-field="state" {
                                @if let Some(c) = completeness {
                                    (window_tag(c.state))
                                    @if c.after_close > 0 {
                                        " " span class="oversight-muted" data-field="after-close" {
                                            (c.after_close) " after the deadline"
                                        }
                                    }
                                }
                            }
                            td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="overdue" {
                                (count_of(missing))
                            }
                            td class="nhsuk-table__cell" {
                                @if let Some(missing) = missing {
                                    @for (i, (org, value)) in missing.organisations.iter()
                                        .filter(|(_, v)| **v != Value::Count(0)).enumerate() {
                                        @if i > 0 { ", " }
                                        @let _ = value;
                                        a href=(scope_href(org, page.asked))
                                            title=((page.organisation_names)(org).unwrap_or_default()) { (org) }
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }
    }
}

/// A window's state as an NHS tag.
pub(crate) fn window_tag(state: WindowState) -> Markup {
    let (class, words) = match state {
        WindowState::Provisional => ("nhsuk-tag nhsuk-tag--yellow", "Provisional"),
        WindowState::Complete => ("nhsuk-tag nhsuk-tag--green", "Complete"),
        WindowState::Closed => ("nhsuk-tag nhsuk-tag--grey", "Closed"),
    };
    html! { strong class=(class) data-state=(state.as_str()) { (words) } }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

fn month_name(month: u8) -> &'static str {
    MONTHS[usize::from(month.clamp(1, 12)) - 1]
}

/// A date as NHS pages write it: 15 May 2019.
pub(crate) fn long_date(date: Date) -> String {
    format!(
        "{} {} {}",
        date.day(),
        month_name(date.month()),
        date.year()
    )
}

/// A period in words: June 2025, week beginning 2 June 2025, or 3 June 2025.
pub(crate) fn period_words(period: Period) -> String {
    match period {
        Period::Month { year, month } => format!("{} {year}", month_name(month)),
        Period::Week { .. } => format!("week beginning {}", long_date(period.first_day())),
        Period::Day(date) => long_date(date),
    }
}

/// A period in words, marked up with its code for machines: `<time datetime="2025-06">June
/// 2025</time>` (HTML's month, week and date strings are the codes the service uses).
pub(crate) fn period_time(period: Period) -> Markup {
    html! { time datetime=(period) { (period_words(period)) } }
}

/// A period where room is short, as on a chart's axis: Jun 2025, or 2 Jun 2025 for a week (its
/// first day) or a day.
fn period_short(period: Period) -> String {
    let short = |month: u8| &month_name(month)[..3];
    match period {
        Period::Month { year, month } => format!("{} {year}", short(month)),
        Period::Week { .. } | Period::Day(_) => {
            let day = period.first_day();
            format!("{} {} {}", day.day(), short(day.month()), day.year())
        }
    }
}

fn count_of(cell: Option<&Cell>) -> i64 {
    match cell.map(|c| c.summary.total) {
        Some(Value::Count(n)) => n,
        _ => 0,
    }
}

impl ScopeKind {
    fn label(self) -> &'static str {
        match self {
            ScopeKind::England => "Country",
            ScopeKind::Region => "NHS region",
            ScopeKind::System => "Integrated care system",
            ScopeKind::Organisation => "Organisation",
            ScopeKind::Unassigned => "Not in a system",
        }
    }

    fn children_label(self) -> &'static str {
        match self {
            ScopeKind::England => "Regions",
            ScopeKind::Region => "Systems",
            ScopeKind::System | ScopeKind::Unassigned => "Organisations",
            ScopeKind::Organisation => "",
        }
    }
}

/// A metric's page for one scope: its XmR chart, the series as a table beside it, and the
/// scope's organisations ranked on the latest period.
pub struct MetricPage<'a> {
    pub figures: &'a Figures<'a>,
    pub place: &'a Place,
    pub metric: &'a str,
    pub name: &'a str,
    pub polarity: Polarity,
}

pub fn metric_page(page: &MetricPage<'_>) -> Markup {
    let view = page.figures.view;
    let asked = page.figures.asked;
    let place = page.place;
    let mut trail = breadcrumbs(place, asked);
    if trail.is_empty() {
        trail.push(("England".into(), scope_href(NATIONAL, asked)));
    }
    let periods = view.metrics.get(page.metric);
    let spc = view.spc.get(page.metric);
    let content = html! {
        span class="nhsuk-caption-l" { (place.name) }
        h1 { (page.name) }
        @if asked.is_past() {
            div class="nhsuk-warning-callout" data-field="as-of" {
                h2 class="nhsuk-warning-callout__label" {
                    span role="text" { span class="nhsuk-u-visually-hidden" { "Important: " } "Not the figures now" }
                }
                p { "This chart shows the figures as they stood after log entry " (view.seq) "." }
            }
        }
        @match periods {
            None => p class="nhsuk-body" { "No returns for this metric have been received for this scope yet." },
            Some(periods) => {
                h2 { "Statistical process control chart" }
                p class="nhsuk-body-s" {
                    "An XmR chart, as in Making Data Count: each point coloured by its variation "
                    "(grey common cause, orange concern, blue improvement, purple a neutral "
                    "change), the mean, the process limits and the standard. The same figures "
                    "are in the table below it."
                }
                (xmr_chart(page.name, periods, spc))
                (series_table(page, periods, spc))
                (ranking(page, periods))
            }
        }
    };
    frame(&format!("{} – {}", page.name, place.name), &trail, content)
}

/// The colour and words of a point's variation.
fn point_style(point: Option<&PointType>) -> (&'static str, &'static str) {
    match point {
        Some(PointType::SpecialCauseImprovement) => ("#005eb8", "Special cause: improvement"),
        Some(PointType::SpecialCauseConcern) => ("#b35c00", "Special cause: concern"),
        Some(PointType::SpecialCauseNeutralHigh) => ("#330072", "Special cause: higher"),
        Some(PointType::SpecialCauseNeutralLow) => ("#330072", "Special cause: lower"),
        Some(PointType::CommonCause) => ("#4c6272", "Common cause"),
        None => ("#4c6272", "Not charted"),
    }
}

/// The XmR chart as SVG: points by period, the mean, the process limits and the standard.
fn xmr_chart(
    name: &str,
    periods: &std::collections::BTreeMap<Period, Cell>,
    spc: Option<&Spc>,
) -> Markup {
    let points: Vec<(Period, f64)> = periods
        .iter()
        .map(|(period, cell)| (*period, cell.summary.value))
        .filter(|(_, value)| value.is_finite())
        .collect();
    if points.is_empty() {
        return html! {};
    }
    let standard = periods
        .values()
        .next_back()
        .and_then(|cell| {
            cell.summary
                .standard
                .map(|s| (s, cell.summary.total.kind()))
        })
        .map(|(s, kind)| match kind {
            ValueKind::Ratio => s.target as f64 / 100.0,
            _ => s.target as f64,
        });
    let mut extremes: Vec<f64> = points.iter().map(|(_, v)| *v).collect();
    extremes.extend(spc.and_then(|s| s.upper_limit));
    extremes.extend(spc.and_then(|s| s.lower_limit));
    extremes.extend(standard);
    let low = extremes.iter().copied().fold(f64::INFINITY, f64::min);
    let high = extremes.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let pad = ((high - low) * 0.08).max(1e-9);
    let (low, high) = (low - pad, high + pad);
    // The right margin holds the lines' labels, clear of the points.
    let (width, height, left, right, top, bottom) = (720.0, 320.0, 64.0, 136.0, 16.0, 40.0);
    let x = |i: usize| {
        let n = points.len().max(2) - 1;
        left + (width - left - right) * i as f64 / n as f64
    };
    let y = |value: f64| top + (height - top - bottom) * (high - value) / (high - low);
    // The mean, the process limits and the standard: each a line, each labelled; labels of lines
    // close together are spread apart so none is drawn over another.
    let mut rules: Vec<(f64, &str, &str, &str)> = Vec::new();
    if let Some(spc) = spc {
        rules.push((spc.mean, "#212b32", "", "mean"));
        if let Some(upper) = spc.upper_limit {
            rules.push((upper, "#768692", "6 4", "upper process limit"));
        }
        if let Some(lower) = spc.lower_limit {
            rules.push((lower, "#768692", "6 4", "lower process limit"));
        }
    }
    if let Some(standard) = standard {
        rules.push((standard, "#da291c", "2 3", "standard"));
    }
    rules.sort_by(|a, b| y(a.0).total_cmp(&y(b.0)));
    let label_ys = spread(
        rules.iter().map(|rule| y(rule.0) + 4.0).collect(),
        LABEL_SPACING,
        top + 12.0,
        height - bottom - 3.0,
    );
    // The line breaks where periods are missing, so years without returns are not drawn as a
    // straight run between the two sides.
    let mut lines: Vec<Vec<String>> = Vec::new();
    for (i, (period, v)) in points.iter().enumerate() {
        let follows = i > 0 && {
            let before = points[i - 1].0.last_day().days_since_epoch();
            period.first_day().days_since_epoch() == before + 1
        };
        if !follows {
            lines.push(Vec::new());
        }
        if let Some(line) = lines.last_mut() {
            line.push(format!("{:.1},{:.1}", x(i), y(*v)));
        }
    }
    let ticks = [low + pad, (low + high) / 2.0, high - pad];
    let every = (points.len() / 8).max(1);
    html! {
        svg class="oversight-chart" viewBox=(format!("0 0 {width} {height}")) role="img"
            aria-label=(format!("{name}: {} points; the table below gives each one", points.len()))
            data-field="chart" {
            rect x=(left) y=(top) width=(width - left - right) height=(height - top - bottom)
                fill="#ffffff" stroke="#d8dde0" {}
            @for tick in ticks {
                text x=(left - 6.0) y=(format!("{:.1}", y(tick) + 4.0)) text-anchor="end" font-size="12"
                    fill="#212b32" { (round_for_words(tick)) }
            }
            @for ((value, colour, dash, label), label_y) in rules.iter().zip(&label_ys) {
                line x1=(left) x2=(width - right) y1=(format!("{:.1}", y(*value))) y2=(format!("{:.1}", y(*value)))
                    stroke=(colour) stroke-width="1.5" stroke-dasharray=(dash) {}
                text x=(width - right + 6.0) y=(format!("{label_y:.1}")) text-anchor="start"
                    font-size="12" fill=(colour) { (label) }
            }
            @for line in &lines {
                polyline fill="none" stroke="#aeb7bd" stroke-width="1.5" points=(line.join(" ")) {}
            }
            @for (i, (period, value)) in points.iter().enumerate() {
                @let (colour, words) = point_style(spc.and_then(|s| s.points.get(period)));
                circle cx=(format!("{:.1}", x(i))) cy=(format!("{:.1}", y(*value))) r="4" fill=(colour)
                    data-point-type=(words) {
                    title { (period_words(*period)) ": " (round_for_words(*value)) " – " (words) }
                }
                @if i % every == 0 || i + 1 == points.len() {
                    // The first and last labels sit inside the chart's edges.
                    @let anchor = if i + 1 == points.len() && i > 0 { "end" } else if i == 0 { "start" } else { "middle" };
                    text x=(format!("{:.1}", x(i))) y=(height - bottom + 16.0) text-anchor=(anchor)
                        font-size="11" fill="#212b32" { (period_short(*period)) }
                }
            }
        }
    }
}

/// The least distance between two of a chart's line labels, in its units.
const LABEL_SPACING: f64 = 13.0;

/// Positions `wanted` (in ascending order) moved apart to at least `spacing` from each other,
/// within `lowest..=highest` where they fit, each as near where it was wanted as that allows.
fn spread(wanted: Vec<f64>, spacing: f64, lowest: f64, highest: f64) -> Vec<f64> {
    let mut at = wanted;
    for i in 0..at.len() {
        let floor = if i == 0 { lowest } else { at[i - 1] + spacing };
        at[i] = at[i].max(floor);
    }
    // Pushed past the bottom: back up from there, keeping the spacing.
    for i in (0..at.len()).rev() {
        let ceiling = if i + 1 == at.len() {
            highest
        } else {
            at[i + 1] - spacing
        };
        at[i] = at[i].min(ceiling);
    }
    at
}

fn series_table(
    page: &MetricPage<'_>,
    periods: &std::collections::BTreeMap<Period, Cell>,
    spc: Option<&Spc>,
) -> Markup {
    html! {
        table class="nhsuk-table" data-field="series" {
            caption class="nhsuk-table__caption" { "Each period's figure" }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    th class="nhsuk-table__header" scope="col" { "Period" }
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Value" }
                    th class="nhsuk-table__header" scope="col" { "Variation" }
                    th class="nhsuk-table__header" scope="col" { "Standard" }
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Organisations" }
                }
            }
            tbody class="nhsuk-table__body" {
                @for (period, cell) in periods.iter().rev() {
                    tr class="nhsuk-table__row" data-period=(period) {
                        td class="nhsuk-table__cell" { (period_time(*period)) }
                        td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="value" {
                            (headline(&cell.summary.total, cell.summary.value))
                        }
                        td class="nhsuk-table__cell" { (point_style(spc.and_then(|s| s.points.get(period))).1) }
                        td class="nhsuk-table__cell" {
                            @match cell.summary.met {
                                Some(true) => "Met",
                                Some(false) => "Not met",
                                None => "",
                            }
                        }
                        td class="nhsuk-table__cell nhsuk-table__cell--numeric" { (cell.organisations.len()) }
                    }
                }
            }
        }
        @let _ = page;
    }
}

/// The scope's organisations on the latest period, best first (by the metric's polarity; a
/// neutral metric largest first), ties sharing a rank.
pub fn ranked(cell: &Cell, polarity: Polarity) -> Vec<(usize, &String, &Value, f64)> {
    let mut rows: Vec<(&String, &Value, f64)> = cell
        .organisations
        .iter()
        .map(|(org, value)| (org, value, value_headline(value)))
        .filter(|(_, _, headline)| headline.is_finite())
        .collect();
    rows.sort_by(|a, b| {
        let order = match polarity {
            Polarity::LowerIsBetter => a.2.total_cmp(&b.2),
            Polarity::HigherIsBetter | Polarity::Neutral => b.2.total_cmp(&a.2),
        };
        order.then_with(|| a.0.cmp(b.0))
    });
    let mut out = Vec::with_capacity(rows.len());
    for (i, (org, value, headline)) in rows.iter().enumerate() {
        let rank = match out.last() {
            Some((rank, _, _, last)) if *last == *headline => *rank,
            _ => i + 1,
        };
        out.push((rank, *org, *value, *headline));
    }
    out
}

/// An organisation's own figure as its headline, as a scope's total of it alone would read
/// (`headline_of`); NaN for a ratio with no cases, which has no figure to rank.
pub fn value_headline(value: &Value) -> f64 {
    match value {
        Value::Ratio { denominator, .. } if denominator.0 == 0 => f64::NAN,
        _ => headline_of(std::iter::once(value)).unwrap_or(f64::NAN),
    }
}

fn ranking(page: &MetricPage<'_>, periods: &std::collections::BTreeMap<Period, Cell>) -> Markup {
    let Some((period, cell)) = periods.iter().max_by_key(|(p, _)| p.end_order()) else {
        return html! {};
    };
    let rows = ranked(cell, page.polarity);
    if rows.len() < 2 {
        return html! {};
    }
    let names = page.figures.organisation_names;
    html! {
        h2 { "Organisations ranked, " (period_words(*period)) }
        table class="nhsuk-table" data-field="ranking" {
            caption class="nhsuk-table__caption nhsuk-u-visually-hidden" {
                "The scope's organisations ranked on " (page.name) " for " (period_words(*period))
            }
            thead class="nhsuk-table__head" {
                tr class="nhsuk-table__row" {
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Rank" }
                    th class="nhsuk-table__header" scope="col" { "Organisation" }
                    th class="nhsuk-table__header nhsuk-table__header--numeric" scope="col" { "Value" }
                    th class="nhsuk-table__header" scope="col" { "Standard" }
                }
            }
            tbody class="nhsuk-table__body" {
                @for (rank, org, value, figure) in &rows {
                    tr class="nhsuk-table__row" data-organisation=(org) {
                        td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="rank" { (rank) }
                        td class="nhsuk-table__cell" {
                            a href=(scope_href(org, page.figures.asked)) { ((names)(org).unwrap_or_else(|| (*org).clone())) }
                            " (" (org) ")"
                        }
                        td class="nhsuk-table__cell nhsuk-table__cell--numeric" data-field="value" {
                            (headline(value, *figure))
                        }
                        td class="nhsuk-table__cell" {
                            @match cell.summary.standard.and_then(|s| s.is_met_by(value)) {
                                Some(true) => "Met",
                                Some(false) => "Not met",
                                None => "",
                            }
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proto_schema::Summary;

    #[test]
    fn periods_are_written_in_words_with_their_code_for_machines() {
        let words = |code: &str| period_words(Period::parse(code).expect("period"));
        assert_eq!(words("2025-06"), "June 2025");
        assert_eq!(words("2025-01"), "January 2025");
        assert_eq!(words("2025-12"), "December 2025");
        // ISO week 1 of 2019 begins on Monday 31 December 2018.
        assert_eq!(words("2019-W01"), "week beginning 31 December 2018");
        assert_eq!(words("2025-06-03"), "3 June 2025");
        let short = |code: &str| period_short(Period::parse(code).expect("period"));
        assert_eq!(short("2025-09"), "Sep 2025");
        assert_eq!(short("2019-W01"), "31 Dec 2018");
        let june = Period::parse("2025-06").expect("period");
        assert_eq!(
            period_time(june).into_string(),
            "<time datetime=\"2025-06\">June 2025</time>"
        );
    }

    #[test]
    fn chart_labels_close_together_are_spread_apart_within_the_chart() {
        // Three labels within 2 units of each other near the bottom, one far above.
        let at = super::spread(vec![20.0, 300.0, 301.0, 302.0], 13.0, 12.0, 310.0);
        assert_eq!(
            at[0], 20.0,
            "a label clear of the others stays where it was"
        );
        for pair in at.windows(2) {
            assert!(pair[1] - pair[0] >= 13.0 - 1e-9, "{at:?}");
        }
        assert!(at.iter().all(|y| (12.0..=310.0).contains(y)), "{at:?}");
        assert_eq!(
            super::spread(vec![50.0, 100.0], 13.0, 12.0, 310.0),
            [50.0, 100.0]
        );
    }

    fn series(periods: &[&str]) -> std::collections::BTreeMap<Period, Cell> {
        periods
            .iter()
            .enumerate()
            .map(|(i, p)| {
                let period = Period::parse(p).expect("period");
                let cell = Cell {
                    summary: Summary {
                        total: Value::Count(10 + i as i64),
                        value: 10.0 + i as f64,
                        standard: None,
                        met: None,
                    },
                    organisations: Default::default(),
                };
                (period, cell)
            })
            .collect()
    }

    #[test]
    fn a_chart_breaks_its_line_where_periods_are_missing() {
        let chart = xmr_chart(
            "A&E",
            &series(&["2019-01", "2019-02", "2019-03", "2025-04", "2025-05"]),
            None,
        )
        .into_string();
        assert_eq!(chart.matches("<polyline").count(), 2, "{chart}");
        assert_eq!(chart.matches("<circle").count(), 5);
        let unbroken =
            xmr_chart("A&E", &series(&["2019-01", "2019-02", "2019-03"]), None).into_string();
        assert_eq!(unbroken.matches("<polyline").count(), 1);
    }

    #[test]
    fn ties_share_a_rank_and_the_best_comes_first_by_polarity() {
        let cell = Cell {
            summary: Summary {
                total: Value::Count(0),
                value: 0.0,
                standard: None,
                met: None,
            },
            organisations: [("A", 5), ("B", 9), ("C", 5), ("D", 1)]
                .into_iter()
                .map(|(org, n)| (org.to_owned(), Value::Count(n)))
                .collect(),
        };
        let order = |polarity| {
            ranked(&cell, polarity)
                .into_iter()
                .map(|(rank, org, ..)| format!("{rank}{org}"))
                .collect::<Vec<_>>()
        };
        assert_eq!(order(Polarity::HigherIsBetter), ["1B", "2A", "2C", "4D"]);
        assert_eq!(order(Polarity::LowerIsBetter), ["1D", "2A", "2C", "4B"]);
    }
}
