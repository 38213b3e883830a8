//! Signatures zcrm makes: HMAC-SHA256 of webhook bodies (keyed by the
//! channel's token) and of its page tokens (keyed by a rotating server key).

use sha2::{Digest, Sha256};

/// HMAC-SHA256 (RFC 2104) of `msg` keyed by `key`.
pub fn hmac_sha256(key: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let ipad: Vec<u8> = k.iter().map(|b| b ^ 0x36).collect();
    let opad: Vec<u8> = k.iter().map(|b| b ^ 0x5c).collect();
    let inner = Sha256::new()
        .chain_update(&ipad)
        .chain_update(msg)
        .finalize();
    Sha256::new()
        .chain_update(&opad)
        .chain_update(inner)
        .finalize()
        .into()
}

/// Live server keys of one purpose, newest first: the newest signs, any
/// live one verifies (so a rotation never breaks what was signed before).
#[derive(Debug, Default)]
pub struct KeyRing {
    keys: Vec<(i64, Vec<u8>)>,
}

/// What a signature check found.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    Valid,
    /// Signed with a key this ring does not hold (perhaps one another node
    /// made since this ring was read).
    UnknownKey,
    Invalid,
}

/// Hex digits of a MAC kept in a token (128 bits).
const MAC_HEX: usize = 32;

impl KeyRing {
    pub fn new(keys: Vec<(i64, Vec<u8>)>) -> KeyRing {
        KeyRing { keys }
    }

    /// The newest key's id and its MAC of `msg`; `None` with no key.
    pub fn sign(&self, msg: &[u8]) -> Option<(i64, String)> {
        let (id, key) = self.keys.first()?;
        Some((
            *id,
            hex::encode(hmac_sha256(key, msg))[..MAC_HEX].to_string(),
        ))
    }

    pub fn verify(&self, key_id: i64, msg: &[u8], mac: &str) -> Verdict {
        let Some((_, key)) = self.keys.iter().find(|(id, _)| *id == key_id) else {
            return Verdict::UnknownKey;
        };
        let want = hex::encode(hmac_sha256(key, msg));
        // Compared in constant time: a forger learns nothing from timing.
        let same = mac.len() == MAC_HEX
            && want.as_bytes()[..MAC_HEX]
                .iter()
                .zip(mac.as_bytes())
                .fold(0u8, |acc, (a, b)| acc | (a ^ b))
                == 0;
        if same {
            Verdict::Valid
        } else {
            Verdict::Invalid
        }
    }
}

/// A node's copy of a key ring and when (on the app's clock) it was read.
#[derive(Default)]
pub struct KeyCache {
    pub ring: tokio::sync::Mutex<Option<(i64, std::sync::Arc<KeyRing>)>>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hmac_matches_rfc4231() {
        let mac = hmac_sha256(b"Jefe", b"what do ya want for nothing?");
        assert_eq!(
            hex::encode(mac),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn any_live_key_verifies_and_only_its_own_mac() {
        let old = KeyRing::new(vec![(1, b"one".to_vec())]);
        let (kid, mac) = old.sign(b"page").unwrap();
        let rotated = KeyRing::new(vec![(2, b"two".to_vec()), (1, b"one".to_vec())]);
        assert_eq!(rotated.verify(kid, b"page", &mac), Verdict::Valid);
        assert_eq!(rotated.sign(b"page").unwrap().0, 2);
        assert_eq!(rotated.verify(kid, b"pagf", &mac), Verdict::Invalid);
        assert_eq!(rotated.verify(kid, b"page", &mac[..31]), Verdict::Invalid);
        assert_eq!(rotated.verify(3, b"page", &mac), Verdict::UnknownKey);
        assert_eq!(KeyRing::default().sign(b"page"), None);
    }
}
