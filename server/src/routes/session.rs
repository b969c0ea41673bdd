//! Web login: `POST /api/v1/login` (email and password → a session cookie
//! and its CSRF token) and `POST /api/v1/logout`.
//!
//! The session id is 256 bits from the OS random source in the same
//! `qala_…` form as API tokens, so only its SHA-256 is stored and the same
//! constant-time lookup serves both. A new id is made at every login
//! (no session fixation). Wrong email and wrong password are the same 401
//! after the same work (a dummy hash is verified for unknown emails), so
//! the answer does not tell which emails have accounts.

use std::time::Instant;

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{OriginalUri, State};
use axum::http::{Extensions, HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use chrono::Utc;
use qala_geodata::account::{Actor, TokenSecret};
use serde::Deserialize;
use serde_json::json;

use crate::auth::{SESSION_COOKIE, SessionAuth};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, ApiResult};
use crate::password;
use crate::state::AppState;

/// How long a session lasts after login.
const SESSION_HOURS: i64 = 12;
/// The one message for every failed login.
const BAD_LOGIN: &str = "wrong email or password";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/login", post(login))
        .route("/api/v1/logout", post(logout))
}

/// The body of a login.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Login {
    email: String,
    password: String,
}

/// `POST /api/v1/login`: `200 {"csrf_token", "user"}` and the cookie.
async fn login(
    State(state): State<AppState>,
    ClientAddr(addr): ClientAddr,
    OriginalUri(uri): OriginalUri,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    let Login { email, password } = serde_json::from_slice(&body).map_err(|e| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            "invalid_json",
            format!("expected {{\"email\", \"password\"}}: {e}"),
        )
    })?;
    if let Some(wait) = state.login_throttle.check(&email, addr, Instant::now()) {
        return Err(ApiError::too_many(
            "too_many_attempts",
            "too many failed logins",
            wait,
        ));
    }
    let candidate = state.store.login_candidate(&email).await?;
    let (user, stored) = match candidate {
        Some((user, hash)) => (Some(user), hash),
        None => (None, None),
    };
    let verified = password::verify(password, stored).await;
    let user = match user {
        Some(user) if verified && !user.disabled => user,
        _ => {
            state.login_throttle.failed(&email, addr, Instant::now());
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                BAD_LOGIN,
            ));
        }
    };
    state.login_throttle.succeeded(&email);
    let (session, csrf) = match (TokenSecret::generate(), TokenSecret::generate()) {
        (Ok(session), Ok(csrf)) => (session, csrf),
        _ => {
            tracing::error!("no OS randomness for a session id");
            return Err(ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                "unavailable",
                "cannot sign in right now",
            ));
        }
    };
    let expires_at = Utc::now() + chrono::Duration::hours(SESSION_HOURS);
    state
        .store
        .create_session(user.id, &session.hash(), &csrf.hash(), expires_at)
        .await?;
    let secure = uri.scheme_str() == Some("https")
        || state
            .config
            .public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"));
    let cookie = session_cookie(session.expose(), secure);
    let mut response = Json(json!({
        "csrf_token": csrf.expose(),
        "user": user_json(&user.actor(), &user.email),
    }))
    .into_response();
    set_cookie(response.headers_mut(), &cookie);
    Ok(response)
}

/// `POST /api/v1/logout`: revokes the session the request came with
/// (when it carried the CSRF token) and clears the cookie; `204` always.
async fn logout(State(state): State<AppState>, extensions: Extensions) -> ApiResult<Response> {
    if let Some(SessionAuth(hash)) = extensions.get::<SessionAuth>() {
        state.store.revoke_session(hash).await?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    set_cookie(
        response.headers_mut(),
        &format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
    );
    Ok(response)
}

/// The signed-in user as login shows it (the same fields as `/api/v1/me`,
/// and the email, which is the user's own).
fn user_json(actor: &Actor, email: &str) -> serde_json::Value {
    json!({
        "user_id": actor.user_id,
        "email": email,
        "role": actor.role,
        "departments": actor.departments,
        "districts": actor.districts,
        "public_name": actor.public_name,
    })
}

/// The `Set-Cookie` value of a new session: script cannot read it
/// (`HttpOnly`), other sites cannot make the browser send it (`Strict`), and
/// over HTTPS it never travels in clear (`Secure`).
fn session_cookie(id: &str, secure: bool) -> String {
    format!(
        "{SESSION_COOKIE}={id}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}{}",
        SESSION_HOURS * 3600,
        if secure { "; Secure" } else { "" }
    )
}

fn set_cookie(headers: &mut HeaderMap, cookie: &str) {
    // A session id is base64url and the rest is ASCII: always a valid value.
    if let Ok(value) = HeaderValue::from_str(cookie) {
        headers.insert(header::SET_COOKIE, value);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cookie_is_secure_exactly_when_asked() {
        let plain = session_cookie("qala_x", false);
        assert_eq!(
            plain,
            "qala_session=qala_x; HttpOnly; SameSite=Strict; Path=/; Max-Age=43200"
        );
        assert_eq!(session_cookie("qala_x", true), format!("{plain}; Secure"));
    }
}
