//! [`MailStore`] on PostgreSQL, and the helpers that write mail rows inside
//! other writes' transactions (a report, a change, a comment).

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::{PgConnection, PgRow};

use super::wire::millis;
use super::{PostgresStore, fetch_issue};
use crate::account::TokenHash;
use crate::error::Result;
use crate::issue::Issue;
use crate::mail::{
    FollowTarget, MAX_CONFIRMATIONS_PER_DAY, MailKind, NewFollow, OutboxMail, ReportFollowUp,
};
use crate::store::mail::{
    ChangedBy, MAIL_COLUMNS, MailStore, Queued, confirm_data, confirmation_data, decode_mail,
    error_text, new_issue_data, new_token, prepare,
};
use crate::store::workflow::found;
use crate::workflow::{Amendment, IssueEvent};

fn decode(row: &PgRow) -> Result<OutboxMail> {
    decode_mail(
        row.try_get("id")?,
        row.try_get("message_key")?,
        row.try_get("recipient")?,
        row.try_get("lang")?,
        row.try_get("kind")?,
        row.try_get("data")?,
        i64::from(row.try_get::<i32, _>("attempts")?),
    )
}

/// Writes one mail row in the caller's transaction.
async fn queue(conn: &mut PgConnection, mail: &Queued, now: DateTime<Utc>) -> Result<()> {
    let prepared = prepare(mail)?;
    sqlx::query(
        "INSERT INTO mail_outbox (message_key, follow_id, recipient, lang, kind, data, unsubscribe_hash, created_at, next_attempt_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&prepared.message_key)
    .bind(mail.follow_id)
    .bind(&mail.recipient)
    .bind(mail.lang.as_str())
    .bind(mail.kind.as_str())
    .bind(&prepared.data)
    .bind(&prepared.unsubscribe_hash)
    .bind(millis(now))
    .bind(millis(now))
    .execute(&mut *conn)
    .await?;
    Ok(())
}

/// Queues `kind` with `data` to every confirmed, subscribed follow of
/// `column = id` (`issue_id` or `district_id`), in the caller's transaction.
async fn notify(
    conn: &mut PgConnection,
    column: &str,
    id: i64,
    kind: MailKind,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    // One mail per address, whatever number of follows it holds.
    let sql = format!(
        "SELECT id, email, lang FROM (
             SELECT DISTINCT ON (email) id, email, lang FROM mail_follows
             WHERE {column} = $1 AND confirmed_at IS NOT NULL AND unsubscribed_at IS NULL
             ORDER BY email, id) AS first ORDER BY id"
    );
    let rows = sqlx::query(&sql).bind(id).fetch_all(&mut *conn).await?;
    for row in rows {
        let lang: String = row.try_get("lang")?;
        let mail = Queued {
            follow_id: row.try_get("id")?,
            recipient: row.try_get("email")?,
            lang: crate::mail::Lang::parse(&lang, "lang")?,
            kind,
            data: data.clone(),
        };
        queue(conn, &mail, now).await?;
    }
    Ok(())
}

/// Queues `kind` to everyone who follows the issue by email (its reporter
/// too), in the caller's transaction: for status changes and notes, and for
/// the comments feature to call in its own write.
pub(crate) async fn notify_issue_followers(
    conn: &mut PgConnection,
    issue_id: i64,
    kind: MailKind,
    data: &serde_json::Value,
    now: DateTime<Utc>,
) -> Result<()> {
    notify(conn, "issue_id", issue_id, kind, data, now).await
}

