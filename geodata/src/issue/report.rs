//! A resident's report: the body of `POST /api/v1/issues` and its rules.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::category::{Category, parse_category};
use crate::error::ValidationError;
use crate::geometry::{LonLat, parse_geometry};
use crate::mail::{Lang, check_email};
use crate::photo::{PhotoKey, parse_photo_keys};

/// Longest description accepted, in characters (not bytes: Kazakh and
/// Russian text is two bytes a letter in UTF-8).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest address text accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 500;

/// A validated report, not yet stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
///
/// The fields are private so that every `NewIssue` went through [`NewIssue::new`]:
/// holding one is proof that its rules were checked. Its serialized form is
/// the canonical report an `Idempotency-Key` is stored with.
pub struct NewIssue {
    #[serde(serialize_with = "serialize_category")]
    category: &'static Category,
    description: String,
    #[serde(serialize_with = "serialize_lonlat")]
    location: LonLat,
    address: Option<String>,
    reporter_email: Option<String>,
    /// The language the reporter wrote in, if the report said; left out of
    /// the canonical form when absent, so keys stored before it existed
    /// still match their retries.
    #[serde(skip_serializing_if = "Option::is_none")]
    lang: Option<Lang>,
    /// Upload keys of the pending photos to attach, in order. Part of the
    /// canonical form (a retry must name the same photos) as their hashes,
    /// the only form keys are stored in; left out when empty so reports
    /// without photos keep the form they always had.
    #[serde(
        skip_serializing_if = "Vec::is_empty",
        serialize_with = "serialize_key_hashes"
    )]
    photos: Vec<PhotoKey>,
}

fn serialize_category<S: serde::Serializer>(
    c: &&'static Category,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.code)
}

fn serialize_key_hashes<S: serde::Serializer>(keys: &[PhotoKey], s: S) -> Result<S::Ok, S::Error> {
    s.collect_seq(keys.iter().map(PhotoKey::hash))
}

