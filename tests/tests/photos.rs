//! Photos end to end, on every backend: uploads sniffed, bounded and
//! sanitised (no EXIF left, orientation applied, a 320-pixel thumbnail),
//! attached with a report or a staff change in its transaction, served
//! with long cache headers only while public, hidden by moderators, and
//! swept from the media directory after a crash.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::path::Path;
use std::time::{Duration, Instant, SystemTime};

use image::ImageFormat;
use qala_geodata::account::Role;
use qala_tests::photos::{
    encoded, exif_of, jpeg, jpeg_with_gps_exif, picture, png_bomb, post_oversized,
};
use qala_tests::{Backend, ServerProcess, TestApp, report_body, test_on_every_backend, within};
use serde_json::{Value, json};
use tempfile::TempDir;

/// A server keeping its photos in a directory of the test's own.
async fn photo_app(backend: &Backend) -> (TestApp, TempDir) {
    let media = tempfile::tempdir().unwrap();
    let config = qala_server::ServerConfig {
        media_dir: Some(media.path().to_owned()),
        ..qala_tests::unlimited_config()
    };
    (TestApp::with_config(backend, config).await, media)
}

async fn upload(app: &TestApp, bytes: Vec<u8>, content_type: &str) -> (u16, Value) {
    let response = app
        .client
        .post(app.url("/api/v1/photos"))
        .header("content-type", content_type)
        .body(bytes)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    (status, response.json().await.unwrap_or(Value::Null))
}

/// Uploads `bytes` and returns the key.
async fn uploaded(app: &TestApp, bytes: Vec<u8>) -> String {
    let (status, body) = upload(app, bytes, "image/jpeg").await;
    assert_eq!(status, 201, "{body}");
    body["id"].as_str().unwrap().to_owned()
}

async fn report_with(app: &TestApp, photos: &[&str]) -> (u16, Value) {
    let mut body = report_body(76.9412, 43.2611, "pothole", "Deep hole by the stop");
    body["properties"]["photos"] = json!(photos);
    app.report(&body).await
}

async fn fetch(app: &TestApp, path: &str) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app.client.get(app.url(path)).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn status_of(app: &TestApp, path: &str) -> u16 {
    fetch(app, path).await.0
}

