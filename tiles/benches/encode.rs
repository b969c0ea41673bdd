//! Tile encoding benchmarks on seeded synthetic data around Almaty.
//!
//! - `dense_z14_points`: one z14 tile with 20,000 issue points (4 properties each);
//! - `dense_z14_point_layer`: the same tile through the point fast path;
//! - `point_run_20k`: the per-point part of that path alone (three values a point);
//! - `polygon_heavy_z14`: one z14 tile with 2,000 polygons of 20–200 vertices,
//!   some crossing the tile edge (projection, clipping, simplification,
//!   validation, encoding);
//! - `cluster_z8_1m`: clustering 1,000,000 points (lon 76.75–77.10,
//!   lat 43.15–43.40) into one z8 tile, then encoding the clusters;
//! - `gzip` / `brotli` of the dense tile.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use geo::{Geometry, LineString, Point, Polygon, point};
use qala_tiles::mercator::lonlat_to_world;
use qala_tiles::pyramid::ClusterPyramid;
use qala_tiles::{
    ClusterItem, ClusterOptions, ClusterPoint, PropertyValue, TileBuilder, TileFeature, TileId,
    TileOptions, brotli, cluster_points, gzip,
};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const STATUSES: [&str; 4] = ["open", "in_progress", "fixed", "rejected"];
const CATEGORIES: [&str; 6] = ["pothole", "lighting", "trash", "trees", "crossing", "other"];

fn tile_z14() -> TileId {
    TileId::containing(76.9286, 43.2567, 14).unwrap_or_else(|e| panic!("{e}"))
}

fn dense_points() -> (TileId, Vec<Geometry<f64>>) {
    let tile = tile_z14();
    let b = tile.lonlat_bounds();
    let mut rng = ChaCha8Rng::seed_from_u64(14);
    let points = (0..20_000)
        .map(|_| {
            Geometry::Point(point! {
                x: rng.random_range(b.min().x..b.max().x),
                y: rng.random_range(b.min().y..b.max().y),
            })
        })
        .collect();
    (tile, points)
}

