//! The resident's side of mail over HTTP: reopening through the private
//! link, following an issue or a district by email, and the pages behind
//! the links in mails (confirm a follow, unsubscribe).
//!
//! The pages behind mail links change nothing on `GET` (mail scanners
//! fetch links): they show a button that `POST`s to the same URL. The
//! unsubscribe `POST` is also RFC 8058's one-click target, so it reads no
//! body and needs nothing but the token.

use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qala_geodata::LayerName;
use qala_geodata::issue::json_error;
use qala_geodata::mail::{FollowTarget, Lang, MailToken, NewFollow, check_email};
use serde::Deserialize;
use serde_json::json;

use super::path_id::{IssueId, PathId};
use crate::error::{ApiError, ApiResult};
use crate::state::{AppState, WriteError};

/// Largest reopen body: a note of 2,000 Kazakh letters is 4 KB.
const MAX_REOPEN_BYTES: usize = 16 * 1024;
/// Largest follow body: an address, an id and a language.
const MAX_FOLLOW_BYTES: usize = 2 * 1024;
/// The header that carries the private link's token.
pub const ISSUE_TOKEN_HEADER: &str = "x-issue-token";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/issues/{id}/reopen",
            post(reopen).layer(DefaultBodyLimit::max(MAX_REOPEN_BYTES)),
        )
        .route(
            "/api/v1/subscriptions",
            post(follow).layer(DefaultBodyLimit::max(MAX_FOLLOW_BYTES)),
        )
        .route(
            "/unsubscribe/{token}",
            get(unsubscribe_page).post(unsubscribe),
        )
        .route(
            "/subscriptions/confirm/{token}",
            get(confirm_page).post(confirm),
        )
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ReopenBody {
    note: Option<String>,
}

/// `POST /api/v1/issues/{id}/reopen` with `X-Issue-Token`: the reporter
/// reopens a resolved issue within the workflow's window; `201` with the
/// event, `403` for a wrong token, `409` when it cannot be reopened.
async fn reopen(
    State(state): State<AppState>,
    PathId(id, _): IssueId,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    let token = headers
        .get(ISSUE_TOKEN_HEADER)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let note = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        let parsed: ReopenBody = serde_json::from_slice(&body).map_err(json_error)?;
        parsed.note
    };
    let (_, event) = state
        .reopen_by_reporter(id, token, note)
        .await
        .map_err(not_reopenable)?;
    Ok((StatusCode::CREATED, Json(event.to_public_json())).into_response())
}

/// The workflow's refusal of the move back to `open` (not resolved, or
/// resolved too long ago) is a `409 not_reopenable`; other errors as usual.
fn not_reopenable(e: WriteError) -> ApiError {
    if let WriteError::Data(qala_geodata::Error::Invalid(v)) = &e
        && matches!(v.code, "invalid_transition" | "nothing_to_change")
    {
        return ApiError::new(
            StatusCode::CONFLICT,
            "not_reopenable",
            v.message.to_string(),
        );
    }
    e.into()
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FollowBody {
    email: String,
    issue_id: Option<i64>,
    district_id: Option<i64>,
    lang: Option<String>,
}

/// `POST /api/v1/subscriptions`: asks for alerts about an issue or a
/// district. `202` whether or not a mail goes out (the address already
/// following, or asked too often): the answer says nothing about the
/// address. Only a confirmed follow gets alerts.
async fn follow(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let body = body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    let parsed: FollowBody = serde_json::from_slice(&body).map_err(json_error)?;
    let email = check_email(&parsed.email, "email")?;
    let lang = match parsed.lang.as_deref() {
        Some(lang) => Lang::parse(lang, "lang")?,
        None => headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok())
            .and_then(Lang::from_accept_language)
            .unwrap_or(Lang::Ru),
    };
    let target = match (parsed.issue_id, parsed.district_id) {
        (Some(id), None) => {
            let issue = state.store.issue(id).await?;
            // A hidden issue is as unknown here as everywhere public.
            if issue.is_none_or(|i| i.hidden_at.is_some()) {
                return Err(ApiError::not_found("issue", id));
            }
            FollowTarget::Issue(id)
        }
        (None, Some(id)) => {
            let known = state
                .index
                .read()
                .layer(LayerName::Districts)
                .get(id)
                .is_some();
            if !known {
                return Err(ApiError::not_found("district", id));
            }
            FollowTarget::District(id)
        }
        _ => {
            return Err(ApiError {
                field: Some("body".into()),
                ..ApiError::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    "invalid_target",
                    "name exactly one of issue_id and district_id",
                )
            });
        }
    };
    state
        .follow_by_email(NewFollow {
            email,
            lang,
            target,
        })
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(
            json!({"message": "if this address can receive mail, a link to confirm is on its way"}),
        ),
    )
        .into_response())
}

