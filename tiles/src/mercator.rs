//! Web Mercator (EPSG:3857) maths shared by the tile grid, the projection of
//! features into tiles and clustering.
//!
//! Conventions used throughout the crate:
//! - geographic coordinates are `(lon, lat)` in degrees, WGS84, in that order;
//! - *world* coordinates are the unit square `[0, 1] x [0, 1]` with x growing
//!   east and **y growing south** (the XYZ / slippy-map convention), so tile
//!   `(x, y)` at zoom `z` covers `[x, x + 1] / 2^z` by `[y, y + 1] / 2^z`;
//! - *Mercator* coordinates are metres in EPSG:3857 with y growing **north**.

use std::f64::consts::PI;

/// The latitude (degrees) at which Web Mercator turns the world into a square.
///
/// Latitudes beyond ±this are clamped before projecting: the projection of
/// the poles is infinite, and XYZ tiles stop here.
pub const MAX_LATITUDE: f64 = 85.051_128_78;

/// The WGS84 semi-major axis (metres) that EPSG:3857 uses as a sphere radius.
pub const EARTH_RADIUS_M: f64 = 6_378_137.0;

/// Half the width of the Mercator world in metres (`π · R`, about 20,037,508.34 m):
/// the world spans `[-HALF_WORLD_M, HALF_WORLD_M]` on both axes.
pub const HALF_WORLD_M: f64 = PI * EARTH_RADIUS_M;

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

/// Projects `(lon, lat)` degrees to EPSG:3857 metres `(x, y)` (y north).
///
/// ```
/// use qala_tiles::mercator::{lonlat_to_mercator, HALF_WORLD_M};
/// let (x, _) = lonlat_to_mercator(180.0, 0.0);
/// assert!((x - HALF_WORLD_M).abs() < 1e-6);
/// ```
#[must_use]
pub fn lonlat_to_mercator(lon: f64, lat: f64) -> (f64, f64) {
    let (wx, wy) = lonlat_to_world(lon, lat);
    world_to_mercator(wx, wy)
}

/// Inverse of [`lonlat_to_mercator`].
#[must_use]
pub fn mercator_to_lonlat(x: f64, y: f64) -> (f64, f64) {
    let wx = (x + HALF_WORLD_M) / (2.0 * HALF_WORLD_M);
    let wy = (HALF_WORLD_M - y) / (2.0 * HALF_WORLD_M);
    world_to_lonlat(wx, wy)
}

/// World coordinates (unit square, y down) to EPSG:3857 metres (y up).
#[must_use]
pub fn world_to_mercator(x: f64, y: f64) -> (f64, f64) {
    (
        x * 2.0 * HALF_WORLD_M - HALF_WORLD_M,
        HALF_WORLD_M - y * 2.0 * HALF_WORLD_M,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lonlat_to_mercator_and_back_round_trips() {
        for &(lon, lat) in &[
            (0.0, 0.0),
            (76.9, 43.25),
            (-179.999, -85.0),
            (179.999, 85.0),
            (-73.98, 40.75),
        ] {
            let (x, y) = lonlat_to_mercator(lon, lat);
            let (lon2, lat2) = mercator_to_lonlat(x, y);
            assert!((lon - lon2).abs() < 1e-9, "{lon} vs {lon2}");
            assert!((lat - lat2).abs() < 1e-9, "{lat} vs {lat2}");
        }
    }

    #[test]
    fn max_latitude_maps_to_the_top_of_the_world() {
        let (_, y) = lonlat_to_world(0.0, MAX_LATITUDE);
        assert!(y.abs() < 1e-8, "{y}");
        let (_, y) = lonlat_to_world(0.0, -90.0);
        assert!((y - 1.0).abs() < 1e-8, "{y}");
    }

    #[test]
    fn mercator_values_match_the_closed_form_epsg_3857_formulas() {
        // Reference from the closed-form EPSG:3857 formulas: x = R·λ, y = R·ln(tan(π/4 + φ/2)).
        for &(lon, lat) in &[
            (76.9, 43.25),
            (0.0, 0.0),
            (-120.0, -1e-9),
            (10.0, 85.0),
            (-10.0, -85.0),
        ] {
            let (x, y) = lonlat_to_mercator(lon, lat);
            let expect_x = EARTH_RADIUS_M * f64::to_radians(lon);
            let expect_y = EARTH_RADIUS_M * (PI / 4.0 + f64::to_radians(lat) / 2.0).tan().ln();
            assert!((x - expect_x).abs() < 1e-6, "{lon}");
            assert!((y - expect_y).abs() < 1e-6, "{lat}: {y} vs {expect_y}");
        }
    }
}
