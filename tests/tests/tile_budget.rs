//! The tile size budget: with the demo city at 1,000,000 issues, the densest
//! tile at every zoom stays under 500 KB compressed.
//!
//! Runs on the real rendering path without HTTP or a database: the index and
//! tile state are built straight from the demo generator, so the check takes
//! seconds rather than the minutes a million inserts would.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;

use qala_geodata::{IssueEntry, IssueFilter, LayerName, LonLat, SpatialIndex};
use qala_server::city::City;
use qala_server::demo;
use qala_server::tiling::{TileRequest, TileService, TileSettings, render};
use qala_tests::mvt::{decode, tile_of};
use qala_tiles::TileId;

const BUDGET_BYTES: usize = 500 * 1024;

#[test]
fn no_demo_tile_with_a_million_issues_exceeds_500_kb_compressed() {
    let city = City::almaty().unwrap();
    let entries: Vec<IssueEntry> = demo::issues(&city, 1_000_000, 2017)
        .enumerate()
        .map(|(i, d)| IssueEntry {
            id: i as i64 + 1,
            location: LonLat::new(d.lon, d.lat).unwrap(),
            status: d.status,
            category: d.category,
            district_id: None,
            created_at: d.created_at,
            assigned_department: None,
            votes: 0,
        })
        .collect();
    let mut layers = HashMap::new();
    for (layer, features) in city.layers() {
        let stored = features
            .iter()
            .enumerate()
            .map(|(i, f)| qala_geodata::Feature {
                id: i as i64 + 1,
                layer,
                geometry: f.geometry().clone(),
                properties: f.properties().clone(),
            })
            .collect();
        layers.insert(layer, stored);
    }
    let positions: Vec<(f64, f64)> = entries
        .iter()
        .map(|e| (e.location.lon(), e.location.lat()))
        .collect();
    let index = SpatialIndex::new(entries, layers);
    let service = TileService::new(&index, TileSettings::default()).unwrap();

    for z in 0..=18u8 {
        // The densest tile at this zoom.
        let mut counts: HashMap<(u32, u32), usize> = HashMap::new();
        for (lon, lat) in &positions {
            *counts.entry(tile_of(*lon, *lat, z)).or_default() += 1;
        }
        let (&(x, y), &n) = counts.iter().max_by_key(|(k, c)| (**c, **k)).unwrap();
        let tile = TileId::new(z, x, y).unwrap();
        let request = TileRequest {
            tile,
            layers: LayerName::ALL.to_vec(),
            filter: IssueFilter::default(),
        };
        let raw = render(&service, &index, &request).unwrap();
        let gzip = qala_tiles::gzip(&raw).unwrap();
        let brotli = qala_tiles::brotli(&raw).unwrap();
        eprintln!(
            "z{z} {tile}: {n} issues, {} B raw, {} B gzip, {} B brotli",
            raw.len(),
            gzip.len(),
            brotli.len()
        );
        assert!(
            gzip.len() <= BUDGET_BYTES,
            "tile {tile} is {} bytes gzipped",
            gzip.len()
        );
        assert!(
            brotli.len() <= BUDGET_BYTES,
            "tile {tile} is {} bytes brotli",
            brotli.len()
        );
        // And it is a real tile: the issues in it add up.
        let decoded = decode(&raw);
        let drawn: usize = decoded["issues"]
            .iter()
            .map(|f| qala_tests::mvt::prop_num(f, "point_count").map_or(1, |c| c as usize))
            .sum();
        assert!(drawn >= n, "z{z}: {drawn} drawn, {n} inside");
    }
}
