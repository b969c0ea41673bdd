//! Vector tiles over HTTP, decoded with an independent decoder.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashMap;
use std::io::Read;

use geo::{Coord, MapCoords, Validation};
use qala_tests::mvt::{decode, pixel, prop_num, prop_str, prop_true, tile_of};
use qala_tests::{Backend, TestApp, all_pages, report_body};
use reqwest::header::HeaderMap;
use serde_json::Value;

async fn fetch(app: &TestApp, path: &str, headers: &[(&str, &str)]) -> (u16, HeaderMap, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    for (k, v) in headers {
        request = request.header(*k, *v);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn tile(
    app: &TestApp,
    path: &str,
) -> HashMap<String, Vec<mvt_reader::feature::Feature<i32>>> {
    let (status, headers, body) = fetch(app, path, &[]).await;
    assert!(
        status == 200 || status == 204,
        "{path}: {status} {}",
        String::from_utf8_lossy(&body)
    );
    if status == 200 {
        assert_eq!(
            headers["content-type"],
            "application/vnd.mapbox-vector-tile"
        );
    }
    decode(&body)
}

fn lonlat(f: &Value) -> (f64, f64) {
    let c = &f["geometry"]["coordinates"];
    (c[0].as_f64().unwrap(), c[1].as_f64().unwrap())
}

/// The one point of a point feature (decoders may hand it back as a one-point MultiPoint).
fn point_of(f: &mvt_reader::feature::Feature<i32>) -> geo::Point<i32> {
    match &f.geometry {
        geo::Geometry::Point(p) => *p,
        geo::Geometry::MultiPoint(mp) if mp.0.len() == 1 => mp.0[0],
        other => panic!("not a point: {other:?}"),
    }
}

fn inside(px: (f64, f64)) -> bool {
    (0.0..4096.0).contains(&px.0) && (0.0..4096.0).contains(&px.1)
}

async fn every_issue_in_a_z14_tile_is_there_once_at_its_position_with_its_properties(
    backend: Backend,
) {
    let app = TestApp::demo(&backend, 3000).await;
    let (issues, _) = all_pages(&app, "/api/v1/issues?limit=1000").await;
    let (cx, cy) = tile_of(76.944, 43.258, 14);
    let mut checked = 0;
    for (x, y) in [(cx, cy), (cx + 1, cy), (cx, cy + 1), (cx - 1, cy - 1)] {
        let layers = tile(&app, &format!("/tiles/issues/14/{x}/{y}.mvt")).await;
        let features = layers.get("issues").cloned().unwrap_or_default();
        let by_id: HashMap<u64, Vec<_>> = features.iter().fold(HashMap::new(), |mut m, f| {
            m.entry(f.id.unwrap()).or_default().push(f);
            m
        });
        for issue in &issues {
            let (lon, lat) = lonlat(issue);
            let px = pixel(lon, lat, 14, x, y);
            let id = issue["id"].as_u64().unwrap();
            if !inside(px) {
                continue;
            }
            let found = by_id
                .get(&id)
                .unwrap_or_else(|| panic!("issue {id} missing from 14/{x}/{y}"));
            assert_eq!(found.len(), 1, "issue {id} twice in 14/{x}/{y}");
            let p = point_of(found[0]);
            assert!(
                (f64::from(p.x()) - px.0).abs() <= 1.0 && (f64::from(p.y()) - px.1).abs() <= 1.0,
                "issue {id} at {p:?}, expected {px:?}"
            );
            let props = &issue["properties"];
            assert_eq!(
                prop_str(found[0], "category").as_deref(),
                props["category"].as_str()
            );
            assert_eq!(
                prop_str(found[0], "status").as_deref(),
                props["status"].as_str()
            );
            assert_eq!(
                prop_str(found[0], "created").as_deref(),
                Some(&props["created_at"].as_str().unwrap()[..10])
            );
            checked += 1;
        }
        // Nothing in the tile that is not an issue inside it or in its buffer.
        for f in &features {
            let p = point_of(f);
            assert!((-64..=4160).contains(&p.x()) && (-64..=4160).contains(&p.y()));
        }
    }
    assert!(
        checked > 50,
        "the central tiles should hold many issues, held {checked}"
    );
}

async fn cluster_counts_add_up_to_the_issues_under_each_low_zoom_tile(backend: Backend) {
    let app = TestApp::demo(&backend, 2500).await;
    let (issues, _) = all_pages(&app, "/api/v1/issues?limit=1000").await;
    for z in 0..=13u8 {
        let (x, y) = tile_of(76.93, 43.25, z);
        let layers = tile(&app, &format!("/tiles/issues/{z}/{x}/{y}.mvt")).await;
        let features = &layers["issues"];
        let mut total = 0.0;
        for f in features {
            if prop_true(f, "cluster") {
                let n = prop_num(f, "point_count").unwrap();
                let by_status: f64 = qala_geodata::IssueStatus::ALL
                    .iter()
                    .filter_map(|s| prop_num(f, &format!("status_{}", s.as_str())))
                    .sum();
                assert_eq!(by_status, n, "z{z}: status counts of a cluster");
                total += n;
            } else {
                assert!(f.id.is_some(), "z{z}: a single point carries its issue id");
                total += 1.0;
            }
        }
        let expected = issues
            .iter()
            .filter(|i| {
                let (lon, lat) = lonlat(i);
                inside(pixel(lon, lat, z, x, y))
            })
            .count();
        assert_eq!(total as usize, expected, "z{z}/{x}/{y}");
        if z <= 10 {
            assert!(
                features.len() < expected,
                "z{z}: points should be clustered"
            );
        }
    }
}

/// Twice the signed area by the surveyor's formula in tile coordinates (y down).
fn area2(ring: &geo::LineString<i32>) -> i64 {
    ring.0
        .windows(2)
        .map(|w| i64::from(w[0].x) * i64::from(w[1].y) - i64::from(w[1].x) * i64::from(w[0].y))
        .sum()
}

async fn district_polygons_in_tiles_are_valid_and_wound_as_mvt_requires(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let mut polygons = 0;
    for z in [9u8, 11, 12] {
        let (x0, y0) = tile_of(76.75, 43.40, z);
        let (x1, y1) = tile_of(77.10, 43.15, z);
        for x in x0..=x1 {
            for y in y0..=y1 {
                let layers = tile(&app, &format!("/tiles/districts/{z}/{x}/{y}.mvt")).await;
                for f in layers.get("districts").into_iter().flatten() {
                    let parts = match &f.geometry {
                        geo::Geometry::Polygon(p) => vec![p.clone()],
                        geo::Geometry::MultiPolygon(mp) => mp.0.clone(),
                        other => panic!("district as {other:?}"),
                    };
                    for p in parts {
                        assert!(
                            area2(p.exterior()) > 0,
                            "exterior must be clockwise (positive) in {z}/{x}/{y}"
                        );
                        for hole in p.interiors() {
                            assert!(area2(hole) < 0, "holes must be counter-clockwise");
                        }
                        let float = p.map_coords(|c| Coord {
                            x: f64::from(c.x),
                            y: f64::from(c.y),
                        });
                        assert!(
                            float.is_valid(),
                            "invalid polygon in {z}/{x}/{y}: {:?}",
                            float.validation_errors()
                        );
                        polygons += 1;
                    }
                }
            }
        }
    }
    assert!(polygons >= 8 * 3, "{polygons}");
}

async fn tiles_at_the_antimeridian_and_poles_are_well_formed(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    for (lon, lat) in [
        (179.999, 10.0),
        (-179.999, 10.0),
        (0.0, 85.0),
        (0.0, -85.0),
        (179.9, 84.9),
    ] {
        assert_eq!(
            app.report(&report_body(lon, lat, "other", "edge of the world"))
                .await
                .0,
            201
        );
    }
    let last = (1u32 << 3) - 1;
    for path in [
        "/tiles/issues/0/0/0.mvt".to_owned(),
        format!("/tiles/issues/3/0/{last}.mvt"),
        format!("/tiles/issues/3/{last}/0.mvt"),
        "/tiles/issues/3/0/0.mvt".to_owned(),
        format!("/tiles/issues/3/{last}/{last}.mvt"),
    ] {
        let layers = tile(&app, &path).await;
        for f in layers.values().flatten() {
            let p = point_of(f);
            assert!(
                (-64..=4160).contains(&p.x()) && (-64..=4160).contains(&p.y()),
                "{path}: {p:?}"
            );
        }
    }
    let (x, y) = tile_of(179.999, 10.0, 14);
    let layers = tile(&app, &format!("/tiles/issues/14/{x}/{y}.mvt")).await;
    assert_eq!(layers["issues"].len(), 1);
    let z0 = tile(&app, "/tiles/issues/0/0/0.mvt").await;
    let total: f64 = z0["issues"]
        .iter()
        .map(|f| prop_num(f, "point_count").unwrap_or(1.0))
        .sum();
    assert_eq!(total, 5.0);
}

async fn a_write_invalidates_exactly_the_tiles_it_touches(backend: Backend) {
    let app = TestApp::demo(&backend, 300).await;
    let (lon, lat) = (76.9405, 43.2605);
    let (x, y) = tile_of(lon, lat, 14);
    let near = format!("/tiles/issues/14/{x}/{y}.mvt");
    let (fx, fy) = tile_of(77.05, 43.35, 14);
    let far = format!("/tiles/issues/14/{fx}/{fy}.mvt");
    let (cx, cy) = tile_of(lon, lat, 10);
    let cluster = format!("/tiles/issues/10/{cx}/{cy}.mvt");
    let reference = format!("/tiles/districts/14/{x}/{y}.mvt");

    let before_near = tile(&app, &near).await;
    let before_cluster = tile(&app, &cluster).await;
    let (_, far_headers, _) = fetch(&app, &far, &[]).await;
    let (_, ref_headers, _) = fetch(&app, &reference, &[]).await;
    let cached_before = app.state.tiles.cache.len();
    assert!(cached_before >= 4);

    let (status, created) = app
        .report(&report_body(lon, lat, "pothole", "new pothole"))
        .await;
    assert_eq!(status, 201);
    let id = created["id"].as_u64().unwrap();

    let after_near = tile(&app, &near).await;
    let ids = |layers: &HashMap<String, Vec<mvt_reader::feature::Feature<i32>>>| {
        layers
            .get("issues")
            .into_iter()
            .flatten()
            .filter_map(|f| f.id)
            .collect::<Vec<_>>()
    };
    assert!(!ids(&before_near).contains(&id));
    assert!(
        ids(&after_near).contains(&id),
        "the new issue is in the tile fetched after the write"
    );
    assert_eq!(ids(&after_near).len(), ids(&before_near).len() + 1);
    let count = |layers: &HashMap<String, Vec<mvt_reader::feature::Feature<i32>>>| -> f64 {
        layers["issues"]
            .iter()
            .map(|f| prop_num(f, "point_count").unwrap_or(1.0))
            .sum()
    };
    assert_eq!(
        count(&tile(&app, &cluster).await),
        count(&before_cluster) + 1.0
    );

    // Untouched tiles stayed cached: the far issues tile and the districts tile answer 304 from cache.
    for (path, headers) in [(&far, &far_headers), (&reference, &ref_headers)] {
        let etag = headers["etag"].to_str().unwrap();
        let (status, _, _) = fetch(&app, path, &[("if-none-match", etag)]).await;
        assert_eq!(status, 304, "{path}");
    }
    let far_tile = qala_tiles::TileId::new(14, fx, fy).unwrap();
    let variant = qala_server::tiling::Variant {
        layers: vec![qala_geodata::LayerName::Issues],
        filter: qala_geodata::IssueFilter::default(),
    };
    assert!(
        app.state.tiles.cache.get(far_tile, &variant).is_some(),
        "the far tile was evicted by an unrelated write"
    );
}

async fn tiles_have_etags_compression_and_clear_errors(backend: Backend) {
    let app = TestApp::demo(&backend, 500).await;
    let (x, y) = tile_of(76.93, 43.25, 12);
    let path = format!("/tiles/issues,districts/{x}/{y}.mvt")
        .replace(&format!("{x}/{y}"), &format!("12/{x}/{y}"));
    let (status, headers, raw) = fetch(&app, &path, &[]).await;
    assert_eq!(status, 200);
    assert!(headers.get("content-encoding").is_none());
    assert_eq!(headers["cache-control"], "public, max-age=60");
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let layers = decode(&raw);
    assert!(
        layers.contains_key("issues") && layers.contains_key("districts"),
        "{:?}",
        layers.keys()
    );

    let (_, gz_headers, gz) = fetch(&app, &path, &[("accept-encoding", "gzip")]).await;
    assert_eq!(gz_headers["content-encoding"], "gzip");
    let mut unzipped = Vec::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_end(&mut unzipped)
        .unwrap();
    assert_eq!(unzipped, raw);
    let (_, br_headers, br) = fetch(&app, &path, &[("accept-encoding", "gzip, br")]).await;
    assert_eq!(br_headers["content-encoding"], "br");
    let mut unbrotlied = Vec::new();
    brotli::Decompressor::new(&br[..], 4096)
        .read_to_end(&mut unbrotlied)
        .unwrap();
    assert_eq!(unbrotlied, raw);
    let (_, no_br, _) = fetch(&app, &path, &[("accept-encoding", "br;q=0, gzip")]).await;
    assert_eq!(no_br["content-encoding"], "gzip");

    let (status, _, body) = fetch(&app, &path, &[("if-none-match", &etag)]).await;
    assert_eq!((status, body.len()), (304, 0));

    // Filters apply to issues tiles.
    let (z, fx, fy) = (
        14u8,
        tile_of(76.944, 43.258, 14).0,
        tile_of(76.944, 43.258, 14).1,
    );
    let filtered = tile(
        &app,
        &format!("/tiles/issues/{z}/{fx}/{fy}.mvt?status=resolved"),
    )
    .await;
    assert!(
        filtered
            .get("issues")
            .into_iter()
            .flatten()
            .all(|f| prop_str(f, "status").as_deref() == Some("resolved"))
    );

    // Empty tiles are 204.
    assert_eq!(fetch(&app, "/tiles/issues/14/0/0.mvt", &[]).await.0, 204);

    for (bad, status, code) in [
        ("/tiles/issues/23/0/0.mvt", 400, "invalid_tile"),
        ("/tiles/issues/2/4/0.mvt", 400, "invalid_tile"),
        ("/tiles/issues/2/0/-1.mvt", 400, "invalid_parameter"),
        ("/tiles/issues/2/0/0.png", 404, "not_found"),
        ("/tiles/roads/2/0/0.mvt", 404, "not_found"),
        ("/tiles/issues,issues/2/0/0.mvt", 400, "invalid_parameter"),
        ("/tiles/issues/2/0/0.mvt?status=done", 400, "invalid_status"),
        ("/tiles/roads.json", 404, "not_found"),
    ] {
        let (got, body) = app.get(bad).await;
        assert_eq!(
            (got, body["error"]["code"].as_str()),
            (status, Some(code)),
            "{bad}: {body}"
        );
    }
}

async fn tilejson_and_the_style_describe_every_layer(backend: Backend) {
    let app = TestApp::demo(&backend, 100).await;
    let (status, tj) = app.get("/tiles/issues,districts.json?status=open").await;
    assert_eq!(status, 200);
    assert_eq!(tj["tilejson"], "3.0.0");
    let url = tj["tiles"][0].as_str().unwrap();
    assert_eq!(
        url,
        format!(
            "{}/tiles/issues,districts/{{z}}/{{x}}/{{y}}.mvt?status=open",
            app.base
        )
    );
    let ids: Vec<&str> = tj["vector_layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["issues", "districts"]);
    assert_eq!(tj["vector_layers"][1]["fields"]["name"], "String");
    let b = tj["bounds"].as_array().unwrap();
    assert!(b[0].as_f64().unwrap() >= 76.7 && b[2].as_f64().unwrap() <= 77.2);
    assert_eq!(tj["center"].as_array().unwrap().len(), 3);

    let (status, style) = app.get("/style.json").await;
    assert_eq!(status, 200);
    assert_eq!(style["version"], 8);
    let mut source_layers: HashMap<String, Vec<String>> = HashMap::new();
    for (name, source) in style["sources"].as_object().unwrap() {
        // The district labels are inline GeoJSON (tests/tests/basemap.rs).
        if source["type"] == "geojson" {
            continue;
        }
        let path = source["url"]
            .as_str()
            .unwrap()
            .strip_prefix(&app.base)
            .unwrap()
            .to_owned();
        let (status, tj) = app.get(&path).await;
        assert_eq!(status, 200, "{path}");
        source_layers.insert(
            name.clone(),
            tj["vector_layers"]
                .as_array()
                .unwrap()
                .iter()
                .map(|l| l["id"].as_str().unwrap().to_owned())
                .collect(),
        );
    }
    let drawn: Vec<&str> = style["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|l| l["source-layer"].as_str())
        .collect();
    for layer in [
        "issues",
        "districts",
        "public_spaces",
        "green_corridors",
        "bike_routes",
    ] {
        assert!(drawn.contains(&layer), "the style does not draw {layer}");
    }
    for l in style["layers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l.get("source").is_some() && l.get("source-layer").is_some())
    {
        let source = l["source"].as_str().unwrap();
        assert!(
            source_layers[source].contains(&l["source-layer"].as_str().unwrap().to_owned()),
            "{l}"
        );
    }
}

qala_tests::test_on_every_backend!(
    every_issue_in_a_z14_tile_is_there_once_at_its_position_with_its_properties,
    cluster_counts_add_up_to_the_issues_under_each_low_zoom_tile,
    district_polygons_in_tiles_are_valid_and_wound_as_mvt_requires,
    tiles_at_the_antimeridian_and_poles_are_well_formed,
    a_write_invalidates_exactly_the_tiles_it_touches,
    tiles_have_etags_compression_and_clear_errors,
    tilejson_and_the_style_describe_every_layer,
);
