//! Several `qala serve` processes on one PostgreSQL database: writes through
//! one reach the others' indexes and tiles, a lost database connection is
//! caught up on, and an unreachable database is a 503 while index reads go on.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use qala_tests::mvt::{decode, tile_of};
use qala_tests::{
    Backend, Proxy, ServerProcess, TestDatabase, get_json, post_report, report_body, within,
};

async fn create(client: &reqwest::Client, base: &str, lon: f64, lat: f64, what: &str) -> i64 {
    let (status, created) =
        post_report(client, base, &report_body(lon, lat, "street_light", what)).await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

/// Whether server `base` knows issue `id` at lon/lat: in nearby and in its z14 tile.
async fn knows(client: &reqwest::Client, base: &str, id: i64, lon: f64, lat: f64) -> bool {
    let (_, nearby) = get_json(
        client,
        &format!("{base}/api/v1/issues/nearby?lon={lon}&lat={lat}&radius=30&limit=1000"),
    )
    .await;
    let in_nearby = nearby["features"]
        .as_array()
        .is_some_and(|f| f.iter().any(|f| f["id"] == id));
    let (x, y) = tile_of(lon, lat, 14);
    let bytes = client
        .get(format!("{base}/tiles/issues/14/{x}/{y}.mvt"))
        .send()
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let in_tile = decode(&bytes)
        .get("issues")
        .is_some_and(|f| f.iter().any(|f| f.id == Some(id as u64)));
    in_nearby && in_tile
}

#[tokio::test]
async fn servers_on_one_database_see_each_others_writes_and_survive_losing_it() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let database = TestDatabase::new(&backend);
    {
        let store = qala_geodata::connect(&database.url).await.unwrap();
        qala_server::demo::load(
            store.as_ref(),
            &qala_server::city::City::almaty().unwrap(),
            300,
            7,
        )
        .await
        .unwrap();
    }
    let (proxy, b_url) = Proxy::in_front_of(&database.url).await;
    let a = ServerProcess::start(&database.url).await;
    let b = ServerProcess::start(&b_url).await;
    let client = reqwest::Client::new();

    // Warm B's cache for the tile the new issue lands in.
    let (lon, lat) = (76.9412, 43.2611);
    assert!(!knows(&client, &b.base, -1, lon, lat).await);

    let id = create(&client, &a.base, lon, lat, "created through A").await;
    let took = within(Duration::from_secs(1), async || {
        knows(&client, &b.base, id, lon, lat).await
    })
    .await;
    assert!(
        took.is_some(),
        "B did not see A's issue {id} in nearby and its tile within one second"
    );

    // B loses its database.
    proxy.cut();
    let (status, health) = get_json(&client, &format!("{}/healthz", b.base)).await;
    assert_eq!((status, health["database"].as_str()), (503, Some("down")));
    // What the index answers goes on working.
    let (status, stats) = get_json(
        &client,
        &format!("{}/api/v1/stats/issues?group_by=status", b.base),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(stats["total"], 301);
    let (x, y) = tile_of(lon, lat, 12);
    assert_eq!(
        client
            .get(format!("{}/tiles/issues/12/{x}/{y}.mvt", b.base))
            .send()
            .await
            .unwrap()
            .status(),
        200
    );

    // Meanwhile A goes on writing.
    let (lon2, lat2) = (76.9502, 43.2405);
    let missed = create(&client, &a.base, lon2, lat2, "created while B was cut off").await;
    // B has never read it (nor heard of it): answering needs the database.
    let (status, body) = get_json(&client, &format!("{}/api/v1/issues/{missed}", b.base)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{body}"
    );

    proxy.restore();
    let caught_up = within(Duration::from_secs(15), async || {
        knows(&client, &b.base, missed, lon2, lat2).await
    })
    .await;
    assert!(
        caught_up.is_some(),
        "B never caught up on issue {missed} made while its connection was down"
    );
    let healthy = within(Duration::from_secs(10), async || {
        get_json(&client, &format!("{}/healthz", b.base)).await.0 == 200
    })
    .await;
    assert!(healthy.is_some(), "B's health did not recover");
    let (status, fetched) = get_json(&client, &format!("{}/api/v1/issues/{missed}", b.base)).await;
    assert_eq!((status, fetched["id"].as_i64()), (200, Some(missed)));

    a.kill().await;
    b.kill().await;
}
