//! The sender task: delivers due outbox rows over SMTP, or, without
//! `--smtp-url`, shows them in the log and leaves them in the outbox.
//!
//! At least once: a row is claimed (a lease, so another server on the same
//! PostgreSQL leaves it alone), sent, and marked sent only after the SMTP
//! server accepted it. A crash between acceptance and the mark sends it
//! again once the lease ends, with the same `Message-ID`
//! (`<message_key@from-domain>`, fixed when the row was written), so the
//! copy can be recognised. A failure waits `retry_first`, doubling per
//! attempt up to `retry_max`; a permanent refusal (5xx) or a row that
//! cannot be rendered is parked after the attempt and never retried.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use lettre::message::Mailbox;
use lettre::message::header::{ContentType, HeaderName, HeaderValue};
use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
use qala_geodata::Store;
use qala_geodata::mail::{OutboxMail, mask_email};
use tokio::sync::Notify;

use super::MailSettings;
use super::templates::render;

/// Mails claimed at a time.
const BATCH: i64 = 16;
/// One SMTP conversation at most (less if the lease is shorter: a
/// conversation must end well within its claim).
const SMTP_TIMEOUT: Duration = Duration::from_secs(30);
/// A parked mail's next attempt: never, in practice.
const PARKED: chrono::Duration = chrono::Duration::days(3650);

/// Starts the sender on the current runtime; `wake` is notified after a
/// commit that wrote mail. `base` is the public URL the links start with.
pub fn spawn(
    store: Arc<dyn Store>,
    settings: MailSettings,
    base: String,
    wake: Arc<Notify>,
) -> anyhow::Result<tokio::task::JoinHandle<()>> {
    let from = super::parse_from(&settings.from).map_err(anyhow::Error::msg)?;
    let Some(url) = settings.smtp_url.as_deref() else {
        tracing::warn!(
            "no --smtp-url: mails are kept in the outbox and shown in the log, not sent"
        );
        return Ok(tokio::spawn(log_only(store, settings, base, wake)));
    };
    let lettre_url = super::lettre_url(url).map_err(anyhow::Error::msg)?;
    let timeout = SMTP_TIMEOUT.min(settings.lease / 2);
    let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(&lettre_url)?
        .timeout(Some(timeout))
        .build();
    tracing::info!(smtp = %super::redact_url(url), "mail sender started");
    let sender = Sender {
        store,
        settings,
        base,
        from,
        transport,
        timeout,
    };
    Ok(tokio::spawn(sender.run(wake)))
}

struct Sender {
    store: Arc<dyn Store>,
    settings: MailSettings,
    base: String,
    from: Mailbox,
    transport: AsyncSmtpTransport<Tokio1Executor>,
    timeout: Duration,
}

impl Sender {
    async fn run(self, wake: Arc<Notify>) {
        loop {
            let now = Utc::now();
            let lease_until =
                now + chrono::Duration::from_std(self.settings.lease).unwrap_or_default();
            let claimed = match self.store.claim_mail(now, lease_until, BATCH).await {
                Ok(mails) => mails,
                Err(e) => {
                    tracing::warn!(error = %e, "reading the mail outbox failed");
                    Vec::new()
                }
            };
            let full = i64::try_from(claimed.len()).unwrap_or(0) >= BATCH;
            for mail in claimed {
                self.deliver(mail).await;
            }
            if !full {
                tokio::select! {
                    () = wake.notified() => {}
                    () = tokio::time::sleep(self.settings.poll) => {}
                }
            }
        }
    }

