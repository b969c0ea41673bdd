//! Photos' storage: pending uploads, their attachment to a report, a staff
//! update or a comment (inside that write's transaction: see each
//! backend's `attach_photos`), what may be served, moderation, and what
//! the media sweep needs to know.

use std::collections::HashSet;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Actor, NewAuditEntry, action};
use crate::error::{Error, Result, ValidationError};
use crate::moderation::{Moderation, ModerationAction};
use crate::photo::{NewPhoto, Photo, PhotoKind};

/// Photo storage; every write commits before it returns.
#[async_trait]
pub trait PhotoStore: Send + Sync {
    /// Stores an upload as pending (attached to nothing, never served).
    /// Its files must already be on disk: a row never names a missing file.
    async fn insert_photo(&self, photo: &NewPhoto, now: DateTime<Utc>) -> Result<Photo>;

    /// A photo by id, in any state.
    async fn photo(&self, id: i64) -> Result<Option<Photo>>;

    /// The photos of an issue that the public may see (attached, not
    /// hidden), in the order they were attached. The caller has checked
    /// that the issue itself is visible.
    async fn issue_photos(&self, issue_id: i64) -> Result<Vec<Photo>>;

    /// Whether the file of `sha256` may be served: some attached photo
    /// with this content that no moderator hid, on an issue that is not
    /// hidden. (The same picture uploaded twice is one file.)
    async fn photo_servable(&self, sha256: &str) -> Result<bool>;

    /// Hides or shows a photo as `actor`, with its audit entry, in one
    /// transaction. [`Error::NotFound`] for an unknown or pending photo;
    /// `already_hidden` / `not_hidden` for a no-op; `invalid_action` for a
    /// redaction (a photo has no text to replace).
    async fn moderate_photo(
        &self,
        photo_id: i64,
        moderation: &Moderation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Photo>;

    /// Deletes the pending photos uploaded before `cutoff` (never attached);
    /// returns how many. Their files go in the media sweep that follows.
    async fn delete_stale_photos(&self, cutoff: DateTime<Utc>) -> Result<u64>;

    /// The SHA-256 of every stored photo, pending or not: the files the
    /// media directory must keep.
    async fn photo_hashes(&self) -> Result<HashSet<String>>;
}

/// A stored row before decoding, shared by both backends.
pub(super) struct PhotoRow {
    pub id: i64,
    pub sha256: String,
    pub width: i64,
    pub height: i64,
    pub issue_id: Option<i64>,
    pub event_id: Option<i64>,
    pub comment_id: Option<i64>,
    pub kind: Option<String>,
    pub hidden: bool,
}

/// The columns [`PhotoRow`] is read from (`hidden` computed).
pub(super) const PHOTO_COLUMNS: &str = "id, sha256, width, height, issue_id, event_id, comment_id, kind, hidden_at IS NOT NULL AS hidden";

impl PhotoRow {
    pub(super) fn decode(self) -> Result<Photo> {
        let size = |v: i64| u32::try_from(v).map_err(|e| Error::Corrupt(e.to_string()));
        let kind = match self.kind.as_deref() {
            Some(text) => Some(
                PhotoKind::parse(text)
                    .ok_or_else(|| Error::Corrupt(format!("unknown photo kind {text}")))?,
            ),
            None => None,
        };
        Ok(Photo {
            id: self.id,
            sha256: self.sha256,
            width: size(self.width)?,
            height: size(self.height)?,
            issue_id: self.issue_id,
            event_id: self.event_id,
            comment_id: self.comment_id,
            kind,
            hidden: self.hidden,
        })
    }
}

/// The refusal of a photo key that names no pending photo: unknown,
/// already attached, or swept. One answer for all three, so a key cannot
/// be probed for which.
pub(super) fn unknown_photo() -> Error {
    Error::Invalid(ValidationError::new(
        "unknown_photo",
        "photos",
        "a photo is unknown or already attached: upload it again",
    ))
}

/// The photo moderation refusals, and the new hidden state.
pub(super) fn check_photo_moderation(photo: &Photo, moderation: &Moderation) -> Result<bool> {
    let refused = |code, message: &'static str| {
        Err(Error::Invalid(ValidationError::new(
            code, "action", message,
        )))
    };
    match moderation.action() {
        ModerationAction::Hide if photo.hidden => {
            refused("already_hidden", "the photo is already hidden")
        }
        ModerationAction::Unhide if !photo.hidden => {
            refused("not_hidden", "the photo is not hidden")
        }
        ModerationAction::Hide => Ok(true),
        ModerationAction::Unhide => Ok(false),
        ModerationAction::Redact(_) => refused(
            "invalid_action",
            "a photo is hidden or shown: action must be hide or unhide",
        ),
    }
}

/// A pending photo is no moderator's business (nobody sees it).
pub(super) fn attached(photo: Option<Photo>, id: i64) -> Result<Photo> {
    photo
        .filter(|p| p.issue_id.is_some())
        .ok_or_else(|| Error::NotFound {
            what: "photo",
            id: id.to_string(),
        })
}

/// The audit entry of a photo's moderation.
pub(super) fn photo_audit(photo: &Photo, hide: bool, reason: &str, actor: &Actor) -> NewAuditEntry {
    NewAuditEntry {
        actor: Some(actor.user_id),
        action: if hide {
            action::PHOTO_HIDDEN
        } else {
            action::PHOTO_UNHIDDEN
        },
        target: format!("photo:{}", photo.id),
        before: Some(serde_json::json!({ "hidden": photo.hidden, "issue_id": photo.issue_id })),
        after: Some(serde_json::json!({ "hidden": hide, "reason": reason })),
    }
}
