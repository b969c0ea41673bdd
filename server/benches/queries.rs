//! In-process query benchmarks over the demo city with 1,000,000 issues
//! (`cargo bench -p qala-server --bench queries`; `QALA_BENCH_ISSUES=10000000`
//! for ten million, the groups then named `…_10m`): the work a request does
//! in the index once it is parsed, measured where users crowd it — nearby at
//! the densest 100 m cell of the demo data; counts by district, status and
//! time in the district with the most issues; and the issue tiles at the
//! city centre, rendered cold (no tile cache): the crowded one (more issues
//! than a single-point tile carries, so clustered) and its densest ordinary
//! neighbour.
//!
//! Issues are the demo generator's (seed 42, as `qala demo`), kept in memory
//! only: no database is involved.

// `criterion_group!` generates an undocumented public function.
#![allow(missing_docs)]
// A benchmark that cannot build its data has nothing to measure: it stops.
#![allow(clippy::expect_used)]

use std::collections::HashMap;

use criterion::{Criterion, criterion_group, criterion_main};
use qala_geodata::{
    Feature, GroupKey, GroupValue, IssueEntry, IssueFilter, LayerName, LonLat, SpatialIndex,
};
use qala_server::city::City;
use qala_server::demo::generator;
use qala_server::tiling::{TileRequest, TileService, TileSettings, render};
use qala_tiles::TileId;

/// Issues in the demo city: `QALA_BENCH_ISSUES`, by default a million.
fn issue_count() -> usize {
    std::env::var("QALA_BENCH_ISSUES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1_000_000)
}

/// A benchmark group's name for the city's size: `nearby_densest_1m`.
fn group_name(what: &str) -> String {
    let n = issue_count();
    if n.is_multiple_of(1_000_000) {
        format!("{what}_{}m", n / 1_000_000)
    } else {
        format!("{what}_{n}")
    }
}

/// The demo city's index, built once for every group (ten million issues
/// take a minute to generate).
fn demo_index() -> &'static SpatialIndex {
    static INDEX: std::sync::OnceLock<SpatialIndex> = std::sync::OnceLock::new();
    INDEX.get_or_init(build_demo_index)
}

/// The demo city's index with [`issue_count`] issues, as a server builds it at start.
fn build_demo_index() -> SpatialIndex {
    let city = City::almaty().expect("the demo city loads");
    // Feature ids are unique across layers, as the stores assign them.
    let mut next_id = 0;
    let layers: HashMap<LayerName, Vec<Feature>> = city
        .layers()
        .map(|(layer, features)| {
            let features = features
                .iter()
                .map(|f| Feature {
                    id: {
                        next_id += 1;
                        next_id
                    },
                    layer,
                    geometry: f.geometry().clone(),
                    properties: f.properties().clone(),
                })
                .collect();
            (layer, features)
        })
        .collect();
    let districts = SpatialIndex::new(Vec::new(), layers.clone());
    let entries = generator::issues(&city, issue_count(), 42)
        .zip(1..)
        .map(|(issue, id)| {
            let location = LonLat::new(issue.lon, issue.lat).expect("demo positions are valid");
            IssueEntry {
                id,
                location,
                status: issue.status,
                category: issue.category,
                district_id: districts.district_for(location).ok().flatten(),
                created_at: issue.created_at,
                assigned_department: None,
                votes: 0,
            }
        })
        .collect();
    SpatialIndex::new(entries, layers)
}

/// The centre of the 100 m cell (roughly: 0.001° of latitude by 0.0013° of
/// longitude at Almaty) holding the most issues.
fn densest_point(index: &SpatialIndex) -> LonLat {
    let mut cells: HashMap<(i64, i64), u32> = HashMap::new();
    for e in index
        .issues
        .matching(qala_geodata::Area::Everywhere, &IssueFilter::default())
    {
        let key = (
            (e.location.lon() / 0.0013).floor() as i64,
            (e.location.lat() / 0.001).floor() as i64,
        );
        *cells.entry(key).or_default() += 1;
    }
    let ((x, y), _) = cells
        .into_iter()
        .max_by_key(|(key, n)| (*n, *key))
        .expect("the demo has issues");
    LonLat::new((x as f64 + 0.5) * 0.0013, (y as f64 + 0.5) * 0.001).expect("inside the city")
}

