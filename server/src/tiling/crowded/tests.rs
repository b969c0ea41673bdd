//! The crowded tile against the generic clustering it replaced, kept here
//! as it was: the same features once decoded.

use std::collections::HashMap;

use chrono::{Duration, TimeZone, Utc};
use geo::CoordsIter;
use mvt_reader::Reader;
use mvt_reader::feature::{Feature, Value};
use qala_geodata::category::CATEGORIES;
use qala_geodata::{Area, IssueEntry, IssueFilter, IssueStatus, LayerName, LonLat, SpatialIndex};
use qala_tiles::{
    ClusterOptions, MAX_ZOOM, TileBuilder, TileId, TileOptions, cluster_points,
    tile_pixel_to_lonlat,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use super::super::issue_layer::{cluster_feature, cluster_point};
use super::super::render::{TileRequest, render};
use super::super::{BUFFER, EXTENT, TileService, TileSettings, bbox_of};
use super::MAX_SINGLE_POINTS;

/// `n` issues in and around `tile` (a few in its buffer and beyond): most
/// at random, some on another's position (ties), some on the lines of the
/// 2- to 64-unit grids, with random statuses, categories and days.
fn crowd(tile: TileId, n: usize, seed: u64) -> Vec<IssueEntry> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut at: Vec<(f64, f64)> = Vec::with_capacity(n);
    let start = Utc.with_ymd_and_hms(2025, 1, 1, 8, 0, 0).unwrap();
    (0..n)
        .map(|i| {
            let (x, y) = match rng.random_range(0..10) {
                0 | 1 if !at.is_empty() => at[rng.random_range(0..at.len())],
                2 | 3 => {
                    // On grid lines: whole units that are multiples of 2..64.
                    let step = [2, 4, 8, 16, 32, 64][rng.random_range(0..6)];
                    let line =
                        |rng: &mut ChaCha8Rng| f64::from(step * rng.random_range(0..4096 / step));
                    (line(&mut rng), line(&mut rng))
                }
                _ => (
                    rng.random_range(-100.0..4196.0),
                    rng.random_range(-100.0..4196.0),
                ),
            };
            at.push((x, y));
            let (lon, lat) = tile_pixel_to_lonlat(x, y, tile, EXTENT);
            // Beyond the world's edge (the last tile): on it.
            let lon = lon.clamp(-180.0, 180.0);
            IssueEntry {
                id: i as i64 + 1,
                location: LonLat::new(lon, lat).unwrap(),
                status: IssueStatus::ALL[rng.random_range(0..IssueStatus::ALL.len())],
                category: &CATEGORIES[rng.random_range(0..CATEGORIES.len())],
                district_id: None,
                created_at: start + Duration::hours(rng.random_range(0..24 * 500)),
                assigned_department: None,
                // Most with none, some past the dense path's vote array.
                votes: ((i * 37) % 700).saturating_sub(300) as u16,
            }
        })
        .collect()
}

/// The crowded tile as the generic path made it: every matching issue
/// collected again, `cluster_points` at 2, 4, … 64 units until within the
/// limit, each item through `cluster_feature` and the generic writer.
fn old_crowded(index: &SpatialIndex, tile: TileId, filter: &IssueFilter) -> Vec<u8> {
    let mut builder = TileBuilder::new(
        tile,
        TileOptions {
            extent: EXTENT,
            buffer: BUFFER,
            ..TileOptions::default()
        },
    )
    .unwrap();
    let buffered = bbox_of(tile.lonlat_bounds_buffered(BUFFER, EXTENT));
    let points: Vec<&IssueEntry> = index
        .issues
        .matching(Area::BBox(buffered), filter)
        .collect();
    let mut items = Vec::new();
    for cell_px in [2, 4, 8, 16, 32, 64] {
        let options = ClusterOptions {
            cell_px,
            extent: EXTENT,
            max_cluster_zoom: MAX_ZOOM,
        };
        items = cluster_points(tile, points.iter().copied().map(cluster_point), &options).unwrap();
        if items.len() <= MAX_SINGLE_POINTS {
            break;
        }
    }
    let features = items
        .into_iter()
        .filter_map(|item| cluster_feature(index, item));
    builder
        .add_pixel_layer(LayerName::Issues.as_str(), features)
        .unwrap();
    builder.encode()
}

fn decode(bytes: &[u8]) -> Vec<Feature<i32>> {
    let reader = Reader::new(bytes.to_vec()).unwrap();
    let layers = reader.get_layer_metadata().unwrap();
    assert_eq!(layers.len(), 1);
    assert_eq!(layers[0].name, "issues");
    reader.get_features_as::<i32>(0).unwrap()
}

