//! The issues API against a real server and a real SQLite database.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;

use geo::{Distance, Geodesic, Point};
use qala_tests::{Backend, TestApp, all_pages, report_body};
use rand::{Rng, SeedableRng};
use serde_json::{Value, json};

async fn a_report_is_created_located_and_fetchable(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let mut body = report_body(
        76.944,
        43.262,
        "pothole",
        "Deep pothole at the Arbat fountain",
    );
    body["properties"]["address"] = json!("Zhibek Zholy 50");
    body["properties"]["reporter_email"] = json!("resident@example.org");
    let response = app
        .client
        .post(app.url("/api/v1/issues"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 201);
    let location = response.headers()["location"].to_str().unwrap().to_owned();
    assert_eq!(response.headers()["content-type"], "application/geo+json");
    let created: Value = response.json().await.unwrap();
    let id = created["id"].as_i64().unwrap();
    assert_eq!(location, format!("/api/v1/issues/{id}"));
    assert_eq!(created["properties"]["status"], "open");
    assert_eq!(created["properties"]["district"], "Almaly");
    assert_eq!(
        created["geometry"],
        json!({"type": "Point", "coordinates": [76.944, 43.262]})
    );
    assert!(
        !created.to_string().contains("resident@example.org"),
        "email leaked: {created}"
    );

    // The answer to the reporter alone carries their private link.
    let mut created = created;
    let link = created
        .as_object_mut()
        .unwrap()
        .remove("private_link")
        .unwrap();
    assert!(
        link.as_str()
            .unwrap()
            .starts_with(&format!("/?issue={id}&token="))
    );
    let (status, fetched) = app.get(&location).await;
    assert_eq!(status, 200);
    assert_eq!(fetched, created);
}

async fn an_idempotent_retry_returns_the_same_issue(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let body = report_body(76.93, 43.25, "litter", "Overflowing bins");
    let send = |key: &'static str, body: Value| {
        app.client
            .post(app.url("/api/v1/issues"))
            .header("content-type", "application/json")
            .header("idempotency-key", key)
            .body(body.to_string())
            .send()
    };
    let first = send("report-1", body.clone()).await.unwrap();
    assert_eq!(first.status(), 201);
    let first: Value = first.json().await.unwrap();
    let retry = send("report-1", body.clone()).await.unwrap();
    assert_eq!(retry.status(), 201);
    assert_eq!(retry.headers()["idempotent-replayed"], "true");
    let mut retry: Value = retry.json().await.unwrap();
    // A retry gets a private link of its own (the first answer may be lost).
    let mut first = first;
    let links = [&mut first, &mut retry]
        .map(|v| v.as_object_mut().unwrap().remove("private_link").unwrap());
    assert_ne!(links[0], links[1]);
    assert_eq!(retry, first);
    assert_eq!(app.stored_issue_count().await, 1);

    // The same key for a different report is refused and writes nothing.
    let other = send(
        "report-1",
        report_body(76.93, 43.25, "litter", "Something else"),
    )
    .await
    .unwrap();
    assert_eq!(other.status(), 422);
    let error: Value = other.json().await.unwrap();
    assert_eq!(error["error"]["code"], "idempotency_key_reused");
    assert_eq!(app.stored_issue_count().await, 1);
}

async fn nearby_agrees_with_brute_force_on_the_same_data(backend: Backend) {
    let app = TestApp::demo(&backend, 3000).await;
    let (center_lon, center_lat, radius) = (76.945, 43.255, 800.0);
    let (everything, _) = all_pages(&app, "/api/v1/issues?limit=1000").await;
    let center = Point::new(center_lon, center_lat);
    let mut expected: Vec<(i64, f64)> = everything
        .iter()
        .map(|f| {
            let c = &f["geometry"]["coordinates"];
            (
                f["id"].as_i64().unwrap(),
                Geodesic.distance(
                    center,
                    Point::new(c[0].as_f64().unwrap(), c[1].as_f64().unwrap()),
                ),
            )
        })
        .filter(|(_, d)| *d <= radius)
        .collect();
    expected.sort_by(|a, b| a.1.total_cmp(&b.1).then(a.0.cmp(&b.0)));
    assert!(
        expected.len() > 10,
        "the demo centre should have issues within {radius} m"
    );

    let (status, found) = app
        .get(&format!(
            "/api/v1/issues/nearby?lon={center_lon}&lat={center_lat}&radius={radius}&limit=1000"
        ))
        .await;
    assert_eq!(status, 200);
    let got: Vec<(i64, f64)> = found["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                f["id"].as_i64().unwrap(),
                f["properties"]["distance_m"].as_f64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        got.iter().map(|g| g.0).collect::<Vec<_>>(),
        expected.iter().map(|e| e.0).collect::<Vec<_>>()
    );
    for ((_, got), (_, want)) in got.iter().zip(&expected) {
        assert!((got - want).abs() < 0.01, "{got} vs {want}");
    }

    // limit keeps the nearest.
    let (_, two) = app
        .get(&format!(
            "/api/v1/issues/nearby?lon={center_lon}&lat={center_lat}&radius={radius}&limit=2"
        ))
        .await;
    let two: Vec<i64> = two["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert_eq!(
        two,
        expected.iter().take(2).map(|e| e.0).collect::<Vec<_>>()
    );
}

