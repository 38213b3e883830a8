//! Paging of `GET /{module}` and related lists: `page` reaches the first
//! 2,000 records, page tokens (bound to the user, module and sort that made
//! them, valid for a day) reach 100,000, as Zoho's get-records page says.
//! Tokens are signed with a server key shared by the nodes and rotated
//! weekly (`control::keys`); a key outlives its rotation by a token's life.

use crate::signing::{KeyRing, Verdict};
use crate::state::App;
use std::sync::Arc;
use zcrm_core::{ApiError, Code};

/// Records reachable with `page`; beyond this a `page_token` is needed.
pub const DISCRETE_LIMIT: u64 = 2_000;
/// Records reachable with `page_token`.
pub const TOKEN_LIMIT: u64 = 100_000;
pub const PAGE_TOKEN_TTL_MS: i64 = 24 * 3_600_000;
/// A new signing key each week; the old one verifies a day and an hour more.
const ROTATE_MS: i64 = 7 * 24 * 3_600_000;
const KEEP_MS: i64 = PAGE_TOKEN_TTL_MS + 3_600_000;
/// How long a node uses its copy of the keys before reading them again.
const REREAD_MS: i64 = 10 * 60_000;

/// The page-token keys, read from the control data at most every
/// `REREAD_MS`, or at once when a token names a key this node lacks.
pub async fn keys(app: &App, reread: bool) -> Result<Arc<KeyRing>, ApiError> {
    let now = app.now();
    let mut cached = app.page_keys.ring.lock().await;
    if let Some((at, ring)) = cached.as_ref() {
        if !reread && now - at < REREAD_MS && *at <= now {
            return Ok(ring.clone());
        }
    }
    let rows = app
        .control
        .server_keys("page_token", now, ROTATE_MS, KEEP_MS)
        .await
        .map_err(crate::error::store)?;
    let ring = Arc::new(KeyRing::new(
        rows.into_iter()
            .map(|k| (k.id, k.secret.into_bytes()))
            .collect(),
    ));
    *cached = Some((now, ring.clone()));
    Ok(ring)
}

/// Where a page starts: `offset`, and its number as the answer's `info.page`.
pub struct Start {
    pub offset: u64,
    pub page: u64,
}

/// The page a request asks for, by `page_token` (checked against who asks,
/// for what, sorted how, and when) or by `page` (number, default 1).
pub async fn start(
    app: &App,
    token: Option<&str>,
    page: u64,
    per_page: u64,
    bound: (i64, &str, &str),
) -> Result<Start, ApiError> {
    let now = app.now();
    let Some(t) = token else {
        if page * per_page > DISCRETE_LIMIT {
            return Err(ApiError::new(Code::DiscretePaginationLimitExceeded)
                .detail("limit", DISCRETE_LIMIT));
        }
        return Ok(Start {
            offset: (page - 1) * per_page,
            page,
        });
    };
    let mut decoded = PageToken::decode(t, &*keys(app, false).await?);
    if matches!(decoded, Err(Verdict::UnknownKey)) {
        decoded = PageToken::decode(t, &*keys(app, true).await?);
    }
    let tok = decoded.map_err(|_| ApiError::invalid_param("page_token"))?;
    let (user, module, sort) = bound;
    if tok.user != user || tok.module != module || tok.sort != sort {
        return Err(ApiError::new(Code::TokenBoundDataMismatch).detail("param_name", "page_token"));
    }
    if tok.expires <= now {
        return Err(ApiError::new(Code::ExpiredValue)
            .detail("api_name", "page_token")
            .detail("json_path", "$.query.page_token"));
    }
    if tok.offset >= TOKEN_LIMIT {
        return Err(ApiError::new(Code::PaginationLimitExceeded).detail("param_name", "page_token"));
    }
    Ok(Start {
        offset: tok.offset,
        page: tok.offset / per_page + 1,
    })
}

/// The token of the page after one that ended at `offset`.
pub async fn next(app: &App, offset: u64, bound: (i64, &str, &str)) -> Result<String, ApiError> {
    let (user, module, sort) = bound;
    let token = PageToken {
        offset,
        user,
        module: module.to_string(),
        sort: sort.to_string(),
        expires: app.now() + PAGE_TOKEN_TTL_MS,
    };
    token
        .encode(&*keys(app, false).await?)
        .ok_or_else(|| ApiError::internal("no page-token key"))
}

/// A page token: where the next page starts and what it is bound to.
pub struct PageToken {
    pub offset: u64,
    pub user: i64,
    pub module: String,
    pub sort: String,
    pub expires: i64,
}

