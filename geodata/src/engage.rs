//! Residents' follow-up on an issue: "me too" votes (one per voter, the
//! voter known only by a hash) and comments (public text, hideable by
//! moderators).

use crate::photo::{PhotoKey, parse_photo_keys};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::account::TokenHash;
use crate::account::action;
use crate::error::ValidationError;
use crate::issue::{MAX_DESCRIPTION_CHARS, TextProblem, format_time, json_error, public_text};
use crate::moderation::{Moderation, ModerationAction};

/// Shortest browser token accepted, in characters.
pub const MIN_VOTER_CHARS: usize = 16;
/// Longest browser token accepted, in characters.
pub const MAX_VOTER_CHARS: usize = 128;
/// Longest comment author name, in characters.
pub const MAX_AUTHOR_NAME_CHARS: usize = 80;

/// Who said "me too", as stored: the SHA-256 (hex) of `account:<id>` for
/// a signed-in caller, of `browser:<token>` for an anonymous one. The
/// prefixes keep a browser token from passing for an account; the token
/// itself is never stored, so the table cannot be used to vote as someone.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VoterHash(String);

impl VoterHash {
    /// The voter of a signed-in account.
    pub fn account(user_id: i64) -> Self {
        Self(
            TokenHash::of(&format!("account:{user_id}"))
                .as_str()
                .to_owned(),
        )
    }

    /// The voter of an anonymous browser's token: 16 to 128 characters,
    /// none of them control characters.
    pub fn browser(token: &str) -> Result<Self, ValidationError> {
        let chars = token.chars().count();
        if !(MIN_VOTER_CHARS..=MAX_VOTER_CHARS).contains(&chars)
            || token.chars().any(char::is_control)
        {
            return Err(ValidationError::new(
                "invalid_voter",
                "voter",
                format!(
                    "voter must be a token of {MIN_VOTER_CHARS} to {MAX_VOTER_CHARS} printable characters"
                ),
            ));
        }
        Ok(Self(
            TokenHash::of(&format!("browser:{token}"))
                .as_str()
                .to_owned(),
        ))
    }

    /// The hex text stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct VoteBody {
    #[serde(default)]
    voter: Option<String>,
}

/// The voter a `POST /api/v1/issues/{id}/votes` body names (`{"voter":
/// "<browser token>"}`, nothing else; an empty body is no voter): a
/// signed-in caller (`account`) votes as their account whatever the body
/// says, an anonymous one needs a valid token (`invalid_voter`).
pub fn parse_vote(body: &[u8], account: Option<i64>) -> Result<VoterHash, ValidationError> {
    let voter = if body.iter().all(u8::is_ascii_whitespace) {
        None
    } else {
        serde_json::from_slice::<VoteBody>(body)
            .map_err(json_error)?
            .voter
    };
    match (account, voter) {
        (Some(id), _) => Ok(VoterHash::account(id)),
        (None, Some(token)) => VoterHash::browser(&token),
        (None, None) => Err(ValidationError::new(
            "invalid_voter",
            "voter",
            "an anonymous \"me too\" needs the browser's voter token",
        )),
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CommentBody {
    body: String,
    #[serde(default)]
    author_name: Option<String>,
    #[serde(default)]
    photos: Option<Vec<String>>,
}

/// A validated comment, not yet stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewComment {
    body: String,
    author_name: Option<String>,
    /// Upload keys of the pending photos to attach (at most three).
    photos: Vec<PhotoKey>,
}

impl NewComment {
    /// Validates a comment: the body follows a description's rules
    /// ([`public_text`]) and holds no NUL; the author name, if any, is
    /// trimmed (blank is none), at most [`MAX_AUTHOR_NAME_CHARS`]
    /// characters, without control characters.
    pub fn new(body: &str, author_name: Option<&str>) -> Result<Self, ValidationError> {
        let body = public_text(body).map_err(|problem| match problem {
            TextProblem::Empty => {
                ValidationError::new("invalid_comment", "body", "a comment must not be empty")
            }
            TextProblem::TooLong => ValidationError::new(
                "comment_too_long",
                "body",
                format!("a comment is at most {MAX_DESCRIPTION_CHARS} characters"),
            ),
        })?;
        if body.contains('\0') {
            return Err(ValidationError::new(
                "invalid_text",
                "body",
                "text must not contain the NUL character (U+0000)",
            ));
        }
        let author_name = author_name.map(str::trim).filter(|n| !n.is_empty());
        if let Some(name) = author_name {
            if name.chars().count() > MAX_AUTHOR_NAME_CHARS {
                return Err(ValidationError::new(
                    "author_name_too_long",
                    "author_name",
                    format!("author_name is at most {MAX_AUTHOR_NAME_CHARS} characters"),
                ));
            }
            if name.chars().any(char::is_control) {
                return Err(ValidationError::new(
                    "invalid_author_name",
                    "author_name",
                    "author_name must be one line of text",
                ));
            }
        }
        Ok(Self {
            body,
            author_name: author_name.map(str::to_owned),
            photos: Vec::new(),
        })
    }

    /// Parses `{"body", "author_name", "photos"}` strictly, then validates
    /// as [`NewComment::new`] and [`parse_photo_keys`].
    pub fn from_json(body: &[u8]) -> Result<Self, ValidationError> {
        let parsed: CommentBody = serde_json::from_slice(body).map_err(json_error)?;
        let photos = parse_photo_keys(parsed.photos.unwrap_or_default(), "photos")?;
        Ok(Self::new(&parsed.body, parsed.author_name.as_deref())?.with_photos(photos))
    }

    /// The comment with pending photos to attach in its transaction.
    pub fn with_photos(mut self, photos: Vec<PhotoKey>) -> Self {
        self.photos = photos;
        self
    }

    /// The upload keys of the photos to attach, in order.
    pub fn photos(&self) -> &[PhotoKey] {
        &self.photos
    }

    /// The text, trimmed.
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The name the commenter chose to show, if any.
    pub fn author_name(&self) -> Option<&str> {
        self.author_name.as_deref()
    }
}

/// A stored comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Comment {
    /// Comment id (ascending in the order comments were written).
    pub id: i64,
    /// The issue commented on.
    pub issue_id: i64,
    /// The text.
    pub body: String,
    /// The name the commenter chose to show.
    pub author_name: Option<String>,
    /// The signed-in account that wrote it: private, never public.
    pub author_user_id: Option<i64>,
    /// When.
    pub created_at: DateTime<Utc>,
    /// When a moderator hid it: then it is in no public output.
    pub hidden_at: Option<DateTime<Utc>>,
}

