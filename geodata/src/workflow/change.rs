//! A validated change to an issue, parsed strictly from its JSON body: a
//! status change, a re-route to another department, a correction of
//! category or location, or any combination of them (one event).

use serde::Deserialize;

use crate::category::{Category, parse_category};
use crate::error::ValidationError;
use crate::geometry::{LonLat, check_position};
use crate::issue::{IssueStatus, json_error};
use crate::photo::{PhotoKey, parse_photo_keys};

/// Longest public or internal note, in characters.
pub const MAX_NOTE_CHARS: usize = 2000;

/// A requested change: an optional new status, an optional public note, an
/// optional internal note (staff only, never public), for a duplicate the
/// issue it duplicates, and optionally a department to re-route to, a
/// corrected category and a corrected location. Fields are private: every
/// value went through [`IssueChange::new`] or [`IssueChange::from_parts`].
#[derive(Debug, Clone, PartialEq)]
pub struct IssueChange {
    status: Option<IssueStatus>,
    note: Option<String>,
    internal_note: Option<String>,
    duplicate_of: Option<i64>,
    department: Option<String>,
    category: Option<&'static Category>,
    location: Option<LonLat>,
    photos: Vec<PhotoKey>,
}

/// The name of [`IssueChange`] from before re-routes and corrections
/// joined status changes; [`IssueChange::new`] still builds a status change.
pub type StatusChange = IssueChange;

