//! Issue reads from memory, kept exact: nearby, list and by-id answers come
//! from the row cache once read, every write shows in them at once, another
//! server's writes show once its change log is followed, and a cached row is
//! answered even while the database is unreachable (a miss is then a 503).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::Duration;

use qala_geodata::account::Role;
use qala_tests::{
    Backend, Proxy, ServerProcess, TestApp, TestDatabase, get_json, post_report, report_body,
    test_on_every_backend, within,
};
use serde_json::{Value, json};

/// A point in Almaty's Almaly district.
const AT: (f64, f64) = (76.9412, 43.2611);

async fn post_as(base: &str, client: &reqwest::Client, path: &str, token: &str, body: &Value) {
    let response = client
        .post(format!("{base}{path}"))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let text = response.text().await.unwrap();
    assert!(status == 200 || status == 201, "{path}: {status} {text}");
}

/// Issue `id` as each public read answers it: by id, in nearby, in the list
/// (`None` where it is absent).
async fn reads(base: &str, client: &reqwest::Client, id: i64) -> [Option<Value>; 3] {
    let find = |page: Value| {
        page["features"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["id"] == id)
            .map(|f| f["properties"].clone())
    };
    let (status, by_id) = get_json(client, &format!("{base}/api/v1/issues/{id}")).await;
    let by_id = (status == 200).then(|| by_id["properties"].clone());
    let (_, nearby) = get_json(
        client,
        &format!(
            "{base}/api/v1/issues/nearby?lon={}&lat={}&radius=50&limit=100",
            AT.0, AT.1
        ),
    )
    .await;
    let (_, list) = get_json(client, &format!("{base}/api/v1/issues?limit=500")).await;
    [by_id, find(nearby), find(list)]
}

fn field(reads: &[Option<Value>; 3], key: &str) -> [Option<Value>; 3] {
    reads
        .clone()
        .map(|r| r.map(|properties| properties[key].clone()))
}

async fn every_read_shows_each_write_at_once(backend: Backend) {
    let app = TestApp::demo(&backend, 50).await;
    let (_, admin) = app
        .user_with_token("admin@example.kz", Role::Admin, &[])
        .await;
    let (status, created) = app
        .report(&report_body(
            AT.0,
            AT.1,
            "pothole",
            "Deep hole by the bus stop",
        ))
        .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let (base, client) = (&app.base, &app.client);

    // Read once (the rows are cached now), then change it: every read at once.
    let open = Some(json!("open"));
    assert_eq!(
        field(&reads(base, client, id).await, "status"),
        [open.clone(), open.clone(), open]
    );
    let path = format!("/api/v1/issues/{id}/events");
    let change = json!({"status": "acknowledged", "note": "Crew on the way"});
    post_as(base, client, &path, &admin, &change).await;
    let working = Some(json!("acknowledged"));
    assert_eq!(
        field(&reads(base, client, id).await, "status"),
        [working.clone(), working.clone(), working]
    );

    let path = format!("/api/v1/issues/{id}/moderation");
    let redact = json!({"action": "redact", "reason": "Name", "description": "A pothole"});
    post_as(base, client, &path, &admin, &redact).await;
    let text = Some(json!("A pothole"));
    assert_eq!(
        field(&reads(base, client, id).await, "description"),
        [text.clone(), text.clone(), text]
    );

    post_as(
        base,
        client,
        &path,
        &admin,
        &json!({"action": "hide", "reason": "Test"}),
    )
    .await;
    assert_eq!(reads(base, client, id).await, [None, None, None]);
    post_as(
        base,
        client,
        &path,
        &admin,
        &json!({"action": "unhide", "reason": "Test over"}),
    )
    .await;
    assert!(reads(base, client, id).await.iter().all(Option::is_some));
}

test_on_every_backend!(every_read_shows_each_write_at_once);

/// Two real servers on one PostgreSQL database, B through a proxy that can
/// cut its connection: B answers what it has read from memory, a miss is a
/// 503, and A's change made meanwhile reaches B's reads once B follows again.
#[tokio::test]
async fn cached_rows_answer_without_the_database_and_follow_other_servers() {
    let Some(backend) = Backend::postgres() else {
        return;
    };
    let database = TestDatabase::new(&backend);
    let admin = {
        let app_store = qala_geodata::connect(&database.url).await.unwrap();
        qala_server::demo::load(
            app_store.as_ref(),
            &qala_server::city::City::almaty().unwrap(),
            100,
            7,
        )
        .await
        .unwrap();
        qala_tests::user_with_token(app_store.as_ref(), "admin@example.kz", Role::Admin, &[])
            .await
            .1
    };
    let (proxy, b_url) = Proxy::in_front_of(&database.url).await;
    let a = ServerProcess::start(&database.url).await;
    let b = ServerProcess::start(&b_url).await;
    let client = reqwest::Client::new();

    let (status, created) = post_report(
        &client,
        &a.base,
        &report_body(AT.0, AT.1, "pothole", "Read through B"),
    )
    .await;
    assert_eq!(status, 201, "{created}");
    let id = created["id"].as_i64().unwrap();
    let seen_by_b = within(Duration::from_secs(5), async || {
        reads(&b.base, &client, id)
            .await
            .iter()
            .all(Option::is_some)
    })
    .await;
    assert!(seen_by_b.is_some(), "B never answered issue {id}");
    let before = reads(&b.base, &client, id).await;

    proxy.cut();
    // Read before: answered from memory, the same as before the cut.
    assert_eq!(reads(&b.base, &client, id).await, before);
    // Made through A while B is cut off: B has never read it, so answering
    // needs the database.
    let (status, unseen) = post_report(
        &client,
        &a.base,
        &report_body(76.95, 43.24, "litter", "Never read by B"),
    )
    .await;
    assert_eq!(status, 201, "{unseen}");
    let unseen = unseen["id"].as_i64().unwrap();
    let (status, body) = get_json(&client, &format!("{}/api/v1/issues/{unseen}", b.base)).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (503, Some("storage_unavailable")),
        "{body}"
    );

    // A changes the issue while B is cut off; B shows it once it follows again.
    let change = json!({"status": "acknowledged", "note": "Seen"});
    let path = format!("/api/v1/issues/{id}/events");
    post_as(&a.base, &client, &path, &admin, &change).await;
    assert_eq!(
        field(&reads(&b.base, &client, id).await, "status")[0],
        Some(json!("open"))
    );
    proxy.restore();
    let acknowledged = Some(json!("acknowledged"));
    let followed = within(Duration::from_secs(15), async || {
        field(&reads(&b.base, &client, id).await, "status")
            == [
                acknowledged.clone(),
                acknowledged.clone(),
                acknowledged.clone(),
            ]
    })
    .await;
    assert!(
        followed.is_some(),
        "B's reads never showed A's change to issue {id}"
    );

    a.kill().await;
    b.kill().await;
}