/// A phone photo with GPS in its EXIF is stored upright, without any
/// EXIF, and served with its thumbnail once its report is filed.
async fn sanitised_photos_are_served_with_their_report(backend: Backend) {
    let (app, media) = photo_app(&backend).await;
    let original = jpeg_with_gps_exif(400, 200);
    let tags = exif_of(&original).expect("the test photo carries EXIF");
    assert!(
        tags.get_field(exif::Tag::GPSLatitude, exif::In::PRIMARY)
            .is_some()
    );

    let (status, answer) = upload(&app, original, "image/jpeg").await;
    assert_eq!(status, 201, "{answer}");
    // Orientation 6: a 400 × 200 sensor image is a 200 × 400 photo.
    assert_eq!(
        (answer["width"].as_u64(), answer["height"].as_u64()),
        (Some(200), Some(400))
    );
    let key = answer["id"].as_str().unwrap().to_owned();
    assert_eq!(key.len(), 32, "{answer}");

    // Pending: on disk, but served to nobody.
    let files: Vec<String> = std::fs::read_dir(media.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(files.len(), 2, "{files:?}");
    let name = files
        .iter()
        .find(|f| !f.ends_with("-320.jpg"))
        .unwrap()
        .clone();
    assert_eq!(status_of(&app, &format!("/media/{name}")).await, 404);

    let (status, mut created) = report_with(&app, &[&key]).await;
    assert_eq!(status, 201, "{created}");
    // Only the answer to the reporter carries their private link.
    created.as_object_mut().unwrap().remove("private_link");
    let id = created["id"].as_i64().unwrap();
    let (status, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(status, 200);
    assert_eq!(
        created, issue,
        "the report's answer is the issue as fetched"
    );
    let photos = issue["properties"]["photos"].as_array().unwrap();
    assert_eq!(photos.len(), 1, "{issue}");
    let photo = &photos[0];
    assert_eq!(photo["kind"], "report");
    assert_eq!(
        (photo["width"].as_u64(), photo["height"].as_u64()),
        (Some(200), Some(400))
    );
    assert_eq!(photo["url"], format!("/media/{name}"));
    assert!(
        !issue.to_string().contains(&key),
        "the upload key leaked: {issue}"
    );

    let (status, headers, bytes) = fetch(&app, photo["url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(
        headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    let etag = headers["etag"].to_str().unwrap().to_owned();
    assert!(etag.contains(name.trim_end_matches(".jpg")), "{etag}");
    assert!(
        matches!(exif_of(&bytes), Err(exif::Error::NotFound(_))),
        "the served photo still has EXIF"
    );
    assert!(
        !bytes.windows(4).any(|w| w == b"Exif"),
        "an Exif block survived"
    );
    let served = image::load_from_memory_with_format(&bytes, ImageFormat::Jpeg).unwrap();
    assert_eq!((served.width(), served.height()), (200, 400));

    let (status, _, thumb) = fetch(&app, photo["thumbnail_url"].as_str().unwrap()).await;
    assert_eq!(status, 200);
    let thumb = image::load_from_memory_with_format(&thumb, ImageFormat::Jpeg).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (160, 320));

    let revalidated = app
        .client
        .get(app.url(photo["url"].as_str().unwrap()))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(revalidated.status().as_u16(), 304);
    for bad in ["x.jpg", "../qala.db", &name.replace(".jpg", ".png")] {
        assert_eq!(
            status_of(&app, &format!("/media/{bad}")).await,
            404,
            "{bad}"
        );
    }
}

/// What is not a JPEG, PNG or WebP, what is too large to decode, and what
/// is too large to send are refused; WebP and PNG are taken.
async fn uploads_are_sniffed_and_bounded(backend: Backend) {
    let (app, media) = photo_app(&backend).await;
    let (status, body) = upload(&app, b"Just some text, honest".to_vec(), "image/jpeg").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (415, Some("unsupported_media_type"))
    );
    let (status, _) = upload(&app, jpeg(10, 10, 1), "text/plain").await;
    assert_eq!(status, 415);

    let started = Instant::now();
    let (status, body) = upload(&app, png_bomb(), "image/png").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("image_too_large")),
        "{body}"
    );
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "the bomb took {:?}",
        started.elapsed()
    );

    let webp = encoded(picture(64, 48, 2), ImageFormat::WebP);
    let (status, body) = upload(&app, webp, "image/webp").await;
    assert_eq!(
        (status, body["width"].as_u64(), body["height"].as_u64()),
        (201, Some(64), Some(48))
    );
    let png = encoded(picture(30, 20, 3), ImageFormat::Png);
    let (status, _) = upload(&app, png, "application/octet-stream").await;
    assert_eq!(status, 201);

    let (status, head) = post_oversized(&app, 11 << 20).await;
    assert_eq!(status, 413, "{head}");
    // Two photos, two files each; nothing of the refused ones.
    let files = std::fs::read_dir(media.path()).unwrap().count();
    assert_eq!(files, 4);
}

/// Photos attach in the report's transaction: a fourth photo, an unknown
/// key or one attached already refuses the whole report, writing nothing.
async fn a_report_takes_at_most_three_pending_photos(backend: Backend) {
    let (app, _media) = photo_app(&backend).await;
    let mut keys = Vec::new();
    for seed in 0..4 {
        keys.push(uploaded(&app, jpeg(40, 30, seed)).await);
    }
    let all: Vec<&str> = keys.iter().map(String::as_str).collect();
    let (status, body) = report_with(&app, &all).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("too_many_photos")),
        "{body}"
    );
    let (status, body) = report_with(&app, &[all[0], &"f".repeat(32)]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_photo")),
        "{body}"
    );
    let (status, body) = report_with(&app, &[all[0], all[0]]).await;
    assert_eq!(status, 422, "{body}");
    assert_eq!(
        app.stored_issue_count().await,
        0,
        "a refused report was written"
    );

    // The refusals took no photo: the first three attach now.
    let (status, created) = report_with(&app, &all[..3]).await;
    assert_eq!(status, 201, "{created}");
    let (_, issue) = app.get(&format!("/api/v1/issues/{}", created["id"])).await;
    assert_eq!(issue["properties"]["photos"].as_array().unwrap().len(), 3);
    // Taken: a second report with one of them is refused whole.
    let (status, body) = report_with(&app, &[all[3], all[1]]).await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (422, Some("unknown_photo")),
        "{body}"
    );
    assert_eq!(app.stored_issue_count().await, 1);
    // A retry of a report with photos replays it (its key names the same
    // photos, now attached to it) instead of refusing them as taken.
    let mut body = report_body(76.9412, 43.2611, "litter", "Bags by the bench");
    body["properties"]["photos"] = json!([all[3]]);
    let send = async || {
        let response = app
            .client
            .post(app.url("/api/v1/issues"))
            .header("content-type", "application/json")
            .header("idempotency-key", "retry-with-photo")
            .body(body.to_string())
            .send()
            .await
            .unwrap();
        let replayed = response.headers().contains_key("idempotent-replayed");
        let status = response.status().as_u16();
        (status, replayed, response.json::<Value>().await.unwrap())
    };
    let (status, replayed, first) = send().await;
    assert_eq!((status, replayed), (201, false), "{first}");
    let (status, replayed, again) = send().await;
    assert_eq!((status, replayed), (201, true), "{again}");
    assert_eq!(first["id"], again["id"]);
    assert_eq!(app.stored_issue_count().await, 2);
}

