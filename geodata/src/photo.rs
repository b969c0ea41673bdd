//! Photos of an issue: the upload key a pending photo is attached by, what
//! a photo belongs to, and its public form. The files themselves (decoding,
//! re-encoding, the media directory) are the server's; the domain knows a
//! photo by the SHA-256 of its stored JPEG.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::error::ValidationError;

/// Most photos one report, staff update or comment carries.
pub const MAX_PHOTOS: usize = 3;

/// Hex digits of an upload key (128 random bits).
const KEY_HEX: usize = 32;

/// The secret an upload answers with: whoever holds it may attach the
/// pending photo, once. Stored only as its SHA-256 ([`PhotoKey::hash`]).
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PhotoKey(String);

impl std::fmt::Debug for PhotoKey {
    // A key in a log line would let a reader attach someone's photo.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PhotoKey(…)")
    }
}

impl PhotoKey {
    /// A new key from the OS random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; KEY_HEX / 2];
        getrandom::fill(&mut bytes)?;
        Ok(Self(hex(&bytes)))
    }

    /// A key as a client sends it back: 32 lower-case hex digits.
    pub fn parse(text: &str, field: &'static str) -> Result<Self, ValidationError> {
        if text.len() == KEY_HEX && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(text.to_owned()))
        } else {
            Err(ValidationError::new(
                "invalid_photo",
                field,
                "a photo is named by the id its upload answered with (32 hex digits)",
            ))
        }
    }

    /// The key as text, for the one answer that shows it to its uploader.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The SHA-256 of the key, in hex: the only form stored.
    pub fn hash(&self) -> String {
        hex(&Sha256::digest(self.0.as_bytes()))
    }
}

/// Validates the `photos` list of a report or an update: at most
/// [`MAX_PHOTOS`] keys, each well formed, none twice.
pub fn parse_photo_keys(
    keys: Vec<String>,
    field: &'static str,
) -> Result<Vec<PhotoKey>, ValidationError> {
    if keys.len() > MAX_PHOTOS {
        return Err(ValidationError::new(
            "too_many_photos",
            field,
            format!("at most {MAX_PHOTOS} photos"),
        ));
    }
    let mut parsed: Vec<PhotoKey> = Vec::with_capacity(keys.len());
    for key in keys {
        let key = PhotoKey::parse(&key, field)?;
        if parsed.contains(&key) {
            return Err(ValidationError::new(
                "duplicate_photo",
                field,
                "the same photo is named twice",
            ));
        }
        parsed.push(key);
    }
    Ok(parsed)
}

/// Lower-case hex of `bytes`.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The SHA-256 of `bytes` in lower-case hex: a stored photo's name.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// Whether `text` is a SHA-256 in lower-case hex (a media file's name).
pub fn is_sha256_hex(text: &str) -> bool {
    text.len() == 64 && text.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// What a photo was attached with: the report, a staff update (before and
/// after pictures), or a resident's comment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoKind {
    /// Sent with the report.
    Report,
    /// Sent with a change by staff (an issue event).
    Update,
    /// Sent with a comment.
    Comment,
}

impl PhotoKind {
    /// The stored and public name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Report => "report",
            Self::Update => "update",
            Self::Comment => "comment",
        }
    }

    /// The kind of a stored name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "report" => Some(Self::Report),
            "update" => Some(Self::Update),
            "comment" => Some(Self::Comment),
            _ => None,
        }
    }
}

/// What pending photos are attached to, in the transaction that writes it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PhotoOwner {
    /// A new report.
    Report {
        /// The issue.
        issue_id: i64,
    },
    /// A change by staff.
    Update {
        /// The issue.
        issue_id: i64,
        /// The event the change wrote.
        event_id: i64,
    },
    /// A comment on an issue.
    Comment {
        /// The issue.
        issue_id: i64,
        /// The comment.
        comment_id: i64,
    },
}

