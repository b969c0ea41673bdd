//! Mail to residents, end to end against the real `qala` binary and a real
//! SMTP server (`qala_tests::smtp::SmtpSink`): the reporter's confirmation
//! and private link, the outbox surviving a kill, retries while the mail
//! server is down, unsubscribe, email follows (confirmed only), bad input.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use qala_geodata::account::Role;
use qala_geodata::{LayerName, NewFeature, Store};
use qala_tests::smtp::{Received, SmtpSink};
use qala_tests::{
    Backend, ServerProcess, TestDatabase, report_body, test_on_every_backend, user_with_token,
    within,
};
use serde_json::{Value, json};

const PUBLIC: &str = "http://qala.test";
const WAIT: Duration = Duration::from_secs(15);

/// A square district around (76.9, 43.2), id returned.
async fn with_district(store: &dyn Store) -> i64 {
    let ring = [
        [76.8, 43.1],
        [77.0, 43.1],
        [77.0, 43.3],
        [76.8, 43.3],
        [76.8, 43.1],
    ];
    let geometry =
        qala_geodata::geometry::parse_geometry(&json!({"type": "Polygon", "coordinates": [ring]}))
            .unwrap();
    let properties = json!({"name": "Test", "code": "test"})
        .as_object()
        .unwrap()
        .clone();
    let feature = NewFeature::new(LayerName::Districts, geometry, properties).unwrap();
    let stored = store
        .import_features(
            LayerName::Districts,
            &[feature],
            qala_geodata::store::ImportMode::Append,
        )
        .await
        .unwrap();
    stored[0].id
}

struct Setup {
    db: TestDatabase,
    store: Arc<dyn Store>,
    admin: String,
    district: i64,
    client: reqwest::Client,
}

async fn setup(backend: &Backend) -> Setup {
    let db = TestDatabase::new(backend);
    let store = qala_geodata::connect(&db.url).await.unwrap();
    let (_, admin) = user_with_token(store.as_ref(), "admin@city.test", Role::Admin, &[]).await;
    let district = with_district(store.as_ref()).await;
    Setup {
        db,
        store,
        admin,
        district,
        // A connection per request: a refused oversized body closes its
        // connection, which a pooled client would reuse.
        client: reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .build()
            .unwrap(),
    }
}

async fn serve(db: &TestDatabase, sink: &SmtpSink) -> ServerProcess {
    let url = sink.url();
    ServerProcess::start_logged(
        &db.url,
        &[
            "--smtp-url",
            &url,
            "--mail-from",
            "Qala <noreply@qala.test>",
            "--public-url",
            PUBLIC,
            "--mail-poll",
            "100ms",
            "--mail-retry",
            "100ms",
            "--mail-retry-max",
            "200ms",
            "--mail-lease",
            "500ms",
        ],
    )
    .await
}

impl Setup {
    async fn report(&self, server: &ServerProcess, email: Option<&str>, lang: &str) -> Value {
        let mut body = report_body(76.9, 43.2, "pothole", "A deep pothole by the school gate");
        if let Some(email) = email {
            body["properties"]["reporter_email"] = json!(email);
        }
        body["properties"]["lang"] = json!(lang);
        let (status, created) = self.post(server, "/api/v1/issues", &body).await;
        assert_eq!(status, 201, "{created}");
        created
    }

