//! Web Mercator (EPSG:3857) maths shared by the tile grid, the projection of
//! features into tiles and clustering.
//!
//! Conventions used throughout the crate:
//! - geographic coordinates are `(lon, lat)` in degrees, WGS84, in that order;
//! - *world* coordinates are the unit square `[0, 1] x [0, 1]` with x growing
//!   east and **y growing south** (the XYZ / slippy-map convention), so tile
//!   `(x, y)` at zoom `z` covers `[x, x + 1] / 2^z` by `[y, y + 1] / 2^z`.

use std::f64::consts::PI;

/// The latitude (degrees) at which Web Mercator turns the world into a square.
///
/// Latitudes beyond ±this are clamped before projecting: the projection of
/// the poles is infinite, and XYZ tiles stop here.
pub const MAX_LATITUDE: f64 = 85.051_128_78;

/// Clamps a latitude to `±MAX_LATITUDE` degrees.
///
/// ```
/// use qala_tiles::mercator::{clamp_latitude, MAX_LATITUDE};
/// assert_eq!(clamp_latitude(90.0), MAX_LATITUDE);
/// assert_eq!(clamp_latitude(43.25), 43.25);
/// ```
#[must_use]
pub fn clamp_latitude(lat: f64) -> f64 {
    lat.clamp(-MAX_LATITUDE, MAX_LATITUDE)
}

/// Projects `(lon, lat)` degrees to world coordinates (unit square, y down).
///
/// Latitude is clamped to `±MAX_LATITUDE`; longitude is *not* wrapped, so a
/// longitude outside `[-180, 180]` lands outside `[0, 1]` (clipping removes it).
///
/// ```
/// use qala_tiles::mercator::lonlat_to_world;
/// let (x, y) = lonlat_to_world(0.0, 0.0);
/// assert!((x - 0.5).abs() < 1e-12 && (y - 0.5).abs() < 1e-12);
/// ```
#[must_use]
pub fn lonlat_to_world(lon: f64, lat: f64) -> (f64, f64) {
    let x = (lon + 180.0) / 360.0;
    let phi = clamp_latitude(lat).to_radians();
    // The Mercator ordinate in radians is ln(tan(π/4 + φ/2)) = asinh(tan φ) =
    // atanh(sin φ); the last is the cheapest (one sin, one log1p), which
    // matters when clustering a million points. Scale to the unit square and
    // flip for y-down.
    let y = 0.5 - phi.sin().atanh() / (2.0 * PI);
    // At ±MAX_LATITUDE rounding can land a hair outside [0, 1]; the clamp keeps
    // the top and bottom rows closed.
    (x, y.clamp(0.0, 1.0))
}

/// Inverse of [`lonlat_to_world`]: world coordinates (y down) to `(lon, lat)` degrees.
#[must_use]
pub fn world_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let lon = x * 360.0 - 180.0;
    let lat = (PI * (1.0 - 2.0 * y)).sinh().atan().to_degrees();
    (lon, lat)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn max_latitude_maps_to_the_top_of_the_world() {
        let (_, y) = lonlat_to_world(0.0, MAX_LATITUDE);
        assert!(y.abs() < 1e-8, "{y}");
        let (_, y) = lonlat_to_world(0.0, -90.0);
        assert!((y - 1.0).abs() < 1e-8, "{y}");
    }
}