fn queries(c: &mut Criterion) {
    let index = demo_index();
    let dense = densest_point(index);
    let all = IssueFilter::default();
    let open = IssueFilter {
        statuses: vec![qala_geodata::IssueStatus::Open],
        ..IssueFilter::default()
    };
    let in_500m = index.issues.nearby(dense, 500.0, &all, usize::MAX).len();
    eprintln!("densest point {dense:?}: {in_500m} issues within 500 m");

    // A page of the list in a box the size of a z14 tile around the densest
    // point (what the map's list asks for at street zoom).
    let tile = TileId::containing(dense.lon(), dense.lat(), 14).expect("a valid tile");
    let bounds = tile.lonlat_bounds();
    let z14_box = qala_geodata::Area::BBox(qala_geodata::BBox {
        west: bounds.min().x,
        south: bounds.min().y,
        east: bounds.max().x,
        north: bounds.max().y,
    });
    eprintln!("z14 box {tile}: {} issues", issues_in(index, tile));

    let mut group = c.benchmark_group(group_name("nearby_densest"));
    group.bench_function("k10_500m", |b| {
        b.iter(|| index.issues.nearby(dense, 500.0, &all, 10))
    });
    group.bench_function("k10_500m_open_only", |b| {
        b.iter(|| index.issues.nearby(dense, 500.0, &open, 10))
    });
    group.bench_function("k50_5km", |b| {
        b.iter(|| index.issues.nearby(dense, 5_000.0, &all, 50))
    });
    group.finish();

    let mut group = c.benchmark_group(group_name("bbox_z14_densest"));
    group.bench_function("first_page_100", |b| {
        b.iter(|| index.issues.page(z14_box, &all, None, 100))
    });
    group.bench_function("newest_page_100", |b| {
        b.iter(|| index.issues.page_newest(z14_box, &all, None, 100))
    });
    group.bench_function("open_first_page_100", |b| {
        b.iter(|| index.issues.page(z14_box, &open, None, 100))
    });
    group.finish();
}

/// The district holding the most issues.
fn busiest_district(index: &SpatialIndex) -> i64 {
    index
        .issues
        .count_by(&IssueFilter::default(), &[GroupKey::District])
        .into_iter()
        .filter_map(|(key, n)| match key.first() {
            Some(GroupValue::District(Some(id))) => Some((n, *id)),
            _ => None,
        })
        .max()
        .map(|(_, id)| id)
        .expect("the demo has districts")
}

fn counts(c: &mut Criterion) {
    let index = demo_index();
    let district = busiest_district(index);
    let in_district = IssueFilter {
        district_id: Some(district),
        ..IssueFilter::default()
    };
    let open_potholes = IssueFilter {
        statuses: vec![qala_geodata::IssueStatus::Open],
        categories: vec!["pothole"],
        ..in_district.clone()
    };
    // A time window: two binary searches in each of the district's cells.
    let newest = index
        .issues
        .matching(qala_geodata::Area::Everywhere, &IssueFilter::default())
        .map(|e| e.created_at)
        .max()
        .expect("the demo has issues");
    let last_30_days = IssueFilter {
        since: Some(newest - chrono::Duration::days(30)),
        ..in_district.clone()
    };
    let total: u64 = index.issues.count_by(&in_district, &[]).values().sum();
    eprintln!("busiest district {district}: {total} issues");

    let mut group = c.benchmark_group(group_name("counts"));
    group.bench_function("all_districts", |b| {
        b.iter(|| {
            index
                .issues
                .count_by(&IssueFilter::default(), &[GroupKey::District])
        })
    });
    group.bench_function("all_districts_by_status", |b| {
        b.iter(|| {
            index.issues.count_by(
                &IssueFilter::default(),
                &[GroupKey::District, GroupKey::Status],
            )
        })
    });
    group.bench_function("district_by_status", |b| {
        b.iter(|| index.issues.count_by(&in_district, &[GroupKey::Status]))
    });
    group.bench_function("district_open_potholes", |b| {
        b.iter(|| index.issues.count_by(&open_potholes, &[]))
    });
    group.bench_function("district_last_30_days_by_status", |b| {
        b.iter(|| index.issues.count_by(&last_30_days, &[GroupKey::Status]))
    });
    // `/api/v1/districts/{id}/issues`: inside the polygon, in id order.
    let polygon = index
        .district_area(district)
        .expect("the busiest district has a polygon");
    group.bench_function("district_first_page_100", |b| {
        b.iter(|| {
            index.issues.page(
                qala_geodata::Area::Within(&polygon),
                &IssueFilter::default(),
                None,
                100,
            )
        })
    });
    group.finish();
}