    async fn post(&self, server: &ServerProcess, path: &str, body: &Value) -> (u16, Value) {
        let response = self
            .client
            .post(format!("{}{path}", server.base))
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn change(&self, server: &ServerProcess, id: i64, status: &str, note: Option<&str>) {
        let response = self
            .client
            .post(format!("{}/api/v1/issues/{id}/events", server.base))
            .bearer_auth(&self.admin)
            .json(&match note {
                Some(note) => json!({"status": status, "note": note}),
                None => json!({"status": status}),
            })
            .send()
            .await
            .unwrap();
        assert_eq!(
            response.status().as_u16(),
            201,
            "{:?}",
            response.text().await
        );
    }
}

/// Waits until `address` received `n` messages; returns them.
async fn received(sink: &SmtpSink, address: &str, n: usize) -> Vec<Received> {
    let arrived = within(WAIT, async || sink.to(address).len() >= n).await;
    assert!(
        arrived.is_some(),
        "{address} received {} of {n} mails",
        sink.to(address).len()
    );
    sink.to(address)
}

fn assert_no_duplicates(sink: &SmtpSink) {
    let ids: Vec<String> = sink.messages().iter().map(Received::message_id).collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(
        unique.len(),
        ids.len(),
        "a mail was delivered twice: {ids:?}"
    );
}

async fn report_confirmation_carries_the_private_link(backend: Backend) {
    let s = setup(&backend).await;
    let sink = SmtpSink::start().await;
    let server = serve(&s.db, &sink).await;
    let created = s.report(&server, Some("alice@example.com"), "kk").await;
    let id = created["id"].as_i64().unwrap();
    let link = created["private_link"].as_str().unwrap().to_owned();
    let prefix = format!("{PUBLIC}/?issue={id}&token=");
    assert!(link.starts_with(&prefix), "{link}");
    let token = link[prefix.len()..].to_owned();

    // Only the answer to the reporter has it.
    let (_, fetched) =
        qala_tests::get_json(&s.client, &format!("{}/api/v1/issues/{id}", server.base)).await;
    assert!(fetched.get("private_link").is_none(), "{fetched}");
    let text = fetched.to_string();
    assert!(!text.contains(&token) && !text.contains("alice@"), "{text}");

    let mail = received(&sink, "alice@example.com", 1).await.remove(0);
    assert!(mail.body().contains(&link), "{}", mail.body());
    assert!(mail.subject().contains("қабылданды"), "{}", mail.subject());
    assert!(
        mail.message_id().ends_with("@qala.test"),
        "{}",
        mail.message_id()
    );
    assert_eq!(
        mail.header("List-Unsubscribe-Post").as_deref(),
        Some("List-Unsubscribe=One-Click")
    );
    assert!(
        mail.unsubscribe_url()
            .starts_with(&format!("{PUBLIC}/unsubscribe/"))
    );

    // The link reopens the issue once it is resolved, as the reporter.
    let reopen = async |token: &str| {
        let response = s
            .client
            .post(format!("{}/api/v1/issues/{id}/reopen", server.base))
            .header("x-issue-token", token)
            .json(&json!({"note": "Still there"}))
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        (
            status,
            response.json::<Value>().await.unwrap_or(Value::Null),
        )
    };
    assert_eq!(reopen(&token).await.0, 409, "an open issue is not reopened");
    for status in ["acknowledged", "in_progress", "resolved"] {
        s.change(&server, id, status, None).await;
    }
    let wrong = "A".repeat(43);
    assert_eq!(reopen(&wrong).await.0, 403);
    assert_eq!(reopen("").await.0, 403);
    let (status, event) = reopen(&token).await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["to_status"], "open");
    assert_eq!(event["by"]["reporter"], true, "{event}");
    // The staff changes reached the reporter, in Kazakh.
    let mails = received(&sink, "alice@example.com", 5).await;
    assert!(
        mails[3].subject().contains("Шешілді"),
        "{}",
        mails[3].subject()
    );
    assert_no_duplicates(&sink);

    let log = server.log();
    assert!(
        log.contains("a***@example.com"),
        "the log names mails masked: {log}"
    );
    assert!(
        !log.contains("alice@example.com"),
        "an address in the log: {log}"
    );
    assert!(!log.contains(&token), "a private token in the log");
}

async fn outbox_survives_a_kill_before_sending(backend: Backend) {
    let s = setup(&backend).await;
    let sink = SmtpSink::start().await;
    sink.down();
    let server = serve(&s.db, &sink).await;
    let created = s.report(&server, Some("bob@example.com"), "ru").await;
    let id = created["id"].as_i64().unwrap();
    // Committed and tried: the mail server refused it.
    assert!(within(WAIT, async || sink.refused() >= 1).await.is_some());
    server.kill().await;
    sink.up();
    let server = serve(&s.db, &sink).await;
    let mail = received(&sink, "bob@example.com", 1).await.remove(0);
    assert!(mail.subject().contains("принято"), "{}", mail.subject());
    // A later mail arrives after it; the first was not sent again.
    s.change(&server, id, "acknowledged", Some("Бригада выехала"))
        .await;
    let mails = received(&sink, "bob@example.com", 2).await;
    assert!(
        mails[1].body().contains("Бригада выехала"),
        "{}",
        mails[1].body()
    );
    assert_eq!(mails.len(), 2);
    assert_no_duplicates(&sink);
}