impl PhotoOwner {
    /// The issue the photos end up on.
    pub fn issue_id(self) -> i64 {
        match self {
            Self::Report { issue_id }
            | Self::Update { issue_id, .. }
            | Self::Comment { issue_id, .. } => issue_id,
        }
    }

    /// The event, for an update.
    pub fn event_id(self) -> Option<i64> {
        match self {
            Self::Update { event_id, .. } => Some(event_id),
            _ => None,
        }
    }

    /// The comment, for a comment.
    pub fn comment_id(self) -> Option<i64> {
        match self {
            Self::Comment { comment_id, .. } => Some(comment_id),
            _ => None,
        }
    }

    /// The kind the photos are stored with.
    pub fn kind(self) -> PhotoKind {
        match self {
            Self::Report { .. } => PhotoKind::Report,
            Self::Update { .. } => PhotoKind::Update,
            Self::Comment { .. } => PhotoKind::Comment,
        }
    }
}

/// A sanitised upload, its files already on disk, to be stored pending.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPhoto {
    /// The key its uploader attaches it with.
    pub key: PhotoKey,
    /// SHA-256 (hex) of the stored JPEG: its file is `<sha256>.jpg`, its
    /// thumbnail `<sha256>-320.jpg`.
    pub sha256: String,
    /// Width in pixels, orientation applied.
    pub width: u32,
    /// Height in pixels, orientation applied.
    pub height: u32,
}

/// A stored photo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Photo {
    /// Row id: what moderators name it by.
    pub id: i64,
    /// SHA-256 (hex) of the stored JPEG.
    pub sha256: String,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// The issue it is attached to (`None` while pending).
    pub issue_id: Option<i64>,
    /// The staff update it came with.
    pub event_id: Option<i64>,
    /// The comment it came with.
    pub comment_id: Option<i64>,
    /// What it came with (`None` while pending).
    pub kind: Option<PhotoKind>,
    /// Whether a moderator hid it.
    pub hidden: bool,
}

/// The public path of a stored JPEG.
pub fn media_path(sha256: &str) -> String {
    format!("/media/{sha256}.jpg")
}

/// The public path of its 320-pixel thumbnail.
pub fn thumbnail_path(sha256: &str) -> String {
    format!("/media/{sha256}-320.jpg")
}

impl Photo {
    /// The public form: never the upload key.
    pub fn to_public_json(&self) -> Value {
        json!({
            "id": self.id,
            "url": media_path(&self.sha256),
            "thumbnail_url": thumbnail_path(&self.sha256),
            "width": self.width,
            "height": self.height,
            "kind": self.kind.map(PhotoKind::as_str),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_128_random_bits_in_hex_and_stored_hashed() {
        let key = PhotoKey::generate().unwrap();
        assert_eq!(key.expose().len(), 32);
        assert_eq!(PhotoKey::parse(key.expose(), "photos").unwrap(), key);
        assert_ne!(PhotoKey::generate().unwrap(), key);
        assert_eq!(key.hash().len(), 64);
        assert!(!format!("{key:?}").contains(key.expose()));
        for bad in ["", "xyz", &"A".repeat(32), &"0".repeat(33)] {
            assert_eq!(
                PhotoKey::parse(bad, "photos").unwrap_err().code,
                "invalid_photo"
            );
        }
    }

    #[test]
    fn a_list_holds_at_most_three_distinct_keys() {
        let k = |c: char| c.to_string().repeat(32);
        assert_eq!(
            parse_photo_keys(vec![k('1'), k('2'), k('3')], "p")
                .unwrap()
                .len(),
            3
        );
        let e = parse_photo_keys(vec![k('1'), k('2'), k('3'), k('4')], "p").unwrap_err();
        assert_eq!(e.code, "too_many_photos");
        let e = parse_photo_keys(vec![k('1'), k('1')], "p").unwrap_err();
        assert_eq!(e.code, "duplicate_photo");
    }
}
