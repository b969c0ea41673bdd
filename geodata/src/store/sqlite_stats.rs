//! [`StatsStore`] on SQLite.

use futures::stream::BoxStream;
use sqlx::Row;
use sqlx::sqlite::SqliteRow;

use super::rows::{decode_optional_time, decode_time};
use super::stats::{RESPONSE_COLUMNS, ResponseColumns, StatsStore};
use super::{SqliteStore, stream_rows};
use crate::error::Result;
use crate::stats::ResponseRow;

fn decode_response(row: &SqliteRow) -> Result<ResponseRow> {
    ResponseColumns {
        category: row.try_get("category")?,
        status: row.try_get("status")?,
        district_id: row.try_get("district_id")?,
        department: row.try_get("assigned_department")?,
        created_at: decode_time(row.try_get("created_at")?)?,
        acknowledged_at: decode_optional_time(row.try_get("acknowledged_at")?)?,
        resolved_at: decode_optional_time(row.try_get("resolved_at")?)?,
    }
    .decode()
}

impl StatsStore for SqliteStore {
    fn response_rows(&self) -> BoxStream<'static, Result<ResponseRow>> {
        let sql =
            format!("SELECT {RESPONSE_COLUMNS} FROM issues WHERE hidden_at IS NULL ORDER BY id");
        stream_rows(self.pool.clone(), sql, None, decode_response)
    }
}