fn props(f: &Feature<i32>) -> HashMap<String, Value> {
    f.properties.clone().unwrap_or_default()
}

fn position(f: &Feature<i32>) -> (i32, i32) {
    let coords: Vec<_> = f.geometry.coords_iter().collect();
    assert_eq!(coords.len(), 1, "a point");
    (coords[0].x, coords[0].y)
}

fn count(f: &Feature<i32>) -> u64 {
    match props(f).get("point_count") {
        Some(Value::UInt(n)) => *n,
        None => 1,
        other => panic!("point_count {other:?}"),
    }
}

/// Renders `tile` both ways and checks they decode to the same features
/// in the same (cell) order: ids, properties and, for single issues,
/// positions identical; a cluster's position at most one unit off (see
/// the module docs). Returns how many clusters moved.
fn same_features(entries: Vec<IssueEntry>, tile: TileId, filter: &IssueFilter) -> usize {
    let index = SpatialIndex::new(entries, Default::default());
    let service = TileService::new(
        &index,
        TileSettings {
            cache_bytes: 0,
            ..TileSettings::default()
        },
    )
    .unwrap();
    let request = TileRequest {
        tile,
        layers: vec![LayerName::Issues],
        filter: filter.clone(),
    };
    let bytes = render(&service, &index, &request).unwrap();
    let new = decode(&bytes);
    let old = decode(&old_crowded(&index, tile, filter));

    // The issues inside the tile, as the generic clustering counts them
    // (those beyond the world's south edge are the last row's).
    let inside: u64 = old.iter().map(count).sum();
    assert!(
        inside > MAX_SINGLE_POINTS as u64,
        "crowded: {inside} issues"
    );
    assert!(new.len() <= MAX_SINGLE_POINTS, "{} features", new.len());
    assert!(new.iter().any(|f| f.id.is_some()), "some single issues");
    assert!(new.iter().any(|f| f.id.is_none()), "some clusters");
    assert_eq!(new.iter().map(count).sum::<u64>(), inside);
    // Under the 500 KB tile budget as served (gzip).
    let gzipped = qala_tiles::gzip(&bytes).unwrap().len();
    assert!(gzipped < 500_000, "{gzipped} bytes gzipped");

    assert_eq!(new.len(), old.len());
    let mut moved = 0;
    for (a, b) in new.iter().zip(&old) {
        assert_eq!(a.id, b.id);
        assert_eq!(
            props(a),
            props(b),
            "feature {:?} at {:?}",
            a.id,
            position(b)
        );
        let ((ax, ay), (bx, by)) = (position(a), position(b));
        if a.id.is_some() {
            assert_eq!((ax, ay), (bx, by), "issue {:?}", a.id);
        } else if (ax, ay) != (bx, by) {
            assert!(
                (ax - bx).abs() <= 1 && (ay - by).abs() <= 1,
                "{:?} {:?}",
                (ax, ay),
                (bx, by)
            );
            moved += 1;
        }
    }
    moved
}

fn centre_tile() -> TileId {
    TileId::containing(76.95, 43.25, 14).unwrap()
}

/// 30,000 issues: more than the 8-unit grid's cells fit, the 16-unit grid.
#[test]
fn a_crowded_tile_decodes_to_the_features_of_the_generic_clustering() {
    let tile = centre_tile();
    let moved = same_features(crowd(tile, 33_000, 1), tile, &IssueFilter::default());
    // Rare: a mean within 1/512 unit of a half unit.
    assert!(moved < 20, "{moved} clusters a unit off");
}

/// Denser (a coarser grid), and filtered by status.
#[test]
fn a_filtered_crowded_tile_decodes_to_the_features_of_the_generic_clustering() {
    let tile = centre_tile();
    let filter = IssueFilter {
        statuses: IssueStatus::ALL[..IssueStatus::ALL.len() - 1].to_vec(),
        ..IssueFilter::default()
    };
    let moved = same_features(crowd(tile, 60_000, 2), tile, &filter);
    assert!(moved < 20, "{moved} clusters a unit off");
}

/// At the world's south-east corner, where the last column and row take
/// the points on their east and south edges.
#[test]
fn the_last_tile_of_the_world_keeps_its_edge_points() {
    let last = (1 << 14) - 1;
    let tile = TileId::new(14, last, last).unwrap();
    let mut entries = crowd(tile, 30_000, 3);
    for (i, e) in entries.iter_mut().enumerate().step_by(50) {
        let (lon, lat) = if i % 100 == 0 {
            (180.0, -85.0)
        } else {
            (180.0, e.location.lat())
        };
        e.location = LonLat::new(lon, lat).unwrap();
    }
    same_features(entries, tile, &IssueFilter::default());
}
