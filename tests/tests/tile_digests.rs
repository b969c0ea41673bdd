//! Tile bytes pinned: a fixed set of tiles over the seeded demo city, each
//! compared with a digest checked in beside this file
//! (`tile_digests.txt`; the same list for both stores). A change of structure must leave every tile byte
//! for byte the same; a change that means to alter tiles regenerates the
//! list with `QALA_UPDATE_TILE_DIGESTS=1` and says why in its commit.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::hash::Hasher;
use std::path::PathBuf;

use qala_tests::mvt::tile_of;
use qala_tests::{Backend, TestApp};

/// Demo issues loaded: enough that the centre's z14 tile is dense (several
/// hundred points, the striped point path) and low zooms cluster.
const DEMO_ISSUES: usize = 20_000;

/// The tiles pinned: (what it exercises, layers, zoom, lon, lat, query).
const TILES: [(&str, &str, u8, f64, f64, &str); 12] = [
    ("dense z14", "issues", 14, 76.929, 43.257, ""),
    (
        "dense z14 filtered",
        "issues",
        14,
        76.929,
        43.257,
        "?status=open,resolved",
    ),
    ("z15 points", "issues", 15, 76.945, 43.260, ""),
    ("cluster z8", "issues", 8, 76.929, 43.257, ""),
    ("cluster z10", "issues", 10, 76.929, 43.257, ""),
    ("cluster z12", "issues", 12, 76.929, 43.257, ""),
    (
        "cluster z12 filtered",
        "issues",
        12,
        76.929,
        43.257,
        "?category=pothole",
    ),
    ("districts z10", "districts", 10, 76.929, 43.257, ""),
    ("districts z12", "districts", 12, 76.890, 43.220, ""),
    (
        "composite z12",
        "issues,districts,public_spaces,green_corridors,bike_routes",
        12,
        76.956,
        43.259,
        "",
    ),
    (
        "composite z14",
        "districts,public_spaces,green_corridors,bike_routes,issues",
        14,
        76.956,
        43.259,
        "",
    ),
    (
        "reference z9",
        "public_spaces,green_corridors,bike_routes",
        9,
        76.93,
        43.25,
        "",
    ),
];

fn digest_file() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/tile_digests.txt")
}

/// XXH3-64 of the uncompressed tile, in hex: any changed byte changes it.
fn digest(bytes: &[u8]) -> String {
    let mut hasher = twox_hash::XxHash3_64::default();
    hasher.write(bytes);
    format!("{:016x}", hasher.finish())
}

async fn tiles_over_the_demo_city_keep_their_bytes(backend: Backend) {
    let app = TestApp::demo(&backend, DEMO_ISSUES).await;
    let mut lines = Vec::new();
    for (what, layers, z, lon, lat, query) in TILES {
        let (x, y) = tile_of(lon, lat, z);
        let path = format!("/tiles/{layers}/{z}/{x}/{y}.mvt{query}");
        let response = app.client.get(app.url(&path)).send().await.unwrap();
        assert_eq!(response.status(), 200, "{what}: {path}");
        let bytes = response.bytes().await.unwrap();
        lines.push(format!(
            "{} {:>7} {path}  # {what}",
            digest(&bytes),
            bytes.len()
        ));
    }
    let got = lines.join("\n") + "\n";
    if std::env::var_os("QALA_UPDATE_TILE_DIGESTS").is_some() {
        std::fs::write(digest_file(), &got).unwrap();
        return;
    }
    let pinned = std::fs::read_to_string(digest_file()).unwrap();
    for (got, pinned) in got.lines().zip(pinned.lines()) {
        assert_eq!(got, pinned, "a tile's bytes changed");
    }
    assert_eq!(got.lines().count(), pinned.lines().count());
}

qala_tests::test_on_every_backend!(tiles_over_the_demo_city_keep_their_bytes);
