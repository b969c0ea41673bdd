//! Decoding tiles with an independent decoder (`mvt-reader`) and the Web
//! Mercator maths written out here again, so tests do not check the tile
//! code against itself.

use std::collections::HashMap;

use mvt_reader::Reader;
use mvt_reader::feature::{Feature, Value};

/// A decoded tile: layer name → features with integer tile coordinates.
pub fn decode(bytes: &[u8]) -> HashMap<String, Vec<Feature<i32>>> {
    if bytes.is_empty() {
        return HashMap::new();
    }
    let reader = Reader::new(bytes.to_vec()).expect("a decodable tile");
    let mut layers = HashMap::new();
    for (i, meta) in reader
        .get_layer_metadata()
        .expect("layer metadata")
        .into_iter()
        .enumerate()
    {
        assert_eq!(meta.extent, 4096, "layer {}", meta.name);
        layers.insert(
            meta.name,
            reader.get_features_as::<i32>(i).expect("features"),
        );
    }
    layers
}

/// A property as text (strings) or number (any numeric type).
pub fn prop_str(f: &Feature<i32>, key: &str) -> Option<String> {
    match f.properties.as_ref()?.get(key)? {
        Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// A numeric property as f64, whichever MVT number type carried it.
pub fn prop_num(f: &Feature<i32>, key: &str) -> Option<f64> {
    Some(match f.properties.as_ref()?.get(key)? {
        Value::Int(i) | Value::SInt(i) => *i as f64,
        Value::UInt(u) => *u as f64,
        Value::Float(x) => f64::from(*x),
        Value::Double(x) => *x,
        _ => return None,
    })
}

/// Whether a boolean property is true.
pub fn prop_true(f: &Feature<i32>, key: &str) -> bool {
    matches!(
        f.properties.as_ref().and_then(|p| p.get(key)),
        Some(Value::Bool(true))
    )
}

/// Tile-local pixel position (extent 4096, y down) of a lon/lat in tile z/x/y.
pub fn pixel(lon: f64, lat: f64, z: u8, x: u32, y: u32) -> (f64, f64) {
    let n = f64::from(1_u32 << z);
    let lat = lat.clamp(-85.051_128_78, 85.051_128_78).to_radians();
    let wx = (lon + 180.0) / 360.0;
    let wy = (1.0 - (lat.tan() + 1.0 / lat.cos()).ln() / std::f64::consts::PI) / 2.0;
    (
        (wx * n - f64::from(x)) * 4096.0,
        (wy * n - f64::from(y)) * 4096.0,
    )
}

/// The tile containing a lon/lat at zoom z.
pub fn tile_of(lon: f64, lat: f64, z: u8) -> (u32, u32) {
    let (px, py) = pixel(lon, lat, z, 0, 0);
    ((px / 4096.0).floor() as u32, (py / 4096.0).floor() as u32)
}
