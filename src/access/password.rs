//! Password hashing with argon2id. Both functions are CPU-heavy on purpose: call them
//! from a blocking thread (`spawn_blocking`), never on an async worker.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::{Algorithm, Argon2, Params, Version};
use rand::rngs::OsRng;
use std::sync::LazyLock;

/// The shortest password accepted.
pub const MIN_PASSWORD_LEN: usize = 10;

/// The longest password accepted, in bytes (argon2 reads all of it).
pub const MAX_PASSWORD_BYTES: usize = 1024;

/// The demo accounts' passwords, published in the README: a production deployment refuses
/// every account that uses one of them, however it was set.
pub const PUBLISHED_DEMO_PASSWORDS: [&str; 4] = [
    "reviewer-demo-pass",
    "ops-demo-pass",
    "exec-demo-pass",
    "admin-demo-pass",
];

/// Whether `password` is one of the published demo passwords.
pub fn is_published_demo(password: &str) -> bool {
    PUBLISHED_DEMO_PASSWORDS.contains(&password)
}

fn hasher() -> Argon2<'static> {
    // OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
    Argon2::new(Algorithm::Argon2id, Version::V0x13, Params::default())
}

/// A PHC-format argon2id hash of `password` with a fresh random salt.
pub fn hash(password: &str) -> String {
    let salt = SaltString::generate(&mut OsRng);
    hasher()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default params cannot fail on a fresh salt")
        .to_string()
}

/// Whether `password` matches the PHC string `hash`. A malformed hash never matches.
pub fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash)
        .map(|parsed| {
            hasher()
                .verify_password(password.as_bytes(), &parsed)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Spends the same work as a real check, for logins naming no user, so that response
/// time does not reveal which emails exist.
pub fn verify_against_nothing(password: &str) {
    static DUMMY: LazyLock<String> = LazyLock::new(|| hash("amso-timing-equaliser"));
    let _ = verify(password, &DUMMY);
}

/// Why a new password is refused, or `None` if it is acceptable.
pub fn weakness(password: &str) -> Option<String> {
    if password.chars().count() < MIN_PASSWORD_LEN {
        return Some(format!(
            "password must be at least {MIN_PASSWORD_LEN} characters"
        ));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Some(format!(
            "password must be at most {MAX_PASSWORD_BYTES} bytes"
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let a = hash("correct horse battery");
        let b = hash("correct horse battery");
        assert!(a.starts_with("$argon2id$"));
        assert_ne!(a, b);
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterY", &a));
        assert!(!verify("anything", "not a phc string"));
    }

    #[test]
    fn short_passwords_are_weak() {
        assert!(weakness("short").is_some());
        assert!(weakness("long enough pw").is_none());
    }
}
