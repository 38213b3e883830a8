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

/// Services a client may ask scopes of: those zcrm serves, and Zoho Accounts'
/// own profile scope, which sign-in integrations request alongside CRM's.
pub const GRANTABLE_SERVICES: [&str; 4] = ["ZohoCRM", "ZohoFiles", "ZohoSearch", "AaaServer"];

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

    /// The scopes a client asks to be granted (consent page, client
    /// credentials): at least one, each well formed and of a service a token
    /// from here can mean something for. `Err` names the first bad item.
    pub fn parse_request(s: &str) -> Result<Scopes, String> {
        let scopes = Scopes::parse_list(s)?;
        if let Some(bad) = scopes.0.iter().find(|sc| {
            !GRANTABLE_SERVICES
                .iter()
                .any(|g| g.eq_ignore_ascii_case(&sc.service))
        }) {
            return Err(bad.to_string());
        }
        if scopes.0.is_empty() {
            return Err(String::new());
        }
        Ok(scopes)
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

    #[test]
    fn requested_scopes_must_be_known_and_present() {
        let ok = Scopes::parse_request("ZohoCRM.modules.ALL, ZohoFiles.files.ALL").unwrap();
        assert_eq!(ok.to_list(), "ZohoCRM.modules.ALL,ZohoFiles.files.ALL");
        assert_eq!(
            Scopes::parse_request("ZohoCRM.modules.ALL,Nope.things.READ").unwrap_err(),
            "Nope.things.READ"
        );
        assert!(Scopes::parse_request("ZohoCRM.modules.FLY").is_err());
        assert!(Scopes::parse_request(" , ").is_err());
    }
}
