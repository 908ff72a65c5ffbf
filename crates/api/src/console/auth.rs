//! Signing in and out of the console.
//!
//! The sign-in form has its own CSRF guard (a random value in a short-lived
//! cookie and in the form, compared in constant time), so no other site can
//! sign a browser into an account of its choosing.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use axum::Form;
use axum_extra::extract::cookie::{Cookie, SameSite};
use axum_extra::extract::CookieJar;
use maud::html;
use serde::Deserialize;

use super::layout::page;
use super::{ConsoleError, Person, COOKIE};
use crate::extract::{ClientIp, UserAgent};
use crate::AppState;

/// The sign-in form's CSRF cookie.
const PRE_COOKIE: &str = "plugway_console_signin";

/// Whether cookies should be `Secure`: TLS here, or a proxy in front that
/// says the browser used HTTPS, or the operator says so.
fn secure(state: &AppState, headers: &axum::http::HeaderMap) -> bool {
    state.settings.console.secure_cookie
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"))
}

/// How long a sign-in form stays good.
const GUARD_MINUTES: i64 = 10;

fn cookie(name: &'static str, value: String, secure: bool, path: &'static str) -> Cookie<'static> {
    let mut c = Cookie::new(name, value);
    c.set_http_only(true);
    c.set_same_site(SameSite::Strict);
    c.set_secure(secure);
    c.set_path(path);
    c
}

/// `GET /console`: the sign-in page, or the chargers once signed in.
pub async fn home(
    State(state): State<AppState>,
    person: Option<Person>,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
) -> Response {
    if person.is_some() {
        return Redirect::to("/console/chargers").into_response();
    }
    sign_in_page(&state, &headers, jar, None, StatusCode::OK)
}

fn sign_in_page(
    state: &AppState,
    headers: &axum::http::HeaderMap,
    jar: CookieJar,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    // A guard still in the browser is reused, so two sign-in tabs both work.
    let guard = jar
        .get(PRE_COOKIE)
        .map(|c| c.value().to_owned())
        .filter(|g| g.len() >= 32 && g.len() <= 64)
        .unwrap_or_else(plugway_app::security::random_secret);
    let mut pre = cookie(
        PRE_COOKIE,
        guard.clone(),
        secure(state, headers),
        "/console",
    );
    pre.set_max_age(cookie::time::Duration::minutes(GUARD_MINUTES));
    let jar = jar.add(pre);
    let body = page(
        None,
        "Sign in",
        "",
        html! {
            section.signin aria-labelledby="signin-title" {
                h1 #signin-title { "Sign in to the console" }
                p { "For the network's admins and hosts: your username or phone, and your password." }
                @if let Some(error) = error {
                    p.error role="alert" #signin-error { (error) }
                }
                form method="post" action="/console/sign-in" {
                    input type="hidden" name="guard" value=(guard);
                    label for="login" { "Username or phone" }
                    input #login name="login" type="text" autocomplete="username" required autofocus;
                    label for="password" { "Password" }
                    input #password name="password" type="password" autocomplete="current-password" required;
                    button type="submit" { "Sign in" }
                }
            }
        },
    );
    (status, jar, body).into_response()
}

/// The sign-in form.
#[derive(Debug, Deserialize)]
pub struct SignIn {
    login: String,
    password: String,
    #[serde(default)]
    guard: String,
}

/// `POST /console/sign-in`.
pub async fn sign_in(
    State(state): State<AppState>,
    ClientIp(ip): ClientIp,
    UserAgent(agent): UserAgent,
    headers: axum::http::HeaderMap,
    jar: CookieJar,
    Form(form): Form<SignIn>,
) -> Response {
    let expected = jar.get(PRE_COOKIE).map(|c| c.value().to_owned());
    let guarded = expected.is_some_and(|e| {
        !form.guard.is_empty()
            && plugway_app::security::constant_time_eq(e.as_bytes(), form.guard.as_bytes())
    });
    if !guarded {
        return sign_in_page(
            &state,
            &headers,
            jar,
            Some("This sign-in form is stale or did not come from the console. Try again."),
            StatusCode::FORBIDDEN,
        );
    }
    match plugway_app::accounts::sign_in_to_console(&state, &form.login, form.password, ip, agent)
        .await
    {
        Ok((user, _session, token)) => {
            tracing::info!(user = %user.id, role = user.role.as_str(), "console sign-in");
            let jar = jar
                .remove(Cookie::build(PRE_COOKIE).path("/console"))
                .add(cookie(COOKIE, token, secure(&state, &headers), "/console"));
            (jar, Redirect::to("/console/chargers")).into_response()
        }
        Err(e) => {
            let e = crate::error::ApiError::from(e);
            sign_in_page(&state, &headers, jar, Some(&e.message), e.status)
        }
    }
}

/// The sign-out form.
#[derive(Debug, Deserialize)]
pub struct SignOut {
    #[serde(default)]
    csrf: String,
}

/// `POST /console/sign-out`: ends the session everywhere it is used.
pub async fn sign_out(
    State(state): State<AppState>,
    person: Person,
    jar: CookieJar,
    Form(form): Form<SignOut>,
) -> Result<Response, Response> {
    person
        .check_csrf(&state, &form.csrf)
        .map_err(|e| e.page(Some(&person)))?;
    plugway_app::accounts::sign_out(&state, person.session)
        .await
        .map_err(|e| ConsoleError::from(e).page(Some(&person)))?;
    let jar = jar.remove(Cookie::build(COOKIE).path("/console"));
    Ok((jar, Redirect::to("/console")).into_response())
}
