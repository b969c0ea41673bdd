//! Mail storage: the private links' tokens, email follows and the outbox.
//! A trait of its own beside the others ([`MailStore`]); the rows a report
//! or a change causes are written by `create_issue` and `change_status`
//! themselves, in their transactions, through each backend's helpers
//! (`sqlite_mail`, `postgres/mail`), which share what is built here.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::account::{Actor, TokenHash};
use crate::error::{Error, Result};
use crate::issue::Issue;
use crate::mail::{FollowTarget, Lang, MailKind, MailToken, NewFollow, OutboxMail, excerpt};
use crate::workflow::{Amendment, EventActor, IssueChange, IssueEvent};

/// Mail storage; every write commits before it returns.
#[async_trait]
pub trait MailStore: Send + Sync {
    /// An unconfirmed follow and the mail asking to confirm it, in one
    /// transaction; nothing when the address already follows the target
    /// (confirmed, not unsubscribed) or was sent
    /// [`crate::mail::MAX_CONFIRMATIONS_PER_DAY`] confirmations in the last
    /// day (the caller answers alike either way). [`Error::NotFound`] for an
    /// unknown issue; a district is the caller's to check.
    async fn follow(&self, follow: &NewFollow, now: DateTime<Utc>) -> Result<()>;

    /// Confirms the follow whose confirmation token hashes to `token`;
    /// false if none does (or it was unsubscribed).
    async fn confirm_follow(&self, token: &TokenHash, now: DateTime<Utc>) -> Result<bool>;

    /// Ends the follow behind the mail whose unsubscribe token hashes to
    /// `token`, and cancels its mails not yet sent; false if no mail has it.
    async fn unsubscribe(&self, token: &TokenHash, now: DateTime<Utc>) -> Result<bool>;

    /// Whether `token` is one of the issue's private-link tokens.
    async fn issue_token_matches(&self, issue_id: i64, token: &TokenHash) -> Result<bool>;

    /// Adds a private-link token to an issue (a replayed report gets one of
    /// its own: the first answer, with its link, may have been lost).
    async fn add_issue_token(
        &self,
        issue_id: i64,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<()>;

    /// Claims up to `limit` mails due at `now` that no other sender holds,
    /// until `lease_until`, counting the attempt; oldest first. On
    /// PostgreSQL rows another server is claiming are skipped (`FOR UPDATE
    /// SKIP LOCKED`).
    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMail>>;

    /// The mail was accepted by the mail server: never sent again; its
    /// data (and so the clear tokens in it) is dropped.
    async fn mail_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()>;

    /// The attempt failed: the lease ends and the mail is due again at `retry_at`.
    async fn mail_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()>;

    /// Mails not yet sent with ids above `after_id`, oldest first, read
    /// only (a server without SMTP shows them in its log).
    async fn pending_mail(&self, after_id: i64, limit: i64) -> Result<Vec<OutboxMail>>;

    /// The reporter's change through the private link (the caller checked
    /// the token): the same transaction as
    /// [`crate::store::WorkflowStore::change_status`], recorded as done by
    /// the reporter (role `resident`, no user) with no user in the audit.
    async fn change_as_reporter(
        &self,
        issue_id: i64,
        amendment: &Amendment,
        now: DateTime<Utc>,
    ) -> Result<(Issue, IssueEvent)>;
}

/// Who makes a change in a store's `change_status` transaction.
#[derive(Debug, Clone, Copy)]
pub(super) enum ChangedBy<'a> {
    /// A signed-in user.
    User(&'a Actor),
    /// The reporter, through the private link.
    Reporter,
}

impl ChangedBy<'_> {
    /// How the event records them.
    pub fn event_actor(self, assigned: Option<&str>) -> EventActor {
        match self {
            Self::User(actor) => EventActor::of(actor, assigned),
            Self::Reporter => EventActor::reporter(),
        }
    }

    /// The audit log's actor.
    pub fn user_id(self) -> Option<i64> {
        match self {
            Self::User(actor) => Some(actor.user_id),
            Self::Reporter => None,
        }
    }
}

