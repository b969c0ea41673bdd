//! The issue index against brute force: nearby, pages, counts, upserts.

use super::*;
use crate::category::parse_category;
use crate::issue::IssueStatus;
use chrono::{TimeZone, Utc};
use geo::{Distance, Geodesic};
use rand::{Rng, SeedableRng};

fn entry(id: i64, lon: f64, lat: f64) -> IssueEntry {
    IssueEntry {
        id,
        location: LonLat::new(lon, lat).unwrap(),
        status: IssueStatus::Open,
        category: parse_category("pothole").unwrap(),
        district_id: None,
        created_at: Utc.timestamp_opt(1_700_000_000 + id, 0).unwrap(),
        assigned_department: None,
        votes: 0,
    }
}

fn random_index(n: i64, seed: u64) -> (IssueIndex, Vec<IssueEntry>) {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let entries: Vec<_> = (1..=n)
        .map(|id| {
            entry(
                id,
                rng.random_range(76.75..77.10),
                rng.random_range(43.15..43.40),
            )
        })
        .collect();
    (IssueIndex::bulk_load(entries.clone()), entries)
}

#[test]
fn nearby_matches_brute_force_in_order_and_radius() {
    let (index, entries) = random_index(5_000, 7);
    let center = LonLat::new(76.93, 43.25).unwrap();
    let found = index.nearby(center, 1_500.0, &IssueFilter::default(), usize::MAX);
    let mut expected: Vec<(i64, f64)> = entries
        .iter()
        .map(|e| (e.id, Geodesic.distance(center.point(), e.location.point())))
        .filter(|(_, d)| *d <= 1_500.0)
        .collect();
    expected.sort_by(|a, b| a.1.total_cmp(&b.1));
    let got: Vec<(i64, f64)> = found.iter().map(|(e, d)| (e.id, *d)).collect();
    assert!(!expected.is_empty());
    assert_eq!(got, expected);
}

/// What nearby must answer, measured the slow way: every matching
/// issue's distance, those within the radius sorted by (distance, id).
fn brute_nearby(
    entries: &[IssueEntry],
    center: LonLat,
    radius_m: f64,
    filter: &IssueFilter,
    limit: usize,
) -> Vec<(i64, f64)> {
    let mut all: Vec<(i64, f64)> = entries
        .iter()
        .filter(|e| filter.matches(e))
        .map(|e| (e.id, Geodesic.distance(center.point(), e.location.point())))
        .filter(|(_, d)| *d <= radius_m)
        .collect();
    all.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    all.truncate(limit);
    all
}

#[test]
fn k_nearest_equals_brute_force_with_ties_filters_edges_antimeridian_and_poles() {
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(21);
    let statuses = [
        IssueStatus::Open,
        IssueStatus::Resolved,
        IssueStatus::Closed,
    ];
    // Clusters around a city, the antimeridian and the north pole; many
    // issues share a position (ties broken by id).
    let hubs = [
        (76.93, 43.25),
        (179.999, -16.5),
        (-179.999, -16.5),
        (45.0, 89.99),
    ];
    let mut entries = Vec::new();
    for id in 1..=6_000 {
        let (lon, lat) = if id % 7 == 0 {
            let twin: &IssueEntry = &entries[rng.random_range(0..entries.len())];
            (twin.location.lon(), twin.location.lat())
        } else {
            let (hl, ht) = hubs[rng.random_range(0..hubs.len())];
            let lon: f64 = hl + rng.random_range(-0.02..0.02);
            let lon = (lon + 540.0).rem_euclid(360.0) - 180.0;
            (lon, (ht + rng.random_range(-0.01..0.01_f64)).min(90.0))
        };
        let mut e = entry(id, lon, lat);
        e.status = statuses[rng.random_range(0..statuses.len())];
        entries.push(e);
    }
    let index = IssueIndex::bulk_load(entries.clone());
    for round in 0..300 {
        let pick = &entries[rng.random_range(0..entries.len())];
        // On an issue (distance 0 and its twins), or near one.
        let center = if round % 3 == 0 {
            pick.location
        } else {
            let lon = pick.location.lon() + rng.random_range(-0.005..0.005);
            LonLat::new(
                (lon + 540.0).rem_euclid(360.0) - 180.0,
                (pick.location.lat() + rng.random_range(-0.005..0.005_f64)).clamp(-90.0, 90.0),
            )
            .unwrap()
        };
        let filter = if round % 4 == 0 {
            IssueFilter {
                statuses: vec![statuses[round % 3]],
                ..IssueFilter::default()
            }
        } else {
            IssueFilter::default()
        };
        let radius = [1.0, 50.0, 500.0, 5_000.0][round % 4];
        let limit = [1, 10, 50, usize::MAX][(round / 4) % 4];
        let expected = brute_nearby(&entries, center, radius, &filter, limit);
        let got: Vec<(i64, f64)> = index
            .nearby(center, radius, &filter, limit)
            .iter()
            .map(|(e, d)| (e.id, *d))
            .collect();
        assert_eq!(
            got, expected,
            "round {round}: {center:?} r={radius} k={limit}"
        );
    }
    // A radius exactly at an issue's distance takes it.
    let center = LonLat::new(76.93, 43.25).unwrap();
    let (id, d) = brute_nearby(&entries, center, 5_000.0, &IssueFilter::default(), 5)[4];
    let got = index.nearby(center, d, &IssueFilter::default(), usize::MAX);
    assert!(got.iter().any(|(e, m)| e.id == id && *m == d));
    assert!(got.iter().all(|(_, m)| *m <= d));
}

