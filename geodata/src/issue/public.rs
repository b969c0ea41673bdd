//! The public GeoJSON form of an issue: what every API answer, export and
//! feed shows of it. The reporter's email, internal notes and the hidden
//! flag are deliberately absent.
//!
//! [`PublicFeature`] serializes straight to JSON, so a nearby or list
//! answer writes its features without building a `serde_json::Value` tree
//! for each (about a fifth of a nearby request's time went to building and
//! freeing those); [`Issue::to_feature`] is the same document as a `Value`,
//! for answers that add to it. Fields are declared in alphabetical order,
//! the order a `Value` object (a sorted map) writes its keys in, so both
//! give the same bytes.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};
use serde_json::Value;

use super::{Issue, format_time};

/// An issue as a GeoJSON Feature with a Point.
#[derive(Debug, Serialize)]
pub struct PublicFeature<'a> {
    geometry: PointGeometry,
    id: i64,
    properties: PublicProperties<'a>,
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Debug, Serialize)]
struct PointGeometry {
    /// `[lon, lat]`, the GeoJSON order.
    coordinates: [f64; 2],
    #[serde(rename = "type")]
    kind: &'static str,
}

#[derive(Debug, Serialize)]
struct PublicProperties<'a> {
    #[serde(serialize_with = "time")]
    acknowledged_at: Option<DateTime<Utc>>,
    address: Option<&'a str>,
    assigned_department: Option<&'a str>,
    category: &'static str,
    #[serde(serialize_with = "time")]
    created_at: Option<DateTime<Utc>>,
    description: &'a str,
    /// Metres from the point a nearby search was made around, to the
    /// centimetre; only in nearby answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    distance_m: Option<f64>,
    district: Option<&'a str>,
    district_id: Option<i64>,
    duplicate_of: Option<i64>,
    id: i64,
    #[serde(serialize_with = "time")]
    resolved_at: Option<DateTime<Utc>>,
    status: &'static str,
    #[serde(serialize_with = "time")]
    updated_at: Option<DateTime<Utc>>,
    votes: i64,
}

/// Times as the API writes them everywhere ([`format_time`]).
fn time<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&format_time(*t)),
        None => s.serialize_none(),
    }
}

impl<'a> PublicFeature<'a> {
    /// The public feature of `issue`; `district_name` is looked up by the
    /// caller from the districts layer.
    pub fn of(issue: &'a Issue, district_name: Option<&'a str>) -> Self {
        Self {
            geometry: PointGeometry {
                coordinates: [issue.location.lon(), issue.location.lat()],
                kind: "Point",
            },
            id: issue.id,
            properties: PublicProperties {
                acknowledged_at: issue.acknowledged_at,
                address: issue.address.as_deref(),
                assigned_department: issue.assigned_department.as_deref(),
                category: issue.category.code,
                created_at: Some(issue.created_at),
                description: &issue.description,
                distance_m: None,
                district: district_name,
                district_id: issue.district_id,
                duplicate_of: issue.duplicate_of,
                id: issue.id,
                resolved_at: issue.resolved_at,
                status: issue.status.as_str(),
                updated_at: Some(issue.updated_at),
                votes: issue.votes,
            },
            kind: "Feature",
        }
    }

    /// With its distance from a nearby search's centre, in metres (written
    /// to the centimetre: more than a phone's GPS can tell).
    pub fn with_distance(mut self, metres: f64) -> Self {
        self.properties.distance_m = Some((metres * 100.0).round() / 100.0);
        self
    }
}

impl Issue {
    /// The public GeoJSON Feature as a `Value` (see [`PublicFeature`]).
    pub fn to_feature(&self, district_name: Option<&str>) -> Value {
        serde_json::to_value(PublicFeature::of(self, district_name)).unwrap_or(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::geometry::geometry_to_json;
    use crate::issue::IssueStatus;
    use chrono::TimeZone;
    use serde_json::json;

    fn issue() -> Issue {
        let t = Utc.with_ymd_and_hms(2026, 3, 12, 4, 53, 46).unwrap();
        Issue {
            id: 7,
            category: crate::category::parse_category("pothole").unwrap(),
            description: "Яма \"глубокая\"\n".into(),
            location: crate::geometry::LonLat::new(76.945676, 43.255511).unwrap(),
            address: Some("Abay Ave 1".into()),
            status: IssueStatus::Acknowledged,
            district_id: Some(2),
            created_at: t,
            updated_at: t,
            votes: 3,
            reporter_email: Some("resident@example.org".into()),
            assigned_department: Some("roads".into()),
            acknowledged_at: Some(t),
            resolved_at: None,
            duplicate_of: None,
            hidden_at: None,
        }
    }

    /// The typed form writes exactly the document a sorted `Value` object
    /// of the same fields writes, and never the reporter's email.
    #[test]
    fn the_public_feature_is_the_documented_object_byte_for_byte() {
        let issue = issue();
        let expected = json!({
            "type": "Feature",
            "id": 7,
            "geometry": geometry_to_json(&geo::Geometry::Point(issue.location.point())),
            "properties": {
                "id": 7, "category": "pothole", "description": "Яма \"глубокая\"\n",
                "address": "Abay Ave 1", "status": "acknowledged", "district_id": 2,
                "district": "Almaly", "created_at": "2026-03-12T04:53:46.000Z",
                "updated_at": "2026-03-12T04:53:46.000Z", "votes": 3,
                "assigned_department": "roads", "acknowledged_at": "2026-03-12T04:53:46.000Z",
                "resolved_at": null, "duplicate_of": null, "distance_m": 12.35,
            },
        });
        let typed = PublicFeature::of(&issue, Some("Almaly")).with_distance(12.345_6);
        assert_eq!(
            serde_json::to_string(&typed).unwrap(),
            serde_json::to_string(&expected).unwrap()
        );
        let plain = serde_json::to_string(&issue.to_feature(None)).unwrap();
        assert!(!plain.contains("resident@example.org") && !plain.contains("distance_m"));
        assert!(plain.contains(r#""district":null"#));
    }
}