fn serialize_lonlat<S: serde::Serializer>(p: &LonLat, s: S) -> Result<S::Ok, S::Error> {
    [p.lon(), p.lat()].serialize(s)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssueFeatureBody {
    #[serde(rename = "type")]
    kind: String,
    geometry: Value,
    properties: IssuePropertiesBody,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IssuePropertiesBody {
    category: String,
    description: String,
    address: Option<String>,
    reporter_email: Option<String>,
    lang: Option<String>,
    #[serde(default)]
    photos: Option<Vec<String>>,
}

impl NewIssue {
    /// Parses and validates the body of `POST /api/v1/issues`: a GeoJSON
    /// Feature with a Point geometry and the report's properties.
    pub fn from_json(body: &[u8]) -> Result<Self, ValidationError> {
        let parsed: IssueFeatureBody = serde_json::from_slice(body).map_err(json_error)?;
        if parsed.kind != "Feature" {
            return Err(ValidationError::new(
                "invalid_json",
                "type",
                "the body must be a GeoJSON Feature (\"type\": \"Feature\")",
            ));
        }
        let location = match parse_geometry(&parsed.geometry)? {
            geo::Geometry::Point(p) => LonLat::new(p.x(), p.y())?,
            _ => {
                return Err(ValidationError::new(
                    "invalid_geometry",
                    "geometry",
                    "an issue's geometry must be a Point",
                ));
            }
        };
        let p = parsed.properties;
        let lang = p
            .lang
            .as_deref()
            .map(|l| Lang::parse(l, "properties.lang"))
            .transpose()?;
        let photos = parse_photo_keys(p.photos.unwrap_or_default(), "properties.photos")?;
        Ok(Self::new(
            &p.category,
            &p.description,
            location,
            p.address,
            p.reporter_email,
        )?
        .with_lang(lang)
        .with_photos(photos))
    }

    /// The report with the language it was written in.
    #[must_use]
    pub fn with_lang(mut self, lang: Option<Lang>) -> Self {
        self.lang = lang;
        self
    }

    /// The language the report said it was written in, if it did.
    pub fn lang(&self) -> Option<Lang> {
        self.lang
    }

    /// The report with these pending photos to attach (at most
    /// [`crate::photo::MAX_PHOTOS`], checked by [`parse_photo_keys`]).
    pub fn with_photos(mut self, photos: Vec<PhotoKey>) -> Self {
        self.photos = photos;
        self
    }

    /// The upload keys of the photos to attach, in order.
    pub fn photos(&self) -> &[PhotoKey] {
        &self.photos
    }

    /// Validates the parts of a report.
    pub fn new(
        category: &str,
        description: &str,
        location: LonLat,
        address: Option<String>,
        reporter_email: Option<String>,
    ) -> Result<Self, ValidationError> {
        let category = parse_category(category)?;
        let description = public_text(description).map_err(|problem| match problem {
            TextProblem::Empty => ValidationError::new(
                "invalid_description",
                "properties.description",
                "description must not be empty",
            ),
            TextProblem::TooLong => ValidationError::new(
                "description_too_long",
                "properties.description",
                format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
            ),
        })?;
        let address = address
            .map(|a| a.trim().to_owned())
            .filter(|a| !a.is_empty());
        if address
            .as_ref()
            .is_some_and(|a| a.chars().count() > MAX_ADDRESS_CHARS)
        {
            return Err(ValidationError::new(
                "address_too_long",
                "properties.address",
                format!("address is longer than {MAX_ADDRESS_CHARS} characters"),
            ));
        }
        let reporter_email = reporter_email
            .map(|e| e.trim().to_owned())
            .filter(|e| !e.is_empty())
            .map(|e| check_email(&e, "properties.reporter_email"))
            .transpose()?;
        Ok(Self {
            category,
            description,
            location,
            address,
            reporter_email,
            lang: None,
            photos: Vec::new(),
        })
    }

    /// Category (from the catalogue).
    pub fn category(&self) -> &'static Category {
        self.category
    }

    /// Description, trimmed, 1 to [`MAX_DESCRIPTION_CHARS`] characters.
    pub fn description(&self) -> &str {
        &self.description
    }

    /// Where the problem is.
    pub fn location(&self) -> LonLat {
        self.location
    }

    /// Address, trimmed, if one was given.
    pub fn address(&self) -> Option<&str> {
        self.address.as_deref()
    }

    /// The reporter's private email, if one was given.
    pub fn reporter_email(&self) -> Option<&str> {
        self.reporter_email.as_deref()
    }
}

/// Why a resident's public text (a description, a comment) was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TextProblem {
    /// Nothing but white space.
    Empty,
    /// More than [`MAX_DESCRIPTION_CHARS`] characters once trimmed.
    TooLong,
}

/// The rules of a resident's public text, the same for a report's
/// description and a comment: trimmed, not empty, at most
/// [`MAX_DESCRIPTION_CHARS`] characters. Returns the trimmed text.
pub fn public_text(text: &str) -> Result<String, TextProblem> {
    let text = text.trim();
    if text.is_empty() {
        Err(TextProblem::Empty)
    } else if text.chars().count() > MAX_DESCRIPTION_CHARS {
        Err(TextProblem::TooLong)
    } else {
        Ok(text.to_owned())
    }
}