async fn smtp_down_then_up_delivers_once(backend: Backend) {
    let s = setup(&backend).await;
    let sink = SmtpSink::start().await;
    sink.down();
    let server = serve(&s.db, &sink).await;
    s.report(&server, Some("carol@example.com"), "en").await;
    // Retried with back-off while down.
    assert!(within(WAIT, async || sink.refused() >= 2).await.is_some());
    assert!(sink.messages().is_empty());
    sink.up();
    let mails = received(&sink, "carol@example.com", 1).await;
    assert!(
        mails[0].subject().contains("was received"),
        "{}",
        mails[0].subject()
    );
    // Marked sent: not sent again once its claim (500 ms) has run out.
    let again = within(Duration::from_secs(2), async || {
        sink.to("carol@example.com").len() > 1
    });
    assert!(again.await.is_none(), "a delivered mail was sent again");
    let created = s.report(&server, Some("dave@example.com"), "en").await;
    received(&sink, "dave@example.com", 1).await;
    assert!(created["id"].is_i64());
    assert_eq!(sink.to("carol@example.com").len(), 1);
    assert_no_duplicates(&sink);
}

/// Follows `target` by email and confirms through the mailed link.
async fn follow(
    s: &Setup,
    server: &ServerProcess,
    sink: &SmtpSink,
    email: &str,
    target: Value,
    confirm: bool,
) {
    let mut body = target;
    body["email"] = json!(email);
    body["lang"] = json!("en");
    let (status, answer) = s.post(server, "/api/v1/subscriptions", &body).await;
    assert_eq!(status, 202, "{answer}");
    let mail = received(sink, email, 1).await.pop().unwrap();
    let body = mail.body();
    let start = body
        .find(&format!("{PUBLIC}/subscriptions/confirm/"))
        .expect("a confirm link");
    let link = body[start..].split_whitespace().next().unwrap().to_owned();
    let local = link.replace(PUBLIC, &server.base);
    // The page changes nothing; its button does.
    let page = s.client.get(&local).send().await.unwrap();
    assert_eq!(page.status().as_u16(), 200);
    if confirm {
        let done = s.client.post(&local).send().await.unwrap();
        assert_eq!(done.status().as_u16(), 200);
    }
}

async fn only_confirmed_followers_hear_and_unsubscribe_stops_mail(backend: Backend) {
    let s = setup(&backend).await;
    let sink = SmtpSink::start().await;
    let server = serve(&s.db, &sink).await;
    let created = s.report(&server, Some("alice@example.com"), "en").await;
    let id = created["id"].as_i64().unwrap();
    received(&sink, "alice@example.com", 1).await;
    follow(
        &s,
        &server,
        &sink,
        "bob@example.com",
        json!({"issue_id": id}),
        true,
    )
    .await;
    follow(
        &s,
        &server,
        &sink,
        "carol@example.com",
        json!({"issue_id": id}),
        false,
    )
    .await;
    follow(
        &s,
        &server,
        &sink,
        "dora@example.com",
        json!({"district_id": s.district}),
        true,
    )
    .await;

    s.change(&server, id, "acknowledged", Some("Crew on the way"))
        .await;
    let alice = received(&sink, "alice@example.com", 2).await;
    let bob = received(&sink, "bob@example.com", 2).await;
    assert!(
        bob[1].body().contains("Crew on the way"),
        "{}",
        bob[1].body()
    );
    assert!(
        bob[1].subject().contains("Acknowledged"),
        "{}",
        bob[1].subject()
    );

    // A new issue in the followed district reaches its confirmed follower.
    let other = s.report(&server, None, "en").await;
    let dora = received(&sink, "dora@example.com", 2).await;
    assert!(
        dora[1].body().contains(&format!("?issue={}", other["id"])),
        "{}",
        dora[1].body()
    );

    // Alice unsubscribes with the one-click POST; fetching the page first changes nothing.
    let unsubscribe = alice[1].unsubscribe_url().replace(PUBLIC, &server.base);
    assert_eq!(
        s.client
            .get(&unsubscribe)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        200
    );
    let one_click = s
        .client
        .post(&unsubscribe)
        .header("content-type", "application/x-www-form-urlencoded")
        .body("List-Unsubscribe=One-Click")
        .send()
        .await
        .unwrap();
    assert_eq!(one_click.status().as_u16(), 200);
    s.change(&server, id, "in_progress", None).await;
    // Bob's mail of the same change was queued after Alice's would have been.
    received(&sink, "bob@example.com", 3).await;
    assert_eq!(
        sink.to("alice@example.com").len(),
        2,
        "mail after unsubscribing"
    );
    assert_eq!(
        sink.to("carol@example.com").len(),
        1,
        "an unconfirmed follower got an alert"
    );
    assert_no_duplicates(&sink);
}

