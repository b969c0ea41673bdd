//! A GeoJSON FeatureCollection written as a stream of chunks, so a layer of
//! any size is exported in constant memory.

use futures::stream::{self, Stream, StreamExt};
use serde_json::Value;

/// Wraps a stream of GeoJSON Features into the bytes of one FeatureCollection.
///
/// Each item of the output is one chunk (the opening, one feature, the
/// closing); an error in the input ends the stream with that error, leaving
/// the document unterminated so no client mistakes it for a complete export.
pub fn feature_collection<E>(
    features: impl Stream<Item = Result<Value, E>> + Send + 'static,
) -> impl Stream<Item = Result<Vec<u8>, E>> + Send + 'static
where
    E: Send + 'static,
{
    let opening =
        stream::once(async { Ok(br#"{"type":"FeatureCollection","features":["#.to_vec()) });
    let body = features.enumerate().map(|(i, feature)| {
        feature.map(|f| {
            let mut chunk = if i == 0 { Vec::new() } else { b",\n".to_vec() };
            // Serialising a `Value` into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut chunk, &f);
            chunk
        })
    });
    let closing = stream::once(async { Ok(b"]}\n".to_vec()) });
    opening.chain(body).chain(closing)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[tokio::test]
    async fn the_output_parses_as_one_feature_collection() {
        let features = (0..3).map(|i| {
            Ok::<_, ()>(json!({"type": "Feature", "id": i, "geometry": null, "properties": {}}))
        });
        let chunks: Vec<Vec<u8>> = feature_collection(stream::iter(features))
            .map(|c| c.unwrap())
            .collect()
            .await;
        let parsed: Value = serde_json::from_slice(&chunks.concat()).unwrap();
        assert_eq!(parsed["features"].as_array().unwrap().len(), 3);
        assert_eq!(parsed["features"][2]["id"], 2);
    }

    #[tokio::test]
    async fn an_empty_layer_is_an_empty_collection() {
        let chunks: Vec<Vec<u8>> =
            feature_collection(stream::iter(Vec::<Result<Value, ()>>::new()))
                .map(|c| c.unwrap())
                .collect()
                .await;
        let parsed: Value = serde_json::from_slice(&chunks.concat()).unwrap();
        assert_eq!(parsed, json!({"type": "FeatureCollection", "features": []}));
    }
}
