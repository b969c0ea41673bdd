//! `/api/v1/stats/response`: how quickly the city responds, as public
//! figures per district, department or category (see
//! [`qala_geodata::stats::response`]).

use std::collections::HashMap;

use axum::extract::{RawQuery, State};
use axum::routing::get;
use axum::{Json, Router};
use chrono::Utc;
use futures::StreamExt;
use qala_geodata::category::parse_category;
use qala_geodata::issue::format_time;
use qala_geodata::stats::{Durations, ResponseGroupBy, ResponseKey, ResponseTally};
use serde_json::{Map, Value, json};

use crate::error::ApiResult;
use crate::params::Params;
use crate::state::AppState;

pub(super) fn router() -> Router<AppState> {
    Router::new().route("/api/v1/stats/response", get(response_stats))
}

/// Seconds to hours, to two decimals: a figure for people; the exact
/// seconds are beside it.
fn hours(seconds: Option<i64>) -> Value {
    #[allow(clippy::cast_precision_loss)] // response times are far below 2^52 s
    let to_hours = |s: i64| (s as f64 / 36.0).round() / 100.0;
    json!(seconds.map(to_hours))
}

fn durations(d: &Durations) -> Value {
    json!({
        "count": d.count,
        "median_seconds": d.median_seconds,
        "p90_seconds": d.p90_seconds,
        "median_hours": hours(d.median_seconds),
        "p90_hours": hours(d.p90_seconds),
    })
}

/// `GET /api/v1/stats/response?group_by=district|department|category`
/// (default `category`). Reads the store, not the index: the index keeps no
/// acknowledge or resolve times (and must not grow for them).
async fn response_stats(
    State(state): State<AppState>,
    RawQuery(raw): RawQuery,
) -> ApiResult<Json<Value>> {
    let mut params = Params::parse(raw.as_deref())?;
    let group_by = match params.text("group_by") {
        Some(name) => ResponseGroupBy::parse(name.trim())?,
        None => ResponseGroupBy::default(),
    };
    params.finish()?;
    let now = Utc::now();
    let mut tally = ResponseTally::new(group_by, now);
    let mut rows = state.store.response_rows();
    while let Some(row) = rows.next().await {
        tally.add(&row?);
    }
    let groups = tally.finish();
    let departments: HashMap<String, _> = if group_by == ResponseGroupBy::Department {
        state
            .store
            .departments()
            .await?
            .into_iter()
            .map(|d| (d.code().to_owned(), d.names().clone()))
            .collect()
    } else {
        HashMap::new()
    };
    let index = state.index.read();
    let groups: Vec<Value> = groups
        .iter()
        .map(|g| {
            let mut row = Map::new();
            match &g.key {
                ResponseKey::District(id) => {
                    row.insert("key".into(), json!(id));
                    row.insert(
                        "name".into(),
                        json!(id.and_then(|d| index.district_name(d))),
                    );
                }
                ResponseKey::Department(code) => {
                    row.insert("key".into(), json!(code));
                    row.insert(
                        "names".into(),
                        json!(code.as_ref().and_then(|c| departments.get(c))),
                    );
                }
                ResponseKey::Category(code) => {
                    row.insert("key".into(), json!(code));
                    let category = parse_category(code).ok();
                    row.insert("names".into(), json!(category.map(|c| &c.names)));
                    row.insert("target_days".into(), json!(category.map(|c| c.target_days)));
                }
            }
            row.insert("acknowledge".into(), durations(&g.acknowledge));
            row.insert("resolve".into(), durations(&g.resolve));
            row.insert("open".into(), json!(g.open));
            row.insert("overdue".into(), json!(g.overdue));
            Value::Object(row)
        })
        .collect();
    Ok(Json(json!({
        "group_by": group_by.as_str(),
        "groups": groups,
        "generated_at": format_time(now),
    })))
}
