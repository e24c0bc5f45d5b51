//! Staff passwords: argon2id with a random salt, kept as a PHC string (the
//! algorithm, its parameters and the salt travel with the hash, so stronger
//! parameters later still verify older hashes). Verification compares in
//! constant time, and an unknown address is checked against a fixed hash
//! so it takes as long as a known one.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use std::sync::LazyLock;

/// The shortest password accepted: length is what makes a password strong.
pub const MIN_LENGTH: usize = 12;

/// Hashed once, checked whenever the address is unknown or has no password.
static STAND_IN: LazyLock<String> =
    LazyLock::new(|| hash("no such person, no such password").unwrap_or_default());

/// Why a new password is refused, in words that say what to fix.
pub fn check_strength(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_LENGTH {
        return Err(format!(
            "the password needs at least {MIN_LENGTH} characters; a few words make a good one"
        ));
    }
    Ok(())
}

/// The PHC string for a new password.
pub fn hash(password: &str) -> anyhow::Result<String> {
    let mut salt = [0u8; 16];
    rand::rng().fill_bytes(&mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| anyhow::anyhow!("salt: {e}"))?;
    let phc = Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("hashing the password: {e}"))?;
    Ok(phc.to_string())
}

/// Whether `password` matches the stored PHC string. With none stored the
/// answer is no, after the same work as a real check.
pub fn verify(password: &str, stored: Option<&str>) -> bool {
    let known = stored.is_some();
    let phc = stored.unwrap_or(STAND_IN.as_str());
    let Ok(parsed) = PasswordHash::new(phc) else {
        return false;
    };
    let matches = Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok();
    known && matches
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_verifies_its_password_only() {
        let phc = hash("correct horse battery staple").expect("hash");
        assert!(phc.starts_with("$argon2id$"), "{phc}");
        assert!(verify("correct horse battery staple", Some(&phc)));
        assert!(!verify("correct horse battery stapler", Some(&phc)));
        assert_ne!(
            phc,
            hash("correct horse battery staple").expect("hash"),
            "salted"
        );
    }

    #[test]
    fn no_stored_hash_never_verifies() {
        assert!(!verify("no such person, no such password", None));
        assert!(!verify("anything at all here", Some("not a phc string")));
    }

    #[test]
    fn short_passwords_are_refused_with_what_to_do() {
        let err = check_strength("short").expect_err("too short");
        assert!(err.contains("at least 12 characters"), "{err}");
        assert!(check_strength("twelve chars").is_ok());
    }
}