async fn bbox_and_filters_return_exactly_the_matching_issues(backend: Backend) {
    let app = TestApp::demo(&backend, 2000).await;
    let (all, _) = all_pages(&app, "/api/v1/issues?limit=1000").await;
    assert_eq!(all.len(), 2000);
    let (west, south, east, north) = (76.90, 43.23, 76.96, 43.27);
    let inside = |f: &Value| {
        let c = &f["geometry"]["coordinates"];
        let (x, y) = (c[0].as_f64().unwrap(), c[1].as_f64().unwrap());
        (west..=east).contains(&x) && (south..=north).contains(&y)
    };
    let expected: Vec<i64> = all
        .iter()
        .filter(|f| {
            inside(f)
                && f["properties"]["status"] == "open"
                && f["properties"]["category"] == "pothole"
        })
        .map(|f| f["id"].as_i64().unwrap())
        .collect();
    assert!(!expected.is_empty());
    let (found, _) = all_pages(
        &app,
        &format!(
            "/api/v1/issues?bbox={west},{south},{east},{north}&status=open&category=pothole&limit=7"
        ),
    )
    .await;
    assert_eq!(
        found
            .iter()
            .map(|f| f["id"].as_i64().unwrap())
            .collect::<Vec<_>>(),
        expected
    );

    // since/until select by creation time.
    let since = "2026-06-01T00:00:00Z";
    let expected_recent = all
        .iter()
        .filter(|f| f["properties"]["created_at"].as_str().unwrap() >= since)
        .count();
    let (recent, _) = all_pages(&app, &format!("/api/v1/issues?since={since}&limit=1000")).await;
    assert_eq!(recent.len(), expected_recent);
}

async fn paging_through_next_visits_every_issue_once(backend: Backend) {
    let app = TestApp::demo(&backend, 1234).await;
    let (features, pages) = all_pages(&app, "/api/v1/issues?limit=100").await;
    assert_eq!(pages, 13);
    let ids: Vec<i64> = features.iter().map(|f| f["id"].as_i64().unwrap()).collect();
    let unique: HashSet<i64> = ids.iter().copied().collect();
    assert_eq!(unique.len(), 1234, "duplicates in paging");
    assert_eq!(ids.len(), 1234);
    let mut sorted = ids.clone();
    sorted.sort_unstable();
    assert_eq!(ids, sorted);
}

async fn the_limit_is_capped_at_one_thousand(backend: Backend) {
    let app = TestApp::demo(&backend, 1500).await;
    let (status, page) = app.get("/api/v1/issues?limit=5000").await;
    assert_eq!(status, 200);
    assert_eq!(page["features"].as_array().unwrap().len(), 1000);
    assert!(page["next"].is_string());
}

async fn district_issues_are_those_inside_its_polygon(backend: Backend) {
    let app = TestApp::demo(&backend, 2000).await;
    let (_, districts) = app.get("/api/v1/districts").await;
    let districts = districts["features"].as_array().unwrap().clone();
    assert_eq!(districts.len(), 8);
    let (all, _) = all_pages(&app, "/api/v1/issues?limit=1000").await;
    let mut total = 0;
    for district in &districts {
        let id = district["id"].as_i64().unwrap();
        let name = district["properties"]["name"].as_str().unwrap();
        let (inside, _) =
            all_pages(&app, &format!("/api/v1/districts/{id}/issues?limit=500")).await;
        let expected: Vec<i64> = all
            .iter()
            .filter(|f| f["properties"]["district"] == name)
            .map(|f| f["id"].as_i64().unwrap())
            .collect();
        assert_eq!(
            inside
                .iter()
                .map(|f| f["id"].as_i64().unwrap())
                .collect::<Vec<_>>(),
            expected,
            "{name}"
        );
        assert_eq!(
            district["properties"]["issue_count"].as_u64().unwrap() as usize,
            expected.len()
        );
        // The same answer through the list filter.
        let (filtered, _) =
            all_pages(&app, &format!("/api/v1/issues?district={id}&limit=1000")).await;
        assert_eq!(filtered.len(), expected.len());
        total += expected.len();
    }
    assert_eq!(total, 2000, "every demo issue lies in exactly one district");
}