#[test]
fn nearby_works_across_the_antimeridian_and_near_poles() {
    let index = IssueIndex::bulk_load(vec![
        entry(1, 179.9995, 0.0),
        entry(2, -179.9995, 0.0),
        entry(3, 10.0, 89.999),
    ]);
    let east = index.nearby(
        LonLat::new(-179.9999, 0.0).unwrap(),
        500.0,
        &IssueFilter::default(),
        10,
    );
    assert_eq!(
        east.iter().map(|(e, _)| e.id).collect::<Vec<_>>(),
        vec![2, 1]
    );
    let pole = index.nearby(
        LonLat::new(-170.0, 89.999).unwrap(),
        1_000.0,
        &IssueFilter::default(),
        10,
    );
    assert_eq!(pole.len(), 1);
}

#[test]
fn projected_visit_finds_what_brute_force_finds() {
    let (mut index, mut entries) = random_index(20_000, 9);
    // Points on the query's edges and corners count as inside.
    for (id, lon, lat) in [(-1, 76.85, 43.25), (-2, 76.95, 43.30), (-3, 76.90, 43.20)] {
        index.upsert(entry(id, lon, lat));
        entries.push(entry(id, lon, lat));
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(10);
    let boxes = (0..20).map(|_| {
        let (w, s) = (rng.random_range(76.7..77.1), rng.random_range(43.1..43.4));
        let (dw, ds) = (rng.random_range(0.0..0.2), rng.random_range(0.0..0.2));
        BBox {
            west: w,
            south: s,
            east: w + dw,
            north: s + ds,
        }
    });
    let edges = BBox::parse("76.85,43.20,76.95,43.30").unwrap();
    for bbox in boxes.chain([edges]) {
        let mut seen = Vec::new();
        let _ = index.visit_box_projected(bbox, &IssueFilter::default(), |e, world| {
            let (x, y) = lonlat_to_world(e.location.lon(), e.location.lat());
            assert_eq!(world, [x, y]);
            seen.push(e.id);
            ControlFlow::<()>::Continue(())
        });
        seen.sort_unstable();
        let mut expected: Vec<i64> = entries
            .iter()
            .filter(|e| {
                let (lon, lat) = (e.location.lon(), e.location.lat());
                (bbox.west..=bbox.east).contains(&lon) && (bbox.south..=bbox.north).contains(&lat)
            })
            .map(|e| e.id)
            .collect();
        expected.sort_unstable();
        assert_eq!(seen, expected, "{bbox:?}");
    }
    let mut taken = 0;
    let stopped = index.visit_box_projected(edges, &IssueFilter::default(), |_, _| {
        taken += 1;
        if taken == 10 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!((stopped, taken), (ControlFlow::Break(()), 10));
}

#[test]
fn bbox_pages_cover_every_match_once() {
    let (index, entries) = random_index(3_000, 8);
    let bbox = BBox::parse("76.85,43.20,76.95,43.30").unwrap();
    let mut seen = Vec::new();
    let mut after = None;
    loop {
        let page = index.page(Area::BBox(bbox), &IssueFilter::default(), after, 100);
        if page.is_empty() {
            break;
        }
        after = page.last().copied();
        seen.extend(page);
    }
    let expected: Vec<i64> = entries
        .iter()
        .filter(|e| {
            (76.85..=76.95).contains(&e.location.lon())
                && (43.20..=43.30).contains(&e.location.lat())
        })
        .map(|e| e.id)
        .collect();
    assert_eq!(seen, expected);
}

/// Thirty random pages of `area` (random limits and cursors below
/// `max_id`), oldest and newest first, equal the pages cut from
/// `inside` (every id in the area, ascending).
fn pages_equal(
    index: &IssueIndex,
    area: Area<'_>,
    inside: &[i64],
    max_id: i64,
    rng: &mut rand_chacha::ChaCha8Rng,
) {
    let all = IssueFilter::default();
    for _ in 0..30 {
        let limit = rng.random_range(0..150);
        let cursor = rng.random_range(0..max_id);
        let oldest: Vec<i64> = inside
            .iter()
            .copied()
            .filter(|id| *id > cursor)
            .take(limit)
            .collect();
        let newest: Vec<i64> = inside
            .iter()
            .rev()
            .copied()
            .filter(|id| *id < cursor)
            .take(limit)
            .collect();
        assert_eq!(
            index.page(area, &all, Some(cursor), limit),
            oldest,
            "after {cursor}"
        );
        assert_eq!(
            index.page_newest(area, &all, Some(cursor), limit),
            newest,
            "before {cursor}"
        );
    }
}

/// Pages of a box, oldest or newest first, whether the ids are walked
/// in order (a box holding most issues) or the box is taken from the
/// tree (a sparse one), equal the brute-force answer; so does a box
/// across the antimeridian.
#[test]
fn box_pages_equal_brute_force_dense_or_sparse() {
    let (_, mut entries) = random_index(4_000, 21);
    // A few across the antimeridian.
    entries
        .extend((0..40).map(|i| entry(5_000 + i, if i % 2 == 0 { 179.99 } else { -179.99 }, 10.0)));
    let index = IssueIndex::bulk_load(entries.clone());
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    for text in [
        "76.75,43.15,77.10,43.40", // every city issue: walked
        "76.80,43.20,77.05,43.35", // most: walked
        "76.93,43.25,76.94,43.26", // sparse: from the tree
        "179.98,9,-179.98,11",     // across the antimeridian
    ] {
        let bbox = BBox::parse(text).unwrap();
        let mut inside: Vec<i64> = entries
            .iter()
            .filter(|e| {
                bbox.envelopes()
                    .iter()
                    .any(|env| env.contains_point(&e.xy()))
            })
            .map(|e| e.id)
            .collect();
        inside.sort_unstable();
        pages_equal(&index, Area::BBox(bbox), &inside, 5_100, &mut rng);
    }
}

/// Pages inside a polygon (a district's page), oldest or newest first,
/// equal the brute-force point-in-polygon answer, whether the polygon
/// holds most issues (walked in id order) or few (from the tree).
#[test]
fn polygon_pages_equal_brute_force_large_or_small() {
    use geo::{Contains, MultiPolygon, polygon};
    let (_, entries) = random_index(4_000, 22);
    let index = IssueIndex::bulk_load(entries.clone());
    let large = MultiPolygon(vec![polygon![
        (x: 76.75, y: 43.15), (x: 77.10, y: 43.15), (x: 76.92, y: 43.40), (x: 76.75, y: 43.15)
    ]]);
    let small = MultiPolygon(vec![polygon![
        (x: 76.92, y: 43.24), (x: 76.95, y: 43.24), (x: 76.935, y: 43.27), (x: 76.92, y: 43.24)
    ]]);
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(4);
    for polygon in [&large, &small] {
        let mut inside: Vec<i64> = entries
            .iter()
            .filter(|e| polygon.contains(&e.location.point()))
            .map(|e| e.id)
            .collect();
        inside.sort_unstable();
        assert!(!inside.is_empty());
        pages_equal(&index, Area::Within(polygon), &inside, 4_100, &mut rng);
    }
}

#[test]
fn upsert_replaces_an_entry_without_duplicating_it() {
    let mut index = IssueIndex::bulk_load(vec![entry(1, 76.9, 43.2)]);
    let mut changed = entry(1, 76.9, 43.2);
    changed.status = IssueStatus::Resolved;
    index.upsert(changed);
    let all = index.page(
        Area::BBox(BBox::parse("76,43,77,44").unwrap()),
        &IssueFilter::default(),
        None,
        10,
    );
    assert_eq!(all, vec![1]);
    assert_eq!(index.get(1).unwrap().status, IssueStatus::Resolved);
}

#[test]
fn newest_first_pages_down_from_the_cursor() {
    let entries = (1..=7).map(|id| entry(id, 76.9, 43.2)).collect();
    let index = IssueIndex::bulk_load(entries);
    let all = IssueFilter::default();
    assert_eq!(
        index.page_newest(Area::Everywhere, &all, None, 3),
        vec![7, 6, 5]
    );
    assert_eq!(
        index.page_newest(Area::Everywhere, &all, Some(5), 3),
        vec![4, 3, 2]
    );
    assert_eq!(
        index.page_newest(Area::Everywhere, &all, Some(2), 3),
        vec![1]
    );
}

#[test]
fn the_assigned_department_filters() {
    let mut a = entry(1, 76.9, 43.2);
    a.assigned_department = Some(crate::issue::filter::department_code("roads"));
    let index = IssueIndex::bulk_load(vec![a, entry(2, 76.9, 43.2)]);
    let roads = IssueFilter {
        assigned_to: Some("roads".into()),
        ..Default::default()
    };
    assert_eq!(index.page(Area::Everywhere, &roads, None, 10), vec![1]);
}

#[test]
fn filters_combine() {
    let mut a = entry(1, 76.9, 43.2);
    a.status = IssueStatus::Resolved;
    let b = entry(2, 76.9, 43.2);
    let index = IssueIndex::bulk_load(vec![a, b]);
    let filter = IssueFilter {
        statuses: vec![IssueStatus::Open],
        ..Default::default()
    };
    assert_eq!(index.page(Area::Everywhere, &filter, None, 10), vec![2]);
    let filter = IssueFilter {
        since: Some(Utc.timestamp_opt(1_700_000_002, 0).unwrap()),
        ..Default::default()
    };
    assert_eq!(index.page(Area::Everywhere, &filter, None, 10), vec![2]);
}
