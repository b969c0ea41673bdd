//! Moderation's storage: hide, unhide and redact an issue, each in one
//! transaction with its audit entry (and, on PostgreSQL, its change-log row).

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::account::{Actor, NewAuditEntry};
use crate::error::{Error, Result, ValidationError};
use crate::issue::Issue;
use crate::moderation::{Moderation, ModerationAction};

/// Moderation storage; every method commits before it returns.
#[async_trait]
pub trait ModerationStore: Send + Sync {
    /// Applies `moderation` to an issue as `actor` in one transaction: the
    /// row is read locked, checked ([`check_moderation`]), updated, and the
    /// audit entry written. Returns the issue as stored. Nothing is written
    /// on error: [`Error::NotFound`] for an unknown issue, [`Error::Invalid`]
    /// for hiding a hidden issue or unhiding a visible one.
    async fn moderate_issue(
        &self,
        issue_id: i64,
        moderation: &Moderation,
        actor: &Actor,
        now: DateTime<Utc>,
    ) -> Result<Issue>;
}

/// Refuses a moderation that would change nothing (hide twice, unhide a
/// visible issue): a moderator who sees that error learns someone else
/// acted first.
pub(super) fn check_moderation(issue: &Issue, moderation: &Moderation) -> Result<()> {
    let refused = |code, message: &'static str| {
        Err(Error::Invalid(ValidationError::new(
            code, "action", message,
        )))
    };
    match moderation.action() {
        ModerationAction::Hide if issue.hidden_at.is_some() => {
            refused("already_hidden", "the issue is already hidden")
        }
        ModerationAction::Unhide if issue.hidden_at.is_none() => {
            refused("not_hidden", "the issue is not hidden")
        }
        _ => Ok(()),
    }
}

/// The audit entry of a moderation. For a redaction the original
/// description goes into `before` only: the audit log (admins only) is the
/// one place it survives.
pub(super) fn moderation_audit(
    issue: &Issue,
    moderation: &Moderation,
    actor: &Actor,
) -> NewAuditEntry {
    let (before, after) = match moderation.action() {
        ModerationAction::Hide | ModerationAction::Unhide => (
            serde_json::json!({ "hidden": issue.hidden_at.is_some() }),
            serde_json::json!({
                "hidden": issue.hidden_at.is_none(),
                "reason": moderation.reason(),
            }),
        ),
        ModerationAction::Redact(_) => (
            serde_json::json!({ "description": issue.description }),
            serde_json::json!({ "reason": moderation.reason() }),
        ),
    };
    NewAuditEntry {
        actor: Some(actor.user_id),
        action: moderation.audit_action(),
        target: format!("issue:{}", issue.id),
        before: Some(before),
        after: Some(after),
    }
}