/// The parts of a change before validation ([`IssueChange::from_parts`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ChangeParts {
    /// The new status.
    pub status: Option<IssueStatus>,
    /// Public note.
    pub note: Option<String>,
    /// Internal note.
    pub internal_note: Option<String>,
    /// The issue a duplicate duplicates (status `duplicate` only).
    pub duplicate_of: Option<i64>,
    /// Re-route to this department (by code).
    pub department: Option<String>,
    /// Corrected category.
    pub category: Option<&'static Category>,
    /// Corrected location.
    pub location: Option<LonLat>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    #[serde(default)]
    status: Option<String>,
    #[serde(default)]
    note: Option<String>,
    #[serde(default)]
    internal_note: Option<String>,
    #[serde(default)]
    duplicate_of: Option<i64>,
    #[serde(default)]
    department: Option<String>,
    #[serde(default)]
    category: Option<String>,
    #[serde(default)]
    location: Option<LocationBody>,
    #[serde(default)]
    photos: Option<Vec<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LocationBody {
    lon: f64,
    lat: f64,
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

/// The `nothing_to_change` refusal (422).
pub(crate) fn nothing_to_change(message: &str) -> ValidationError {
    ValidationError::new("nothing_to_change", "body", message.to_owned())
}

impl IssueChange {
    /// A validated status change. `duplicate_of` is required for (and only
    /// allowed with) status `duplicate`; notes are trimmed, at most
    /// [`MAX_NOTE_CHARS`] characters.
    pub fn new(
        status: IssueStatus,
        note_text: Option<String>,
        internal_note: Option<String>,
        duplicate_of: Option<i64>,
    ) -> Result<Self, ValidationError> {
        Self::from_parts(ChangeParts {
            status: Some(status),
            note: note_text,
            internal_note,
            duplicate_of,
            ..ChangeParts::default()
        })
    }

    /// A validated change of any kind: at least one of status, department,
    /// category or location (else `nothing_to_change`); a re-route or a
    /// correction needs a public note (`note_required`), because the
    /// resident sees their issue move to other hands or another place; a
    /// department must have a department's form (`unknown_department`,
    /// whether one exists is the store's check); `duplicate_of` as in
    /// [`IssueChange::new`].
    pub fn from_parts(parts: ChangeParts) -> Result<Self, ValidationError> {
        let note_text = note(parts.note, "note")?;
        let internal_note = note(parts.internal_note, "internal_note")?;
        match (parts.status, parts.duplicate_of) {
            (Some(IssueStatus::Duplicate), None) => {
                return Err(ValidationError::new(
                    "invalid_duplicate",
                    "duplicate_of",
                    "marking a duplicate needs duplicate_of, the id of the issue it duplicates",
                ));
            }
            (Some(IssueStatus::Duplicate), Some(id)) if id <= 0 => {
                return Err(ValidationError::new(
                    "invalid_duplicate",
                    "duplicate_of",
                    "duplicate_of must be an issue id",
                ));
            }
            (s, Some(_)) if s != Some(IssueStatus::Duplicate) => {
                return Err(ValidationError::new(
                    "unexpected_field",
                    "duplicate_of",
                    "duplicate_of goes only with status duplicate",
                ));
            }
            _ => {}
        }
        let amends =
            parts.department.is_some() || parts.category.is_some() || parts.location.is_some();
        if parts.status.is_none() && !amends {
            return Err(nothing_to_change(
                "a change needs at least one of status, department, category or location",
            ));
        }
        if amends && note_text.is_none() {
            return Err(ValidationError::new(
                "note_required",
                "note",
                "a re-route or a correction needs a public note saying why",
            ));
        }
        if let Some(code) = &parts.department
            && super::routing::check_code(code, "department").is_err()
        {
            return Err(super::unknown_department(code));
        }
        Ok(Self {
            status: parts.status,
            note: note_text,
            internal_note,
            duplicate_of: parts.duplicate_of,
            department: parts.department,
            category: parts.category,
            location: parts.location,
            photos: Vec::new(),
        })
    }

    /// Parses `{"status", "note", "internal_note", "duplicate_of",
    /// "department", "category", "location": {"lon", "lat"}}` (no other keys).
    ///
    /// ```
    /// use qala_geodata::workflow::IssueChange;
    /// let change = IssueChange::from_json(br#"{"status": "rejected", "note": "Private land"}"#).unwrap();
    /// assert_eq!(change.note(), Some("Private land"));
    /// assert_eq!(IssueChange::from_json(br#"{"status": "open", "by": 1}"#).unwrap_err().code, "unknown_field");
    /// let reroute = IssueChange::from_json(br#"{"department": "roads", "note": "Road works"}"#).unwrap();
    /// assert_eq!((reroute.status(), reroute.department()), (None, Some("roads")));
    /// ```
    pub fn from_json(body: &[u8]) -> Result<Self, ValidationError> {
        let body: Body = serde_json::from_slice(body).map_err(json_error)?;
        let location = match body.location {
            Some(LocationBody { lon, lat }) => {
                check_position(lon, lat, "location")?;
                Some(LonLat::new(lon, lat)?)
            }
            None => None,
        };
        let category = match body.category.as_deref() {
            Some(code) => Some(parse_category(code).map_err(|e| e.with_field("category"))?),
            None => None,
        };
        let photos = parse_photo_keys(body.photos.unwrap_or_default(), "photos")?;
        Ok(Self::from_parts(ChangeParts {
            status: body.status.as_deref().map(IssueStatus::parse).transpose()?,
            note: body.note,
            internal_note: body.internal_note,
            duplicate_of: body.duplicate_of,
            department: body.department,
            category,
            location,
        })?
        .with_photos(photos))
    }

    /// The change with pending photos to attach to its event (before and
    /// after pictures; at most [`crate::photo::MAX_PHOTOS`]).
    pub fn with_photos(mut self, photos: Vec<PhotoKey>) -> Self {
        self.photos = photos;
        self
    }

    /// The upload keys of the photos to attach, in order.
    pub fn photos(&self) -> &[PhotoKey] {
        &self.photos
    }

    /// The new status, if the status changes.
    pub fn status(&self) -> Option<IssueStatus> {
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

    /// The department to re-route to, given explicitly.
    pub fn department(&self) -> Option<&str> {
        self.department.as_deref()
    }

    /// The corrected category.
    pub fn category(&self) -> Option<&'static Category> {
        self.category
    }

    /// The corrected location.
    pub fn location(&self) -> Option<LonLat> {
        self.location
    }

    /// Whether this re-routes or corrects (not only a status change).
    pub fn amends(&self) -> bool {
        self.department.is_some() || self.category.is_some() || self.location.is_some()
    }
}
