//! Mail to residents: the languages mails are written in, the kinds of
//! mail, the tokens their links carry, email follows and the rows of the
//! outbox the sender delivers. Templates and SMTP live in the server; here
//! is what the store writes in the same transaction as the change a mail
//! tells of.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde_json::Value;

use crate::account::TokenHash;
use crate::error::ValidationError;

/// Longest email address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_CHARS: usize = 254;

/// The language of a mail: the report's or the subscription's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Lang {
    /// Kazakh.
    Kk,
    /// Russian, the default when nothing says otherwise.
    Ru,
    /// English.
    En,
}

impl Lang {
    /// Every language.
    pub const ALL: [Lang; 3] = [Self::Kk, Self::Ru, Self::En];

    /// The code (`kk`, `ru`, `en`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Kk => "kk",
            Self::Ru => "ru",
            Self::En => "en",
        }
    }

    /// Parses a code; `field` names where it came from in the error.
    ///
    /// ```
    /// use qala_geodata::mail::Lang;
    /// assert_eq!(Lang::parse("kk", "lang").unwrap(), Lang::Kk);
    /// assert_eq!(Lang::parse("de", "lang").unwrap_err().code, "invalid_lang");
    /// ```
    pub fn parse(s: &str, field: &'static str) -> Result<Self, ValidationError> {
        Self::ALL
            .into_iter()
            .find(|l| l.as_str() == s)
            .ok_or_else(|| ValidationError::new("invalid_lang", field, "lang is one of kk, ru, en"))
    }

    /// The first of kk, ru, en an `Accept-Language` header names (q-values
    /// respected, regional variants such as `ru-KZ` count), if any.
    ///
    /// ```
    /// use qala_geodata::mail::Lang;
    /// assert_eq!(Lang::from_accept_language("en-GB,en;q=0.9"), Some(Lang::En));
    /// assert_eq!(Lang::from_accept_language("de, kk;q=0.5, ru;q=0.7"), Some(Lang::Ru));
    /// assert_eq!(Lang::from_accept_language("de"), None);
    /// ```
    pub fn from_accept_language(header: &str) -> Option<Self> {
        let mut best: Option<(f32, Lang)> = None;
        for part in header.split(',').take(32) {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let primary = tag.split('-').next().unwrap_or("");
            let Some(lang) = Self::ALL.into_iter().find(|l| l.as_str() == primary) else {
                continue;
            };
            let q = pieces
                .find_map(|p| p.trim().strip_prefix("q="))
                .and_then(|q| q.trim().parse::<f32>().ok())
                .unwrap_or(1.0);
            if q > 0.0 && best.is_none_or(|(b, _)| q > b) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, lang)| lang)
    }
}

/// What a mail is about; each kind has its templates in the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MailKind {
    /// To the reporter, once: the report arrived, here is the private link.
    ReportConfirmation,
    /// A status change or a public note on a followed issue.
    IssueUpdate,
    /// A resident's comment on a followed issue (written by the comments
    /// feature through the store's `notify_issue_followers`).
    IssueComment,
    /// A new issue in a followed district.
    NewIssue,
    /// "Confirm that you want these alerts": the only mail to an
    /// unconfirmed subscription.
    ConfirmSubscription,
}

impl MailKind {
    /// Every kind.
    pub const ALL: [MailKind; 5] = [
        Self::ReportConfirmation,
        Self::IssueUpdate,
        Self::IssueComment,
        Self::NewIssue,
        Self::ConfirmSubscription,
    ];

    /// The stored spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ReportConfirmation => "report_confirmation",
            Self::IssueUpdate => "issue_update",
            Self::IssueComment => "issue_comment",
            Self::NewIssue => "new_issue",
            Self::ConfirmSubscription => "confirm_subscription",
        }
    }

    /// Parses the stored spelling.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// Random bytes of a mail token (private link, unsubscribe, confirmation).
const TOKEN_BYTES: usize = 32;
/// Their base64url characters, without padding.
const TOKEN_CHARS: usize = 43;

