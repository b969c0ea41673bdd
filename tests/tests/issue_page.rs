//! The public HTML page of an issue (`/issues/{id}`), on both stores:
//! Open Graph tags with absolute URLs, user text escaped, the language
//! from `?lang=` and `Accept-Language`, the public history without
//! internal notes or contacts, and a 404 page for hidden and unknown issues.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use qala_geodata::account::Role;
use qala_tests::{Backend, TestApp, test_on_every_backend};
use serde_json::json;

/// GET a page: status, headers and body text.
async fn page(
    app: &TestApp,
    path: &str,
    accept_language: Option<&str>,
) -> (u16, reqwest::header::HeaderMap, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(lang) = accept_language {
        request = request.header("accept-language", lang);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.text().await.unwrap())
}

async fn the_page_shows_public_text_and_history_only(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (id, photo) = qala_tests::photos::report_with_photo(&app.client, &app.base, 3).await;
    // A second report with markup, a contact and a comment.
    let mut body = qala_tests::report_body(
        76.944,
        43.262,
        "pothole",
        "Hole <script>alert('x')</script> & \"deep\"",
    );
    body["properties"]["reporter_email"] = json!("reporter@example.kz");
    body["properties"]["address"] = json!("Abay Ave 10 <i>rear</i>");
    let (status, report) = app.report(&body).await;
    assert_eq!(status, 201, "{report}");
    let tricky = report["id"].as_i64().unwrap();
    let staff = app
        .user_with_token("roads@city.kz", Role::Staff, &["roads"])
        .await
        .1;
    let (status, event) = app
        .post_as(
            &format!("/api/v1/issues/{tricky}/events"),
            &staff,
            &json!({"status": "acknowledged", "note": "Crew booked for Monday",
                   "internal_note": "ticket R-17, call the contractor"}),
        )
        .await;
    assert_eq!(status, 201, "{event}");
    let response = app
        .client
        .post(app.url(&format!("/api/v1/issues/{tricky}/comments")))
        .header("content-type", "application/json")
        .body(json!({"body": "Still there <b>today</b>", "author_name": "Aigerim"}).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 201);

    let (status, headers, html) = page(&app, &format!("/issues/{tricky}"), Some("en")).await;
    assert_eq!(status, 200, "{html}");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    assert!(
        html.starts_with("<!DOCTYPE html><html lang=\"en\">"),
        "{html}"
    );
    let url = format!("{}/issues/{tricky}", app.base);
    assert!(html.contains(&format!(r#"<link rel="canonical" href="{url}">"#)));
    assert!(html.contains(&format!(r#"<meta property="og:url" content="{url}">"#)));
    assert!(html.contains(r#"<meta property="og:type" content="article">"#));
    assert!(html.contains(r#"<meta property="og:locale" content="en_US">"#));
    assert!(html.contains(r#"<meta property="og:title" content="Issue #"#));
    assert!(html.contains(r#"<meta name="twitter:card""#));
    // Escaped, never markup.
    assert!(!html.contains("<script>alert"), "{html}");
    assert!(html.contains("Hole &lt;script&gt;alert('x')&lt;/script&gt; &amp; &quot;deep&quot;"));
    assert!(html.contains("Still there &lt;b&gt;today&lt;/b&gt;"));
    assert!(
        html.contains("<dt>Address</dt><dd>Abay Ave 10 &lt;i&gt;rear&lt;/i&gt;</dd>"),
        "{html}"
    );
    assert!(html.contains("<dt>Department</dt>"), "{html}");
    // Status, history with the public note and the comment.
    assert!(html.contains("Acknowledged"), "{html}");
    assert!(html.contains("Crew booked for Monday"));
    assert!(html.contains("Aigerim"));
    assert!(html.contains("Road damage / pothole"), "{html}");
    assert_eq!(html.matches("<h1").count(), 1);
    assert!(html.contains(&format!(r##"href="/#issue={tricky}""##)));
    assert!(html.contains("<svg"));
    // Nothing private.
    assert!(!html.contains("ticket R-17"), "internal note leaked");
    assert!(!html.contains("contractor"), "internal note leaked");
    assert!(!html.contains("reporter@example.kz"), "email leaked");
    assert!(!html.contains("roads@city.kz"), "staff email leaked");

    // The photo: thumbnail on the page, absolute og:image.
    let (_, _, with_photo) = page(&app, &format!("/issues/{id}"), None).await;
    let full = photo["url"].as_str().unwrap();
    assert!(with_photo.contains(&format!(
        r#"<meta property="og:image" content="{}{full}">"#,
        app.base
    )));
    assert!(with_photo.contains(photo["thumbnail_url"].as_str().unwrap()));
    assert!(
        with_photo.contains("alt=\"Фотография обращения 1\""),
        "{with_photo}"
    );

    // ETag: the same page again is 304.
    let etag = headers["etag"].to_str().unwrap().to_owned();
    let response = app
        .client
        .get(app.url(&format!("/issues/{tricky}")))
        .header("accept-language", "en")
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 304);
}

async fn the_language_comes_from_the_query_then_the_browser(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (status, report) = app
        .report(&qala_tests::report_body(76.929, 43.257, "pothole", "Яма"))
        .await;
    assert_eq!(status, 201, "{report}");
    let id = report["id"].as_i64().unwrap();
    let path = format!("/issues/{id}");
    let (_, _, kk) = page(&app, &path, Some("kk-KZ,ru;q=0.5")).await;
    assert!(kk.contains("<html lang=\"kk\">"));
    assert!(kk.contains("Ашық"), "status in Kazakh: {kk}");
    assert!(kk.contains("Алмалы"), "district in Kazakh: {kk}");
    assert!(kk.contains(r#"content="kk_KZ""#));
    let (_, _, en) = page(&app, &format!("{path}?lang=en"), Some("kk")).await;
    assert!(en.contains("<html lang=\"en\">"));
    assert!(en.contains(">Open<") && en.contains("Almaly"), "{en}");
    let (_, _, ru) = page(&app, &path, None).await;
    assert!(ru.contains("<html lang=\"ru\">") && ru.contains("Открыто"));
    // Dates as each language writes them, with the month's name.
    let reported = |html: &str| {
        let from = html
            .find("<time")
            .and_then(|i| html[i..].find('>').map(|j| i + j + 1));
        from.and_then(|i| html[i..].find("</time>").map(|j| html[i..i + j].to_owned()))
    };
    let (kk_date, ru_date, en_date) = (reported(&kk), reported(&ru), reported(&en));
    assert!(
        kk_date.as_deref().is_some_and(|d| d.contains(" ж. ")),
        "{kk_date:?}"
    );
    assert!(
        ru_date.as_deref().is_some_and(|d| d.contains(" г., ")),
        "{ru_date:?}"
    );
    let en_date = en_date.unwrap_or_default();
    assert!(
        en_date
            .split(' ')
            .nth(1)
            .is_some_and(|m| m.chars().all(char::is_alphabetic)),
        "{en_date}"
    );
    // A tracking parameter or an unknown language does not break a shared link.
    let (status, _, tracked) =
        page(&app, &format!("{path}?utm_source=x&lang=de"), Some("en")).await;
    assert_eq!(status, 200);
    assert!(tracked.contains("<html lang=\"en\">"));
}

async fn hidden_and_unknown_issues_are_a_404_page(backend: Backend) {
    let app = TestApp::demo(&backend, 0).await;
    let (_, report) = app
        .report(&qala_tests::report_body(
            76.944,
            43.262,
            "pothole",
            "Phone +7 701 000",
        ))
        .await;
    let id = report["id"].as_i64().unwrap();
    let moderator = app
        .user_with_token("admin@city.kz", Role::Admin, &[])
        .await
        .1;
    let (status, body) = app
        .post_as(
            &format!("/api/v1/issues/{id}/moderation"),
            &moderator,
            &json!({"action": "hide", "reason": "Personal data"}),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    for path in [
        format!("/issues/{id}"),
        "/issues/999999".to_owned(),
        format!("/issues/0{id}"),
        "/issues/abc".to_owned(),
    ] {
        let (status, headers, html) = page(&app, &path, Some("en")).await;
        assert_eq!(status, 404, "{path}");
        assert!(
            headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(html.contains("Issue not found"), "{path}: {html}");
        assert!(!html.contains("+7 701"), "{path}");
    }
    // Even staff: the page is public; the staff view reads hidden issues.
    let response = app
        .client
        .get(app.url(&format!("/issues/{id}")))
        .bearer_auth(&moderator)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 404);
}

test_on_every_backend!(
    the_page_shows_public_text_and_history_only,
    the_language_comes_from_the_query_then_the_browser,
    hidden_and_unknown_issues_are_a_404_page,
);
