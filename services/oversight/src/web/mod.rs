//! The web pages: each scope's view as an NHS.UK page and as CSV, for the regional and national
//! teams and trust analysts. A page is rendered on the server from a snapshot asked of the views
//! over NATS, like any other consumer, so the same pages can be served beside the service or
//! from another machine; every page works without JavaScript.

pub mod access;
mod alerts;
mod directory;
mod export;
mod live;
mod oversight;
mod page;
pub mod reference_feed;
mod returns;
mod sign_in;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;

use anyhow::Context;
use axum::extract::{Path, Query, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use proto_schema::{GeographyMode, Period, SnapshotRequest, Timestamp, View, NATIONAL};
use tracing::{info, warn};

use crate::client::{Client, ClientError};
pub use directory::Directory;
use page::Asked;

/// NHS.UK frontend's stylesheet, vendored (web/nhsuk-frontend/README.md says from where).
const NHSUK_CSS: &[u8] = include_bytes!("../../web/nhsuk-frontend/nhsuk-frontend.min.css");
/// The project's own few styles.
const OVERSIGHT_CSS: &[u8] = include_bytes!("../../web/oversight.css");
/// What keeps an open page's figures current.
const LIVE_JS: &[u8] = include_bytes!("../../web/live.js");
/// The images the stylesheet and the page heads refer to.
const IMAGES: &[(&str, &str, &[u8])] = &[
    (
        "favicon.ico",
        "image/x-icon",
        include_bytes!("../../web/nhsuk-frontend/images/favicon.ico"),
    ),
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../web/nhsuk-frontend/images/favicon.svg"),
    ),
    (
        "nhsuk-icon-arrow-down.svg",
        "image/svg+xml",
        include_bytes!("../../web/nhsuk-frontend/images/nhsuk-icon-arrow-down.svg"),
    ),
    (
        "nhsuk-icon-arrow-up-down.svg",
        "image/svg+xml",
        include_bytes!("../../web/nhsuk-frontend/images/nhsuk-icon-arrow-up-down.svg"),
    ),
    (
        "nhsuk-icon-arrow-up.svg",
        "image/svg+xml",
        include_bytes!("../../web/nhsuk-frontend/images/nhsuk-icon-arrow-up.svg"),
    ),
    (
        "nhsuk-icon-cross.svg",
        "image/svg+xml",
        include_bytes!("../../web/nhsuk-frontend/images/nhsuk-icon-cross.svg"),
    ),
];

/// What every handler needs: the views (over NATS) and the reference data to name scopes by.
#[derive(Clone)]
struct Web {
    client: Client,
    directory: Directory,
    alerts: alerts::RecentAlerts,
    access: access::Access,
}

/// Refuses an address other machines could reach while the pages are open (no web users).
pub fn check_addr(addr: SocketAddr, access: &access::Access) -> anyhow::Result<()> {
    anyhow::ensure!(
        addr.ip().is_loopback() || access.required(),
        "the web pages would be served on {addr} to anyone who can reach it: configure web users \
         (a users file, --web-users) or serve them on a loopback address (127.0.0.1:9730, the \
         default)"
    );
    Ok(())
}

/// Binds the pages' address, so a clash is reported at start-up rather than later.
pub async fn bind(addr: SocketAddr) -> anyhow::Result<tokio::net::TcpListener> {
    tokio::net::TcpListener::bind(addr).await.with_context(|| {
        format!("cannot listen for the web pages on {addr} ([web] addr, --web-addr; --no-web turns them off)")
    })
}

/// Serves the pages on `listener` until `shutdown` completes.
pub async fn serve(
    listener: tokio::net::TcpListener,
    client: Client,
    directory: Directory,
    access: access::Access,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let addr = listener.local_addr()?;
    let alerts = alerts::RecentAlerts::follow(&client).await?;
    info!(url = %format!("http://{addr}/"), "serving the web pages");
    axum::serve(
        listener,
        router(Web {
            client,
            directory,
            alerts,
            access,
        }),
    )
    .with_graceful_shutdown(shutdown)
    .await
    .context("the web pages' server")
}

fn router(web: Web) -> Router {
    Router::new()
        .route("/", get(england))
        .route("/scope/{scope}", get(scope))
        .route("/scope/{scope}/returns", get(returns::returns))
        .route("/scope/{scope}/oversight", get(oversight::scope))
        .route("/oversight", get(oversight::england))
        .route("/scope/{scope}/{metric}", get(metric))
        .route("/live/{scope}", get(live::figures))
        .route(
            "/assets/nhsuk-frontend.min.css",
            get(|| async { asset("text/css; charset=utf-8", NHSUK_CSS) }),
        )
        .route(
            "/assets/oversight.css",
            get(|| async { asset("text/css; charset=utf-8", OVERSIGHT_CSS) }),
        )
        .route(
            "/assets/live.js",
            get(|| async { asset("text/javascript; charset=utf-8", LIVE_JS) }),
        )
        .route("/assets/images/{name}", get(image))
        .route(
            "/favicon.ico",
            get(|| async { asset("image/x-icon", IMAGES[0].2) }),
        )
        .route("/sign-in", get(sign_in::show).post(sign_in::submit))
        .route("/sign-out", axum::routing::post(sign_in::sign_out))
        .fallback(|| async {
            PageError::NotFound("There is no page at this address.".into()).into_response()
        })
        .layer(axum::middleware::from_fn_with_state(
            web.clone(),
            sign_in::guard,
        ))
        .with_state(web)
}