/// The crowded single-point tile at the demo city centre.
const CROWDED: (u8, u32, u32) = (14, 11693, 6004);
/// Most issues a single-point tile carries before it is clustered
/// (`tiling::dense::MAX_SINGLE_POINTS`, private to the server).
const MAX_SINGLE_POINTS: usize = 25_000;

fn issues_in(index: &SpatialIndex, tile: TileId) -> usize {
    let b = tile.lonlat_bounds();
    let bbox = qala_geodata::BBox {
        west: b.min().x,
        south: b.min().y,
        east: b.max().x,
        north: b.max().y,
    };
    index
        .issues
        .matching(qala_geodata::Area::BBox(bbox), &IssueFilter::default())
        .count()
}

fn crowded_tile(c: &mut Criterion) {
    let index = demo_index();
    let service = TileService::new(
        index,
        TileSettings {
            cache_bytes: 0,
            ..TileSettings::default()
        },
    )
    .expect("the tile service builds");
    let (z, x, y) = CROWDED;
    let crowded = TileId::new(z, x, y).expect("a valid tile");
    let in_crowded = issues_in(index, crowded);
    assert!(
        in_crowded > MAX_SINGLE_POINTS,
        "{crowded} holds {in_crowded} issues: not crowded"
    );
    // The z14 tile with the most issues that is still an ordinary dense
    // tile (as bench/side-by-side.sh picks it): at ten million issues
    // every neighbour of the crowded one is crowded too.
    let mut per_tile: HashMap<TileId, usize> = HashMap::new();
    for e in index
        .issues
        .matching(qala_geodata::Area::Everywhere, &IssueFilter::default())
    {
        let tile = TileId::containing(e.location.lon(), e.location.lat(), z).expect("a valid tile");
        *per_tile.entry(tile).or_default() += 1;
    }
    let (in_dense, dense) = per_tile
        .into_iter()
        .map(|(t, n)| (n, t))
        .filter(|(n, _)| *n <= MAX_SINGLE_POINTS)
        .max_by_key(|(n, t)| (*n, t.x(), t.y()))
        .expect("some tile is not crowded");
    eprintln!("crowded {crowded}: {in_crowded} issues; dense {dense}: {in_dense} issues");
    let request = |tile| TileRequest {
        tile,
        layers: vec![LayerName::Issues],
        filter: IssueFilter::default(),
    };
    let (crowded, dense) = (request(crowded), request(dense));
    for r in [&crowded, &dense] {
        let bytes = render(&service, index, r).expect("the tile renders").len();
        eprintln!("{}: {bytes} bytes uncompressed", r.tile);
    }

    let mut group = c.benchmark_group(group_name("crowded_tile"));
    group.bench_function("crowded_14_11693_6004", |b| {
        b.iter(|| render(&service, index, &crowded))
    });
    group.bench_function("densest_single_point", |b| {
        b.iter(|| render(&service, index, &dense))
    });
    group.finish();
}

criterion_group!(benches, queries, counts, crowded_tile);
criterion_main!(benches);