/// Staff updates carry before/after photos into the history; a hidden
/// issue's photos and a hidden photo are 404; unhiding brings them back.
async fn moderation_hides_photos(backend: Backend) {
    let (app, _media) = photo_app(&backend).await;
    let (_, admin) = app
        .user_with_token("admin@example.org", Role::Admin, &[])
        .await;
    let report_key = uploaded(&app, jpeg(50, 40, 1)).await;
    let (_, created) = report_with(&app, &[&report_key]).await;
    let id = created["id"].as_i64().unwrap();

    let after_key = uploaded(&app, jpeg(50, 40, 2)).await;
    let change = json!({"status": "acknowledged", "photos": [after_key]});
    let (status, event) = app
        .post_as(&format!("/api/v1/issues/{id}/events"), &admin, &change)
        .await;
    assert_eq!(status, 201, "{event}");
    assert_eq!(event["photos"][0]["kind"], "update", "{event}");
    let (_, history) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    let with_photos: Vec<&Value> = history["events"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e.get("photos").is_some())
        .collect();
    assert_eq!(with_photos.len(), 1, "{history}");
    let (_, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    let photos = issue["properties"]["photos"].as_array().unwrap().clone();
    let kinds: Vec<&str> = photos.iter().map(|p| p["kind"].as_str().unwrap()).collect();
    assert_eq!(kinds, ["report", "update"]);
    let urls: Vec<String> = photos
        .iter()
        .map(|p| p["url"].as_str().unwrap().to_owned())
        .collect();
    for url in &urls {
        assert_eq!(status_of(&app, url).await, 200, "{url}");
    }

    // A hidden issue takes its photos with it.
    let hide = json!({"action": "hide", "reason": "Faces of passers-by"});
    let unhide = json!({"action": "unhide", "reason": "Blurred"});
    let issue_moderation = format!("/api/v1/issues/{id}/moderation");
    assert_eq!(app.post_as(&issue_moderation, &admin, &hide).await.0, 200);
    for url in &urls {
        assert_eq!(status_of(&app, url).await, 404, "{url} of a hidden issue");
    }
    assert_eq!(app.post_as(&issue_moderation, &admin, &unhide).await.0, 200);
    assert_eq!(status_of(&app, &urls[0]).await, 200);

    // One photo hidden: 404 and off the issue; the other stays.
    let photo_id = photos[0]["id"].as_i64().unwrap();
    let photo_moderation = format!("/api/v1/photos/{photo_id}/moderation");
    let anonymous = app
        .client
        .post(app.url(&photo_moderation))
        .header("content-type", "application/json")
        .body(hide.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status().as_u16(), 401);
    let (status, answer) = app.post_as(&photo_moderation, &admin, &hide).await;
    assert_eq!((status, &answer["hidden"]), (200, &json!(true)), "{answer}");
    assert_eq!(status_of(&app, &urls[0]).await, 404);
    assert_eq!(
        status_of(&app, photos[0]["thumbnail_url"].as_str().unwrap()).await,
        404
    );
    assert_eq!(status_of(&app, &urls[1]).await, 200);
    let (_, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(issue["properties"]["photos"].as_array().unwrap().len(), 1);
    let (status, again) = app.post_as(&photo_moderation, &admin, &hide).await;
    assert_eq!(
        (status, again["error"]["code"].as_str()),
        (409, Some("already_hidden"))
    );
    assert_eq!(app.post_as(&photo_moderation, &admin, &unhide).await.0, 200);
    assert_eq!(status_of(&app, &urls[0]).await, 200);

    let audit = app
        .client
        .get(app.url("/api/v1/audit"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        audit.contains("photo.hidden") && audit.contains("photo.unhidden"),
        "{audit}"
    );
}

/// A comment carries photos into the history, attached in its transaction;
/// a hidden comment takes them out of every public output.
async fn comments_carry_photos(backend: Backend) {
    let (app, _media) = photo_app(&backend).await;
    let (_, admin) = app
        .user_with_token("admin@example.org", Role::Admin, &[])
        .await;
    let (_, created) = report_with(&app, &[]).await;
    let id = created["id"].as_i64().unwrap();
    let key = uploaded(&app, jpeg(60, 30, 3)).await;
    let comment = |photos: Value| {
        let app = &app;
        async move {
            let response = app
                .client
                .post(app.url(&format!("/api/v1/issues/{id}/comments")))
                .header("content-type", "application/json")
                .body(json!({"body": "Still there today", "photos": photos}).to_string())
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.json::<Value>().await.unwrap())
        }
    };
    let (status, refused) = comment(json!([key, "0".repeat(32)])).await;
    assert_eq!(
        (status, refused["error"]["code"].as_str()),
        (422, Some("unknown_photo"))
    );
    let (status, posted) = comment(json!([key])).await;
    assert_eq!(status, 201, "{posted}");
    let (_, history) = app.get(&format!("/api/v1/issues/{id}/events")).await;
    let entries = history["events"].as_array().unwrap();
    assert_eq!(
        entries.len(),
        1,
        "the refused comment was written: {history}"
    );
    let photo = &entries[0]["photos"][0];
    assert_eq!(photo["kind"], "comment", "{history}");
    let url = photo["url"].as_str().unwrap().to_owned();
    assert_eq!(status_of(&app, &url).await, 200);

    let hide = json!({"action": "hide", "reason": "Someone's face"});
    let path = format!("/api/v1/comments/{}/moderation", posted["id"]);
    assert_eq!(app.post_as(&path, &admin, &hide).await.0, 200);
    assert_eq!(status_of(&app, &url).await, 404);
    let (_, issue) = app.get(&format!("/api/v1/issues/{id}")).await;
    assert_eq!(issue["properties"]["photos"], json!([]), "{issue}");
}

/// Sets a file's modification time `age` into the past.
fn age(path: &Path, age: Duration) {
    let file = std::fs::File::options().write(true).open(path).unwrap();
    file.set_modified(SystemTime::now() - age).unwrap();
}

/// After a crash: a half-written temporary file and a file no row names
/// are gone once the real server has started; a young file (another
/// server's upload in flight) stays, and so do the files rows name.
async fn the_sweep_at_start_removes_what_a_crash_left(backend: Backend) {
    let database = qala_tests::TestDatabase::new(&backend);
    let dir = tempfile::tempdir().unwrap();
    let media = dir.path().join("media");
    std::fs::create_dir_all(&media).unwrap();
    let media_arg = media.to_str().unwrap().to_owned();
    // A first run leaves a photo that a report names.
    let server = ServerProcess::start_with(&database.url, &["--media-dir", &media_arg]).await;
    let client = reqwest::Client::new();
    let answer: Value = client
        .post(format!("{}/api/v1/photos", server.base))
        .header("content-type", "image/jpeg")
        .body(jpeg(64, 64, 9))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let mut body = report_body(76.9412, 43.2611, "pothole", "Kept photo");
    body["properties"]["photos"] = json!([answer["id"]]);
    let (status, _) = qala_tests::post_report(&client, &server.base, &body).await;
    assert_eq!(status, 201);
    server.kill().await;
    let kept: Vec<_> = std::fs::read_dir(&media)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    assert_eq!(kept.len(), 2);

    let half = media.join(".tmp-0123456789abcdef-x.jpg");
    let orphan = media.join(format!("{}.jpg", "ab".repeat(32)));
    let young = media.join(format!("{}-320.jpg", "cd".repeat(32)));
    for path in [&half, &orphan, &young] {
        std::fs::write(path, b"left by a crash").unwrap();
    }
    age(&half, Duration::from_secs(3600));
    age(&orphan, Duration::from_secs(3600));
    for path in &kept {
        age(path, Duration::from_secs(3600));
    }

    let server = ServerProcess::start_with(&database.url, &["--media-dir", &media_arg]).await;
    let gone = within(Duration::from_secs(10), async || {
        !half.exists() && !orphan.exists()
    })
    .await;
    assert!(gone.is_some(), "the sweep left a crash's files");
    assert!(young.exists(), "a young file was swept");
    for path in &kept {
        assert!(path.exists(), "{} was swept", path.display());
    }

    // The real process refuses a decompression bomb without allocating
    // it: its peak memory stays far below the 14 GB the PNG declares.
    let bomb = client
        .post(format!("{}/api/v1/photos", server.base))
        .header("content-type", "image/png")
        .body(png_bomb())
        .send()
        .await
        .unwrap();
    assert_eq!(bomb.status().as_u16(), 422);
    let status = std::fs::read_to_string(format!("/proc/{}/status", server.pid())).unwrap();
    let peak_kb: u64 = status
        .lines()
        .find_map(|line| line.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    assert!(peak_kb < 300 * 1024, "peak memory {peak_kb} kB");
}

/// Without `--media-dir`, a SQLite server keeps photos in `media` beside
/// its database file.
#[tokio::test]
async fn the_default_media_dir_is_beside_the_sqlite_file() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("qala.db").display());
    let server = ServerProcess::start(&url).await;
    let status = reqwest::Client::new()
        .post(format!("{}/api/v1/photos", server.base))
        .body(jpeg(16, 16, 5))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status.as_u16(), 201);
    assert_eq!(
        std::fs::read_dir(dir.path().join("media")).unwrap().count(),
        2
    );
}

