//! The mail routes in the access matrix (`tests/access.rs`): each needs a
//! credential of its own instead of a role (a follow's tokens, a resolved
//! issue's private link).

use qala_geodata::account::Role;

use crate::{TestApp, report_body};

/// The credentials the mail routes take instead of a role: a follow's
/// confirmation and unsubscribe tokens (read from its mail, which stays in
/// the outbox: no sender runs in these tests).
pub struct MailTokens {
    issue: i64,
    confirm: String,
    unsubscribe: String,
}

impl MailTokens {
    pub async fn of(app: &TestApp, issue: i64) -> Self {
        // Two follows: the one unsubscribed cannot be confirmed any more.
        let mut tokens = Vec::new();
        for email in ["confirms@example.com", "leaves@example.com"] {
            let body = serde_json::json!({"email": email, "issue_id": issue});
            let response = app
                .client
                .post(app.url("/api/v1/subscriptions"))
                .json(&body)
                .send()
                .await
                .unwrap();
            assert_eq!(response.status().as_u16(), 202);
            let mails = app.store.pending_mail(0, 100).await.unwrap();
            let mail = mails
                .iter()
                .rfind(|m| m.kind == qala_geodata::mail::MailKind::ConfirmSubscription)
                .unwrap();
            tokens.push(mail.data.clone());
        }
        Self {
            issue,
            confirm: tokens[0]["token"].as_str().unwrap().to_owned(),
            unsubscribe: tokens[1]["unsubscribe"].as_str().unwrap().to_owned(),
        }
    }
}

/// The mail routes' requests, each with what it needs (a follow's body, a
/// token in the path, a resolved issue and its private link); `None` for
/// other routes.
pub async fn mail_call(
    app: &TestApp,
    method: &reqwest::Method,
    pattern: &str,
    token: Option<&str>,
    callers: &[(Option<Role>, Option<String>)],
    mail: &MailTokens,
) -> Option<reqwest::Response> {
    let mut request = match pattern {
        "/api/v1/issues/{id}/reopen" => {
            let (status, report) = app
                .report(&report_body(
                    76.944,
                    43.262,
                    "pothole",
                    "A pothole to reopen",
                ))
                .await;
            assert_eq!(status, 201, "{report}");
            let id = report["id"].as_i64().unwrap();
            let link = report["private_link"].as_str().unwrap();
            let issue_token = link.rsplit("token=").next().unwrap().to_owned();
            let admin = callers
                .iter()
                .find(|(role, _)| *role == Some(Role::Admin))
                .and_then(|(_, t)| t.clone())
                .unwrap();
            for status in ["acknowledged", "in_progress", "resolved"] {
                let changed = app
                    .client
                    .post(app.url(&format!("/api/v1/issues/{id}/events")))
                    .bearer_auth(&admin)
                    .json(&serde_json::json!({"status": status}))
                    .send()
                    .await
                    .unwrap();
                let code = changed.status().as_u16();
                assert_eq!(code, 201, "{:?}", changed.text().await);
            }
            app.client
                .post(app.url(&format!("/api/v1/issues/{id}/reopen")))
                .header("x-issue-token", issue_token)
        }
        "/api/v1/subscriptions" => app
            .client
            .post(app.url(pattern))
            .json(&serde_json::json!({"email": "matrix@example.com", "issue_id": mail.issue})),
        "/unsubscribe/{token}" | "/subscriptions/confirm/{token}" => {
            let secret = if pattern.starts_with("/unsubscribe") {
                &mail.unsubscribe
            } else {
                &mail.confirm
            };
            app.client
                .request(method.clone(), app.url(&pattern.replace("{token}", secret)))
        }
        _ => return None,
    };
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    Some(request.send().await.unwrap())
}
