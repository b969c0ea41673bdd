//! The staff queue, on every backend: `GET /api/v1/issues?assigned_to=me|DEPT`
//! with `status`, `sort=oldest|newest|votes`, paging and the counts per status.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use qala_geodata::account::{NewUser, Role, TokenSecret};
use qala_tests::{Backend, TestApp, report_body, test_on_every_backend};
use serde_json::{Value, json};

/// Almaly (pothole: roads; trees: green spaces; litter: its akimat).
const ALMALY: (f64, f64) = (76.9412, 43.2611);
/// Medeu, lower part.
const MEDEU: (f64, f64) = (76.962, 43.245);
/// Bostandyk.
const BOSTANDYK: (f64, f64) = (76.900, 43.222);

/// A user added through the store (as `qala user add`) and their token.
async fn token_for(
    app: &TestApp,
    email: &str,
    role: Role,
    departments: &[&str],
    districts: &[i64],
) -> String {
    let user = app
        .store
        .create_user(
            &NewUser::new(
                email,
                role,
                departments.iter().map(|d| (*d).to_owned()).collect(),
                districts.to_vec(),
                None,
                false,
            )
            .unwrap(),
            None,
        )
        .await
        .unwrap();
    let secret = TokenSecret::generate().unwrap();
    app.store
        .create_token(user.id, &secret.hash(), &secret.label(), None, None)
        .await
        .unwrap();
    secret.expose().to_owned()
}

