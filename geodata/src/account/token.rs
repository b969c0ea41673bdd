//! API tokens: 32 random bytes from the operating system, shown once as
//! `qala_` + base64url, stored only as their SHA-256.
//!
//! A fast hash is right here, unlike for passwords: the secret is 256 bits
//! from the OS random source, so there is nothing to guess that a slow hash
//! would protect, and the hash is computed on every authenticated request.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::error::ValidationError;

/// What every Qala token starts with, so leaked tokens are recognisable
/// (secret scanners) and a wrong kind of credential is told apart early.
pub const TOKEN_PREFIX: &str = "qala_";
/// Random bytes per token.
const TOKEN_BYTES: usize = 32;
/// Characters of base64url for [`TOKEN_BYTES`] without padding.
const TOKEN_CHARS: usize = 43;

/// A token in the clear: exists only between generation and being printed
/// once. Its `Debug` hides the secret so it cannot reach a log by accident.
pub struct TokenSecret(String);

impl TokenSecret {
    /// A new token from the operating system's random source.
    pub fn generate() -> Result<Self, getrandom::Error> {
        let mut bytes = [0_u8; TOKEN_BYTES];
        getrandom::fill(&mut bytes)?;
        Ok(Self(format!(
            "{TOKEN_PREFIX}{}",
            URL_SAFE_NO_PAD.encode(bytes)
        )))
    }

    /// The token, to show once.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Its hash, the only form stored.
    pub fn hash(&self) -> TokenHash {
        TokenHash::of(&self.0)
    }

    /// The last four characters, to tell tokens apart in listings.
    pub fn label(&self) -> String {
        let start = self.0.len().saturating_sub(4);
        self.0.get(start..).unwrap_or_default().to_owned()
    }
}

impl std::fmt::Debug for TokenSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenSecret(…)")
    }
}

/// The SHA-256 of a token, lower-case hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenHash(String);

impl TokenHash {
    /// Hashes a presented token.
    pub fn of(token: &str) -> Self {
        let digest = Sha256::digest(token.as_bytes());
        Self(digest.iter().map(|b| format!("{b:02x}")).collect())
    }

    /// Hashes a presented token after checking its shape (`qala_` and 43
    /// base64url characters), so that garbage is refused before any lookup.
    ///
    /// ```
    /// use qala_geodata::account::{TokenHash, TokenSecret};
    /// let token = TokenSecret::generate().unwrap();
    /// assert_eq!(TokenHash::parse(token.expose()).unwrap(), token.hash());
    /// assert_eq!(TokenHash::parse("qala_short").unwrap_err().code, "invalid_token");
    /// ```
    pub fn parse(token: &str) -> Result<Self, ValidationError> {
        let well_formed = token.strip_prefix(TOKEN_PREFIX).is_some_and(|rest| {
            rest.len() == TOKEN_CHARS
                && rest
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        });
        if well_formed {
            Ok(Self::of(token))
        } else {
            Err(ValidationError::new(
                "invalid_token",
                "authorization",
                "a Qala API token is \"qala_\" followed by 43 base64url characters",
            ))
        }
    }

    /// A stored hash as read back from the database.
    pub(crate) fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    /// The hex text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Compares in constant time: the lookup by hash already found the row,
    /// and this final check leaks nothing through timing about how much of a
    /// stored hash a guess matched.
    pub fn matches(&self, stored: &str) -> bool {
        self.0.as_bytes().ct_eq(stored.as_bytes()).into()
    }
}

/// A stored token as listings show it: never the token or its hash.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApiToken {
    /// The id (what `qala user revoke` takes).
    pub id: i64,
    /// Whose token.
    pub user_id: i64,
    /// The token's last four characters.
    pub label: String,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// When it stops working, if ever.
    pub expires_at: Option<DateTime<Utc>>,
    /// When it was revoked, if it was.
    pub revoked_at: Option<DateTime<Utc>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_prefixed_random_and_hashed_to_sha256_hex() {
        let a = TokenSecret::generate().unwrap();
        let b = TokenSecret::generate().unwrap();
        assert_ne!(a.expose(), b.expose());
        assert!(a.expose().starts_with(TOKEN_PREFIX));
        assert_eq!(a.expose().len(), TOKEN_PREFIX.len() + TOKEN_CHARS);
        assert_eq!(a.hash().as_str().len(), 64);
        assert!(a.expose().ends_with(&a.label()));
        assert!(!format!("{a:?}").contains(a.expose()));
        // The SHA-256 test vector for "abc".
        assert_eq!(
            TokenHash::of("abc").as_str(),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn malformed_tokens_are_refused_before_lookup() {
        let token = TokenSecret::generate().unwrap();
        for bad in [
            "",
            "qala_",
            &token.expose()[1..],
            &format!("{}=", token.expose()),
            &token.expose().replace('_', "+"),
        ] {
            assert!(TokenHash::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn the_final_comparison_matches_only_the_same_hash() {
        let hash = TokenHash::of("qala_x");
        assert!(hash.matches(&TokenHash::of("qala_x").0));
        assert!(!hash.matches(&TokenHash::of("qala_y").0));
        assert!(!hash.matches(""));
    }
}
