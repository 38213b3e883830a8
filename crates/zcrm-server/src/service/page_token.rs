//! Page tokens of `GET /{module}`: where the next page starts, bound to the
//! user, module and sort that made it, and when it stops being accepted.

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
