//! Entity tags: "the client already has this" spelled once, for every
//! answer that carries an `ETag` (web files, tiles, the basemap, pages).

use axum::http::HeaderMap;
use headers::{ETag, HeaderMapExt, IfNoneMatch};

/// A strong tag of `bytes` (XXH3, 64 bits, hex), `prefix` telling kinds of
/// answer apart. Hex in quotes always parses; were it not to, the answer
/// simply goes without a tag.
pub(super) fn of_bytes(prefix: &str, bytes: &[u8]) -> Option<ETag> {
    let hash = twox_hash::XxHash3_64::oneshot(bytes);
    format!("\"{prefix}{hash:016x}\"").parse().ok()
}

/// Whether the request's `If-None-Match` names `etag` (or `*`): a `304`
/// answers it.
pub(super) fn client_has(headers: &HeaderMap, etag: &ETag) -> bool {
    headers
        .typed_get::<IfNoneMatch>()
        .is_some_and(|condition| !condition.precondition_passes(etag))
}
