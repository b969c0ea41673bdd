//! City issues: what a resident reports and how it is validated.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use crate::category::{Category, parse_category};
use crate::error::ValidationError;
use crate::geometry::{LonLat, geometry_to_json, parse_geometry};

/// Longest description accepted, in characters (not bytes: Kazakh and
/// Russian text is two bytes a letter in UTF-8).
pub const MAX_DESCRIPTION_CHARS: usize = 4000;
/// Longest address text accepted, in characters.
pub const MAX_ADDRESS_CHARS: usize = 500;

/// Where an issue is in its life (the FixMyStreet / Open311 vocabulary).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueStatus {
    /// Reported, nobody has looked yet.
    Open,
    /// Seen by staff.
    Acknowledged,
    /// Someone is working on it.
    InProgress,
    /// Fixed.
    Resolved,
    /// Closed without a fix being needed.
    Closed,
    /// Not something the city will act on.
    Rejected,
    /// Another issue reports the same problem.
    Duplicate,
}

impl IssueStatus {
    /// Every status, in workflow order.
    pub const ALL: [IssueStatus; 7] = [
        Self::Open,
        Self::Acknowledged,
        Self::InProgress,
        Self::Resolved,
        Self::Closed,
        Self::Rejected,
        Self::Duplicate,
    ];

    /// The API spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Open => "open",
            Self::Acknowledged => "acknowledged",
            Self::InProgress => "in_progress",
            Self::Resolved => "resolved",
            Self::Closed => "closed",
            Self::Rejected => "rejected",
            Self::Duplicate => "duplicate",
        }
    }

    /// Parses the API spelling.
    ///
    /// ```
    /// use qala_geodata::IssueStatus;
    /// assert_eq!(IssueStatus::parse("in_progress").unwrap(), IssueStatus::InProgress);
    /// assert!(IssueStatus::parse("done").is_err());
    /// ```
    pub fn parse(s: &str) -> Result<Self, ValidationError> {
        Self::ALL.into_iter().find(|st| st.as_str() == s).ok_or_else(|| {
            ValidationError::new(
                "invalid_status",
                "status",
                format!("unknown status \"{s}\"; one of open, acknowledged, in_progress, resolved, closed, rejected, duplicate"),
            )
        })
    }
}

/// A stored issue.
#[derive(Debug, Clone, PartialEq)]
pub struct Issue {
    /// Server-assigned identifier.
    pub id: i64,
    /// Category (from the catalogue).
    pub category: &'static Category,
    /// What the resident wrote.
    pub description: String,
    /// Where the problem is.
    pub location: LonLat,
    /// Optional street address the resident gave.
    pub address: Option<String>,
    /// Current status.
    pub status: IssueStatus,
    /// The district (a feature id of the `districts` layer) the location fell in when written.
    pub district_id: Option<i64>,
    /// When it was reported.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
    /// "Me too" count.
    pub votes: i64,
    /// Private contact of the reporter: never part of any public output.
    pub reporter_email: Option<String>,
}

impl Issue {
    /// The public GeoJSON Feature. `district_name` is looked up by the caller
    /// from the districts layer. The reporter's email is deliberately absent.
    pub fn to_feature(&self, district_name: Option<&str>) -> Value {
        json!({
            "type": "Feature",
            "id": self.id,
            "geometry": geometry_to_json(&geo::Geometry::Point(self.location.point())),
            "properties": self.public_properties(district_name),
        })
    }

    /// The public properties (everything but the reporter's contact).
    pub fn public_properties(&self, district_name: Option<&str>) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("id".into(), json!(self.id));
        p.insert("category".into(), json!(self.category.code));
        p.insert("description".into(), json!(self.description));
        p.insert("address".into(), json!(self.address));
        p.insert("status".into(), json!(self.status.as_str()));
        p.insert("district_id".into(), json!(self.district_id));
        p.insert("district".into(), json!(district_name));
        p.insert("created_at".into(), json!(format_time(self.created_at)));
        p.insert("updated_at".into(), json!(format_time(self.updated_at)));
        p.insert("votes".into(), json!(self.votes));
        p
    }
}

/// RFC 3339 in UTC with millisecond precision and a `Z`: fixed width, so the
/// stored text sorts in time order.
pub fn format_time(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Parses an RFC 3339 timestamp (any offset) into UTC.
pub fn parse_time(s: &str, field: &'static str) -> Result<DateTime<Utc>, ValidationError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| {
            ValidationError::new(
                "invalid_parameter",
                field,
                format!("{field} must be an RFC 3339 timestamp such as 2026-05-01T00:00:00Z ({e})"),
            )
        })
}

/// A validated report, not yet stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NewIssue {
    /// Category code (validated against the catalogue).
    #[serde(serialize_with = "serialize_category")]
    pub category: &'static Category,
    /// Description, trimmed.
    pub description: String,
    /// Location.
    #[serde(serialize_with = "serialize_lonlat")]
    pub location: LonLat,
    /// Optional address, trimmed.
    pub address: Option<String>,
    /// Optional private reporter email.
    pub reporter_email: Option<String>,
}

fn serialize_category<S: serde::Serializer>(
    c: &&'static Category,
    s: S,
) -> Result<S::Ok, S::Error> {
    s.serialize_str(c.code)
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
        Self::new(
            &p.category,
            &p.description,
            location,
            p.address,
            p.reporter_email,
        )
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
        let description = description.trim().to_owned();
        if description.is_empty() {
            return Err(ValidationError::new(
                "invalid_description",
                "properties.description",
                "description must not be empty",
            ));
        }
        if description.chars().count() > MAX_DESCRIPTION_CHARS {
            return Err(ValidationError::new(
                "description_too_long",
                "properties.description",
                format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
            ));
        }
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
            .filter(|e| !e.is_empty());
        if let Some(email) = &reporter_email {
            let plausible = email.len() <= 254
                && email.split_once('@').is_some_and(|(local, domain)| {
                    !local.is_empty()
                        && domain.contains('.')
                        && !email.contains(char::is_whitespace)
                });
            if !plausible {
                return Err(ValidationError::new(
                    "invalid_email",
                    "properties.reporter_email",
                    "reporter_email is not an email address",
                ));
            }
        }
        Ok(Self {
            category,
            description,
            location,
            address,
            reporter_email,
        })
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
        assert_eq!(issue.description, "Deep hole");
        assert_eq!(issue.location, LonLat::new(76.93, 43.25).unwrap());
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
        let e = NewIssue::from_json(&body(
            json!({"category": "pothole", "description": "x", "status": "resolved"}),
        ))
        .unwrap_err();
        assert_eq!(e.code, "unknown_field");
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

    #[test]
    fn times_sort_as_text() {
        let a = parse_time("2026-01-02T03:04:05Z", "since").unwrap();
        let b = parse_time("2026-01-02T03:04:05.5+00:00", "since").unwrap();
        assert!(format_time(a) < format_time(b));
        assert!(parse_time("yesterday", "since").is_err());
    }
}