async fn district_id(app: &TestApp, code: &str) -> i64 {
    let (_, districts) = app.get("/api/v1/districts").await;
    districts["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["properties"]["code"] == code)
        .unwrap_or_else(|| panic!("no district {code}: {districts}"))["id"]
        .as_i64()
        .unwrap()
}

async fn report(app: &TestApp, at: (f64, f64), category: &str) -> i64 {
    let (status, created) = app
        .report(&report_body(at.0, at.1, category, "Queue test"))
        .await;
    assert_eq!(status, 201, "{created}");
    created["id"].as_i64().unwrap()
}

/// GET as `token` (anonymous for `None`) against `base`: status, body.
async fn get_as(app: &TestApp, base: &str, path: &str, token: Option<&str>) -> (u16, Value) {
    let mut request = app.client.get(format!("{base}{path}"));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn post_as(app: &TestApp, path: &str, token: &str, body: Value) {
    let response = app
        .client
        .post(app.url(path))
        .bearer_auth(token)
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    assert!(
        (200..300).contains(&status),
        "{path}: {status} {}",
        response.text().await.unwrap()
    );
}

async fn move_to(app: &TestApp, token: &str, id: i64, status: &str) {
    post_as(
        app,
        &format!("/api/v1/issues/{id}/events"),
        token,
        json!({"status": status, "note": "Queue test"}),
    )
    .await;
}

async fn set_votes(app: &TestApp, backend: &Backend, id: i64, votes: i64) {
    let sql = format!("UPDATE issues SET votes = {votes} WHERE id = {id}");
    match backend {
        Backend::Sqlite => {
            let pool = sqlx::SqlitePool::connect(&app.database.url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
        Backend::Postgres(_) => {
            let pool = sqlx::PgPool::connect(&app.database.url).await.unwrap();
            sqlx::query(&sql).execute(&pool).await.unwrap();
        }
    }
}

fn ids(page: &Value) -> Vec<i64> {
    page["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["id"].as_i64().unwrap())
        .collect()
}

/// Every id of a list, following `next` links, with the size of each page.
async fn pages(
    app: &TestApp,
    base: &str,
    first: &str,
    token: Option<&str>,
) -> (Vec<i64>, Vec<usize>) {
    let (mut all, mut sizes) = (Vec::new(), Vec::new());
    let mut next = Some(first.to_owned());
    while let Some(path) = next {
        let (status, page) = get_as(app, base, &path, token).await;
        assert_eq!(status, 200, "{path}: {page}");
        let page_ids = ids(&page);
        sizes.push(page_ids.len());
        all.extend(page_ids);
        next = page["next"].as_str().map(str::to_owned);
    }
    (all, sizes)
}

/// The queue of a staff member of roads and of the Medeu district: issues
/// assigned to roads anywhere, and anything in Medeu.
struct Queue {
    app: TestApp,
    staff: String,
    /// In scope, in the order they were reported.
    mine: Vec<i64>,
    /// Out of scope.
    others: Vec<i64>,
}

async fn queue(backend: &Backend) -> Queue {
    let app = TestApp::demo(backend, 0).await;
    let medeu = district_id(&app, "medeu").await;
    let staff = token_for(&app, "roads@city.kz", Role::Staff, &["roads"], &[medeu]).await;
    let a = report(&app, ALMALY, "pothole").await; // roads
    let b = report(&app, MEDEU, "trees").await; // green spaces, in Medeu
    let c = report(&app, ALMALY, "trees").await; // green spaces, Almaly
    let d = report(&app, ALMALY, "litter").await; // Almaly's akimat
    let e = report(&app, BOSTANDYK, "pothole").await; // roads
    let f = report(&app, BOSTANDYK, "snow_ice").await; // roads
    let g = report(&app, MEDEU, "litter").await; // Medeu's akimat, in Medeu
    Queue {
        app,
        staff,
        mine: vec![a, b, e, f, g],
        others: vec![c, d],
    }
}

async fn a_staff_queue_lists_only_its_scope_with_counts(backend: Backend) {
    let Queue {
        app,
        staff,
        mine,
        others,
    } = queue(&backend).await;
    let [a, _b, e, f, _g] = mine[..] else {
        unreachable!()
    };
    move_to(&app, &staff, a, "acknowledged").await;
    move_to(&app, &staff, e, "acknowledged").await;
    move_to(&app, &staff, e, "in_progress").await;
    move_to(&app, &staff, f, "acknowledged").await;

    let (status, page) = get_as(
        &app,
        &app.base,
        "/api/v1/issues?assigned_to=me",
        Some(&staff),
    )
    .await;
    assert_eq!(status, 200, "{page}");
    assert_eq!(ids(&page), mine);
    assert!(others.iter().all(|o| !ids(&page).contains(o)));
    let counts = json!({"total": 5, "by_status": {
        "open": 2, "acknowledged": 2, "in_progress": 1, "resolved": 0,
        "closed": 0, "rejected": 0, "duplicate": 0,
    }});
    assert_eq!(page["counts"], counts);

    // A status filter narrows the list, not the counts (the queue's tabs).
    let (_, open) = get_as(
        &app,
        &app.base,
        "/api/v1/issues?assigned_to=me&status=open",
        Some(&staff),
    )
    .await;
    assert_eq!(ids(&open), vec![mine[1], mine[4]]);
    assert_eq!(open["counts"], counts);
    let (_, acknowledged) = get_as(
        &app,
        &app.base,
        "/api/v1/issues?assigned_to=me&status=acknowledged,in_progress",
        Some(&staff),
    )
    .await;
    assert_eq!(ids(&acknowledged), vec![a, e, f]);

    // A department's queue: the public may read it too, with its counts.
    let (status, roads) = app.get("/api/v1/issues?assigned_to=roads").await;
    assert_eq!(status, 200, "{roads}");
    assert_eq!(ids(&roads), vec![a, e, f]);
    assert_eq!(roads["counts"]["total"], 3);
    assert_eq!(roads["counts"]["by_status"]["acknowledged"], 2);
    // Without assigned_to, a plain list: no counts.
    let (_, plain) = app.get("/api/v1/issues").await;
    assert!(plain.get("counts").is_none(), "{plain}");
    assert_eq!(ids(&plain).len(), 7);
}

async fn the_queue_pages_oldest_newest_and_by_votes(backend: Backend) {
    let Queue {
        app, staff, mine, ..
    } = queue(&backend).await;
    let [a, b, e, f, g] = mine[..] else {
        unreachable!()
    };
    let me = Some(staff.as_str());
    let (oldest, sizes) = pages(&app, &app.base, "/api/v1/issues?assigned_to=me&limit=2", me).await;
    assert_eq!((oldest, sizes), (mine.clone(), vec![2, 2, 1]));
    let (newest, sizes) = pages(
        &app,
        &app.base,
        "/api/v1/issues?assigned_to=me&sort=newest&limit=2",
        me,
    )
    .await;
    let mut reversed = mine.clone();
    reversed.reverse();
    assert_eq!((newest, sizes), (reversed, vec![2, 2, 1]));

    // Votes written in the store directly (there is no vote endpoint yet);
    // a server started on the database afterwards indexes them.
    for (id, votes) in [(a, 3), (b, 5), (e, 3), (f, 0), (g, 7)] {
        set_votes(&app, &backend, id, votes).await;
    }
    let fresh = app.follower().await;
    let (by_votes, sizes) = pages(
        &app,
        &fresh,
        "/api/v1/issues?assigned_to=me&sort=votes&limit=2",
        me,
    )
    .await;
    // Most votes first; a and e tie at 3, the older first.
    assert_eq!((by_votes, sizes), (vec![g, b, a, e, f], vec![2, 2, 1]));
    let (_, one) = get_as(
        &app,
        &fresh,
        "/api/v1/issues?assigned_to=me&sort=votes&status=open&limit=1",
        me,
    )
    .await;
    assert_eq!(ids(&one), vec![g]);
    assert_eq!(one["features"][0]["properties"]["votes"], 7);
    let (status, bad) = get_as(
        &app,
        &fresh,
        "/api/v1/issues?assigned_to=me&sort=votes&cursor=17",
        me,
    )
    .await;
    assert_eq!(
        (status, bad["error"]["field"].as_str()),
        (400, Some("cursor"))
    );

    // A duplicate's votes move to its original, and the queue's order
    // follows at once on the server that made the change (which loaded
    // every issue with no votes: the store was changed behind its back).
    post_as(
        &app,
        &format!("/api/v1/issues/{b}/events"),
        &staff,
        json!({"status": "duplicate", "duplicate_of": f, "note": "Same"}),
    )
    .await;
    let (_, after) = get_as(
        &app,
        &app.base,
        "/api/v1/issues?assigned_to=me&sort=votes&status=open",
        me,
    )
    .await;
    assert_eq!(ids(&after), vec![f, a, e, g], "{after}");
    assert_eq!(after["features"][0]["properties"]["votes"], 5);
}

async fn who_may_ask_for_their_own_queue(backend: Backend) {
    let Queue { app, staff, .. } = queue(&backend).await;
    let response = app
        .client
        .get(app.url("/api/v1/issues?assigned_to=me"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"]["code"], "unauthorized");

    let moderator = token_for(&app, "mod@city.kz", Role::Moderator, &[], &[1]).await;
    let (status, _) = get_as(
        &app,
        &app.base,
        "/api/v1/issues?assigned_to=me",
        Some(&moderator),
    )
    .await;
    assert_eq!(status, 200);
    for role in [
        Role::Admin,
        Role::Planner,
        Role::Resident,
        Role::Integration,
    ] {
        let token = token_for(&app, &format!("{role}@city.kz"), role, &[], &[]).await;
        let (status, body) = get_as(
            &app,
            &app.base,
            "/api/v1/issues?assigned_to=me",
            Some(&token),
        )
        .await;
        assert_eq!(status, 400, "{role}: {body}");
        assert_eq!(body["error"]["code"], "invalid_parameter");
        assert_eq!(body["error"]["field"], "assigned_to");
        assert!(
            body["error"]["message"]
                .as_str()
                .unwrap()
                .contains("assigned_to=CODE"),
            "{body}"
        );
    }
    // `me` names no department elsewhere.
    for path in [
        "/tiles/issues/0/0/0.mvt?assigned_to=me",
        "/api/v1/stats/issues?assigned_to=me",
    ] {
        let (status, body) = get_as(&app, &app.base, path, Some(&staff)).await;
        assert_eq!(status, 400, "{path}: {body}");
    }
    let (status, _) = app.get("/api/v1/issues?sort=loudest").await;
    assert_eq!(status, 400);
}

async fn hidden_issues_leave_the_queue_and_its_counts(backend: Backend) {
    let Queue {
        app, staff, mine, ..
    } = queue(&backend).await;
    let admin = token_for(&app, "admin@city.kz", Role::Admin, &[], &[]).await;
    post_as(
        &app,
        &format!("/api/v1/issues/{}/moderation", mine[0]),
        &admin,
        json!({"action": "hide", "reason": "Queue test"}),
    )
    .await;
    // Hidden means not in the index: not in any list, staff's included
    // (staff open a hidden issue by its id: GET /api/v1/issues/{id}).
    let (_, page) = get_as(
        &app,
        &app.base,
        "/api/v1/issues?assigned_to=me",
        Some(&staff),
    )
    .await;
    assert_eq!(ids(&page), mine[1..].to_vec());
    assert_eq!(page["counts"]["total"], 4);
    let (status, _) = get_as(
        &app,
        &app.base,
        &format!("/api/v1/issues/{}", mine[0]),
        Some(&staff),
    )
    .await;
    assert_eq!(status, 200);
}

test_on_every_backend!(
    a_staff_queue_lists_only_its_scope_with_counts,
    the_queue_pages_oldest_newest_and_by_votes,
    who_may_ask_for_their_own_queue,
    hidden_issues_leave_the_queue_and_its_counts,
);