async fn bad_input_is_refused_and_writes_nothing(backend: Backend) {
    let s = setup(&backend).await;
    let sink = SmtpSink::start().await;
    let server = serve(&s.db, &sink).await;
    let created = s.report(&server, None, "en").await;
    let id = created["id"].as_i64().unwrap();
    let before = s.store.pending_mail(0, 1000).await.unwrap().len();
    let cases = [
        (
            json!({"email": "not-an-address", "issue_id": id}),
            422,
            "invalid_email",
        ),
        (
            json!({"email": "x@example.com", "issue_id": 999_999}),
            404,
            "not_found",
        ),
        (
            json!({"email": "x@example.com", "district_id": 999_999}),
            404,
            "not_found",
        ),
        (
            json!({"email": "x@example.com", "issue_id": id, "district_id": s.district}),
            422,
            "invalid_target",
        ),
        (json!({"email": "x@example.com"}), 422, "invalid_target"),
        (
            json!({"email": "x@example.com", "issue_id": id, "lang": "de"}),
            422,
            "invalid_lang",
        ),
        (
            json!({"email": "x@example.com", "issue_id": id, "admin": true}),
            400,
            "unknown_field",
        ),
        (
            json!({"email": "x".repeat(300) + "@example.com", "issue_id": id}),
            422,
            "invalid_email",
        ),
        (
            json!({"email": "x".repeat(5000) + "@example.com", "issue_id": id}),
            413,
            "invalid_body",
        ),
    ];
    for (body, status, code) in cases {
        let (got, answer) = s.post(&server, "/api/v1/subscriptions", &body).await;
        assert_eq!(
            (got, answer["error"]["code"].as_str()),
            (status, Some(code)),
            "{body}"
        );
    }
    let huge = json!({"note": "x".repeat(100_000)});
    let response = s
        .client
        .post(format!("{}/api/v1/issues/{id}/reopen", server.base))
        .header("x-issue-token", "A".repeat(43))
        .json(&huge)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 413);
    let mut report = report_body(76.9, 43.2, "pothole", "Hole");
    report["properties"]["lang"] = json!("fr");
    assert_eq!(s.post(&server, "/api/v1/issues", &report).await.0, 422);
    report["properties"]["lang"] = json!("en");
    report["properties"]["reporter_email"] = json!("bad address@example.com");
    assert_eq!(s.post(&server, "/api/v1/issues", &report).await.0, 422);
    for path in ["/unsubscribe/short", "/subscriptions/confirm/short"] {
        let url = format!("{}{path}", server.base);
        assert_eq!(
            s.client.post(&url).send().await.unwrap().status().as_u16(),
            404
        );
    }
    let unknown = format!("{}/unsubscribe/{}", server.base, "B".repeat(43));
    assert_eq!(
        s.client
            .post(&unknown)
            .send()
            .await
            .unwrap()
            .status()
            .as_u16(),
        404
    );
    assert_eq!(s.store.pending_mail(0, 1000).await.unwrap().len(), before);
    assert!(sink.messages().is_empty());
}

async fn without_smtp_mail_waits_in_the_outbox_and_the_log(backend: Backend) {
    let s = setup(&backend).await;
    let server = ServerProcess::start_logged(&s.db.url, &["--public-url", PUBLIC]).await;
    let created = s.report(&server, Some("erin@example.com"), "ru").await;
    let link = created["private_link"].as_str().unwrap().to_owned();
    let token = link.rsplit("token=").next().unwrap().to_owned();
    let logged = within(WAIT, async || server.log().contains("e***@example.com")).await;
    assert!(logged.is_some(), "the mail was not shown: {}", server.log());
    let log = server.log();
    assert!(log.contains("mail kept in the outbox"), "{log}");
    assert!(
        !log.contains("erin@example.com") && !log.contains(&token),
        "{log}"
    );
    assert_eq!(s.store.pending_mail(0, 10).await.unwrap().len(), 1);
    server.kill().await;
    // A server with SMTP sends what waited.
    let sink = SmtpSink::start().await;
    let _server = serve(&s.db, &sink).await;
    let mail = received(&sink, "erin@example.com", 1).await.remove(0);
    assert!(mail.body().contains(&link), "{}", mail.body());
}

async fn a_mail_sent_again_keeps_its_message_id(backend: Backend) {
    let s = setup(&backend).await;
    let sink = SmtpSink::start().await;
    // The server keeps the first copy but the sender hears a failure, as
    // when a crash falls between the server's acceptance and the mark.
    sink.lose_replies(1);
    let server = serve(&s.db, &sink).await;
    s.report(&server, Some("fred@example.com"), "en").await;
    let copies = received(&sink, "fred@example.com", 2).await;
    assert_eq!(copies[0].message_id(), copies[1].message_id());
    assert_eq!(copies[0].body(), copies[1].body());
    drop(server);
}

