//! Photos over HTTP: the upload (`POST /api/v1/photos`, the raw image as
//! the body), the files (`GET /media/{sha256}.jpg` and `-320.jpg`), and
//! moderation (`POST /api/v1/photos/{id}/moderation`). A photo is attached
//! by naming its upload key in a report's or a staff change's `photos`.

use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{DefaultBodyLimit, Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use qala_geodata::moderation::Moderation;
use serde_json::json;

use super::moderation::MODERATES;
use super::path_id::{PathId, PhotoId};
use crate::auth::Caller;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

/// Largest upload: 10 MB, refused (413) as soon as the body passes it.
pub const MAX_UPLOAD_BYTES: usize = 10 * 1024 * 1024;
/// Largest moderation body (a reason of 500 characters).
const MAX_MODERATION_BYTES: usize = 8 * 1024;
/// A stored file never changes: its name is its content's hash.
const CACHE_FOREVER: &str = "public, max-age=31536000, immutable";

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route(
            "/api/v1/photos",
            post(upload).layer(DefaultBodyLimit::max(MAX_UPLOAD_BYTES)),
        )
        .route(
            "/api/v1/photos/{id}/moderation",
            post(moderate).layer(DefaultBodyLimit::max(MAX_MODERATION_BYTES)),
        )
        .route("/media/{file}", get(file))
}

/// Whether the declared type may carry an image: `image/*`,
/// `application/octet-stream`, or none. Only a hint: the bytes decide.
fn acceptable_type(headers: &HeaderMap) -> bool {
    let Some(value) = headers.get(header::CONTENT_TYPE) else {
        return true;
    };
    let essence = value
        .to_str()
        .unwrap_or("")
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence.starts_with("image/") || essence == "application/octet-stream"
}

/// `POST /api/v1/photos`: `201 {"id": key, "width", "height"}`. The photo
/// is pending until a report or change names `id` in its `photos`.
async fn upload(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    if !acceptable_type(&headers) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "send the photo's bytes as image/jpeg, image/png, image/webp or application/octet-stream",
        ));
    }
    let body = body.map_err(|rejection| {
        let status = rejection.status();
        let message = if status == StatusCode::PAYLOAD_TOO_LARGE {
            format!("a photo is at most {} MB", MAX_UPLOAD_BYTES >> 20)
        } else {
            rejection.body_text()
        };
        ApiError::new(status, "invalid_body", message)
    })?;
    let (key, photo) = state.upload_photo(body).await?;
    Ok((
        StatusCode::CREATED,
        Json(json!({
            "id": key.expose(),
            "width": photo.width,
            "height": photo.height,
        })),
    )
        .into_response())
}

/// `GET /media/{sha256}.jpg` (or `{sha256}-320.jpg`, the thumbnail): the
/// file, cached for a year, if the public may see it; else the 404 of a
/// file that never existed (pending, hidden, or on a hidden issue).
async fn file(
    State(state): State<AppState>,
    name: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
) -> ApiResult<Response> {
    let not_found = || ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such photo");
    let Path(name) = name.map_err(|_| not_found())?;
    let media = state.media.clone().ok_or_else(not_found)?;
    let (path, sha256) = media.file_of(&name).ok_or_else(not_found)?;
    if !state.store.photo_servable(&sha256).await? {
        return Err(not_found());
    }
    let etag = format!("\"{}\"", name.trim_end_matches(".jpg"));
    let etag_value = HeaderValue::from_str(&etag).map_err(|_| not_found())?;
    let cached = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .any(|tag| tag.trim().trim_start_matches("W/") == etag)
        });
    let mut response = if cached {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        let bytes = match tokio::fs::read(&path).await {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tracing::error!(file = %name, "a photo's row names a missing file");
                return Err(not_found());
            }
            Err(e) => {
                tracing::warn!(error = %e, "reading a photo failed");
                return Err(ApiError::storage_unavailable());
            }
        };
        let mut response = bytes.into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
        response
    };
    let headers = response.headers_mut();
    headers.insert(header::ETAG, etag_value);
    headers.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static(CACHE_FOREVER),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    Ok(response)
}

/// `POST /api/v1/photos/{id}/moderation` with `{"action": "hide"|"unhide",
/// "reason"}`: `200 {"id", "hidden"}`.
async fn moderate(
    State(state): State<AppState>,
    caller: Caller,
    PathId(id, _): PhotoId,
    body: Result<Bytes, BytesRejection>,
) -> ApiResult<Response> {
    let actor = match caller.require(MODERATES) {
        Ok(actor) => actor.clone(),
        Err(e) => return Ok(e.into_response()),
    };
    let body = body.map_err(|rejection| {
        ApiError::new(rejection.status(), "invalid_body", rejection.body_text())
    })?;
    let moderation = Moderation::from_json(&body)?;
    let photo = state.moderate_photo(id, moderation, actor).await?;
    Ok(Json(json!({"id": photo.id, "hidden": photo.hidden})).into_response())
}
