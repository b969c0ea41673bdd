//! Record ids in paths (`/api/v1/issues/{id}`, `/api/v1/districts/{id}/…`),
//! one spelling each: a positive decimal integer without sign, leading
//! zeros or spaces. `/issues/01`, `/issues/+1` and `/issues/%201` name no
//! issue (`404`), so one record has one URL (caches, logs, rate limits and
//! access decisions all see the same key).

use std::marker::PhantomData;

use axum::extract::{FromRequestParts, Path};
use axum::http::request::Parts;

use crate::error::ApiError;

/// What kind of record an id names, for the `404` message.
pub trait Record {
    /// "issue", "district".
    const NAME: &'static str;
}

/// An issue id.
#[derive(Debug)]
pub enum Issue {}
impl Record for Issue {
    const NAME: &'static str = "issue";
}

/// A district id.
#[derive(Debug)]
pub enum District {}
impl Record for District {
    const NAME: &'static str = "district";
}

/// A photo id.
#[derive(Debug)]
pub enum Photo {}
impl Record for Photo {
    const NAME: &'static str = "photo";
}

/// A comment id.
#[derive(Debug)]
pub enum Comment {}
impl Record for Comment {
    const NAME: &'static str = "comment";
}

/// The `{id}` of the matched route, canonical, as a number.
#[derive(Debug)]
pub struct PathId<R: Record>(pub i64, pub PhantomData<R>);

/// `{id}` of an issue route.
pub type IssueId = PathId<Issue>;
/// `{id}` of a district route.
pub type DistrictId = PathId<District>;
/// `{id}` of a photo route.
pub type PhotoId = PathId<Photo>;
/// `{id}` of a comment route.
pub type CommentId = PathId<Comment>;

/// The id `raw` spells canonically, if any.
pub(super) fn canonical(raw: &str) -> Option<i64> {
    let digits = raw.bytes().all(|b| b.is_ascii_digit());
    if !digits || raw.starts_with('0') {
        return None;
    }
    raw.parse().ok()
}

impl<S: Send + Sync, R: Record> FromRequestParts<S> for PathId<R> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Path(raw) = Path::<String>::from_request_parts(parts, state)
            .await
            .map_err(|_| ApiError::not_found(R::NAME, "?"))?;
        canonical(&raw)
            .map(|id| Self(id, PhantomData))
            .ok_or_else(|| ApiError::not_found(R::NAME, format!("{raw:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::canonical;

    #[test]
    fn one_spelling_per_id() {
        assert_eq!(canonical("1"), Some(1));
        assert_eq!(canonical("9223372036854775807"), Some(i64::MAX));
        for bad in [
            "0",
            "01",
            "+1",
            "-1",
            " 1",
            "1 ",
            "1.0",
            "",
            "١",
            "9223372036854775808",
        ] {
            assert_eq!(canonical(bad), None, "{bad:?}");
        }
    }
}
