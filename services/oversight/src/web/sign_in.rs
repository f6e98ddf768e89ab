//! Signing in and out, and the guard in front of every page when web users are configured.

use axum::extract::{Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::Form;
use maud::html;
use proto_schema::NATIONAL;
use serde::Deserialize;

use super::access::session_token;
use super::{page, Web};

/// The sign-in form's fields.
#[derive(Debug, Deserialize)]
pub(super) struct SignIn {
    user: String,
    password: String,
    #[serde(default)]
    next: String,
}

/// Where a signed-in user goes next: a path on this site only.
fn local(next: &str) -> &str {
    if next.starts_with('/') && !next.starts_with("//") && !next.contains('\\') {
        next
    } else {
        "/"
    }
}

fn form(next: &str, wrong: bool) -> String {
    page::frame(
        "Sign in",
        &[],
        html! {
            @if wrong {
                div class="nhsuk-error-summary" aria-labelledby="error-summary-title" role="alert" tabindex="-1" {
                    h2 class="nhsuk-error-summary__title" id="error-summary-title" { "There is a problem" }
                    div class="nhsuk-error-summary__body" {
                        ul class="nhsuk-list nhsuk-error-summary__list" {
                            li { a href="#user" { "The user name or password is wrong" } }
                        }
                    }
                }
            }
            h1 { "Sign in" }
            p class="nhsuk-body" { "Sign in with the user name and password your team was given." }
            form method="post" action="/sign-in" novalidate {
                input type="hidden" name="next" value=(local(next));
                div class="nhsuk-form-group" {
                    label class="nhsuk-label" for="user" { "User name" }
                    input class="nhsuk-input" id="user" name="user" type="text" autocomplete="username" spellcheck="false";
                }
                div class="nhsuk-form-group" {
                    label class="nhsuk-label" for="password" { "Password" }
                    input class="nhsuk-input" id="password" name="password" type="password" autocomplete="current-password";
                }
                button class="nhsuk-button" type="submit" data-module="nhsuk-button" { "Sign in" }
            }
        },
    )
    .into_string()
}

fn html(status: StatusCode, body: String) -> Response {
    (
        status,
        [
            (
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            ),
            (header::CACHE_CONTROL, HeaderValue::from_static("no-store")),
        ],
        body,
    )
        .into_response()
}

pub(super) async fn show(
    axum::extract::Query(query): axum::extract::Query<std::collections::HashMap<String, String>>,
) -> Response {
    let next = query.get("next").map_or("/", String::as_str);
    html(StatusCode::OK, form(next, false))
}

pub(super) async fn submit(State(web): State<Web>, Form(signing_in): Form<SignIn>) -> Response {
    match web.access.sign_in(&signing_in.user, &signing_in.password) {
        Some(token) => {
            let mut response = StatusCode::SEE_OTHER.into_response();
            let headers = response.headers_mut();
            if let Ok(cookie) = HeaderValue::from_str(&web.access.cookie(&token)) {
                headers.insert(header::SET_COOKIE, cookie);
            }
            if let Ok(location) = HeaderValue::from_str(local(&signing_in.next)) {
                headers.insert(header::LOCATION, location);
            }
            response
        }
        None => html(StatusCode::UNAUTHORIZED, form(&signing_in.next, true)),
    }
}

pub(super) async fn sign_out(State(web): State<Web>, request: Request) -> Response {
    let cookies = request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok());
    if let Some(token) = session_token(cookies) {
        web.access.sign_out(token);
    }
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(cookie) = HeaderValue::from_str(&web.access.cleared_cookie()) {
        response.headers_mut().insert(header::SET_COOKIE, cookie);
    }
    response
        .headers_mut()
        .insert(header::LOCATION, HeaderValue::from_static("/sign-in"));
    response
}

/// The scope a page's path is about, if any.
fn scope_of_path(path: &str) -> Option<&str> {
    if path == "/" {
        return Some(NATIONAL);
    }
    let rest = path
        .strip_prefix("/scope/")
        .or_else(|| path.strip_prefix("/live/"))?;
    let scope = rest.split('/').next()?;
    Some(
        scope
            .strip_suffix(".csv")
            .or_else(|| scope.strip_suffix(".xlsx"))
            .unwrap_or(scope),
    )
}

/// In front of every page: with users configured, a page needs a signed-in user who may read
/// its scope; the sign-in form and the styles do not.
pub(super) async fn guard(State(web): State<Web>, request: Request, next: Next) -> Response {
    if !web.access.required() {
        return next.run(request).await;
    }
    let path = request.uri().path().to_owned();
    if path == "/sign-in" || path.starts_with("/assets/") || path == "/favicon.ico" {
        return next.run(request).await;
    }
    let cookies = request
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok());
    let Some(user) = session_token(cookies).and_then(|token| web.access.user_of(token)) else {
        let asked = request
            .uri()
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_owned();
        let mut response = StatusCode::SEE_OTHER.into_response();
        let to = format!("/sign-in?next={}", page::percent_encode(&asked));
        if let Ok(location) = HeaderValue::from_str(&to) {
            response.headers_mut().insert(header::LOCATION, location);
        }
        return response;
    };
    if let Some(scope) = scope_of_path(&path) {
        let allowed = {
            let reference = web
                .directory
                .read()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            user.may_read(scope, &reference)
        };
        if !allowed {
            return html(
                StatusCode::FORBIDDEN,
                page::error_page(
                    403,
                    "You cannot see this page",
                    &format!(
                        "Signed in as {}, you can see England's pages and those of {}; {scope} is not among them.",
                        user.name, user.scope
                    ),
                )
                .into_string(),
            );
        }
    }
    next.run(request).await
}