/// A token a mail link carries, in the clear: 32 bytes from the OS random
/// source as base64url. Stored only as its SHA-256 ([`TokenHash`]); the
/// clear text lives in the answer to the reporter and in the outbox row of
/// the mail that carries it until that mail is sent. `Debug` hides it.
#[derive(Clone, PartialEq, Eq)]
pub struct MailToken(String);

impl MailToken {
    /// A new token.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(URL_SAFE_NO_PAD.encode(bytes)))
    }

    /// The token, for the one link that shows it.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its hash, the only form stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// The hash of a presented token, if it has a token's shape (garbage is
    /// refused before any lookup).
    ///
    /// ```
    /// use qala_geodata::mail::MailToken;
    /// let t = MailToken::generate().unwrap();
    /// assert_eq!(MailToken::hash_presented(t.expose()), Some(t.hash()));
    /// assert_eq!(MailToken::hash_presented("short"), None);
    /// ```
    pub fn hash_presented(token: &str) -> Option<TokenHash> {
        let well_formed = token.len() == TOKEN_CHARS
            && token
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
        well_formed.then(|| TokenHash::of(token))
    }
}

impl std::fmt::Debug for MailToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MailToken(…)")
    }
}

/// Checks an email address the way reports always have (something@domain.tld,
/// no spaces, at most [`MAX_EMAIL_CHARS`]); returns it trimmed.
pub fn check_email(email: &str, field: &'static str) -> Result<String, ValidationError> {
    let email = email.trim();
    let plausible = email.len() <= MAX_EMAIL_CHARS
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
                && !email
                    .contains(|c: char| c.is_whitespace() || c.is_control() || c == '<' || c == '>')
        });
    if plausible {
        Ok(email.to_owned())
    } else {
        Err(ValidationError::new(
            "invalid_email",
            field,
            "this is not an email address",
        ))
    }
}

/// What a report adds for its reporter, written with the issue: the private
/// link's token (always) and, when the report gave an email, the
/// reporter's subscription to the issue and the confirmation mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportFollowUp {
    /// The language of the reporter's mails.
    pub lang: Lang,
    /// The private link's token.
    pub token: MailToken,
}

/// What an email follow is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FollowTarget {
    /// One issue.
    Issue(i64),
    /// New issues in a district (its feature id).
    District(i64),
}

/// A request to follow by email, validated; the store keeps it unconfirmed
/// and queues the confirmation mail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewFollow {
    /// The address, checked by [`check_email`].
    pub email: String,
    /// The language of its mails.
    pub lang: Lang,
    /// What is followed.
    pub target: FollowTarget,
}

/// A mail the sender claimed from the outbox.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxMail {
    /// The row.
    pub id: i64,
    /// Random and fixed when the row was written: the `Message-ID`'s local
    /// part, so a mail sent again after a crash can be recognised.
    pub message_key: String,
    /// The address.
    pub recipient: String,
    /// The language.
    pub lang: Lang,
    /// The kind.
    pub kind: MailKind,
    /// What the templates need (tokens in the clear among them).
    pub data: Value,
    /// Attempts so far, this one included.
    pub attempts: i64,
}

/// Mails sent to one address asking to confirm a follow, per day at most:
/// beyond, further requests are answered the same but send nothing, so the
/// follow form cannot be used to flood someone's mailbox.
pub const MAX_CONFIRMATIONS_PER_DAY: i64 = 3;

/// The longest excerpt of a description a mail quotes, in characters.
pub const EXCERPT_CHARS: usize = 200;

/// At most [`EXCERPT_CHARS`] of `text`.
pub fn excerpt(text: &str) -> String {
    let mut out: String = text.chars().take(EXCERPT_CHARS).collect();
    if text.chars().count() > EXCERPT_CHARS {
        out.push('…');
    }
    out
}

/// An address for logs: first letter and domain (`a***@example.com`).
///
/// ```
/// assert_eq!(qala_geodata::mail::mask_email("alice@example.com"), "a***@example.com");
/// ```
pub fn mask_email(email: &str) -> String {
    match email.split_once('@') {
        Some((local, domain)) => {
            let first: String = local.chars().take(1).collect();
            format!("{first}***@{domain}")
        }
        None => "***".to_owned(),
    }
}
