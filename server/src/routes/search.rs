//! `/api/v1/search` (a place by name, in every reference layer) and
//! `/api/v1/reverse` (the district and the named place at a point). Both
//! read the index's [`PlaceIndex`](qala_geodata::search::PlaceIndex); the
//! matching rules are `qala_geodata::search`'s.

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use qala_geodata::mail::Lang;
use qala_geodata::search::{MAX_RESULTS, SearchQuery};
use qala_geodata::{LayerName, LonLat, SpatialIndex};
use serde_json::{Value, json};

use super::geojson;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::state::AppState;

/// Results when `limit` is not given.
const DEFAULT_RESULTS: usize = 8;
/// How far reverse lookup looks for a named place, in metres: about a
/// block, so "near X" still tells a resident where the pin is.
pub const NEAREST_RADIUS_M: f64 = 300.0;

pub(super) fn router() -> Router<AppState> {
    Router::new()
        .route("/api/v1/search", get(search))
        .route("/api/v1/reverse", get(reverse))
}

/// `lang`, else the first of kk, ru, en that `Accept-Language` names, else
/// `ru` (the city's common language).
pub(super) fn request_lang(params: &mut Params, headers: &HeaderMap) -> ApiResult<Lang> {
    if let Some(code) = params.text("lang") {
        return Lang::parse(&code, "lang")
            .map_err(|e| ApiError::bad_parameter("lang", e.message.into_owned()));
    }
    Ok(headers
        .get(axum::http::header::ACCEPT_LANGUAGE)
        .and_then(|v| v.to_str().ok())
        .and_then(Lang::from_accept_language)
        .unwrap_or(Lang::Ru))
}

/// A position `lon,lat` in a parameter.
fn position(params: &mut Params, name: &str) -> ApiResult<Option<LonLat>> {
    let Some(text) = params.text(name) else {
        return Ok(None);
    };
    let bad = || ApiError::bad_parameter(name, format!("{name} must be lon,lat in degrees"));
    let (lon, lat) = text.split_once(',').ok_or_else(bad)?;
    let lon: f64 = lon.trim().parse().map_err(|_| bad())?;
    let lat: f64 = lat.trim().parse().map_err(|_| bad())?;
    LonLat::new(lon, lat)
        .map(Some)
        .map_err(|e| ApiError::bad_parameter(name, e.message.into_owned()))
}

/// The city's centre: the middle of its districts' extent, if it has any.
fn city_centre(index: &SpatialIndex) -> Option<LonLat> {
    let bbox = index
        .layer(LayerName::Districts)
        .summary(LayerName::Districts)
        .bbox?;
    LonLat::new(
        (bbox.west + bbox.east) / 2.0,
        (bbox.south + bbox.north) / 2.0,
    )
    .ok()
}

/// `GET /api/v1/search?q=&lang=&near=lon,lat&limit=`: a FeatureCollection
/// of Points, best match first, then nearest to `near` (default: the city's
/// centre). Each names its layer and feature, its name in `lang`, the match
/// class and, as the Feature's `bbox`, the feature's extent to fit the map to.
async fn search(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut params = Params::parse(raw.as_deref())?;
    let q = params
        .text("q")
        .ok_or_else(|| ApiError::bad_parameter("q", "q is required"))?;
    let lang = request_lang(&mut params, &headers)?;
    let near = position(&mut params, "near")?;
    let limit = params.positive_integer("limit")?;
    params.finish()?;
    let limit = match limit {
        None => DEFAULT_RESULTS,
        Some(n) if n as u64 <= MAX_RESULTS as u64 => n as usize,
        Some(_) => {
            return Err(ApiError::bad_parameter(
                "limit",
                format!("limit is at most {MAX_RESULTS}"),
            ));
        }
    };
    let index = state.index.read();
    let near = near.or_else(|| city_centre(&index));
    let query = SearchQuery::new(&q, near, limit)
        .map_err(|e| ApiError::bad_parameter("q", e.message.into_owned()))?;
    let features: Vec<Value> = index
        .places()
        .search(&query)
        .iter()
        .map(|hit| {
            let place = hit.place;
            json!({
                "type": "Feature",
                "id": place.feature.id,
                "bbox": place.bbox,
                "geometry": {"type": "Point", "coordinates": [place.point.lon(), place.point.lat()]},
                "properties": {
                    "layer": place.feature.layer.as_str(),
                    "feature_id": place.feature.id,
                    "name": place.name(lang),
                    "match": hit.quality.as_str(),
                    "distance_m": hit.distance_m.map(|d| d.round()),
                },
            })
        })
        .collect();
    drop(index);
    Ok(geojson(json!({
        "type": "FeatureCollection",
        "lang": lang.as_str(),
        "features": features,
    })))
}

/// `GET /api/v1/reverse?lon=&lat=&lang=`: the district holding the point
/// (`outside_city` when the city has districts and none holds it) and the
/// named feature of the other layers nearest to it within
/// [`NEAREST_RADIUS_M`] (geodesic metres to its geometry), names in `lang`.
async fn reverse(
    State(state): State<AppState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> ApiResult<Response> {
    let mut params = Params::parse(raw.as_deref())?;
    let lon = params.required_number("lon")?;
    let lat = params.required_number("lat")?;
    let lang = request_lang(&mut params, &headers)?;
    params.finish()?;
    let at = LonLat::new(lon, lat).map_err(|e| {
        let field = e.field.as_deref().unwrap_or("lon").to_owned();
        ApiError::bad_parameter(&field, e.message.into_owned())
    })?;
    let index = state.index.read();
    let outside_city = index.district_for(at).is_err();
    let district = index.district_of(at).map(|d| {
        json!({
            "id": d.id,
            "code": d.properties.get("code"),
            "name": qala_geodata::search::display_name(&d.properties, lang),
        })
    });
    let others: Vec<LayerName> = LayerName::REFERENCE
        .into_iter()
        .filter(|l| *l != LayerName::Districts)
        .collect();
    let nearest = index
        .places()
        .nearest(at, NEAREST_RADIUS_M, &others)
        .map(|n| {
            json!({
                "layer": n.place.feature.layer.as_str(),
                "id": n.place.feature.id,
                "name": n.place.name(lang),
                "distance_m": n.distance_m.round(),
            })
        });
    drop(index);
    Ok(axum::Json(json!({
        "lon": at.lon(),
        "lat": at.lat(),
        "lang": lang.as_str(),
        "outside_city": outside_city,
        "district": district,
        "nearest": nearest,
        "radius_m": NEAREST_RADIUS_M,
    }))
    .into_response())
}
