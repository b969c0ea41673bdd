//! Reading a reference layer from GeoJSON: the one validation that
//! `qala import` and city folders (`qala demo`) both go through.

use qala_geodata::layer::parse_feature_collection;
use qala_geodata::{LayerName, NewFeature, ValidationError};

/// Why a layer file was not accepted.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The bytes are not JSON.
    #[error("not valid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A feature broke a rule (the message names which feature).
    #[error("{0}")]
    Invalid(#[from] ValidationError),
}

/// Parses and validates a GeoJSON FeatureCollection for `layer`: every
/// feature's geometry is checked (numbers, rings, OGC validity, the layer's
/// geometry types) before any is accepted.
pub fn parse_layer(bytes: &[u8], layer: LayerName) -> Result<Vec<NewFeature>, ImportError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)?;
    Ok(parse_feature_collection(&value, layer)?)
}