    /// One attempt at one claimed mail, and its outcome recorded.
    async fn deliver(&self, mail: OutboxMail) {
        let to = mask_email(&mail.recipient);
        let outcome = match self.message(&mail) {
            Ok(message) => {
                match tokio::time::timeout(self.timeout, self.transport.send(message)).await {
                    Ok(Ok(_)) => Ok(()),
                    Ok(Err(e)) => Err((e.to_string(), e.is_permanent())),
                    Err(_) => Err(("the SMTP conversation timed out".to_owned(), false)),
                }
            }
            Err(e) => Err((e, true)),
        };
        let now = Utc::now();
        let recorded = match outcome {
            Ok(()) => {
                tracing::info!(mail = mail.id, kind = mail.kind.as_str(), %to, "mail sent");
                self.store.mail_sent(mail.id, now).await
            }
            Err((error, permanent)) => {
                // The server's words may quote the address.
                let error = error.replace(&mail.recipient, &to);
                let retry_at = if permanent {
                    now + PARKED
                } else {
                    now + backoff(&self.settings, mail.attempts)
                };
                tracing::warn!(mail = mail.id, attempts = mail.attempts, %to, permanent, %error, "mail not delivered");
                self.store.mail_failed(mail.id, &error, retry_at).await
            }
        };
        if let Err(e) = recorded {
            // The lease runs out and the mail is tried again: at least once.
            tracing::warn!(mail = mail.id, error = %e, "recording a mail's outcome failed");
        }
    }

    fn message(&self, mail: &OutboxMail) -> Result<Message, String> {
        let rendered =
            render(mail.kind, mail.lang, &mail.data, &self.base).map_err(|e| e.to_string())?;
        let to: Mailbox = mail
            .recipient
            .parse()
            .map_err(|e| format!("the recipient is not an address: {e}"))?;
        let domain = self.from.email.domain().to_owned();
        Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(rendered.subject)
            .message_id(Some(format!("<{}@{domain}>", mail.message_key)))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe"),
                format!("<{}>", rendered.unsubscribe_url),
            ))
            .raw_header(HeaderValue::new(
                HeaderName::new_from_ascii_str("List-Unsubscribe-Post"),
                "List-Unsubscribe=One-Click".to_owned(),
            ))
            .header(ContentType::TEXT_PLAIN)
            .body(rendered.body)
            .map_err(|e| e.to_string())
    }
}

/// The wait after attempt number `attempts` failed: `retry_first`, doubled
/// per attempt, at most `retry_max`.
fn backoff(settings: &MailSettings, attempts: i64) -> chrono::Duration {
    let doublings = u32::try_from(attempts.saturating_sub(1).clamp(0, 30)).unwrap_or(30);
    let wait = settings
        .retry_first
        .saturating_mul(2_u32.saturating_pow(doublings))
        .min(settings.retry_max);
    chrono::Duration::from_std(wait).unwrap_or(PARKED)
}

/// Without SMTP: every mail not yet sent is shown once in the log (the
/// address masked; the subject, which holds no token) and stays in the
/// outbox for a server with `--smtp-url`.
async fn log_only(store: Arc<dyn Store>, settings: MailSettings, base: String, wake: Arc<Notify>) {
    let mut after = 0;
    loop {
        match store.pending_mail(after, 100).await {
            Ok(mails) => {
                for mail in mails {
                    after = after.max(mail.id);
                    let subject = render(mail.kind, mail.lang, &mail.data, &base)
                        .map(|r| r.subject)
                        .unwrap_or_default();
                    tracing::info!(
                        mail = mail.id,
                        kind = mail.kind.as_str(),
                        lang = mail.lang.as_str(),
                        to = %mask_email(&mail.recipient),
                        %subject,
                        "mail kept in the outbox (no --smtp-url)"
                    );
                }
            }
            Err(e) => tracing::warn!(error = %e, "reading the mail outbox failed"),
        }
        tokio::select! {
            () = wake.notified() => {}
            () = tokio::time::sleep(settings.poll) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_wait_doubles_up_to_its_cap() {
        let settings = MailSettings::default();
        let minutes = |a| backoff(&settings, a).num_minutes();
        assert_eq!(minutes(1), 1);
        assert_eq!(minutes(2), 2);
        assert_eq!(minutes(4), 8);
        assert_eq!(minutes(7), 60);
        assert_eq!(minutes(1000), 60);
    }
}
