//! What public figures read from the store: a trait of its own, beside
//! [`super::AccountStore`] and [`super::WorkflowStore`].

use chrono::{DateTime, Utc};
use futures::stream::BoxStream;

use crate::category::parse_category;
use crate::error::{Error, Result};
use crate::issue::IssueStatus;
use crate::stats::ResponseRow;

/// The columns [`StatsStore::response_rows`] selects, the same on both stores.
pub(super) const RESPONSE_COLUMNS: &str =
    "category, status, district_id, assigned_department, created_at, acknowledged_at, resolved_at";

/// Read-only figures over every stored issue.
pub trait StatsStore: Send + Sync {
    /// What response times need of every issue (no text, no contact),
    /// ascending by id, streamed: memory stays constant in the store.
    fn response_rows(&self) -> BoxStream<'static, Result<ResponseRow>>;
}

/// The columns of a [`RESPONSE_COLUMNS`] row, times already decoded from the
/// store's format.
pub(super) struct ResponseColumns<'r> {
    pub category: &'r str,
    pub status: &'r str,
    pub district_id: Option<i64>,
    pub department: Option<String>,
    pub created_at: DateTime<Utc>,
    pub acknowledged_at: Option<DateTime<Utc>>,
    pub resolved_at: Option<DateTime<Utc>>,
}

impl ResponseColumns<'_> {
    pub fn decode(self) -> Result<ResponseRow> {
        let corrupt = |e: crate::error::ValidationError| Error::Corrupt(e.to_string());
        Ok(ResponseRow {
            category: parse_category(self.category).map_err(corrupt)?,
            status: IssueStatus::parse(self.status).map_err(corrupt)?,
            district_id: self.district_id,
            department: self.department,
            created_at: self.created_at,
            acknowledged_at: self.acknowledged_at,
            resolved_at: self.resolved_at,
        })
    }
}
