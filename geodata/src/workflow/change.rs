//! A validated status change, parsed strictly from its JSON body.

use serde::Deserialize;

use crate::error::ValidationError;
use crate::issue::{IssueStatus, json_error};

/// Longest public or internal note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A requested status change: the new status, an optional public note, an
/// optional internal note (staff only, never public) and, for a duplicate,
/// the issue it duplicates. Fields are private: every value went through
/// [`StatusChange::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StatusChange {
    status: IssueStatus,
    note: Option<String>,
    internal_note: Option<String>,
    duplicate_of: Option<i64>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    status: String,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    internal_note: Option<String>,
    #[serde(default)]
    duplicate_of: Option<i64>,
}

/// A trimmed note: blank is no note; longer than [`MAX_NOTE_CHARS`] is refused.
fn note(value: Option<String>, field: &'static str) -> Result<Option<String>, ValidationError> {
    let Some(value) = value else { return Ok(None) };
    let trimmed = value.trim();
    if trimmed.is_empty() {
        return Ok(None);
    }
    if trimmed.contains('\0') {
        return Err(ValidationError::new(
            "invalid_text",
            field,
            "text must not contain the NUL character (U+0000)",
        ));
    }
    if trimmed.chars().count() > MAX_NOTE_CHARS {
        return Err(ValidationError::new(
            "too_long",
            field,
            format!("{field} is longer than {MAX_NOTE_CHARS} characters"),
        ));
    }
    Ok(Some(trimmed.to_owned()))
}

impl StatusChange {
    /// A validated change. `duplicate_of` is required for (and only allowed
    /// with) status `duplicate`; notes are trimmed, at most
    /// [`MAX_NOTE_CHARS`] characters.
    pub fn new(
        status: IssueStatus,
        note_text: Option<String>,
        internal_note: Option<String>,
        duplicate_of: Option<i64>,
    ) -> Result<Self, ValidationError> {
        let note_text = note(note_text, "note")?;
        let internal_note = note(internal_note, "internal_note")?;
        match (status, duplicate_of) {
            (IssueStatus::Duplicate, None) => {
                return Err(ValidationError::new(
                    "invalid_duplicate",
                    "duplicate_of",
                    "marking a duplicate needs duplicate_of, the id of the issue it duplicates",
                ));
            }
            (IssueStatus::Duplicate, Some(id)) if id <= 0 => {
                return Err(ValidationError::new(
                    "invalid_duplicate",
                    "duplicate_of",
                    "duplicate_of must be an issue id",
                ));
            }
            (s, Some(_)) if s != IssueStatus::Duplicate => {
                return Err(ValidationError::new(
                    "unexpected_field",
                    "duplicate_of",
                    "duplicate_of goes only with status duplicate",
                ));
            }
            _ => {}
        }
        Ok(Self {
            status,
            note: note_text,
            internal_note,
            duplicate_of,
        })
    }

    /// Parses `{"status", "note", "internal_note", "duplicate_of"}` (no other
    /// keys).
    ///
    /// ```
    /// use qala_geodata::workflow::StatusChange;
    /// let change = StatusChange::from_json(br#"{"status": "rejected", "note": "Private land"}"#).unwrap();
    /// assert_eq!(change.note(), Some("Private land"));
    /// assert_eq!(StatusChange::from_json(br#"{"status": "open", "by": 1}"#).unwrap_err().code, "unknown_field");
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, ValidationError> {
        let body: Body = serde_json::from_slice(body).map_err(json_error)?;
        Self::new(
            IssueStatus::parse(&body.status)?,
            body.note,
            body.internal_note,
            body.duplicate_of,
        )
    }

    /// The new status.
    pub fn status(&self) -> IssueStatus {
        self.status
    }

    /// The public note.
    pub fn note(&self) -> Option<&str> {
        self.note.as_deref()
    }

    /// The internal note: never public.
    pub fn internal_note(&self) -> Option<&str> {
        self.internal_note.as_deref()
    }

    /// The issue this one duplicates (status `duplicate` only).
    pub fn duplicate_of(&self) -> Option<i64> {
        self.duplicate_of
    }
}
