//! OAuth scopes: `Service.family[.sub].OPERATION`, with `ALL` implying every
//! operation, `WRITE` implying create/update/delete, and a shorter family
//! (`ZohoCRM.modules.READ`) covering every member (`ZohoCRM.modules.leads.READ`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    All,
    Read,
    Create,
    Update,
    Delete,
    Write,
    Custom,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s.to_ascii_uppercase().as_str() {
            "ALL" => Op::All,
            "READ" => Op::Read,
            "CREATE" => Op::Create,
            "UPDATE" => Op::Update,
            "DELETE" => Op::Delete,
            "WRITE" => Op::Write,
            "CUSTOM" => Op::Custom,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::All => "ALL",
            Op::Read => "READ",
            Op::Create => "CREATE",
            Op::Update => "UPDATE",
            Op::Delete => "DELETE",
            Op::Write => "WRITE",
            Op::Custom => "CUSTOM",
        }
    }

    fn covers(self, wanted: Op) -> bool {
        self == wanted
            || self == Op::All
            || (self == Op::Write && matches!(wanted, Op::Create | Op::Update | Op::Delete))
    }
}

/// One scope, granted or required.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scope {
    pub service: String,
    pub path: Vec<String>,
    pub op: Op,
}

impl Scope {
    pub fn parse(s: &str) -> Option<Scope> {
        let parts: Vec<&str> = s.trim().split('.').collect();
        if parts.len() < 3 || parts.iter().any(|p| p.is_empty()) {
            return None;
        }
        let op = Op::parse(parts[parts.len() - 1])?;
        Some(Scope {
            service: parts[0].to_string(),
            path: parts[1..parts.len() - 1]
                .iter()
                .map(|p| p.to_ascii_lowercase())
                .collect(),
            op,
        })
    }

    pub fn crm(path: &[&str], op: Op) -> Scope {
        Scope {
            service: "ZohoCRM".into(),
            path: path.iter().map(|p| p.to_ascii_lowercase()).collect(),
            op,
        }
    }

    pub fn covers(&self, wanted: &Scope) -> bool {
        self.service.eq_ignore_ascii_case(&wanted.service)
            && self.path.len() <= wanted.path.len()
            && self.path.iter().zip(&wanted.path).all(|(a, b)| a == b)
            && self.op.covers(wanted.op)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}.{}.{}",
            self.service,
            self.path.join("."),
            self.op.as_str()
        )
    }
}

/// The scopes a token carries.
#[derive(Debug, Clone, Default)]
pub struct Scopes(pub Vec<Scope>);

impl Scopes {
    /// Zoho lists scopes comma-separated; spaces are tolerated as well.
    pub fn parse_list(s: &str) -> Result<Scopes, String> {
        let mut out = Vec::new();
        for item in s.split([',', ' ']).filter(|x| !x.trim().is_empty()) {
            out.push(Scope::parse(item).ok_or_else(|| item.trim().to_string())?);
        }
        Ok(Scopes(out))
    }

    pub fn allows(&self, wanted: &Scope) -> bool {
        self.0.iter().any(|g| g.covers(wanted))
    }

    pub fn to_list(&self) -> String {
        self.0
            .iter()
            .map(|s| s.to_string())
            .collect::<Vec<_>>()
            .join(",")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn allows(granted: &str, wanted: &str) -> bool {
        Scopes::parse_list(granted)
            .unwrap()
            .allows(&Scope::parse(wanted).unwrap())
    }

    #[test]
    fn family_and_operation_rules() {
        assert!(allows("ZohoCRM.modules.ALL", "ZohoCRM.modules.leads.READ"));
        assert!(allows("ZohoCRM.modules.READ", "ZohoCRM.modules.deals.READ"));
        assert!(!allows(
            "ZohoCRM.modules.READ",
            "ZohoCRM.modules.deals.CREATE"
        ));
        assert!(allows(
            "ZohoCRM.modules.leads.WRITE",
            "ZohoCRM.modules.leads.DELETE"
        ));
        assert!(!allows(
            "ZohoCRM.modules.leads.ALL",
            "ZohoCRM.modules.contacts.READ"
        ));
        assert!(allows(
            "ZohoCRM.settings.ALL",
            "ZohoCRM.settings.fields.READ"
        ));
        assert!(!allows(
            "ZohoCRM.settings.modules.READ",
            "ZohoCRM.settings.fields.READ"
        ));
        assert!(!allows("ZohoCRM.users.READ", "ZohoCRM.org.READ"));
        assert!(Scopes::parse_list("ZohoCRM.modules").is_err());
    }
}