/// A small page in the three languages, with a button when `action` is set.
fn page(status: StatusCode, texts: [&str; 3], button: Option<[&str; 3]>) -> Response {
    let mut body = String::from(
        "<!doctype html><html><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\"><meta name=\"robots\" content=\"noindex\"><title>Qala</title></head><body style=\"font-family:sans-serif;max-width:36em;margin:2em auto\">",
    );
    for (i, (lang, text)) in ["kk", "ru", "en"].iter().zip(texts).enumerate() {
        body.push_str(&format!("<p lang=\"{lang}\">{text}</p>"));
        if let Some(button) = button {
            // The form posts to this same URL; no token appears in the page.
            body.push_str(&format!(
                "<form method=\"post\"><button type=\"submit\">{}</button></form>",
                button[i]
            ));
        }
    }
    body.push_str("</body></html>");
    let mut response = (status, Html(body)).into_response();
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response.headers_mut().insert(
        header::REFERRER_POLICY,
        header::HeaderValue::from_static("no-referrer"),
    );
    response
}

fn unknown_link() -> Response {
    page(
        StatusCode::NOT_FOUND,
        [
            "Бұл сілтеме белгісіз.",
            "Эта ссылка неизвестна.",
            "This link is not known.",
        ],
        None,
    )
}

/// `GET /unsubscribe/{token}`: the button, nothing changed.
async fn unsubscribe_page(Path(token): Path<String>) -> Response {
    if MailToken::hash_presented(&token).is_none() {
        return unknown_link();
    }
    page(
        StatusCode::OK,
        [
            "Бұл хаттарды бұдан былай алмау үшін батырманы басыңыз.",
            "Чтобы больше не получать эти письма, нажмите кнопку.",
            "To stop these mails, press the button.",
        ],
        Some(["Жазылымнан бас тарту", "Отписаться", "Unsubscribe"]),
    )
}

/// `POST /unsubscribe/{token}`: ends the follow the mail came from.
async fn unsubscribe(
    State(state): State<AppState>,
    Path(token): Path<String>,
) -> ApiResult<Response> {
    let Some(hash) = MailToken::hash_presented(&token) else {
        return Ok(unknown_link());
    };
    if !state.unsubscribe(&hash).await? {
        return Ok(unknown_link());
    }
    Ok(page(
        StatusCode::OK,
        [
            "Дайын: бұл хаттар енді жіберілмейді.",
            "Готово: эти письма больше не будут приходить.",
            "Done: these mails will not be sent any more.",
        ],
        None,
    ))
}

/// `GET /subscriptions/confirm/{token}`: the button, nothing changed.
async fn confirm_page(Path(token): Path<String>) -> Response {
    if MailToken::hash_presented(&token).is_none() {
        return unknown_link();
    }
    page(
        StatusCode::OK,
        [
            "Хаттарды алуды растау үшін батырманы басыңыз.",
            "Чтобы подтвердить подписку, нажмите кнопку.",
            "To confirm these alerts, press the button.",
        ],
        Some(["Растау", "Подтвердить", "Confirm"]),
    )
}

/// `POST /subscriptions/confirm/{token}`: confirms the follow.
async fn confirm(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Response> {
    let Some(hash) = MailToken::hash_presented(&token) else {
        return Ok(unknown_link());
    };
    if !state.confirm_follow(&hash).await? {
        return Ok(unknown_link());
    }
    Ok(page(
        StatusCode::OK,
        [
            "Расталды: жаңалықтар туралы хат жазамыз.",
            "Подтверждено: мы напишем вам о новостях.",
            "Confirmed: we will write to you when there is news.",
        ],
        None,
    ))
}