fn asset(content_type: &'static str, body: &'static [u8]) -> Response {
    (
        [
            (header::CONTENT_TYPE, HeaderValue::from_static(content_type)),
            (
                header::CACHE_CONTROL,
                HeaderValue::from_static("public, max-age=3600"),
            ),
        ],
        body,
    )
        .into_response()
}

async fn image(Path(name): Path<String>) -> Response {
    match IMAGES.iter().find(|(file, ..)| *file == name) {
        Some((_, content_type, body)) => asset(content_type, body),
        None => PageError::NotFound(format!("No image {name}.")).into_response(),
    }
}

/// Why a page cannot be shown, each with its HTTP status.
#[derive(Debug, thiserror::Error)]
enum PageError {
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Unavailable(String),
    #[error("{0}")]
    TooLarge(String),
}

impl PageError {
    fn status(&self) -> StatusCode {
        match self {
            PageError::BadRequest(_) => StatusCode::BAD_REQUEST,
            PageError::NotFound(_) => StatusCode::NOT_FOUND,
            PageError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            PageError::TooLarge(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn title(&self) -> &'static str {
        match self {
            PageError::BadRequest(_) => "This address asks for something the pages cannot show",
            PageError::NotFound(_) => "Page not found",
            PageError::Unavailable(_) => "The figures cannot be shown just now",
            PageError::TooLarge(_) => "This view is too large to show",
        }
    }
}

impl IntoResponse for PageError {
    fn into_response(self) -> Response {
        let status = self.status();
        let body = page::error_page(status.as_u16(), self.title(), &self.to_string());
        (status, html_headers(), body.into_string()).into_response()
    }
}

fn html_headers() -> [(header::HeaderName, HeaderValue); 2] {
    [
        (
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        ),
        // Figures change with every commit.
        (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
    ]
}

/// Reads `as_of`, `as_of_seq` and `geography` from a page's query; anything else is ignored, as
/// browsers and proxies add their own.
fn read_asked(query: &HashMap<String, String>) -> Result<(Asked, SnapshotRequest), PageError> {
    let mut asked = Asked::default();
    let mut request = SnapshotRequest::default();
    if let Some(at) = query.get("as_of").filter(|at| !at.is_empty()) {
        let parsed = Timestamp::parse(at).ok_or_else(|| {
            PageError::BadRequest(format!(
                "as_of={at} is not a time in UTC as RFC 3339 writes it, such as \
                 2025-07-01T09:00:00Z"
            ))
        })?;
        request.as_of = Some(parsed);
        asked.as_of = Some(at.clone());
    }
    if let Some(seq) = query.get("as_of_seq").filter(|seq| !seq.is_empty()) {
        let parsed: u64 = seq.parse().map_err(|_| {
            PageError::BadRequest(format!(
                "as_of_seq={seq} is not a log entry's number, such as 700"
            ))
        })?;
        request.as_of_seq = Some(parsed);
        asked.as_of_seq = Some(parsed);
    }
    if asked.as_of.is_some() && asked.as_of_seq.is_some() {
        return Err(PageError::BadRequest(
            "both as_of and as_of_seq are given: ask for one of them".into(),
        ));
    }
    for (field, into) in [("from", &mut request.from), ("to", &mut request.to)] {
        if let Some(text) = query.get(field).filter(|text| !text.is_empty()) {
            *into = Some(Period::parse(text).map_err(|_| {
                PageError::BadRequest(format!(
                    "{field}={text} is not a period: a month (2025-04), an ISO week (2025-W14) or \
                     a day (2025-04-01)"
                ))
            })?);
        }
    }
    if let Some(metrics) = query.get("metrics").filter(|m| !m.is_empty()) {
        request.metrics = metrics.split(',').map(str::to_owned).collect();
    }
    match query.get("geography").map(String::as_str) {
        None | Some("") | Some("as_reported") => {}
        Some("current") => {
            request.geography = GeographyMode::Current;
            asked.geography = GeographyMode::Current;
        }
        Some(other) => {
            return Err(PageError::BadRequest(format!(
                "geography={other} is neither as_reported (where each organisation was) nor \
                 current (where it is now)"
            )))
        }
    }
    Ok((asked, request))
}

/// The view of `scope`, asked of the views over NATS.
async fn view_of(web: &Web, scope: &str, request: &SnapshotRequest) -> Result<View, PageError> {
    web.client
        .snapshot(scope, request)
        .await
        .map_err(|error| match error {
            ClientError::Service { code, message } => match code.as_str() {
                "404" => PageError::NotFound(message),
                "400" => PageError::BadRequest(message),
                "413" => PageError::TooLarge(message),
                _ => PageError::Unavailable(message),
            },
            ClientError::NoResponders { .. } => PageError::Unavailable(
                "The views are not running (no answer on oversight.view.*.snapshot): they may be \
                 starting or catching up with the log. Try again in a moment."
                    .into(),
            ),
            ClientError::TimedOut { .. } => PageError::Unavailable(
                "The views did not answer in time. Try again in a moment.".into(),
            ),
            other => {
                warn!(error = %other, "a page's snapshot failed");
                PageError::Unavailable(other.to_string())
            }
        })
}

async fn england(State(web): State<Web>, Query(query): Query<HashMap<String, String>>) -> Response {
    scope_response(&web, NATIONAL, &query).await
}

async fn scope(
    State(web): State<Web>,
    Path(scope): Path<String>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    if let Some(scope) = scope.strip_suffix(".csv") {
        return export::download(&web, scope, &query, export::Format::Csv).await;
    }
    if let Some(scope) = scope.strip_suffix(".xlsx") {
        return export::download(&web, scope, &query, export::Format::Xlsx).await;
    }
    scope_response(&web, &scope, &query).await
}

async fn scope_response(web: &Web, scope: &str, query: &HashMap<String, String>) -> Response {
    match scope_html(web, scope, query).await {
        Ok(body) => (html_headers(), body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn scope_html(
    web: &Web,
    scope: &str,
    query: &HashMap<String, String>,
) -> Result<String, PageError> {
    let (asked, mut request) = read_asked(query)?;
    narrow_for_page(&mut request);
    let view = view_of(web, scope, &request).await?;
    let reference = web
        .directory
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let place = place_of(&reference, scope)?;
    let alerts = if asked.as_of.is_some() || asked.as_of_seq.is_some() {
        Vec::new()
    } else {
        web.alerts.of(scope)
    };
    let markup = with_names(&reference, &view, &asked, |figures| {
        page::scope_page(figures, &place, &alerts)
    });
    Ok(markup.into_string())
}

async fn metric(
    State(web): State<Web>,
    Path((scope, metric)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
) -> Response {
    match metric_html(&web, &scope, &metric, &query).await {
        Ok(body) => (html_headers(), body).into_response(),
        Err(error) => error.into_response(),
    }
}

async fn metric_html(
    web: &Web,
    scope: &str,
    metric: &str,
    query: &HashMap<String, String>,
) -> Result<String, PageError> {
    let (asked, mut request) = read_asked(query)?;
    request.metrics = vec![metric.to_owned()];
    let view = view_of(web, scope, &request).await?;
    let reference = web
        .directory
        .read()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let place = place_of(&reference, scope)?;
    let defined = reference.metric(metric).ok_or_else(|| {
        PageError::NotFound(format!(
            "The data standard has no metric {metric}{}.",
            reference
                .metric_like(metric)
                .map(|like| format!(" (did you mean {like}?)"))
                .unwrap_or_default()
        ))
    })?;
    let (name, polarity) = (defined.name.clone(), defined.polarity);
    let markup = with_names(&reference, &view, &asked, |figures| {
        page::metric_page(&page::MetricPage {
            figures,
            place: &place,
            metric,
            name: &name,
            polarity,
        })
    });
    Ok(markup.into_string())
}

/// Periods a scope page shows: its sparklines' and the latest.
pub(crate) const PAGE_PERIODS: u32 = 24;

/// A scope page shows each metric's latest periods only; asking for just those keeps England's
/// view within one NATS message however long the log.
fn narrow_for_page(request: &mut SnapshotRequest) {
    if request.from.is_none() && request.to.is_none() {
        request.last = Some(PAGE_PERIODS);
    }
}

/// Where `scope` sits, or why there is no page for it.
fn place_of(reference: &ingest::Reference, scope: &str) -> Result<directory::Place, PageError> {
    directory::place_of(reference, scope).ok_or_else(|| {
        PageError::NotFound(format!(
            "No region, system or organisation has the code {scope}."
        ))
    })
}

/// Calls `render` with the view and the reference data's names for what it shows.
fn with_names<T>(
    reference: &ingest::Reference,
    view: &View,
    asked: &Asked,
    render: impl FnOnce(&page::Figures<'_>) -> T,
) -> T {
    let metric_names = |id: &str| reference.metric(id).map(|m| (m.name.clone(), m.kind));
    let collection_names = |id: &str| reference.collection(id).map(|c| c.name.clone());
    let organisation_names = |code: &str| reference.organisation(code).map(|o| o.name.clone());
    render(&page::Figures {
        view,
        asked,
        metric_names: &metric_names,
        collection_names: &collection_names,
        organisation_names: &organisation_names,
    })
}
