//! Who is calling: the [`Caller`] of a request, from its
//! `Authorization: Bearer qala_…` header or, without one, its web session
//! cookie (`qala_session`, set by `POST /api/v1/login`).
//!
//! A cookie is sent by the browser on its own, also on requests another
//! site makes it send; so a cookie-authenticated unsafe request (POST, PUT,
//! PATCH, DELETE) must also carry the session's CSRF token in
//! `X-CSRF-Token`, which other sites cannot read. Without it a route that
//! needs a role is `403 csrf_failed`, and a public route runs anonymously.
//! A cookie that is unknown, expired or revoked is ignored (browsers keep
//! sending stale cookies to public pages); routes that need a role then
//! answer 401 as for any anonymous caller.
//!
//! No header is an anonymous caller (a resident without an account). A
//! header that is there but malformed, or a token that is unknown, revoked or
//! expired, or whose user is disabled, is `401 unauthorized` on every route,
//! public ones included: a client that sends credentials should learn that
//! they do not work rather than be served as anonymous.
//!
//! The token itself is never logged: only its SHA-256 leaves this module,
//! and no tracing field carries either.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use qala_geodata::account::{Actor, Role, TokenHash};
use qala_geodata::store::AccountStore;

use crate::error::ApiError;

/// The `WWW-Authenticate` challenge of every 401 (RFC 6750).
const CHALLENGE: &str = "Bearer realm=\"qala\"";
/// The challenge when credentials were sent but do not work.
const CHALLENGE_INVALID: &str = "Bearer realm=\"qala\", error=\"invalid_token\"";

/// The name of the web session cookie.
pub const SESSION_COOKIE: &str = "qala_session";
/// The header that carries a session's CSRF token.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// The session a request was authenticated by (a request extension, for
/// logout). Holds only the hash of the session id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionAuth(pub TokenHash);

/// Who a request runs as.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Caller {
    /// No credentials: a resident without an account.
    Anonymous,
    /// A user, through an API token.
    User(Actor),
}

/// Why a caller may not go on.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// No credentials where a signed-in user is needed.
    #[error("sign in: this endpoint needs an API token (Authorization: Bearer qala_…)")]
    SignInRequired,
    /// Credentials that do not work.
    #[error("{0}")]
    InvalidCredentials(&'static str),
    /// A signed-in user whose role may not do this.
    #[error("a {0} may not do this")]
    Forbidden(Role),
    /// A cookie-authenticated unsafe request without the session's CSRF token.
    #[error("this request needs the session's X-CSRF-Token header")]
    CsrfFailed,
    /// The token could not be checked (the database failed).
    #[error(transparent)]
    Data(#[from] qala_geodata::Error),
}

impl IntoResponse for AuthError {
    fn into_response(self) -> Response {
        let message = self.to_string();
        let (error, challenge) = match self {
            Self::SignInRequired => (
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message),
                Some(CHALLENGE),
            ),
            Self::InvalidCredentials(_) => (
                ApiError::new(StatusCode::UNAUTHORIZED, "unauthorized", message),
                Some(CHALLENGE_INVALID),
            ),
            Self::CsrfFailed => (
                ApiError::new(StatusCode::FORBIDDEN, "csrf_failed", message),
                None,
            ),
            Self::Forbidden(_) => (
                ApiError::new(StatusCode::FORBIDDEN, "forbidden", message),
                None,
            ),
            Self::Data(e) => (ApiError::from(e), None),
        };
        let mut response = error.into_response();
        if let Some(challenge) = challenge {
            response.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static(challenge),
            );
        }
        response
    }
}

impl Caller {
    /// Resolves the caller from a request's method and headers, with the
    /// session it came through (cookie callers). `public`: the route admits
    /// anyone, so a failed CSRF check runs it anonymously instead of 403.
    pub async fn resolve(
        store: &dyn AccountStore,
        method: &Method,
        headers: &HeaderMap,
        public: bool,
    ) -> Result<(Self, Option<SessionAuth>), AuthError> {
        let Some(value) = headers.get(header::AUTHORIZATION) else {
            return Self::from_cookie(store, method, headers, public).await;
        };
        let token = bearer_token(value).ok_or(AuthError::InvalidCredentials(
            "malformed Authorization header: expected \"Bearer qala_…\"",
        ))?;
        let hash = TokenHash::parse(token).map_err(|_| {
            AuthError::InvalidCredentials(
                "malformed token: a Qala token is \"qala_\" and 43 base64url characters",
            )
        })?;
        match store.actor_by_token_hash(&hash, Utc::now()).await? {
            Some(actor) => Ok((Self::User(actor), None)),
            None => Err(AuthError::InvalidCredentials(
                "this token is unknown, revoked or expired, or its user is disabled",
            )),
        }
    }