/// Pending photos never attached are deleted after a day, files with them.
async fn unattached_photos_are_swept_after_a_day(backend: Backend) {
    let (app, media) = photo_app(&backend).await;
    uploaded(&app, jpeg(20, 20, 7)).await;
    let swept = app.state.sweep_media().await.unwrap();
    assert_eq!(
        (swept.stale_rows, swept.files),
        (0, 0),
        "a fresh upload was swept"
    );
    age_pending_rows(&app.database.url).await;
    for entry in std::fs::read_dir(media.path()).unwrap() {
        age(&entry.unwrap().path(), Duration::from_secs(3600));
    }
    let swept = app.state.sweep_media().await.unwrap();
    assert_eq!((swept.stale_rows, swept.files), (1, 2));
    assert_eq!(std::fs::read_dir(media.path()).unwrap().count(), 0);
}

/// Moves every pending photo's upload time two days back.
async fn age_pending_rows(url: &str) {
    const SQL: &str =
        "UPDATE photos SET created_at = '2000-01-01T00:00:00.000Z' WHERE issue_id IS NULL";
    if url.starts_with("sqlite:") {
        let pool = sqlx::SqlitePool::connect(url).await.unwrap();
        sqlx::query(SQL).execute(&pool).await.unwrap();
    } else {
        let pool = sqlx::PgPool::connect(url).await.unwrap();
        sqlx::query(SQL).execute(&pool).await.unwrap();
    }
}

/// Uploads spend an allowance of their own: three per report allowed.
async fn uploads_are_rate_limited(backend: Backend) {
    let media = tempfile::tempdir().unwrap();
    let mut config = qala_tests::unlimited_config();
    config.rate_limits.reports_per_address = 1;
    config.media_dir = Some(media.path().to_owned());
    let app = TestApp::with_config(&backend, config).await;
    for seed in 0..3 {
        let (status, body) = upload(&app, jpeg(8, 8, seed), "image/jpeg").await;
        assert_eq!(status, 201, "{body}");
    }
    let (status, body) = upload(&app, jpeg(8, 8, 3), "image/jpeg").await;
    assert_eq!(
        (status, body["error"]["code"].as_str()),
        (429, Some("rate_limited"))
    );
}

test_on_every_backend!(
    sanitised_photos_are_served_with_their_report,
    uploads_are_sniffed_and_bounded,
    a_report_takes_at_most_three_pending_photos,
    moderation_hides_photos,
    comments_carry_photos,
    the_sweep_at_start_removes_what_a_crash_left,
    unattached_photos_are_swept_after_a_day,
    uploads_are_rate_limited,
);
