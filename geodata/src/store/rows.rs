//! Stored rows to domain values, shared by both stores: each store reads
//! its columns into plain values (its own SQL types), and the rules for
//! turning them into an [`Issue`], an [`IssueEntry`] or a [`Feature`] live
//! here once. A value the domain would refuse means a bug or a hand-edited
//! database: [`Error::Corrupt`].

use chrono::{DateTime, Utc};
use geo::Geometry;
use serde_json::{Map, Value};

use crate::category::{Category, parse_category};
use crate::error::{Error, Result, ValidationError};
use crate::geometry::LonLat;
use crate::issue::filter::{department_code, entry_votes};
use crate::issue::{Issue, IssueEntry, IssueStatus};
use crate::layer::{Feature, LayerName};

fn corrupt(e: ValidationError) -> Error {
    Error::Corrupt(e.to_string())
}

/// The columns of an issue row.
pub(super) struct IssueRow {
    pub id: i64,
    pub category: String,
    pub description: String,
    pub lon: f64,
    pub lat: f64,
    pub address: Option<String>,
    pub status: String,
    pub district_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub votes: i64,
    pub reporter_email: Option<String>,
    pub assigned_department: Option<String>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub duplicate_of: Option<i64>,
    pub hidden_at: Option<DateTime<Utc>>,
}

impl IssueRow {
    pub fn decode(self) -> Result<Issue> {
        let (category, location, status) =
            decode_parts(&self.category, self.lon, self.lat, &self.status)?;
        Ok(Issue {
            id: self.id,
            category,
            description: self.description,
            location,
            address: self.address,
            status,
            district_id: self.district_id,
            created_at: self.created_at,
            updated_at: self.updated_at,
            votes: self.votes,
            reporter_email: self.reporter_email,
            assigned_department: self.assigned_department,
            acknowledged_at: self.acknowledged_at,
            resolved_at: self.resolved_at,
            duplicate_of: self.duplicate_of,
            hidden_at: self.hidden_at,
        })
    }
}

/// The columns the index needs of an issue row.
pub(super) struct EntryRow<'r> {
    pub id: i64,
    pub category: &'r str,
    pub lon: f64,
    pub lat: f64,
    pub status: &'r str,
    pub district_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub assigned_department: Option<&'r str>,
    pub votes: i64,
}

impl EntryRow<'_> {
    pub fn decode(self) -> Result<IssueEntry> {
        let (category, location, status) =
            decode_parts(self.category, self.lon, self.lat, self.status)?;
        Ok(IssueEntry {
            id: self.id,
            location,
            status,
            category,
            district_id: self.district_id,
            created_at: self.created_at,
            assigned_department: self.assigned_department.map(department_code),
            votes: entry_votes(self.votes),
        })
    }
}

fn decode_parts(
    category: &str,
    lon: f64,
    lat: f64,
    status: &str,
) -> Result<(&'static Category, LonLat, IssueStatus)> {
    Ok((
        parse_category(category).map_err(corrupt)?,
        LonLat::new(lon, lat).map_err(corrupt)?,
        IssueStatus::parse(status).map_err(corrupt)?,
    ))
}

/// The columns of a feature row, its geometry already decoded from the
/// store's format (GeoJSON text or WKB).
pub(super) struct FeatureRow<'r> {
    pub id: i64,
    pub layer: &'r str,
    pub geometry: Geometry<f64>,
    pub properties: &'r str,
}

impl FeatureRow<'_> {
    pub fn decode(self) -> Result<Feature> {
        Ok(Feature {
            id: self.id,
            layer: LayerName::parse(self.layer).map_err(corrupt)?,
            geometry: self.geometry,
            properties: serde_json::from_str::<Map<String, Value>>(self.properties)
                .map_err(|e| Error::Corrupt(format!("bad feature properties: {e}")))?,
        })
    }
}

/// A timestamp stored as RFC 3339 text (SQLite).
pub(super) fn decode_time(s: &str) -> Result<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| Error::Corrupt(format!("bad timestamp {s:?}: {e}")))
}

/// An optional timestamp stored as RFC 3339 text (SQLite).
pub(super) fn decode_optional_time(s: Option<&str>) -> Result<Option<DateTime<Utc>>> {
    s.map(decode_time).transpose()
}
