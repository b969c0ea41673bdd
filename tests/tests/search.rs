//! Place search (`/api/v1/search`) and reverse lookup (`/api/v1/reverse`)
//! over the Almaty demo city, on both stores.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use qala_geodata::store::ImportMode;
use qala_geodata::{LayerName, NewFeature};
use qala_tests::{Backend, TestApp, place_names, test_on_every_backend, within};
use serde_json::{Value, json};

/// GET a search: status and body.
async fn search(app: &TestApp, query: &str) -> (u16, Value) {
    app.get(&format!("/api/v1/search?{query}")).await
}

fn encode(text: &str) -> String {
    url::form_urlencoded::byte_serialize(text.as_bytes()).collect()
}

async fn spellings_of_a_name_find_the_same_place(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    // Абай / Abay / Abai / ABAI / abaí: the avenue, named "Проспект Абая" in Russian.
    let mut first = None;
    for q in ["Абай", "Abay", "Abai", "ABAI", "abaí", "  абай  "] {
        let (status, body) = search(&app, &format!("q={}&lang=ru", encode(q))).await;
        assert_eq!(status, 200, "{q}: {body}");
        let found = place_names(&body);
        assert_eq!(
            found.first(),
            Some(&("bike_routes".to_owned(), "Проспект Абая".to_owned())),
            "{q}: {body}"
        );
        let feature = &body["features"][0];
        assert_eq!(feature["geometry"]["type"], "Point");
        assert_eq!(feature["bbox"].as_array().unwrap().len(), 4);
        assert_eq!(feature["properties"]["feature_id"], feature["id"]);
        match &first {
            None => first = Some(feature["id"].clone()),
            Some(id) => assert_eq!(&feature["id"], id, "{q}"),
        }
    }
    // Kazakh letters, either way: Әуезов / Auezov, Бостандық / Bostandyq / Bostandyk,
    // and the name in the language asked for (then its fallbacks).
    for (q, lang, want) in [
        ("Әуезов", "en", "Auezov"),
        ("auezov", "kk", "Әуезов"),
        ("Bostandyq", "kk", "Бостандық"),
        ("бостандык", "ru", "Бостандыкский"),
        ("Жетісу", "en", "Zhetysu"),
        ("Zhetisu", "kk", "Жетісу"),
        ("Turksib", "kk", "Түрксіб"),
        (
            "зелёный коридор есентай",
            "ru",
            "Зелёный коридор реки Есентай",
        ),
        ("zelenyi koridor", "en", "Esentai green corridor"),
    ] {
        let (status, body) = search(&app, &format!("q={}&lang={lang}", encode(q))).await;
        assert_eq!(status, 200, "{body}");
        assert!(
            place_names(&body).iter().any(|(_, name)| name == want),
            "{q} ({lang}) should find {want}: {body}"
        );
    }
    // The language may come from Accept-Language instead.
    let response = app
        .client
        .get(app.url("/api/v1/search?q=alatau"))
        .header("accept-language", "kk-KZ,kk;q=0.9")
        .send()
        .await
        .unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["features"][0]["properties"]["name"], "Алатау");
}

