//! The `qala` command line: import, export and demo against a real database.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::process::{Command, Output};

use serde_json::{Value, json};

fn qala(db: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_qala"))
        .args(args)
        // The database through its environment variable, as deployments set it.
        .env("QALA_DATABASE_URL", format!("sqlite://{}", db.display()))
        .env("QALA_LOG", "warn")
        .output()
        .unwrap()
}

fn export(db: &Path, layer: &str) -> Value {
    let output = qala(db, &["export", "--layer", layer]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).unwrap()
}

fn feature(geometry: Value, name: &str) -> Value {
    json!({"type": "Feature", "geometry": geometry, "properties": {"name": name}})
}

#[test]
fn import_then_export_gives_the_features_back() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("qala.db");
    let file = dir.path().join("routes.geojson");
    let routes = json!({"type": "FeatureCollection", "features": [
        feature(json!({"type": "LineString", "coordinates": [[76.85, 43.24], [76.96, 43.24]]}), "Abay"),
        feature(json!({"type": "MultiLineString", "coordinates": [[[76.95, 43.22], [76.95, 43.26]]]}), "Dostyk"),
    ]});
    std::fs::write(&file, routes.to_string()).unwrap();
    let output = qala(
        &db,
        &["import", file.to_str().unwrap(), "--layer", "bike_routes"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    let exported = export(&db, "bike_routes");
    let features = exported["features"].as_array().unwrap();
    assert_eq!(features.len(), 2);
    for (got, want) in features.iter().zip(routes["features"].as_array().unwrap()) {
        assert_eq!(got["geometry"], want["geometry"]);
        assert_eq!(got["properties"], want["properties"]);
    }

    // -o writes the same document to a file.
    let out = dir.path().join("out.geojson");
    assert!(
        qala(
            &db,
            &[
                "export",
                "--layer",
                "bike_routes",
                "-o",
                out.to_str().unwrap()
            ]
        )
        .status
        .success()
    );
    let from_file: Value = serde_json::from_slice(&std::fs::read(out).unwrap()).unwrap();
    assert_eq!(from_file, exported);
}

#[test]
fn an_import_with_one_bad_feature_imports_nothing_and_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("qala.db");
    let file = dir.path().join("districts.geojson");
    let square = json!({"type": "Polygon", "coordinates": [[[76.8, 43.2], [76.9, 43.2], [76.9, 43.3], [76.8, 43.3], [76.8, 43.2]]]});
    let bow_tie = json!({"type": "Polygon", "coordinates": [[[76.8, 43.2], [76.9, 43.3], [76.9, 43.2], [76.8, 43.3], [76.8, 43.2]]]});
    let districts = json!({"type": "FeatureCollection", "features": [
        feature(square.clone(), "A"), feature(square, "B"), feature(bow_tie, "C"),
    ]});
    std::fs::write(&file, districts.to_string()).unwrap();
    let output = qala(
        &db,
        &["import", file.to_str().unwrap(), "--layer", "districts"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("feature 2") && stderr.contains("not valid"),
        "{stderr}"
    );
    assert_eq!(
        export(&db, "districts")["features"]
            .as_array()
            .unwrap()
            .len(),
        0
    );
}

#[test]
fn places_take_streets_addresses_and_landmarks_alike() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("qala.db");
    let file = dir.path().join("places.geojson");
    let places = json!({"type": "FeatureCollection", "features": [
        feature(json!({"type": "LineString", "coordinates": [[76.90, 43.245], [76.95, 43.246]]}), "улица Жамбыла"),
        feature(json!({"type": "Point", "coordinates": [76.91, 43.2452]}), "Жамбыла 114"),
        feature(json!({"type": "Polygon", "coordinates": [[[76.8, 43.2], [76.9, 43.2], [76.9, 43.3], [76.8, 43.3], [76.8, 43.2]]]}), "Орталық базар"),
    ]});
    std::fs::write(&file, places.to_string()).unwrap();
    let output = qala(
        &db,
        &["import", file.to_str().unwrap(), "--layer", "places"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let exported = export(&db, "places");
    let kinds: Vec<&str> = exported["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["geometry"]["type"].as_str().unwrap())
        .collect();
    assert_eq!(kinds, ["LineString", "Point", "Polygon"]);
}

#[test]
fn unknown_layers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let output = qala(&dir.path().join("qala.db"), &["export", "--layer", "roads"]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("unknown layer"));
}

#[test]
fn a_misspelt_time_zone_stops_the_start_and_says_why() {
    let dir = tempfile::tempdir().unwrap();
    let output = qala(
        &dir.path().join("qala.db"),
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--time-zone",
            "Asia/Almati",
        ],
    );
    assert!(!output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("is not an IANA time zone"),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn the_demo_is_deterministic_for_a_seed() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b, c) = (
        dir.path().join("a.db"),
        dir.path().join("b.db"),
        dir.path().join("c.db"),
    );
    for (db, seed) in [(&a, "5"), (&b, "5"), (&c, "6")] {
        let output = qala(db, &["demo", "--issues", "300", "--seed", seed]);
        assert!(
            output.status.success(),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
    }
    let issues_a = export(&a, "issues");
    assert_eq!(issues_a["features"].as_array().unwrap().len(), 300);
    assert_eq!(issues_a, export(&b, "issues"));
    assert_ne!(issues_a, export(&c, "issues"));

    let again = qala(&a, &["demo", "--issues", "10"]);
    assert!(
        !again.status.success(),
        "a second demo load must not mix with the first"
    );
    assert_eq!(export(&a, "issues"), issues_a);

    let districts = export(&a, "districts");
    assert_eq!(districts["features"].as_array().unwrap().len(), 8);
    assert!(
        districts["features"]
            .as_array()
            .unwrap()
            .iter()
            .all(|d| d["properties"]["approximate"] == true)
    );
    assert!(
        export(&a, "public_spaces")["features"]
            .as_array()
            .unwrap()
            .len()
            >= 10
    );
    assert!(
        export(&a, "green_corridors")["features"]
            .as_array()
            .unwrap()
            .len()
            >= 3
    );
    assert!(
        export(&a, "bike_routes")["features"]
            .as_array()
            .unwrap()
            .len()
            >= 4
    );
}

#[test]
fn any_city_folder_loads_with_demo_city_and_a_broken_one_loads_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("taraz.db");
    let taraz = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cities/taraz");
    let output = qala(
        &db,
        &["demo", "--city", taraz.to_str().unwrap(), "--issues", "200"],
    );
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let districts = export(&db, "districts");
    let names: Vec<&str> = districts["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["properties"]["name_kk"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Батыс ауданы", "Орталық аудан", "Шығыс ауданы"]);
    let issues = export(&db, "issues");
    let issues = issues["features"].as_array().unwrap();
    assert_eq!(issues.len(), 200);
    assert!(
        issues
            .iter()
            .all(|i| i["properties"]["district"].is_string())
    );

    // A copy with an invalid (self-crossing) district: refused, and the
    // database keeps nothing of it.
    let broken = dir.path().join("broken");
    std::fs::create_dir(&broken).unwrap();
    std::fs::copy(taraz.join("city.toml"), broken.join("city.toml")).unwrap();
    std::fs::write(
        broken.join("districts.geojson"),
        r#"{"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {},
          "geometry": {"type": "Polygon", "coordinates": [[[71.3, 42.85], [71.4, 42.95], [71.4, 42.85], [71.3, 42.95], [71.3, 42.85]]]}}]}"#,
    )
    .unwrap();
    let fresh = dir.path().join("broken.db");
    let output = qala(
        &fresh,
        &["demo", "--city", broken.to_str().unwrap(), "--issues", "5"],
    );
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("districts.geojson"), "{stderr}");
    assert!(
        export(&fresh, "districts")["features"]
            .as_array()
            .unwrap()
            .is_empty()
    );
}