fn encode_points(tile: TileId, points: &[Geometry<f64>]) -> Vec<u8> {
    let mut builder =
        TileBuilder::new(tile, TileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    builder
        .add_layer(
            "issues",
            points.iter().enumerate().map(|(i, g)| {
                TileFeature::new(g)
                    .with_id(i as u64)
                    .with_property("status", STATUSES[i % STATUSES.len()])
                    .with_property("category", CATEGORIES[i % CATEGORIES.len()])
                    .with_property("votes", (i % 50) as u64)
                    .with_property("created", 1_700_000_000_i64 + i as i64)
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    builder.encode()
}

/// Only the per-point part of the fast path: 20,000 points with three
/// values each into one run, as a dense tile writes them.
fn point_run(tile: TileId, world: &[(f64, f64)]) -> usize {
    let builder = TileBuilder::new(tile, TileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let layer = builder
        .point_layer("issues", &["status", "category", "created"])
        .unwrap_or_else(|e| panic!("{e}"));
    let mut run = layer.writer();
    for (i, (x, y)) in world.iter().enumerate() {
        run.add(
            i as u64,
            *x,
            *y,
            &[(i % 4) as u32, 4 + (i % 6) as u32, 10 + (i % 300) as u32],
        );
    }
    run.len()
}

/// The same features as [`encode_points`] through the point fast path, from
/// world positions projected beforehand (as the server's index keeps them),
/// each distinct value numbered once, on one thread.
fn encode_point_layer(tile: TileId, world: &[(f64, f64)]) -> Vec<u8> {
    let mut builder =
        TileBuilder::new(tile, TileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let mut layer = builder
        .point_layer("issues", &["status", "category", "votes", "created"])
        .unwrap_or_else(|e| panic!("{e}"));
    let statuses: Vec<u32> = STATUSES
        .iter()
        .map(|s| layer.value(&PropertyValue::from(*s)))
        .collect();
    let categories: Vec<u32> = CATEGORIES
        .iter()
        .map(|s| layer.value(&PropertyValue::from(*s)))
        .collect();
    let votes: Vec<u32> = (0..50_u64)
        .map(|v| layer.value(&PropertyValue::UInt(v)))
        .collect();
    for (i, (x, y)) in world.iter().enumerate() {
        // Every creation time is distinct here, so each is a new value.
        let created = layer.value(&PropertyValue::Int(1_700_000_000 + i as i64));
        let tags = [
            statuses[i % STATUSES.len()],
            categories[i % CATEGORIES.len()],
            votes[i % 50],
            created,
        ];
        layer.add(i as u64, *x, *y, &tags);
    }
    builder
        .add_point_layer(layer)
        .unwrap_or_else(|e| panic!("{e}"));
    builder.encode()
}

fn heavy_polygons() -> (TileId, Vec<Geometry<f64>>) {
    let tile = tile_z14();
    let b = tile.lonlat_bounds();
    let (w, h) = (b.width(), b.height());
    let mut rng = ChaCha8Rng::seed_from_u64(2000);
    let polygons = (0..2_000)
        .map(|_| {
            // Centres spread a little beyond the tile so some polygons cross its edge.
            let cx = b.min().x + rng.random_range(-0.05..1.05) * w;
            let cy = b.min().y + rng.random_range(-0.05..1.05) * h;
            // Radius 0.2–3 % of the tile: building to block sized.
            let r = rng.random_range(0.002..0.03);
            let n = rng.random_range(20..=200);
            let ring: Vec<(f64, f64)> = (0..n)
                .map(|i| {
                    let a = f64::from(i) / f64::from(n) * std::f64::consts::TAU;
                    let rr = r * rng.random_range(0.6..1.0);
                    (cx + rr * w * a.cos(), cy + rr * h * a.sin())
                })
                .collect();
            Geometry::Polygon(Polygon::new(LineString::from(ring), Vec::new()))
        })
        .collect();
    (tile, polygons)
}

fn encode_polygons(tile: TileId, polygons: &[Geometry<f64>]) -> Vec<u8> {
    encode_polygons_counted(tile, polygons).0
}

/// The tile and the number of features written.
fn encode_polygons_counted(tile: TileId, polygons: &[Geometry<f64>]) -> (Vec<u8>, usize) {
    let mut builder =
        TileBuilder::new(tile, TileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    let written = builder
        .add_layer(
            "buildings",
            polygons.iter().enumerate().map(|(i, g)| {
                TileFeature::new(g)
                    .with_id(i as u64)
                    .with_property("kind", CATEGORIES[i % CATEGORIES.len()])
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    (builder.encode(), written)
}

struct CityPoints {
    lon: Vec<f64>,
    lat: Vec<f64>,
}

fn million_points() -> CityPoints {
    let mut rng = ChaCha8Rng::seed_from_u64(1_000_000);
    let n = 1_000_000;
    CityPoints {
        lon: (0..n).map(|_| rng.random_range(76.75..77.10)).collect(),
        lat: (0..n).map(|_| rng.random_range(43.15..43.40)).collect(),
    }
}

fn cluster_and_encode(tile: TileId, pts: &CityPoints) -> Vec<u8> {
    let items = cluster_points(tile, cluster_input(pts), &ClusterOptions::default())
        .unwrap_or_else(|e| panic!("{e}"));
    encode_clusters(tile, &items)
}

/// What the server does for an unfiltered cluster tile: read the cells of a
/// pyramid built once, then encode.
fn pyramid_and_encode(tile: TileId, pyramid: &ClusterPyramid) -> Vec<u8> {
    let items = pyramid.tile(tile).unwrap_or_default();
    encode_clusters(tile, &items)
}

fn cluster_input(pts: &CityPoints) -> impl Iterator<Item = ClusterPoint<'static>> + '_ {
    pts.lon
        .iter()
        .zip(&pts.lat)
        .enumerate()
        .map(|(i, (&lon, &lat))| ClusterPoint {
            id: i as u64,
            lon,
            lat,
            group: STATUSES[i % STATUSES.len()],
        })
}

fn encode_clusters(tile: TileId, items: &[ClusterItem]) -> Vec<u8> {
    let mut builder =
        TileBuilder::new(tile, TileOptions::default()).unwrap_or_else(|e| panic!("{e}"));
    builder
        .add_pixel_layer(
            "issues",
            items.iter().map(|item| {
                let f = TileFeature::owned(Geometry::Point(Point::from(item.position())));
                match item {
                    ClusterItem::Single(s) => {
                        f.with_id(s.id).with_property("status", s.group.as_str())
                    }
                    ClusterItem::Cluster(c) => {
                        let mut f = f.with_property("point_count", c.point_count);
                        for (g, n) in &c.groups {
                            f = f.with_property(g.as_str(), *n);
                        }
                        f
                    }
                }
            }),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    builder.encode()
}

fn benches(c: &mut Criterion) {
    let (tile, points) = dense_points();
    let bytes = encode_points(tile, &points);
    let gz = gzip(&bytes).unwrap_or_else(|e| panic!("{e}"));
    let br = brotli(&bytes).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "dense_z14_points: {} points, {} B raw, {} B gzip, {} B brotli",
        points.len(),
        bytes.len(),
        gz.len(),
        br.len()
    );
    c.bench_function("dense_z14_points", |b| {
        b.iter(|| encode_points(tile, black_box(&points)))
    });
    let world: Vec<(f64, f64)> = points
        .iter()
        .filter_map(|g| match g {
            Geometry::Point(p) => Some(lonlat_to_world(p.x(), p.y())),
            _ => None,
        })
        .collect();
    assert_eq!(encode_point_layer(tile, &world).len(), bytes.len());
    c.bench_function("dense_z14_point_layer", |b| {
        b.iter(|| encode_point_layer(tile, black_box(&world)))
    });
    c.bench_function("point_run_20k", |b| {
        b.iter(|| point_run(tile, black_box(&world)))
    });
    c.bench_function("gzip_dense_tile", |b| b.iter(|| gzip(black_box(&bytes))));
    c.bench_function("brotli_dense_tile", |b| {
        b.iter(|| brotli(black_box(&bytes)))
    });

    let (tile, polygons) = heavy_polygons();
    let (bytes, written) = encode_polygons_counted(tile, &polygons);
    let gz = gzip(&bytes).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "polygon_heavy_z14: {} polygons in, {written} features out, {} B raw, {} B gzip",
        polygons.len(),
        bytes.len(),
        gz.len()
    );
    c.bench_function("polygon_heavy_z14", |b| {
        b.iter(|| encode_polygons(tile, black_box(&polygons)))
    });

    let pts = million_points();
    let tile = TileId::containing(76.92, 43.27, 8).unwrap_or_else(|e| panic!("{e}"));
    let bytes = cluster_and_encode(tile, &pts);
    let gz = gzip(&bytes).unwrap_or_else(|e| panic!("{e}"));
    eprintln!(
        "cluster_z8_1m: tile {tile}, {} B raw, {} B gzip",
        bytes.len(),
        gz.len()
    );
    let mut group = c.benchmark_group("cluster");
    group.sample_size(10);
    group.bench_function("cluster_z8_1m", |b| {
        b.iter(|| cluster_and_encode(tile, black_box(&pts)))
    });
    let mut pyramid = ClusterPyramid::new(
        ClusterOptions::default(),
        STATUSES.iter().map(|s| s.to_string()).collect(),
    )
    .unwrap_or_else(|e| panic!("{e}"));
    for (i, p) in cluster_input(&pts).enumerate() {
        pyramid
            .insert(p.id, p.lon, p.lat, i % STATUSES.len())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    group.bench_function("pyramid_z8_1m", |b| {
        b.iter(|| pyramid_and_encode(tile, black_box(&pyramid)))
    });
    let z13 = TileId::containing(76.92, 43.27, 13).unwrap_or_else(|e| panic!("{e}"));
    group.bench_function("pyramid_z13_1m", |b| {
        b.iter(|| pyramid_and_encode(z13, black_box(&pyramid)))
    });
    group.finish();
}

criterion_group!(encode, benches);
criterion_main!(encode);