impl Comment {
    /// The public form, an entry of the issue's history: `kind` `comment`,
    /// id, body, author name, `created_at` (and `at`, the same time, which
    /// every history entry has). Never the account.
    pub fn to_public_json(&self) -> Value {
        let at = format_time(self.created_at);
        json!({
            "kind": "comment",
            "id": self.id,
            "issue_id": self.issue_id,
            "body": self.body,
            "author_name": self.author_name,
            "created_at": at,
            "at": at,
        })
    }
}

/// A moderation of a comment: hide or unhide (a comment is not redacted;
/// hiding it is the remedy). `redact` is `invalid_action`.
pub fn comment_moderation(body: &[u8]) -> Result<Moderation, ValidationError> {
    let moderation = Moderation::from_json(body)?;
    if matches!(moderation.action(), ModerationAction::Redact(_)) {
        return Err(ValidationError::new(
            "invalid_action",
            "action",
            "a comment is hidden or unhidden, not redacted",
        ));
    }
    Ok(moderation)
}

/// The audit action of a comment's moderation.
pub fn comment_audit_action(moderation: &Moderation) -> &'static str {
    match moderation.action() {
        ModerationAction::Unhide => action::COMMENT_UNHIDDEN,
        _ => action::COMMENT_HIDDEN,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code<T>(r: Result<T, ValidationError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code)
    }

    #[test]
    fn voters_are_hashed_apart_by_kind_and_checked() {
        let token = "a".repeat(16);
        let browser = VoterHash::browser(&token).unwrap();
        assert_eq!(browser.as_str().len(), 64);
        assert!(!browser.as_str().contains(&token));
        assert_ne!(VoterHash::account(1), VoterHash::account(2));
        assert_ne!(
            VoterHash::browser("account:12345678").unwrap(),
            VoterHash::account(12_345_678)
        );
        assert_eq!(code(VoterHash::browser(&"a".repeat(15))), "invalid_voter");
        assert_eq!(code(VoterHash::browser(&"ә".repeat(128))), "ok");
        assert_eq!(code(VoterHash::browser(&"a".repeat(129))), "invalid_voter");
        assert_eq!(
            code(VoterHash::browser("aaaaaaaa\naaaaaaaa")),
            "invalid_voter"
        );
    }

    #[test]
    fn a_vote_body_names_the_voter_unless_signed_in() {
        let body = br#"{"voter": "0123456789abcdef"}"#;
        assert_eq!(
            parse_vote(body, None).unwrap(),
            VoterHash::browser("0123456789abcdef").unwrap()
        );
        assert_eq!(parse_vote(body, Some(5)).unwrap(), VoterHash::account(5));
        assert_eq!(parse_vote(b"", Some(5)).unwrap(), VoterHash::account(5));
        assert_eq!(code(parse_vote(b"", None)), "invalid_voter");
        assert_eq!(code(parse_vote(b"{}", None)), "invalid_voter");
        assert_eq!(code(parse_vote(br#"{"votes": 9}"#, None)), "unknown_field");
        assert_eq!(code(parse_vote(b"nope", None)), "invalid_json");
    }

    #[test]
    fn comments_follow_the_description_rules() {
        let c = NewComment::new("  Still there  ", Some("  Aigerim ")).unwrap();
        assert_eq!(
            (c.body(), c.author_name()),
            ("Still there", Some("Aigerim"))
        );
        assert_eq!(
            NewComment::new("x", Some("  ")).unwrap().author_name(),
            None
        );
        assert_eq!(code(NewComment::new("  ", None)), "invalid_comment");
        assert_eq!(
            code(NewComment::new(
                &"ә".repeat(MAX_DESCRIPTION_CHARS + 1),
                None
            )),
            "comment_too_long"
        );
        assert_eq!(
            code(NewComment::new(&"ә".repeat(MAX_DESCRIPTION_CHARS), None)),
            "ok"
        );
        assert_eq!(code(NewComment::new("a\0b", None)), "invalid_text");
        assert_eq!(
            code(NewComment::new("x", Some(&"n".repeat(81)))),
            "author_name_too_long"
        );
        assert_eq!(
            code(NewComment::new("x", Some("a\nb"))),
            "invalid_author_name"
        );
        assert_eq!(
            code(NewComment::from_json(br#"{"body": "x", "email": "a@b.c"}"#)),
            "unknown_field"
        );
    }

    #[test]
    fn comments_are_hidden_or_unhidden_not_redacted() {
        assert_eq!(
            code(comment_moderation(
                br#"{"action": "hide", "reason": "abuse"}"#
            )),
            "ok"
        );
        assert_eq!(
            code(comment_moderation(
                br#"{"action": "redact", "reason": "x", "description": "y"}"#
            )),
            "invalid_action"
        );
    }
}