/// The store's side of the reopen: the 30-day window after resolving, and
/// a history and audit that say the reporter did it.
async fn the_reporter_reopens_within_thirty_days_and_is_recorded_as_such(backend: Backend) {
    use qala_geodata::IssueStatus;
    use qala_geodata::account::{Actor, AuditFilter};
    use qala_geodata::workflow::{Amendment, IssueChange};
    let app = qala_tests::TestApp::empty(&backend).await;
    let (_, created) = app.report(&report_body(76.9, 43.2, "litter", "Bins")).await;
    let id = created["id"].as_i64().unwrap();
    let (admin, _) = app
        .user_with_token("admin@city.test", Role::Admin, &[])
        .await;
    let actor = Actor {
        user_id: admin.id,
        role: Role::Admin,
        departments: vec![],
        districts: vec![],
        public_name: None,
    };
    for status in [
        IssueStatus::Acknowledged,
        IssueStatus::InProgress,
        IssueStatus::Resolved,
    ] {
        let change = IssueChange::new(status, None, None, None).unwrap();
        app.state
            .change_status(id, change, actor.clone())
            .await
            .unwrap();
    }
    let issue = app.store.issue(id).await.unwrap().unwrap();
    let resolved = issue.resolved_at.unwrap();
    let reopen = IssueChange::new(IssueStatus::Open, Some("Back again".into()), None, None);
    let amendment = Amendment::new(reopen.unwrap(), &issue, |_| Ok(None), |_, _| None).unwrap();
    let late = resolved + chrono::Duration::days(30) + chrono::Duration::milliseconds(1);
    let refused = app.store.change_as_reporter(id, &amendment, late).await;
    match refused {
        Err(qala_geodata::Error::Invalid(e)) => assert_eq!(e.code, "invalid_transition"),
        other => panic!("reopened after 30 days: {other:?}"),
    }
    let in_time = resolved + chrono::Duration::days(29);
    let (reopened, event) = app
        .store
        .change_as_reporter(id, &amendment, in_time)
        .await
        .unwrap();
    assert_eq!(reopened.status, IssueStatus::Open);
    let public = event.to_public_json();
    assert_eq!(public["by"]["reporter"], true, "{public}");
    assert_eq!(public["by"]["role"], "resident");
    let filter = AuditFilter {
        action: Some("issue.status_changed".into()),
        actor: None,
        since: None,
        after_id: None,
        limit: 0,
    };
    let audit = app.store.audit(&filter).await.unwrap();
    let last = audit.iter().max_by_key(|e| e.id).unwrap();
    assert_eq!(last.actor, None);
    assert_eq!(last.after.as_ref().unwrap()["by"], "reporter");
    assert_eq!(last.after.as_ref().unwrap()["status"], "open");
}

/// The follow form cannot flood a mailbox: three confirmation mails a day
/// to one address, and the answer is the same for the fourth.
async fn confirmations_to_one_address_are_capped(backend: Backend) {
    let app = qala_tests::TestApp::empty(&backend).await;
    let (_, created) = app.report(&report_body(76.9, 43.2, "litter", "Bins")).await;
    let body = json!({"email": "gina@example.com", "issue_id": created["id"]});
    for _ in 0..5 {
        let response = app
            .client
            .post(app.url("/api/v1/subscriptions"))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), 202);
    }
    let pending = app.store.pending_mail(0, 100).await.unwrap();
    let to_gina = pending.iter().filter(|m| m.recipient == "gina@example.com");
    assert_eq!(
        to_gina.count(),
        usize::try_from(qala_geodata::mail::MAX_CONFIRMATIONS_PER_DAY).unwrap()
    );
}

test_on_every_backend!(
    confirmations_to_one_address_are_capped,
    the_reporter_reopens_within_thirty_days_and_is_recorded_as_such,
    a_mail_sent_again_keeps_its_message_id,
    without_smtp_mail_waits_in_the_outbox_and_the_log,
    report_confirmation_carries_the_private_link,
    outbox_survives_a_kill_before_sending,
    smtp_down_then_up_delivers_once,
    only_confirmed_followers_hear_and_unsubscribe_stops_mail,
    bad_input_is_refused_and_writes_nothing,
);
