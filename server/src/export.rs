//! A whole layer as GeoJSON, streamed from the store in constant memory; the
//! HTTP export and `qala export` share it.

use std::collections::HashMap;
use std::sync::Arc;

use futures::stream::{BoxStream, Stream, StreamExt};
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

/// The bytes of a layer's FeatureCollection, chunk by chunk.
pub fn layer_geojson(
    store: &dyn Store,
    layer: LayerName,
    district_names: Arc<HashMap<i64, String>>,
) -> impl Stream<Item = qala_geodata::Result<Vec<u8>>> + Send + 'static {
    feature_collection(layer_features(store, layer, district_names))
}