/// What a new report writes besides the issue, in its transaction (its
/// savepoint, in a group commit): the private link's token; with an email,
/// the reporter's follow and the confirmation mail; the mails to the
/// followers of its district.
pub(in crate::store) async fn report_written(
    conn: &mut PgConnection,
    issue: &Issue,
    follow_up: Option<&ReportFollowUp>,
    now: DateTime<Utc>,
) -> Result<()> {
    if let Some(follow_up) = follow_up {
        insert_token(conn, issue.id, &follow_up.token.hash(), now).await?;
        if let Some(email) = &issue.reporter_email {
            let follow_id: i64 = sqlx::query_scalar(
                "INSERT INTO mail_follows (email, lang, issue_id, reporter, created_at, confirmed_at)
                 VALUES ($1, $2, $3, true, $4, $5) RETURNING id",
            )
            .bind(email)
            .bind(follow_up.lang.as_str())
            .bind(issue.id)
            .bind(millis(now))
            .bind(millis(now))
            .fetch_one(&mut *conn)
            .await?;
            let mail = Queued {
                follow_id,
                recipient: email.clone(),
                lang: follow_up.lang,
                kind: MailKind::ReportConfirmation,
                data: confirmation_data(issue, &follow_up.token),
            };
            queue(conn, &mail, now).await?;
        }
    }
    if let Some(district) = issue.district_id {
        let data = new_issue_data(issue);
        notify(
            conn,
            "district_id",
            district,
            MailKind::NewIssue,
            &data,
            now,
        )
        .await?;
    }
    Ok(())
}

/// A private-link token, in the caller's transaction.
pub(in crate::store) async fn insert_token(
    conn: &mut PgConnection,
    issue_id: i64,
    token: &TokenHash,
    now: DateTime<Utc>,
) -> Result<()> {
    sqlx::query("INSERT INTO issue_tokens (token_hash, issue_id, created_at) VALUES ($1, $2, $3)")
        .bind(token.as_str())
        .bind(issue_id)
        .bind(millis(now))
        .execute(&mut *conn)
        .await?;
    Ok(())
}

#[async_trait]
impl MailStore for PostgresStore {
    async fn follow(&self, follow: &NewFollow, now: DateTime<Utc>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        // One request per address at a time, across servers, so that the
        // daily cap and the "already follows" check see each other's rows.
        sqlx::query("SELECT pg_advisory_xact_lock(hashtextextended($1, 17))")
            .bind(&follow.email)
            .execute(&mut *tx)
            .await?;
        let (column, id) = match follow.target {
            FollowTarget::Issue(id) => {
                found(fetch_issue(&mut tx, id).await?, id)?;
                ("issue_id", id)
            }
            FollowTarget::District(id) => ("district_id", id),
        };
        let sql = format!(
            "SELECT 1 FROM mail_follows WHERE email = $1 AND {column} = $2
             AND confirmed_at IS NOT NULL AND unsubscribed_at IS NULL"
        );
        let following = sqlx::query(&sql)
            .bind(&follow.email)
            .bind(id)
            .fetch_optional(&mut *tx)
            .await?
            .is_some();
        let day_ago = millis(now - chrono::Duration::days(1));
        let asked: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM mail_outbox WHERE recipient = $1 AND kind = 'confirm_subscription' AND created_at > $2",
        )
        .bind(&follow.email)
        .bind(day_ago)
        .fetch_one(&mut *tx)
        .await?;
        if following || asked >= MAX_CONFIRMATIONS_PER_DAY {
            return Ok(());
        }
        let token = new_token()?;
        let sql = format!(
            "INSERT INTO mail_follows (email, lang, {column}, confirm_hash, created_at) VALUES ($1, $2, $3, $4, $5) RETURNING id"
        );
        let follow_id: i64 = sqlx::query_scalar(&sql)
            .bind(&follow.email)
            .bind(follow.lang.as_str())
            .bind(id)
            .bind(token.hash().as_str())
            .bind(millis(now))
            .fetch_one(&mut *tx)
            .await?;
        let mail = Queued {
            follow_id,
            recipient: follow.email.clone(),
            lang: follow.lang,
            kind: MailKind::ConfirmSubscription,
            data: confirm_data(follow.target, &token),
        };
        queue(&mut tx, &mail, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn confirm_follow(&self, token: &TokenHash, now: DateTime<Utc>) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE mail_follows SET confirmed_at = coalesce(confirmed_at, $1)
             WHERE confirm_hash = $2 AND unsubscribed_at IS NULL",
        )
        .bind(millis(now))
        .bind(token.as_str())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    async fn unsubscribe(&self, token: &TokenHash, now: DateTime<Utc>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let follow: Option<i64> =
            sqlx::query_scalar("SELECT follow_id FROM mail_outbox WHERE unsubscribe_hash = $1")
                .bind(token.as_str())
                .fetch_optional(&mut *tx)
                .await?;
        let Some(follow) = follow else {
            return Ok(false);
        };
        sqlx::query(
            "UPDATE mail_follows SET unsubscribed_at = coalesce(unsubscribed_at, $1) WHERE id = $2",
        )
        .bind(millis(now))
        .bind(follow)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "UPDATE mail_outbox SET cancelled_at = $1, data = NULL
             WHERE follow_id = $2 AND sent_at IS NULL AND cancelled_at IS NULL",
        )
        .bind(millis(now))
        .bind(follow)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn issue_token_matches(&self, issue_id: i64, token: &TokenHash) -> Result<bool> {
        let stored: Option<String> = sqlx::query_scalar(
            "SELECT token_hash FROM issue_tokens WHERE token_hash = $1 AND issue_id = $2",
        )
        .bind(token.as_str())
        .bind(issue_id)
        .fetch_optional(&self.pool)
        .await?;
        Ok(stored.is_some_and(|s| token.matches(&s)))
    }

