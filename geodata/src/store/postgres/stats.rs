//! [`StatsStore`] on PostgreSQL.

use futures::stream::BoxStream;
use sqlx::Row;
use sqlx::postgres::PgRow;

use super::PostgresStore;
use crate::error::Result;
use crate::stats::ResponseRow;
use crate::store::stats::{RESPONSE_COLUMNS, ResponseColumns, StatsStore};
use crate::store::stream_rows;

fn decode_response(row: &PgRow) -> Result<ResponseRow> {
    ResponseColumns {
        category: row.try_get("category")?,
        status: row.try_get("status")?,
        district_id: row.try_get("district_id")?,
        department: row.try_get("assigned_department")?,
        created_at: row.try_get("created_at")?,
        acknowledged_at: row.try_get("acknowledged_at")?,
        resolved_at: row.try_get("resolved_at")?,
    }
    .decode()
}

impl StatsStore for PostgresStore {
    fn response_rows(&self) -> BoxStream<'static, Result<ResponseRow>> {
        let sql =
            format!("SELECT {RESPONSE_COLUMNS} FROM issues WHERE hidden_at IS NULL ORDER BY id");
        stream_rows(self.pool.clone(), sql, None, decode_response)
    }
}