    async fn from_cookie(
        store: &dyn AccountStore,
        method: &Method,
        headers: &HeaderMap,
        public: bool,
    ) -> Result<(Self, Option<SessionAuth>), AuthError> {
        let Some(hash) = session_cookie(headers).and_then(|id| TokenHash::parse(id).ok()) else {
            return Ok((Self::Anonymous, None));
        };
        let Some(session) = store.actor_by_session(&hash, Utc::now()).await? else {
            return Ok((Self::Anonymous, None));
        };
        let safe = matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS);
        let csrf_ok = headers
            .get(CSRF_HEADER)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|token| TokenHash::of(token).matches(session.csrf_hash.as_str()));
        match (safe || csrf_ok, public) {
            (true, _) => Ok((Self::User(session.actor), Some(SessionAuth(hash)))),
            (false, true) => Ok((Self::Anonymous, None)),
            (false, false) => Err(AuthError::CsrfFailed),
        }
    }

    /// The signed-in actor, if any.
    pub fn actor(&self) -> Option<&Actor> {
        match self {
            Self::Anonymous => None,
            Self::User(actor) => Some(actor),
        }
    }

    /// The actor, if their role is one of `roles`: otherwise 401 for an
    /// anonymous caller and 403 for a wrong role.
    pub fn require(&self, roles: &[Role]) -> Result<&Actor, AuthError> {
        match self {
            Self::Anonymous => Err(AuthError::SignInRequired),
            Self::User(actor) if roles.contains(&actor.role) => Ok(actor),
            Self::User(actor) => Err(AuthError::Forbidden(actor.role)),
        }
    }
}

/// The token of `Bearer <token>` (the scheme is case-insensitive, RFC 7235).
fn bearer_token(value: &HeaderValue) -> Option<&str> {
    let value = value.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty() && !token.contains(' '))
        .then_some(token)
}

/// The value of the `qala_session` cookie, if the request has one.
pub fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == SESSION_COOKIE)
        .map(|(_, value)| value.trim())
}

/// The caller the access layer resolved; a handler takes `Caller` as an
/// argument. Without the layer (a route outside the policy, which the layer
/// never lets through) there is no caller, and the request is refused.
impl<S: Send + Sync> FromRequestParts<S> for Caller {
    type Rejection = AuthError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        parts
            .extensions
            .get::<Caller>()
            .cloned()
            .ok_or(AuthError::SignInRequired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_well_formed_bearer_headers_carry_a_token() {
        let token = |s: &'static str| bearer_token(&HeaderValue::from_static(s)).map(str::to_owned);
        assert_eq!(token("Bearer qala_abc").as_deref(), Some("qala_abc"));
        assert_eq!(token("bearer qala_abc").as_deref(), Some("qala_abc"));
        assert_eq!(token("Basic dXNlcjpwYXNz"), None);
        assert_eq!(token("Bearer"), None);
        assert_eq!(token("Bearer "), None);
        assert_eq!(token("Bearer a b"), None);
    }

    #[test]
    fn the_session_cookie_is_found_among_others() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; qala_session=qala_x ; b=2"),
        );
        assert_eq!(session_cookie(&headers), Some("qala_x"));
        headers.insert(header::COOKIE, HeaderValue::from_static("qala_sessionx=1"));
        assert_eq!(session_cookie(&headers), None);
    }

    #[test]
    fn roles_are_required_with_401_for_anonymous_and_403_for_others() {
        let staff = Caller::User(Actor {
            user_id: 1,
            role: Role::Staff,
            departments: vec!["roads".into()],
            districts: vec![],
            public_name: None,
        });
        assert!(staff.require(&[Role::Staff, Role::Admin]).is_ok());
        let response = staff.require(&[Role::Admin]).unwrap_err().into_response();
        assert_eq!(response.status(), StatusCode::FORBIDDEN);
        let response = Caller::Anonymous
            .require(&[Role::Admin])
            .unwrap_err()
            .into_response();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
        assert_eq!(response.headers()[header::WWW_AUTHENTICATE], CHALLENGE);
    }
}