    async fn add_issue_token(
        &self,
        issue_id: i64,
        token: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<()> {
        let mut conn = self.pool.acquire().await?;
        insert_token(&mut conn, issue_id, token, now).await
    }

    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: i64,
    ) -> Result<Vec<OutboxMail>> {
        let sql = format!(
            "UPDATE mail_outbox SET claimed_until = $1, attempts = attempts + 1
             WHERE id IN (SELECT id FROM mail_outbox
                          WHERE sent_at IS NULL AND cancelled_at IS NULL AND next_attempt_at <= $2
                            AND (claimed_until IS NULL OR claimed_until <= $3)
                          ORDER BY id LIMIT $4 FOR UPDATE SKIP LOCKED)
             RETURNING {MAIL_COLUMNS}"
        );
        let now = millis(now);
        let rows = sqlx::query(&sql)
            .bind(millis(lease_until))
            .bind(now)
            .bind(now)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        let mut mails = rows.iter().map(decode).collect::<Result<Vec<_>>>()?;
        mails.sort_by_key(|m| m.id);
        Ok(mails)
    }

    async fn mail_sent(&self, id: i64, now: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE mail_outbox SET sent_at = $1, data = NULL, claimed_until = NULL, last_error = NULL WHERE id = $2",
        )
        .bind(millis(now))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn mail_failed(&self, id: i64, error: &str, retry_at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE mail_outbox SET next_attempt_at = $1, claimed_until = NULL, last_error = $2 WHERE id = $3",
        )
        .bind(millis(retry_at))
        .bind(error_text(error))
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn pending_mail(&self, after_id: i64, limit: i64) -> Result<Vec<OutboxMail>> {
        let sql = format!(
            "SELECT {MAIL_COLUMNS} FROM mail_outbox
             WHERE id > $1 AND sent_at IS NULL AND cancelled_at IS NULL ORDER BY id LIMIT $2"
        );
        let rows = sqlx::query(&sql)
            .bind(after_id)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(decode).collect()
    }

    async fn change_as_reporter(
        &self,
        issue_id: i64,
        amendment: &Amendment,
        now: DateTime<Utc>,
    ) -> Result<(Issue, IssueEvent)> {
        super::workflow::change(self, issue_id, amendment, ChangedBy::Reporter, now).await
    }
}
