//! Paging of `GET /{module}` and related lists: `page` reaches the first
//! 2,000 records, page tokens (bound to the user, module and sort that made
//! them, valid for a day) reach 100,000, as Zoho's get-records page says.

use zcrm_core::{ApiError, Code};

/// Records reachable with `page`; beyond this a `page_token` is needed.
pub const DISCRETE_LIMIT: u64 = 2_000;
/// Records reachable with `page_token`.
pub const TOKEN_LIMIT: u64 = 100_000;
pub const PAGE_TOKEN_TTL_MS: i64 = 24 * 3_600_000;

/// Where a page starts: `offset`, and its number as the answer's `info.page`.
pub struct Start {
    pub offset: u64,
    pub page: u64,
}

/// The page a request asks for, by `page_token` (checked against who asks,
/// for what, sorted how, and when) or by `page` (number, default 1).
pub fn start(
    token: Option<&str>,
    page: u64,
    per_page: u64,
    bound: (i64, &str, &str),
    now: i64,
) -> Result<Start, ApiError> {
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
    let tok = PageToken::decode(t).ok_or_else(|| ApiError::invalid_param("page_token"))?;
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
pub fn next(offset: u64, bound: (i64, &str, &str), now: i64) -> String {
    let (user, module, sort) = bound;
    PageToken {
        offset,
        user,
        module: module.to_string(),
        sort: sort.to_string(),
        expires: now + PAGE_TOKEN_TTL_MS,
    }
    .encode()
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
    pub fn encode(&self) -> String {
        let raw = format!(
            "{}.{}.{}.{}.{}",
            self.offset, self.user, self.module, self.sort, self.expires
        );
        let sum = zcrm_store::control::hash(&raw);
        format!("{}{}", hex::encode(&raw), &sum[..8])
    }

    pub fn decode(s: &str) -> Option<PageToken> {
        if s.len() < 9 || s.len() > 400 {
            return None;
        }
        let (body, sum) = s.split_at(s.len() - 8);
        let raw = String::from_utf8(hex::decode(body).ok()?).ok()?;
        if zcrm_store::control::hash(&raw)[..8] != *sum {
            return None;
        }
        let p: Vec<&str> = raw.split('.').collect();
        if p.len() != 5 {
            return None;
        }
        Some(PageToken {
            offset: p[0].parse().ok()?,
            user: p[1].parse().ok()?,
            module: p[2].to_string(),
            sort: p[3].to_string(),
            expires: p[4].parse().ok()?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PageToken;

    fn token() -> PageToken {
        PageToken {
            offset: 2_000,
            user: 42,
            module: "Leads".into(),
            sort: "id+".into(),
            expires: 1_700_000_000_000,
        }
    }

    #[test]
    fn round_trips() {
        let t = token().encode();
        let back = PageToken::decode(&t).expect("decodes");
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
    fn a_changed_token_is_refused() {
        let t = token().encode();
        // Flip one hex digit of the body: the checksum no longer matches.
        let mut bytes = t.into_bytes();
        bytes[0] = if bytes[0] == b'3' { b'4' } else { b'3' };
        assert!(PageToken::decode(&String::from_utf8(bytes).unwrap()).is_none());
    }

    #[test]
    fn garbage_and_bounds_are_refused() {
        for s in ["", "abc", "zzzzzzzzzzzz", &"a".repeat(401)] {
            assert!(PageToken::decode(s).is_none(), "{s}");
        }
        // Well-formed checksum over a body that is not five fields.
        let raw = "1.2.3";
        let sum = zcrm_store::control::hash(raw);
        let forged = format!("{}{}", hex::encode(raw), &sum[..8]);
        assert!(PageToken::decode(&forged).is_none());
    }
}