async fn results_rank_by_match_then_distance(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    // "Alatau" is a district's whole name: exact before any other match.
    let (_, body) = search(&app, "q=alatau&lang=en").await;
    assert_eq!(body["features"][0]["properties"]["match"], "exact");
    assert_eq!(body["features"][0]["properties"]["name"], "Alatau");
    // Every "green corridor" is a word-prefix match: the nearest comes first.
    let near_esentai = "q=green%20corridor&lang=en&near=76.93,43.265";
    let near_bolshaya = "q=green%20corridor&lang=en&near=76.875,43.272";
    let first = |body: &Value| body["features"][0]["properties"]["name"].clone();
    let (_, a) = search(&app, near_esentai).await;
    let (_, b) = search(&app, near_bolshaya).await;
    assert_eq!(place_names(&a).len(), 3, "{a}");
    assert_ne!(first(&a), first(&b), "{a} {b}");
    let distances: Vec<f64> = a["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["properties"]["distance_m"].as_f64().unwrap())
        .collect();
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    // A better match wins over a nearer one.
    let (_, body) = search(&app, "q=medeu&lang=en&near=76.80,43.38").await;
    assert_eq!(body["features"][0]["properties"]["match"], "exact");
    // limit caps the answer.
    let (_, body) = search(&app, "q=park&limit=2").await;
    assert_eq!(place_names(&body).len(), 2);
}

async fn bad_searches_are_refused_with_400(backend: Backend) {
    let app = TestApp::empty(&backend).await;
    for (query, field) in [
        ("", "q"),
        ("q=", "q"),
        ("q=%20%20", "q"),
        (&format!("q={}", "a".repeat(101)), "q"),
        ("q=abai&limit=21", "limit"),
        ("q=abai&limit=0", "limit"),
        ("q=abai&lang=de", "lang"),
        ("q=abai&near=76.9", "near"),
        ("q=abai&near=200,43", "near"),
        ("q=abai&near=nan,43", "near"),
        ("q=abai&bbox=1,2,3,4", "bbox"),
        ("q=abai&q=abay", "q"),
    ] {
        let (status, body) = search(&app, query).await;
        assert_eq!(status, 400, "{query}: {body}");
        assert_eq!(body["error"]["field"], field, "{query}: {body}");
    }
    // 100 characters (Kazakh letters are two bytes each) are fine, and
    // punctuation alone finds nothing rather than everything.
    let (status, body) = search(&app, &format!("q={}", encode(&"ә".repeat(100)))).await;
    assert_eq!((status, place_names(&body).len()), (200, 0), "{body}");
    let (status, body) = search(&app, "q=%21%21%21").await;
    assert_eq!((status, place_names(&body).len()), (200, 0), "{body}");
}

async fn a_replaced_layer_is_searchable(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let street = json!({"type": "Feature", "properties": {"name": "Kabanbay Batyr Street",
        "name:ru": "Улица Кабанбай батыра", "name:kk": "Қабанбай батыр көшесі", "highway": "primary"},
        "geometry": {"type": "LineString", "coordinates": [[76.93, 43.245], [76.96, 43.246]]}});
    let feature = NewFeature::from_geojson(&street, LayerName::BikeRoutes).unwrap();
    app.store
        .import_features(LayerName::BikeRoutes, &[feature], ImportMode::Replace)
        .await
        .unwrap();
    if backend == Backend::Sqlite {
        // SQLite has no change feed: whoever imports tells the server, through
        // the one path every layer change takes.
        let features = app.store.features(LayerName::BikeRoutes).await.unwrap();
        app.state.layer_replaced(LayerName::BikeRoutes, features);
    }
    // On PostgreSQL the change feed brings it (through the same path).
    let found = within(std::time::Duration::from_secs(10), async || {
        let (_, body) = search(
            &app,
            "q=%D2%9B%D0%B0%D0%B1%D0%B0%D0%BD%D0%B1%D0%B0%D0%B9&lang=kk",
        )
        .await;
        place_names(&body).contains(&("bike_routes".to_owned(), "Қабанбай батыр көшесі".to_owned()))
    })
    .await;
    assert!(
        found.is_some(),
        "the imported street never became searchable"
    );
    // The replaced avenues are gone from search.
    let (_, body) = search(&app, "q=dostyk&lang=en").await;
    assert!(
        !place_names(&body)
            .iter()
            .any(|(layer, _)| layer == "bike_routes"),
        "{body}"
    );
}

async fn reverse_names_the_district_and_the_nearest_place(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    // 0.0008° (about 89 m) north of the Abay Avenue bike route's vertex at 76.945, 43.2408.
    let (status, body) = app
        .get("/api/v1/reverse?lon=76.945&lat=43.2416&lang=ru")
        .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outside_city"], false);
    assert!(body["district"]["name"].is_string(), "{body}");
    assert_eq!(body["nearest"]["layer"], "bike_routes", "{body}");
    assert_eq!(body["nearest"]["name"], "Проспект Абая");
    let d = body["nearest"]["distance_m"].as_f64().unwrap();
    assert!((80.0..=100.0).contains(&d), "{d}");
    // In Kazakh, the district's Kazakh name.
    let (_, kk) = app
        .get("/api/v1/reverse?lon=76.929&lat=43.257&lang=kk")
        .await;
    assert_eq!(kk["district"]["name"], "Алмалы", "{kk}");
    // Far from every named place: a district and no nearest.
    let (_, lonely) = app.get("/api/v1/reverse?lon=76.77&lat=43.39&lang=en").await;
    assert_eq!(lonely["district"]["name"], "Alatau", "{lonely}");
    assert_eq!(lonely["nearest"], Value::Null, "{lonely}");
    // Outside the city.
    let (status, outside) = app.get("/api/v1/reverse?lon=71.4&lat=51.1").await;
    assert_eq!(status, 200);
    assert_eq!(outside["outside_city"], true);
    assert_eq!(outside["district"], Value::Null);
    // Bad input.
    for query in [
        "lon=76.9",
        "lon=76.9&lat=95",
        "lon=x&lat=43",
        "lon=76.9&lat=43.2&zoom=3",
        "lon=76.9&lat=43.2&lang=fr",
    ] {
        let (status, body) = app.get(&format!("/api/v1/reverse?{query}")).await;
        assert_eq!(status, 400, "{query}: {body}");
    }
}

test_on_every_backend!(
    spellings_of_a_name_find_the_same_place,
    results_rank_by_match_then_distance,
    bad_searches_are_refused_with_400,
    a_replaced_layer_is_searchable,
    reverse_names_the_district_and_the_nearest_place,
);
