//! Sign-in passwords. Unlike client secrets and tokens (long random strings, so
//! a fast SHA-256 is enough), a password may one day be chosen by a person: it
//! is stored as an Argon2id hash in PHC form, salted and slow to guess.

use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::distr::{Alphanumeric, SampleString};

/// 20 alphanumerics ≈ 119 bits: safe to print, to type and to paste.
pub fn generate() -> String {
    Alphanumeric.sample_string(&mut rand::rng(), 20)
}

pub fn hash(password: &str) -> String {
    let salt: [u8; 16] = rand::random();
    let salt = SaltString::encode_b64(&salt).expect("16 bytes is a valid salt length");
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .expect("argon2 with default parameters cannot fail")
        .to_string()
}

/// Whether `password` matches `phc`; a malformed stored hash never matches.
pub fn verify(password: &str, phc: &str) -> bool {
    PasswordHash::new(phc)
        .map(|h| {
            Argon2::default()
                .verify_password(password.as_bytes(), &h)
                .is_ok()
        })
        .unwrap_or(false)
}

/// Verifies against a fixed hash so a sign-in with an unknown email costs as
/// much as one with a wrong password (no account enumeration by timing).
pub fn burn(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc = DUMMY.get_or_init(|| hash("zcrm-no-such-user"));
    let _ = verify(password, phc);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ_per_salt() {
        let p = generate();
        assert_eq!(p.len(), 20);
        let (a, b) = (hash(&p), hash(&p));
        assert!(a.starts_with("$argon2id$"), "{a}");
        assert_ne!(a, b, "each hash has its own salt");
        assert!(verify(&p, &a) && verify(&p, &b));
        assert!(!verify("wrong", &a));
        assert!(!verify(&p, "not a hash"));
    }
}