/// Turns a serde_json error on a request body into the API's error codes.
pub fn json_error(e: serde_json::Error) -> ValidationError {
    let message = e.to_string();
    let code = if message.starts_with("unknown field") {
        "unknown_field"
    } else {
        "invalid_json"
    };
    ValidationError::new(code, "body", message)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn body(properties: Value) -> Vec<u8> {
        serde_json::to_vec(&json!({
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [76.93, 43.25]},
            "properties": properties,
        }))
        .unwrap()
    }

    #[test]
    fn a_valid_report_is_accepted() {
        let issue = NewIssue::from_json(&body(json!({
            "category": "pothole", "description": "  Deep hole  ", "address": "Abay Ave 10",
            "reporter_email": "a@example.org"})))
        .unwrap();
        assert_eq!(issue.description(), "Deep hole");
        assert_eq!(issue.location(), LonLat::new(76.93, 43.25).unwrap());
    }

    #[test]
    fn descriptions_longer_than_the_limit_are_rejected() {
        let long = "ә".repeat(MAX_DESCRIPTION_CHARS + 1);
        let e = NewIssue::from_json(&body(json!({"category": "pothole", "description": long})))
            .unwrap_err();
        assert_eq!(e.code, "description_too_long");
        let exactly = "ә".repeat(MAX_DESCRIPTION_CHARS);
        assert!(
            NewIssue::from_json(&body(
                json!({"category": "pothole", "description": exactly})
            ))
            .is_ok()
        );
    }

    #[test]
    fn empty_descriptions_are_rejected() {
        let e = NewIssue::from_json(&body(json!({"category": "pothole", "description": "  "})))
            .unwrap_err();
        assert_eq!(e.code, "invalid_description");
    }

    #[test]
    fn the_category_must_exist() {
        let e =
            NewIssue::from_json(&body(json!({"category": "ufo", "description": "x"}))).unwrap_err();
        assert_eq!(e.code, "unknown_category");
    }

    #[test]
    fn unknown_properties_are_rejected() {
        // Mass assignment: a report cannot set what staff decide (status,
        // routing, district, the history's fields).
        for key in [
            "status",
            "department",
            "assigned_department",
            "district_id",
            "duplicate_of",
            "acknowledged_at",
        ] {
            let mut properties = json!({"category": "pothole", "description": "x"});
            properties[key] = json!("resolved");
            let e = NewIssue::from_json(&body(properties)).unwrap_err();
            assert_eq!(e.code, "unknown_field", "{key}");
        }
    }

    #[test]
    fn unknown_top_level_members_are_rejected() {
        let mut v: Value =
            serde_json::from_slice(&body(json!({"category": "pothole", "description": "x"})))
                .unwrap();
        v["id"] = json!(5);
        assert_eq!(
            NewIssue::from_json(&serde_json::to_vec(&v).unwrap())
                .unwrap_err()
                .code,
            "unknown_field"
        );
    }

    #[test]
    fn huge_numbers_are_rejected_by_the_parser() {
        let raw = br#"{"type":"Feature","geometry":{"type":"Point","coordinates":[1e400,43]},"properties":{"category":"pothole","description":"x"}}"#;
        assert_eq!(NewIssue::from_json(raw).unwrap_err().code, "invalid_json");
    }

    #[test]
    fn issues_must_be_points() {
        let raw = serde_json::to_vec(&json!({"type": "Feature",
            "geometry": {"type": "LineString", "coordinates": [[76.9, 43.2], [76.91, 43.21]]},
            "properties": {"category": "pothole", "description": "x"}}))
        .unwrap();
        assert_eq!(
            NewIssue::from_json(&raw).unwrap_err().code,
            "invalid_geometry"
        );
    }

    #[test]
    fn malformed_emails_are_rejected() {
        let e = NewIssue::from_json(&body(
            json!({"category": "pothole", "description": "x", "reporter_email": "nope"}),
        ))
        .unwrap_err();
        assert_eq!(e.code, "invalid_email");
    }

    #[test]
    fn the_body_must_be_a_feature() {
        let raw = serde_json::to_vec(&json!({"type": "FeatureCollection",
            "geometry": {"type": "Point", "coordinates": [76.9, 43.2]},
            "properties": {"category": "pothole", "description": "x"}}))
        .unwrap();
        assert_eq!(NewIssue::from_json(&raw).unwrap_err().code, "invalid_json");
    }
}
