//! Moderation of residents' reports: hiding an issue from every public
//! output, making it public again, and replacing its public description
//! (the original survives only in the audit log).

use serde::Deserialize;

use crate::account::action;
use crate::error::ValidationError;
use crate::issue::{MAX_DESCRIPTION_CHARS, json_error};

/// The JSON body of a moderation request; unknown keys are refused.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Body {
    action: String,
    reason: String,
    #[serde(default)]
    description: Option<String>,
}

/// Longest moderation reason accepted, in characters.
pub const MAX_REASON_CHARS: usize = 500;

/// What a moderator does to an issue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModerationAction {
    /// Remove it from every public output (lists, tiles, exports, stats).
    Hide,
    /// Make a hidden issue public again.
    Unhide,
    /// Replace its public description with this text.
    Redact(String),
}

/// A validated moderation request: the action and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Moderation {
    action: ModerationAction,
    reason: String,
}

impl Moderation {
    /// Validates a request: `action` is `hide`, `unhide` or `redact`; the
    /// reason is required (1..=500 characters after trimming); `description`
    /// is required for `redact` (the new public text, same limits as a
    /// report's) and refused otherwise.
    pub fn new(
        action: &str,
        reason: &str,
        description: Option<&str>,
    ) -> Result<Self, ValidationError> {
        let reason = reason.trim();
        if reason.is_empty() {
            return Err(ValidationError::new(
                "invalid_reason",
                "reason",
                "a reason is required",
            ));
        }
        if reason.chars().count() > MAX_REASON_CHARS {
            return Err(ValidationError::new(
                "reason_too_long",
                "reason",
                format!("reason is longer than {MAX_REASON_CHARS} characters"),
            ));
        }
        let action = match (action, description) {
            ("hide", None) => ModerationAction::Hide,
            ("unhide", None) => ModerationAction::Unhide,
            ("redact", Some(text)) => {
                let text = text.trim();
                if text.is_empty() {
                    return Err(ValidationError::new(
                        "invalid_description",
                        "description",
                        "the new description must not be empty",
                    ));
                }
                if text.chars().count() > MAX_DESCRIPTION_CHARS {
                    return Err(ValidationError::new(
                        "description_too_long",
                        "description",
                        format!("description is longer than {MAX_DESCRIPTION_CHARS} characters"),
                    ));
                }
                ModerationAction::Redact(text.to_owned())
            }
            ("redact", None) => {
                return Err(ValidationError::new(
                    "invalid_description",
                    "description",
                    "redact needs the new public description",
                ));
            }
            ("hide" | "unhide", Some(_)) => {
                return Err(ValidationError::new(
                    "unexpected_field",
                    "description",
                    "only redact takes a description",
                ));
            }
            _ => {
                return Err(ValidationError::new(
                    "invalid_action",
                    "action",
                    "action must be hide, unhide or redact",
                ));
            }
        };
        Ok(Self {
            action,
            reason: reason.to_owned(),
        })
    }

    /// Parses `{"action", "reason", "description"}` strictly (unknown keys
    /// and malformed JSON are errors), then validates as [`Moderation::new`].
    pub fn from_json(body: &[u8]) -> Result<Self, ValidationError> {
        let body: Body = serde_json::from_slice(body).map_err(json_error)?;
        Self::new(&body.action, &body.reason, body.description.as_deref())
    }

    /// What is done.
    pub fn action(&self) -> &ModerationAction {
        &self.action
    }

    /// Why (goes to the audit log and, for hide, the issue row).
    pub fn reason(&self) -> &str {
        &self.reason
    }

    /// The audit action this moderation records.
    pub fn audit_action(&self) -> &'static str {
        match self.action {
            ModerationAction::Hide => action::ISSUE_HIDDEN,
            ModerationAction::Unhide => action::ISSUE_UNHIDDEN,
            ModerationAction::Redact(_) => action::ISSUE_REDACTED,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(r: Result<Moderation, ValidationError>) -> &'static str {
        r.map(|_| "ok").unwrap_or_else(|e| e.code)
    }

    #[test]
    fn requests_are_validated() {
        assert_eq!(code(Moderation::new("hide", "spam", None)), "ok");
        assert_eq!(code(Moderation::new("unhide", "ok now", None)), "ok");
        assert_eq!(code(Moderation::new("redact", "phone", Some("Hole"))), "ok");
        assert_eq!(code(Moderation::new("hide", "  ", None)), "invalid_reason");
        assert_eq!(
            code(Moderation::new("hide", &"x".repeat(501), None)),
            "reason_too_long"
        );
        assert_eq!(code(Moderation::new("delete", "x", None)), "invalid_action");
        assert_eq!(
            code(Moderation::new("redact", "x", None)),
            "invalid_description"
        );
        assert_eq!(
            code(Moderation::new("redact", "x", Some(" "))),
            "invalid_description"
        );
        assert_eq!(
            code(Moderation::new("hide", "x", Some("text"))),
            "unexpected_field"
        );
    }
}
