//! A whole layer as GeoJSON, streamed from the store in constant memory; the
//! HTTP export and `qala export` share it.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::{self, BoxStream, Stream, StreamExt};
use qala_geodata::geojson_stream::feature_collection;
use qala_geodata::{LayerName, Store};
use serde_json::Value;

/// The public GeoJSON features of a layer, ascending by id. Issues are
/// labelled with their district's name from `district_names`.
pub fn layer_features(
    store: &dyn Store,
    layer: LayerName,
    district_names: Arc<HashMap<i64, String>>,
) -> BoxStream<'static, qala_geodata::Result<Value>> {
    match layer {
        LayerName::Issues => store
            .stream_issues()
            .map(move |issue| {
                issue.map(|i| {
                    i.to_feature(
                        i.district_id
                            .and_then(|d| district_names.get(&d))
                            .map(String::as_str),
                    )
                })
            })
            .boxed(),
        _ => store
            .stream_features(layer)
            .map(|f| f.map(|f| f.to_geojson()))
            .boxed(),
    }
}

/// The bytes of a layer's FeatureCollection, chunk by chunk, once the store
/// has produced the first feature (or said there is none). A database that
/// cannot start the export fails here, before a byte is written, so that the
/// HTTP export answers an error (`503 storage_unavailable` for a database
/// out of reach) rather than a `200` with a cut-off body; only a failure
/// after the first feature can still cut the body short.
pub async fn layer_geojson(
    store: &dyn Store,
    layer: LayerName,
    district_names: Arc<HashMap<i64, String>>,
) -> qala_geodata::Result<impl Stream<Item = qala_geodata::Result<Vec<u8>>> + Send + 'static> {
    let mut features = layer_features(store, layer, district_names);
    let first = match features.next().await {
        Some(Err(e)) => return Err(e),
        first => first,
    };
    Ok(feature_collection(stream::iter(first).chain(features)))
}
