//! Passwords for web login: argon2id (the `argon2` crate's defaults, which
//! are OWASP's recommended m=19 MiB, t=2, p=1), stored as PHC strings.
//!
//! Hashing and verifying take tens of milliseconds of CPU on purpose, so
//! both run on the blocking pool (`spawn_blocking`), never on the async
//! runtime's workers. A password never leaves this module except as a PHC
//! string, and nothing here logs.

use std::sync::OnceLock;

use argon2::Argon2;
use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};

/// Shortest password accepted, in characters.
pub const MIN_LEN: usize = 12;
/// Longest password accepted, in characters (bounds the hashing work).
pub const MAX_LEN: usize = 1024;

/// Why a password could not be set.
#[derive(Debug, thiserror::Error)]
pub enum PasswordError {
    /// Too short or too long.
    #[error("a password has {MIN_LEN} to {MAX_LEN} characters")]
    Length,
    /// The hasher failed (no OS randomness for the salt).
    #[error("could not hash the password: {0}")]
    Hash(String),
    /// The blocking task did not finish.
    #[error("the hashing task failed")]
    Task,
}

/// Checks the length rule.
pub fn check_length(password: &str) -> Result<(), PasswordError> {
    let n = password.chars().count();
    if (MIN_LEN..=MAX_LEN).contains(&n) {
        Ok(())
    } else {
        Err(PasswordError::Length)
    }
}

/// Hashes a password to an argon2id PHC string, off the async runtime.
pub async fn hash(password: String) -> Result<String, PasswordError> {
    check_length(&password)?;
    tokio::task::spawn_blocking(move || hash_now(&password))
        .await
        .map_err(|_| PasswordError::Task)?
}

fn hash_now(password: &str) -> Result<String, PasswordError> {
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|h| h.to_string())
        .map_err(|e| PasswordError::Hash(e.to_string()))
}

/// Whether `password` matches the PHC string `stored`, off the async
/// runtime. With no stored hash (unknown email, or a user without a
/// password) it verifies against a dummy hash anyway and answers `false`,
/// so that the answer takes as long either way (no user enumeration).
pub async fn verify(password: String, stored: Option<String>) -> bool {
    tokio::task::spawn_blocking(move || {
        let (phc, real) = match stored.as_deref() {
            Some(phc) => (phc, true),
            None => (dummy_hash(), false),
        };
        // Over-long input is refused without hashing (the same for all).
        let ok = password.chars().count() <= MAX_LEN
            && PasswordHash::new(phc).is_ok_and(|parsed| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &parsed)
                    .is_ok()
            });
        ok && real
    })
    .await
    .unwrap_or(false)
}

/// A hash of a fixed string with the same parameters, made once.
fn dummy_hash() -> &'static str {
    static DUMMY: OnceLock<String> = OnceLock::new();
    DUMMY.get_or_init(|| hash_now("qala dummy password for unknown emails").unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery".into()).await.unwrap();
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(!phc.contains("correct horse"));
        assert!(verify("correct horse battery".into(), Some(phc.clone())).await);
        assert!(!verify("correct horse batterY".into(), Some(phc)).await);
        assert!(!verify("qala dummy password for unknown emails".into(), None).await);
    }

    #[tokio::test]
    async fn lengths_outside_12_to_1024_are_refused() {
        assert!(matches!(
            hash("short".into()).await,
            Err(PasswordError::Length)
        ));
        assert!(matches!(
            hash("x".repeat(1025)).await,
            Err(PasswordError::Length)
        ));
        assert!(check_length(&"é".repeat(12)).is_ok());
    }
}