/// A mail to queue, before its row's random parts are drawn.
pub(super) struct Queued {
    pub follow_id: i64,
    pub recipient: String,
    pub lang: Lang,
    pub kind: MailKind,
    pub data: Value,
}

/// A mail row ready to insert: its message key and unsubscribe token drawn,
/// the clear token put in its data.
pub(super) struct Prepared {
    pub message_key: String,
    pub unsubscribe_hash: String,
    pub data: String,
}

fn random_error(e: getrandom::Error) -> Error {
    Error::Corrupt(format!("the OS random source failed: {e}"))
}

/// Draws a mail's message key and unsubscribe token.
pub(super) fn prepare(mail: &Queued) -> Result<Prepared> {
    let mut key = [0_u8; 16];
    getrandom::fill(&mut key).map_err(random_error)?;
    let unsubscribe = MailToken::generate().map_err(random_error)?;
    let mut data = mail.data.clone();
    data["unsubscribe"] = json!(unsubscribe.expose());
    Ok(Prepared {
        message_key: key.iter().map(|b| format!("{b:02x}")).collect(),
        unsubscribe_hash: unsubscribe.hash().as_str().to_owned(),
        data: data.to_string(),
    })
}

/// A fresh mail token, or the store's error.
pub(super) fn new_token() -> Result<MailToken> {
    MailToken::generate().map_err(random_error)
}

/// The confirmation to a reporter: their issue and its private link.
pub(super) fn confirmation_data(issue: &Issue, token: &MailToken) -> Value {
    json!({
        "issue_id": issue.id,
        "category": issue.category.code,
        "description": excerpt(&issue.description),
        "token": token.expose(),
    })
}

/// A status change or public note.
pub(super) fn update_data(before: &Issue, after: &Issue, change: &IssueChange) -> Value {
    json!({
        "issue_id": after.id,
        "category": after.category.code,
        "from_status": before.status.as_str(),
        "to_status": after.status.as_str(),
        "note": change.note(),
    })
}

/// Whether a change is news to followers: a new status or a public note
/// (a re-route or correction with only an internal note is not).
pub(super) fn tells_followers(before: &Issue, after: &Issue, change: &IssueChange) -> bool {
    before.status != after.status || change.note().is_some()
}

/// A new issue in a followed district.
pub(super) fn new_issue_data(issue: &Issue) -> Value {
    json!({
        "issue_id": issue.id,
        "category": issue.category.code,
        "description": excerpt(&issue.description),
        "district_id": issue.district_id,
    })
}

/// The mail asking to confirm a follow.
pub(super) fn confirm_data(target: FollowTarget, token: &MailToken) -> Value {
    let mut data = json!({"token": token.expose()});
    match target {
        FollowTarget::Issue(id) => data["issue_id"] = json!(id),
        FollowTarget::District(id) => data["district_id"] = json!(id),
    }
    data
}

/// The columns a claimed or pending mail is read with.
pub(super) const MAIL_COLUMNS: &str = "id, message_key, recipient, lang, kind, data, attempts";

/// A mail row's columns into an [`OutboxMail`].
pub(super) fn decode_mail(
    id: i64,
    message_key: String,
    recipient: String,
    lang: &str,
    kind: &str,
    data: Option<String>,
    attempts: i64,
) -> Result<OutboxMail> {
    let corrupt = |what: &str| Error::Corrupt(format!("mail {id}: {what}"));
    Ok(OutboxMail {
        id,
        message_key,
        recipient,
        lang: Lang::parse(lang, "lang").map_err(|_| corrupt("unknown language"))?,
        kind: MailKind::parse(kind).ok_or_else(|| corrupt("unknown kind"))?,
        data: match data {
            Some(text) => serde_json::from_str(&text).map_err(|e| corrupt(&e.to_string()))?,
            None => Value::Null,
        },
        attempts,
    })
}

/// A mail server's error as kept on the row (at most 500 characters).
pub(super) fn error_text(error: &str) -> String {
    error.chars().take(500).collect()
}
