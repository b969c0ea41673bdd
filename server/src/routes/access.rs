//! Who may call what: one table, [`POLICY`], that names every route with the
//! callers it admits, and the layer ([`enforce`]) that checks each request
//! against it before the handler runs.
//!
//! Deny by default: a route that is missing from the table is refused
//! (`403 forbidden`), whoever calls; a method the table does not list for a
//! path is `405`. A unit test fails if a router declares a route the table
//! lacks, or the table names a route nobody declares.

use axum::extract::{MatchedPath, Request, State};
use axum::http::{Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use qala_geodata::account::Role;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// Who may call a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Anyone, signed in or not.
    Public,
    /// Signed-in users with one of these roles.
    Roles(&'static [Role]),
}

/// Every role: any signed-in user.
const SIGNED_IN: &[Role] = &Role::ALL;
/// Admins only.
const ADMIN: &[Role] = &[Role::Admin];

/// Every route of [`app`](super::app): method, axum path pattern, access.
/// Residents report anonymously, so `POST /api/v1/issues` is public.
pub static POLICY: &[(Method, &str, Access)] = &[
    (Method::GET, "/api/v1/issues", Access::Public),
    (Method::POST, "/api/v1/issues", Access::Public),
    (Method::GET, "/api/v1/issues/nearby", Access::Public),
    (Method::GET, "/api/v1/issues/{id}", Access::Public),
    (Method::GET, "/api/v1/districts", Access::Public),
    (Method::GET, "/api/v1/districts/{id}/issues", Access::Public),
    (Method::GET, "/api/v1/stats/issues", Access::Public),
    (Method::GET, "/api/v1/stats/response", Access::Public),
    (Method::GET, "/api/v1/layers", Access::Public),
    (
        Method::GET,
        "/api/v1/layers/{layer}/features",
        Access::Public,
    ),
    (
        Method::GET,
        "/api/v1/layers/{layer}/export.geojson",
        Access::Public,
    ),
    (Method::GET, "/api/v1/categories", Access::Public),
    (Method::GET, "/api/v1/statuses", Access::Public),
    (Method::GET, "/api/v1/departments", Access::Public),
    // Public fields only (a hidden issue is just its id and `removed`).
    (Method::GET, "/api/v1/events/stream", Access::Public),
    (Method::GET, "/api/v1/live", Access::Public),
    (Method::GET, "/api/v1/issues/{id}/events", Access::Public),
    (
        Method::POST,
        "/api/v1/issues/{id}/events",
        Access::Roles(super::workflow::CHANGES_STATUS),
    ),
    (
        Method::POST,
        "/api/v1/issues/{id}/moderation",
        Access::Roles(super::moderation::MODERATES),
    ),
    // The private link's token (X-Issue-Token) is the reporter's
    // credential, checked by `AppState::reopen_by_reporter`.
    (Method::POST, "/api/v1/issues/{id}/reopen", Access::Public),
    // Anyone may ask; only the confirmation link in the mail makes a follow.
    (Method::POST, "/api/v1/subscriptions", Access::Public),
    // The pages behind mail links: the token in the path is the credential.
    (Method::GET, "/unsubscribe/{token}", Access::Public),
    (Method::POST, "/unsubscribe/{token}", Access::Public),
    (
        Method::GET,
        "/subscriptions/confirm/{token}",
        Access::Public,
    ),
    (
        Method::POST,
        "/subscriptions/confirm/{token}",
        Access::Public,
    ),
    // Residents upload photos anonymously; an upload is attached only by
    // the report or change that names its key, and served only then.
    (Method::POST, "/api/v1/photos", Access::Public),
    (
        Method::POST,
        "/api/v1/photos/{id}/moderation",
        Access::Roles(super::moderation::MODERATES),
    ),
    // The store decides per file: pending, hidden and hidden issues' photos are 404.
    (Method::GET, "/media/{file}", Access::Public),
    // Residents follow up anonymously: "me too" (one per browser token or
    // account) and comments, rate-limited per address and account.
    (Method::POST, "/api/v1/issues/{id}/votes", Access::Public),
    (Method::POST, "/api/v1/issues/{id}/comments", Access::Public),
    (
        Method::POST,
        "/api/v1/comments/{id}/moderation",
        Access::Roles(super::moderation::MODERATES),
    ),
    // Atom feeds: public fields only (no hidden issue or comment, no
    // internal note, no contact).
    (Method::GET, "/feeds/issues/{file}", Access::Public),
    (Method::GET, "/feeds/districts/{file}", Access::Public),
    (Method::GET, "/feeds/area.atom", Access::Public),
    // Names of reference features only (public data, as the layers are).
    (Method::GET, "/api/v1/search", Access::Public),
    (Method::GET, "/api/v1/reverse", Access::Public),
    // Server-rendered public page of an issue: public fields only, a
    // hidden issue is 404 to everyone (staff use the staff view).
    (Method::GET, "/issues/{id}", Access::Public),
    (Method::GET, "/api/v1/me", Access::Roles(SIGNED_IN)),
    // Login needs no CSRF token (it proves the password instead); logout
    // without one runs anonymously and only clears the cookie.
    (Method::POST, "/api/v1/login", Access::Public),
    (Method::POST, "/api/v1/logout", Access::Public),
    (Method::GET, "/api/v1/audit", Access::Roles(ADMIN)),
    (Method::GET, "/healthz", Access::Public),
    (Method::GET, "/tiles/{layers}/{z}/{x}/{y}", Access::Public),
    (Method::GET, "/tiles/{tilejson}", Access::Public),
    (Method::GET, "/style.json", Access::Public),
    // The basemap archive's tiles and TileJSON, and the glyphs of the
    // style's labels: public map data, nothing private.
    (Method::GET, "/basemap/{z}/{x}/{y}", Access::Public),
    (Method::GET, "/basemap.json", Access::Public),
    (Method::GET, "/fonts/{fontstack}/{range}", Access::Public),
    (Method::GET, "/", Access::Public),
    (Method::GET, "/planner", Access::Public),
    // The staff view's page is public HTML (it shows a login form); what
    // it reads and writes is guarded by the API routes above.
    (Method::GET, "/staff", Access::Public),
    (Method::GET, "/web/{*path}", Access::Public),
];

/// The access of `method` on the route `pattern`: `Err(true)` if the path is
/// in the table under other methods only, `Err(false)` if it is not at all.
pub fn access_for(method: &Method, pattern: &str) -> Result<Access, bool> {
    // axum answers HEAD with the GET handler; so does the policy.
    let method = if method == Method::HEAD {
        &Method::GET
    } else {
        method
    };
    let mut path_known = false;
    for (m, p, access) in POLICY {
        if *p == pattern {
            if m == method {
                return Ok(*access);
            }
            path_known = true;
        }
    }
    Err(path_known)
}

/// The layer in front of every route: resolves the [`Caller`], refuses it
/// unless the policy admits it, and hands it to the handler as an extension.
/// [`app`](super::app) puts it in front of every route with
/// `route_layer`; public so that tests can put it in front of a router of
/// their own (a route the table lacks).
pub async fn enforce(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let pattern = request
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_owned());
    let access = match pattern.as_deref().map(|p| access_for(request.method(), p)) {
        Some(Ok(access)) => access,
        Some(Err(true)) => {
            return ApiError::new(
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this endpoint",
            )
            .into_response();
        }
        Some(Err(false)) | None => {
            tracing::error!(route = ?pattern, "route missing from the access policy; refused");
            return ApiError::new(
                StatusCode::FORBIDDEN,
                "forbidden",
                "this endpoint has no access policy",
            )
            .into_response();
        }
    };
    let public = access == Access::Public;
    let resolved = Caller::resolve(
        state.store.as_ref(),
        request.method(),
        request.headers(),
        public,
    )
    .await;
    let (caller, session) = match resolved {
        Ok(resolved) => resolved,
        Err(e) => return e.into_response(),
    };
    if let Some(session) = session {
        request.extensions_mut().insert(session);
    }
    if let Access::Roles(roles) = access
        && let Err(e) = caller.require(roles)
    {
        return e.into_response();
    }
    request.extensions_mut().insert(caller);
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeSet;
    use std::path::Path;

    /// Every `(METHOD, pattern)` that the route modules declare, read from
    /// their source: `.route("pattern", get(..).post(..))`. Reading the
    /// source is what lets this test see a route whose author forgot the
    /// table (axum cannot list a router's routes).
    fn declared_routes() -> BTreeSet<(String, String)> {
        let mut found = BTreeSet::new();
        let mut dirs = vec![Path::new(env!("CARGO_MANIFEST_DIR")).join("src/routes")];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs")
                    && !path.ends_with("access.rs")
                {
                    routes_in(&std::fs::read_to_string(&path).unwrap(), &mut found);
                }
            }
        }
        found
    }

    fn routes_in(source: &str, found: &mut BTreeSet<(String, String)>) {
        let mut rest = source;
        while let Some(at) = rest.find(".route(") {
            let call = &rest[at + ".route(".len()..];
            // The call's arguments: up to the parenthesis that closes it.
            let mut depth = 1;
            let end = call
                .char_indices()
                .find_map(|(i, c)| {
                    match c {
                        '(' => depth += 1,
                        ')' => depth -= 1,
                        _ => {}
                    }
                    (depth == 0).then_some(i)
                })
                .unwrap();
            let args = &call[..end];
            let pattern = args.trim_start().strip_prefix('"').unwrap();
            let pattern = &pattern[..pattern.find('"').unwrap()];
            for method in ["get", "post", "put", "patch", "delete"] {
                let needle = format!("{method}(");
                let declared = args.match_indices(&needle).any(|(i, _)| {
                    !args[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_')
                });
                if declared {
                    found.insert((method.to_uppercase(), pattern.to_owned()));
                }
            }
            rest = &call[end..];
        }
    }

    #[test]
    fn every_declared_route_is_in_the_policy_and_nothing_else_is() {
        let declared = declared_routes();
        assert!(
            declared.len() > 10,
            "the source scan found too little: {declared:?}"
        );
        let table: BTreeSet<(String, String)> = POLICY
            .iter()
            .map(|(m, p, _)| (m.to_string(), (*p).to_owned()))
            .collect();
        let missing: Vec<_> = declared.difference(&table).collect();
        assert!(
            missing.is_empty(),
            "routes without an access policy: {missing:?}"
        );
        let stale: Vec<_> = table.difference(&declared).collect();
        assert!(
            stale.is_empty(),
            "policy entries no router declares: {stale:?}"
        );
        assert_eq!(table.len(), POLICY.len(), "a route is in the table twice");
    }

    #[test]
    fn head_follows_get_and_unknown_routes_are_denied() {
        assert_eq!(access_for(&Method::HEAD, "/healthz"), Ok(Access::Public));
        assert_eq!(access_for(&Method::DELETE, "/healthz"), Err(true));
        assert_eq!(access_for(&Method::GET, "/api/v1/secret"), Err(false));
        assert_eq!(
            access_for(&Method::GET, "/api/v1/audit"),
            Ok(Access::Roles(&[Role::Admin]))
        );
    }
}