impl PageToken {
    /// `{key id}.{hex of the fields}.{MAC}`.
    pub fn encode(&self, keys: &KeyRing) -> Option<String> {
        let raw = format!(
            "{}.{}.{}.{}.{}",
            self.offset, self.user, self.module, self.sort, self.expires
        );
        let (kid, mac) = keys.sign(raw.as_bytes())?;
        Some(format!("{kid}.{}.{mac}", hex::encode(&raw)))
    }

    /// The token's fields if a live key signed them; `UnknownKey` when the
    /// key is not in `keys`, `Invalid` for anything else.
    pub fn decode(s: &str, keys: &KeyRing) -> Result<PageToken, Verdict> {
        if s.len() > 400 {
            return Err(Verdict::Invalid);
        }
        let mut parts = s.splitn(3, '.');
        let (Some(kid), Some(body), Some(mac)) = (parts.next(), parts.next(), parts.next()) else {
            return Err(Verdict::Invalid);
        };
        let kid: i64 = kid.parse().map_err(|_| Verdict::Invalid)?;
        let raw = hex::decode(body).map_err(|_| Verdict::Invalid)?;
        match keys.verify(kid, &raw, mac) {
            Verdict::Valid => {}
            other => return Err(other),
        }
        let raw = String::from_utf8(raw).map_err(|_| Verdict::Invalid)?;
        let p: Vec<&str> = raw.split('.').collect();
        let parse = || -> Option<PageToken> {
            (p.len() == 5).then_some(())?;
            Some(PageToken {
                offset: p[0].parse().ok()?,
                user: p[1].parse().ok()?,
                module: p[2].to_string(),
                sort: p[3].to_string(),
                expires: p[4].parse().ok()?,
            })
        };
        parse().ok_or(Verdict::Invalid)
    }
}

#[cfg(test)]
mod tests {
    use super::PageToken;
    use crate::signing::{KeyRing, Verdict};

    fn token() -> PageToken {
        PageToken {
            offset: 2_000,
            user: 42,
            module: "Leads".into(),
            sort: "id+".into(),
            expires: 1_700_000_000_000,
        }
    }

    fn ring() -> KeyRing {
        KeyRing::new(vec![(7, b"a server key".to_vec())])
    }

    #[test]
    fn round_trips() {
        let t = token().encode(&ring()).unwrap();
        let back = PageToken::decode(&t, &ring()).expect("decodes");
        assert_eq!(
            (
                back.offset,
                back.user,
                back.module.as_str(),
                back.sort.as_str(),
                back.expires
            ),
            (2_000, 42, "Leads", "id+", 1_700_000_000_000)
        );
    }

    #[test]
    fn a_changed_or_forged_token_is_refused() {
        let t = token().encode(&ring()).unwrap();
        // Another offset, with the MAC left as it was.
        let (kid, rest) = t.split_once('.').unwrap();
        let (_, mac) = rest.split_once('.').unwrap();
        let raw = "99000.42.Leads.id+.1700000000000";
        let forged = format!("{kid}.{}.{mac}", hex::encode(raw));
        assert_eq!(
            PageToken::decode(&forged, &ring()).err(),
            Some(Verdict::Invalid)
        );
        // Without the key, a well-formed token cannot be made: the old
        // unkeyed checksum is no longer accepted.
        let other = KeyRing::new(vec![(7, b"another key".to_vec())]);
        let t2 = token().encode(&other).unwrap();
        assert_eq!(
            PageToken::decode(&t2, &ring()).err(),
            Some(Verdict::Invalid)
        );
        let unknown = KeyRing::new(vec![(8, b"a server key".to_vec())]);
        let t3 = token().encode(&unknown).unwrap();
        assert_eq!(
            PageToken::decode(&t3, &ring()).err(),
            Some(Verdict::UnknownKey)
        );
    }

    #[test]
    fn garbage_and_bounds_are_refused() {
        for s in ["", "abc", "1.zz.zz", "x.00.00", &"a".repeat(401)] {
            assert!(PageToken::decode(s, &ring()).is_err(), "{s}");
        }
        // A valid MAC over a body that is not five fields.
        let r = ring();
        let (kid, mac) = r.sign(b"1.2.3").unwrap();
        let odd = format!("{kid}.{}.{mac}", hex::encode("1.2.3"));
        assert_eq!(PageToken::decode(&odd, &r).err(), Some(Verdict::Invalid));
    }
}
