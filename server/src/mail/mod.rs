//! Mail to residents: the settings of the sender (`--smtp-url`,
//! `--mail-from`), the templates (`templates`) and the sender task
//! (`sender`) that `qala serve` starts. The outbox rows themselves are
//! written by the store in the transaction of the change they tell of.

use std::time::Duration;

use chrono::Utc;
use lettre::message::Mailbox;
use qala_geodata::account::TokenHash;
use qala_geodata::mail::NewFollow;

pub mod sender;
pub mod templates;

pub use sender::spawn;

impl crate::state::AppState {
    /// Asks for email alerts about an issue or a district (checked by the
    /// caller): an unconfirmed follow and its confirmation mail, committed
    /// together; then the sender is woken.
    pub async fn follow_by_email(&self, follow: NewFollow) -> qala_geodata::Result<()> {
        self.store.follow(&follow, Utc::now()).await?;
        self.mail_wake.notify_one();
        Ok(())
    }

    /// Confirms the follow behind a confirmation link; false for an unknown link.
    pub async fn confirm_follow(&self, token: &TokenHash) -> qala_geodata::Result<bool> {
        self.store.confirm_follow(token, Utc::now()).await
    }

    /// Ends the follow behind an unsubscribe link and cancels its mails not
    /// yet sent; false for an unknown link.
    pub async fn unsubscribe(&self, token: &TokenHash) -> qala_geodata::Result<bool> {
        self.store.unsubscribe(token, Utc::now()).await
    }
}

/// How long a first failed attempt waits before the next one.
pub const DEFAULT_RETRY_FIRST: Duration = Duration::from_secs(60);
/// The longest wait between attempts (each failure doubles the wait up to it).
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(60 * 60);
/// How often the sender looks for due mail when nothing woke it (mails
/// written by other servers on the same database, retries coming due).
pub const DEFAULT_POLL: Duration = Duration::from_secs(5);

/// How long a claim holds a mail unless told otherwise: a sender that
/// died holding it is replaced after this.
pub const DEFAULT_LEASE: Duration = Duration::from_secs(2 * 60);

/// The sender's settings.
#[derive(Clone, PartialEq, Eq)]
pub struct MailSettings {
    /// The SMTP server (`smtp://host:port`, `smtps://…`, `?starttls=required`
    /// or `opportunistic`, optional `user:pass@`); `None`: mails stay in
    /// the outbox and are shown in the log.
    pub smtp_url: Option<String>,
    /// The From address.
    pub from: String,
    /// The wait after a first failed attempt.
    pub retry_first: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// How often the outbox is looked at without a wake-up.
    pub poll: Duration,
    /// How long a claimed mail is left alone by other senders; one SMTP
    /// conversation is given at most half of it.
    pub lease: Duration,
}

impl Default for MailSettings {
    fn default() -> Self {
        Self {
            smtp_url: None,
            from: "Qala <noreply@localhost>".to_owned(),
            retry_first: DEFAULT_RETRY_FIRST,
            retry_max: DEFAULT_RETRY_MAX,
            poll: DEFAULT_POLL,
            lease: DEFAULT_LEASE,
        }
    }
}

// By hand: the SMTP URL may hold a password.
impl std::fmt::Debug for MailSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailSettings")
            .field("smtp", &self.smtp_url.as_deref().map(redact_url))
            .field("from", &self.from)
            .field("retry_first", &self.retry_first)
            .field("retry_max", &self.retry_max)
            .field("poll", &self.poll)
            .field("lease", &self.lease)
            .finish()
    }
}

/// The SMTP URL without its user and password, for logs.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(u) => format!(
            "{}://{}:{}",
            u.scheme(),
            u.host_str().unwrap_or("?"),
            u.port()
                .map_or_else(|| "default".to_owned(), |p| p.to_string())
        ),
        Err(_) => "(unparsable)".to_owned(),
    }
}

/// `--smtp-url` in lettre's spelling: our `?starttls=required|opportunistic`
/// becomes its `?tls=…`. Only `smtp` and `smtps` are accepted, and only
/// the `starttls` (or `tls`) parameter.
pub fn lettre_url(url: &str) -> Result<String, String> {
    let mut parsed = url::Url::parse(url).map_err(|e| format!("--smtp-url: {e}"))?;
    if !matches!(parsed.scheme(), "smtp" | "smtps") {
        return Err("--smtp-url must start with smtp:// or smtps://".to_owned());
    }
    if parsed.host_str().is_none_or(str::is_empty) {
        return Err("--smtp-url needs a host".to_owned());
    }
    let mut tls = None;
    for (key, value) in parsed.query_pairs() {
        match (key.as_ref(), value.as_ref()) {
            ("starttls" | "tls", "required" | "opportunistic") if parsed.scheme() == "smtp" => {
                tls = Some(value.into_owned());
            }
            _ => {
                return Err(format!(
                    "--smtp-url: unknown parameter {key}={value} (starttls=required or opportunistic, with smtp://)"
                ));
            }
        }
    }
    parsed.set_query(None);
    if let Some(tls) = tls {
        parsed.query_pairs_mut().append_pair("tls", &tls);
    }
    Ok(parsed.to_string())
}

/// Checks `--mail-from`.
pub fn parse_from(from: &str) -> Result<Mailbox, String> {
    from.parse::<Mailbox>()
        .map_err(|e| format!("--mail-from {from:?} is not an address: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn starttls_is_lettres_tls_parameter_and_nothing_else_passes() {
        assert_eq!(
            lettre_url("smtp://mail.example:587?starttls=required").unwrap(),
            "smtp://mail.example:587?tls=required"
        );
        assert_eq!(
            lettre_url("smtps://u:p@mail.example").unwrap(),
            "smtps://u:p@mail.example"
        );
        assert!(lettre_url("http://mail.example").is_err());
        assert!(lettre_url("smtp://mail.example?starttls=maybe").is_err());
        assert!(lettre_url("smtps://mail.example?starttls=required").is_err());
    }

    #[test]
    fn passwords_stay_out_of_logs() {
        let settings = MailSettings {
            smtp_url: Some("smtp://user:secret@mail.example:25".to_owned()),
            ..MailSettings::default()
        };
        let shown = format!("{settings:?}");
        assert!(
            !shown.contains("secret") && !shown.contains("user"),
            "{shown}"
        );
        assert!(shown.contains("mail.example:25"));
    }
}
