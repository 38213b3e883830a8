//! Recently seen access tokens, so a request does not hash its token and read
//! the control database every time. An entry is trusted for at most
//! `MAX_AGE_MS`: that bounds how long a revocation made by another process
//! (the admin CLI, another node) can go unnoticed. Revocations made by this
//! process clear the cache at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use zcrm_core::scope::Scopes;

pub const MAX_AGE_MS: i64 = 2_000;
const MAX_ENTRIES: usize = 50_000;

#[derive(Clone)]
pub struct CachedToken {
    pub org_id: i64,
    pub user_id: i64,
    /// The OAuth client (app) the token was issued to.
    pub client_id: Arc<str>,
    pub scopes: Arc<Scopes>,
    pub expires_at: i64,
    pub checked_at: i64,
}

#[derive(Default)]
pub struct TokenCache {
    map: RwLock<HashMap<String, CachedToken>>,
}

impl TokenCache {
    pub fn get(&self, token: &str, now: i64) -> Option<CachedToken> {
        let map = self.map.read().ok()?;
        let t = map.get(token)?;
        (t.expires_at > now && now - t.checked_at < MAX_AGE_MS && now >= t.checked_at)
            .then(|| t.clone())
    }

    pub fn put(&self, token: &str, entry: CachedToken) {
        if let Ok(mut map) = self.map.write() {
            if map.len() >= MAX_ENTRIES {
                map.clear();
            }
            map.insert(token.to_string(), entry);
        }
    }

    pub fn clear(&self) {
        if let Ok(mut map) = self.map.write() {
            map.clear();
        }
    }
}
