//! `/api/v1/stats/issues`: issue counts grouped by district, category and/or status.

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use qala_geodata::{GroupKey, GroupValue};
use serde_json::{Map, Value, json};

use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stats/issues", get(issue_stats))
}

fn parse_keys(raw: Option<String>) -> ApiResult<Vec<GroupKey>> {
    let mut keys = Vec::new();
    for name in raw
        .as_deref()
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        let key = match name {
            "district" => GroupKey::District,
            "category" => GroupKey::Category,
            "status" => GroupKey::Status,
            other => {
                return Err(ApiError::bad_parameter(
                    "group_by",
                    format!("cannot group by {other:?}; use district, category and/or status"),
                ));
            }
        };
        if keys.contains(&key) {
            return Err(ApiError::bad_parameter(
                "group_by",
                format!("{name} is named twice"),
            ));
        }
        keys.push(key);
    }
    Ok(keys)
}

async fn issue_stats(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut params = Params::parse(raw.as_deref())?;
    let keys = parse_keys(params.text("group_by"))?;
    let filter = params.issue_filter()?;
    params.finish()?;
    let index = state.index.read();
    let counts = index.issues.count_by(&filter, &keys);
    let total: u64 = counts.values().sum();
    let groups: Vec<Value> = counts
        .into_iter()
        .map(|(values, count)| {
            let mut row = Map::new();
            for value in values {
                match value {
                    GroupValue::District(id) => {
                        row.insert("district_id".into(), json!(id));
                        row.insert(
                            "district".into(),
                            json!(id.and_then(|d| index.district_name(d))),
                        );
                    }
                    GroupValue::Category(code) => {
                        row.insert("category".into(), json!(code));
                    }
                    GroupValue::Status(status) => {
                        row.insert("status".into(), json!(status.as_str()));
                    }
                }
            }
            row.insert("count".into(), json!(count));
            Value::Object(row)
        })
        .collect();
    let group_by: Vec<&str> = keys
        .iter()
        .map(|k| match k {
            GroupKey::District => "district",
            GroupKey::Category => "category",
            GroupKey::Status => "status",
        })
        .collect();
    Ok(Json(
        json!({"group_by": group_by, "total": total, "groups": groups}),
    ))
}
