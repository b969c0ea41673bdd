//! The `places` layer: named streets and addresses a city imports (e.g. from
//! OpenStreetMap) with `qala import --layer places`, then found by place
//! search and reverse lookup, served as tiles, on both stores.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::Output;

use qala_tests::mvt::{decode, prop_str, tile_of};
use qala_tests::{Backend, TestApp, TestDatabase, place_names, qala_binary, test_on_every_backend};
use serde_json::{Value, json};

/// A street (a line, named in Russian with an English `name:en`, as OSM
/// has it) and an address on it (a point with only `addr:*` tags).
fn osm_places() -> Value {
    json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "улица Жамбыла", "name:en": "Zhambyl Street",
            "highway": "secondary", "osm_id": "w1234"},
         "geometry": {"type": "LineString", "coordinates": [[76.90, 43.2305], [76.93, 43.2310]]}},
        {"type": "Feature", "properties": {"addr:street": "улица Жамбыла", "addr:housenumber": "114"},
         "geometry": {"type": "Point", "coordinates": [76.902, 43.2307]}},
    ]})
}

/// `qala import FILE --layer LAYER` against the test's database.
fn import(database: &TestDatabase, dir: &Path, layer: &str, collection: &Value) -> Output {
    let file = dir.join(format!("{layer}.geojson"));
    std::fs::write(&file, collection.to_string()).unwrap();
    std::process::Command::new(qala_binary())
        .args(["import", file.to_str().unwrap(), "--layer", layer])
        .env("QALA_DATABASE_URL", &database.url)
        .env("QALA_LOG", "warn")
        .output()
        .unwrap()
}

/// The Almaty demo with a `places` layer imported the way a city imports it.
async fn almaty_with_places(backend: &Backend) -> TestApp {
    let database = TestDatabase::new(backend);
    let store = qala_geodata::connect(&database.url).await.unwrap();
    let city = qala_server::city::City::almaty().unwrap();
    qala_server::demo::load(store.as_ref(), &city, 0, 7)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let output = import(&database, dir.path(), "places", &osm_places());
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    // The other layers keep their geometry rules: a street is no district.
    let street = json!({"type": "FeatureCollection", "features": [osm_places()["features"][0]]});
    let refused = import(&database, dir.path(), "districts", &street);
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("a LineString does not belong in the districts layer"),
        "{stderr}"
    );
    TestApp::over(store, database).await
}

async fn streets_and_addresses_are_found_in_any_spelling(backend: Backend) {
    let app = almaty_with_places(&backend).await;
    for (q, lang, want) in [
        ("Жамбыл", "ru", "улица Жамбыла"),
        ("улица жамбыла", "ru", "улица Жамбыла"),
        ("Zhambyl", "en", "Zhambyl Street"),
        ("Jambyl", "en", "Zhambyl Street"),
        ("zhambyl street", "kk", "улица Жамбыла"),
        ("Жамбыла 114", "ru", "улица Жамбыла 114"),
        ("Zhambyla 114", "en", "улица Жамбыла 114"),
    ] {
        let q_encoded: String = url::form_urlencoded::byte_serialize(q.as_bytes()).collect();
        let (status, body) = app
            .get(&format!("/api/v1/search?q={q_encoded}&lang={lang}"))
            .await;
        assert_eq!(status, 200, "{q}: {body}");
        assert!(
            place_names(&body).contains(&("places".to_owned(), want.to_owned())),
            "{q} ({lang}) should find {want}: {body}"
        );
    }
    // The layer is listed with what it holds.
    let (_, layers) = app.get("/api/v1/layers").await;
    let places = layers["layers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|l| l["name"] == "places")
        .unwrap_or_else(|| panic!("{layers}"));
    assert_eq!(places["feature_count"], 2, "{places}");
}

async fn reverse_lookup_names_the_nearest_street(backend: Backend) {
    let app = almaty_with_places(&backend).await;
    // About 33 m north of the street's middle, far from its address point.
    let (status, body) = app
        .get("/api/v1/reverse?lon=76.92&lat=43.2311&lang=en")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["nearest"]["layer"], "places", "{body}");
    assert_eq!(body["nearest"]["name"], "Zhambyl Street", "{body}");
    let d = body["nearest"]["distance_m"].as_f64().unwrap();
    assert!((20.0..=45.0).contains(&d), "{d}");
    let (_, ru) = app
        .get("/api/v1/reverse?lon=76.92&lat=43.2311&lang=ru")
        .await;
    assert_eq!(ru["nearest"]["name"], "улица Жамбыла", "{ru}");
}

async fn places_tiles_can_be_asked_for(backend: Backend) {
    let app = almaty_with_places(&backend).await;
    let (x, y) = tile_of(76.915, 43.2308, 15);
    let response = app
        .client
        .get(app.url(&format!("/tiles/places/15/{x}/{y}.mvt")))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let layers = decode(&response.bytes().await.unwrap());
    let names: Vec<Option<String>> = layers["places"]
        .iter()
        .map(|f| prop_str(f, "name"))
        .collect();
    assert!(
        names.contains(&Some("улица Жамбыла".to_owned())),
        "{names:?}"
    );
    // Qala's own style does not draw it (a basemap draws streets already).
    let (_, style) = app.get("/style.json").await;
    assert!(
        !style["layers"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["source-layer"] == "places"),
        "{style}"
    );
}

test_on_every_backend!(
    streets_and_addresses_are_found_in_any_spelling,
    reverse_lookup_names_the_nearest_street,
    places_tiles_can_be_asked_for,
);