async fn stats_count_every_issue_once_per_group(backend: Backend) {
    let app = TestApp::demo(&backend, 1500).await;
    let (all, _) = all_pages(&app, "/api/v1/issues?limit=1000").await;
    let (status, stats) = app
        .get("/api/v1/stats/issues?group_by=district,status")
        .await;
    assert_eq!(status, 200);
    assert_eq!(stats["total"], 1500);
    for group in stats["groups"].as_array().unwrap() {
        let expected = all
            .iter()
            .filter(|f| {
                f["properties"]["district"] == group["district"]
                    && f["properties"]["status"] == group["status"]
            })
            .count();
        assert_eq!(
            group["count"].as_u64().unwrap() as usize,
            expected,
            "{group}"
        );
    }
    let (_, by_category) = app
        .get("/api/v1/stats/issues?group_by=category&status=open")
        .await;
    let open = all
        .iter()
        .filter(|f| f["properties"]["status"] == "open")
        .count();
    assert_eq!(by_category["total"].as_u64().unwrap() as usize, open);
}

async fn every_layer_exports_as_a_feature_collection_that_parses_back(backend: Backend) {
    let app = TestApp::demo(&backend, 700).await;
    let mut body = report_body(76.95, 43.25, "graffiti", "Tagged wall");
    body["properties"]["reporter_email"] = json!("secret@example.org");
    assert_eq!(app.report(&body).await.0, 201);
    let (_, layers) = app.get("/api/v1/layers").await;
    for layer in layers["layers"].as_array().unwrap() {
        let name = layer["name"].as_str().unwrap();
        let response = app
            .client
            .get(app.url(&format!("/api/v1/layers/{name}/export.geojson")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
        assert_eq!(response.headers()["content-type"], "application/geo+json");
        let text = response.text().await.unwrap();
        assert!(
            !text.contains("secret@example.org"),
            "reporter email leaked in {name} export"
        );
        let parsed: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["type"], "FeatureCollection");
        assert_eq!(
            parsed["features"].as_array().unwrap().len() as u64,
            layer["feature_count"].as_u64().unwrap(),
            "{name}"
        );
    }
    let (_, issues) = app.get("/api/v1/layers/issues/features?limit=1000").await;
    assert_eq!(issues["features"].as_array().unwrap().len(), 701);
}

async fn layer_features_page_by_bbox(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (status, page) = app
        .get("/api/v1/layers/public_spaces/features?bbox=76.94,43.25,76.98,43.27&limit=2")
        .await;
    assert_eq!(status, 200);
    let (all, _) = all_pages(
        &app,
        "/api/v1/layers/public_spaces/features?bbox=76.94,43.25,76.98,43.27&limit=2",
    )
    .await;
    let names: Vec<&str> = all
        .iter()
        .filter_map(|f| f["properties"]["name"].as_str())
        .collect();
    assert!(names.iter().any(|n| n.contains("Panfilov")), "{names:?}");
    assert!(page["next"].is_string() || all.len() <= 2);
}

async fn categories_and_health_answer(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let (status, categories) = app.get("/api/v1/categories").await;
    assert_eq!(status, 200);
    let codes: Vec<&str> = categories["categories"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["code"].as_str().unwrap())
        .collect();
    assert!(codes.contains(&"pothole") && codes.contains(&"snow_ice") && codes.len() >= 12);
    assert_eq!(categories["categories"][0]["names"]["kk"], "Жолдағы шұңқыр");
    assert_eq!(
        app.get("/healthz").await,
        (
            200,
            json!({"status": "ok", "database": "up", "writes": "ok"})
        )
    );
}

async fn concurrent_reports_all_land_in_store_and_index(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(3);
    let bodies: Vec<Value> = (0..40)
        .map(|i| {
            report_body(
                rng.random_range(76.9..77.0),
                rng.random_range(43.2..43.3),
                "other",
                &format!("report {i}"),
            )
        })
        .collect();
    let results = futures::future::join_all(bodies.iter().map(|b| app.report(b))).await;
    assert!(results.iter().all(|(s, _)| *s == 201));
    assert_eq!(app.stored_issue_count().await, 40);
    let (_, nearby) = app
        .get("/api/v1/issues/nearby?lon=76.95&lat=43.25&radius=50000&limit=1000")
        .await;
    assert_eq!(nearby["features"].as_array().unwrap().len(), 40);
}

qala_tests::test_on_every_backend!(
    a_report_is_created_located_and_fetchable,
    an_idempotent_retry_returns_the_same_issue,
    nearby_agrees_with_brute_force_on_the_same_data,
    bbox_and_filters_return_exactly_the_matching_issues,
    paging_through_next_visits_every_issue_once,
    the_limit_is_capped_at_one_thousand,
    district_issues_are_those_inside_its_polygon,
    stats_count_every_issue_once_per_group,
    every_layer_exports_as_a_feature_collection_that_parses_back,
    layer_features_page_by_bbox,
    categories_and_health_answer,
    concurrent_reports_all_land_in_store_and_index,
);
