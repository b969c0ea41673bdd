//! The account half of the store: users, their scopes, API tokens and the
//! audit log, in a trait of its own so that it grows apart from the issue and
//! layer storage of [`Store`](super::Store).
//!
//! Every privileged write appends its audit entry in the same transaction
//! (`append_audit` in each backend), so there is never a change without its
//! entry nor an entry for a change that rolled back.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::account::{
    Actor, ApiToken, AuditEntry, AuditFilter, NewAuditEntry, NewUser, Role, TokenHash, User,
};
use crate::error::{Result, ValidationError};

/// Users, tokens and the audit log. `by` on a write is the acting user (for
/// the audit log); `None` is the command line.
#[async_trait]
pub trait AccountStore: Send + Sync {
    /// Adds a user; an email already taken (in any case) is `email_taken`.
    async fn create_user(&self, user: &NewUser, by: Option<i64>) -> Result<User>;

    /// Every user, ascending by id.
    async fn users(&self) -> Result<Vec<User>>;

    /// The user with this email (compared case-insensitively).
    async fn user_by_email(&self, email: &str) -> Result<Option<User>>;

    /// Disables (or re-enables) a user: a disabled user's tokens stop working.
    async fn set_disabled(&self, user_id: i64, disabled: bool, by: Option<i64>) -> Result<User>;

    /// Changes a user's role. Scopes are dropped for an unscoped role; a
    /// scoped role needs scopes the user already has (`scope_required`).
    async fn set_role(&self, user_id: i64, role: Role, by: Option<i64>) -> Result<User>;

    /// Stores a token by its hash (the token itself is never stored).
    async fn create_token(
        &self,
        user_id: i64,
        token_hash: &TokenHash,
        label: &str,
        expires_at: Option<DateTime<Utc>>,
        by: Option<i64>,
    ) -> Result<ApiToken>;

    /// Revokes a token; revoking it again changes nothing and records nothing.
    async fn revoke_token(&self, token_id: i64, by: Option<i64>) -> Result<ApiToken>;

    /// A user's tokens, ascending by id.
    async fn tokens(&self, user_id: i64) -> Result<Vec<ApiToken>>;

    /// Who a presented token acts as at `now`: `None` if the hash is
    /// unknown, the token revoked or expired, or its user disabled.
    async fn actor_by_token_hash(
        &self,
        token_hash: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Actor>>;

    /// Audit entries matching `filter`, ascending by id.
    async fn audit(&self, filter: &AuditFilter) -> Result<Vec<AuditEntry>>;

    /// Stores a user's password as an argon2id PHC string (hashed by the
    /// caller, off the async runtime); audited as `user.password_set`
    /// without the hash.
    async fn set_password(&self, user_id: i64, phc: &str, by: Option<i64>) -> Result<()>;

    /// The user with this email and their password hash (`None` inside: no
    /// password set), for web login only.
    async fn login_candidate(&self, email: &str) -> Result<Option<(User, Option<String>)>>;

    /// Opens a session for `user_id` by the hashes of its id and CSRF token;
    /// audited as `session.login` (never the id or either hash).
    async fn create_session(
        &self,
        user_id: i64,
        session: &TokenHash,
        csrf: &TokenHash,
        expires_at: DateTime<Utc>,
    ) -> Result<()>;

    /// Who a presented session id acts as at `now`, with the session's CSRF
    /// token hash: `None` if unknown, revoked, expired or the user disabled.
    async fn actor_by_session(
        &self,
        session: &TokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<SessionActor>>;

    /// Revokes one session (logout), audited as `session.logout`; `false`
    /// if it was unknown or already revoked.
    async fn revoke_session(&self, session: &TokenHash) -> Result<bool>;

    /// Revokes every live session of a user; returns how many. Disabling a
    /// user does this in the same transaction.
    async fn revoke_sessions_of(&self, user_id: i64) -> Result<u64>;
}

/// A live session's actor and the hash of its CSRF token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionActor {
    /// Who the session acts as.
    pub actor: Actor,
    /// SHA-256 of the session's CSRF token.
    pub csrf_hash: TokenHash,
}

/// The entry for a session opened or closed: the user only.
pub(crate) fn session_entry(action: &'static str, user_id: i64) -> NewAuditEntry {
    NewAuditEntry {
        actor: Some(user_id),
        action,
        target: format!("user:{user_id}"),
        before: None,
        after: None,
    }
}

/// The error for an email that is already some user's.
pub(crate) fn email_taken(email: &str) -> crate::error::Error {
    ValidationError::new(
        "email_taken",
        "email",
        format!("a user with email {email} already exists"),
    )
    .into()
}

/// The error for a role that needs scopes the user lacks.
pub(crate) fn scope_required(role: Role) -> crate::error::Error {
    ValidationError::new(
        "scope_required",
        "role",
        format!("a {role} works within departments or districts, and this user has none"),
    )
    .into()
}

/// A user as the audit log records it (everything but secrets, which users
/// do not have: tokens live in their own table).
pub(crate) fn user_json(user: &User) -> Value {
    json!(user)
}

/// A token as the audit log records it: id, owner, label and times; never
/// the token or its hash.
pub(crate) fn token_json(token: &ApiToken) -> Value {
    json!(token)
}

/// The entry for a change to a user.
pub(crate) fn user_entry(
    action: &'static str,
    by: Option<i64>,
    before: Option<&User>,
    after: &User,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: by,
        action,
        target: format!("user:{}", after.id),
        before: before.map(user_json),
        after: Some(user_json(after)),
    }
}

/// The entry for a change to a token.
pub(crate) fn token_entry(
    action: &'static str,
    by: Option<i64>,
    before: Option<&ApiToken>,
    after: &ApiToken,
) -> NewAuditEntry {
    NewAuditEntry {
        actor: by,
        action,
        target: format!("token:{}", after.id),
        before: before.map(token_json),
        after: Some(token_json(after)),
    }
}

/// Whether a token row found by hash still acts at `now`.
pub(crate) fn token_is_live(
    expires_at: Option<DateTime<Utc>>,
    revoked_at: Option<DateTime<Utc>>,
    disabled: bool,
    now: DateTime<Utc>,
) -> bool {
    revoked_at.is_none() && !disabled && expires_at.is_none_or(|t| t > now)
}
