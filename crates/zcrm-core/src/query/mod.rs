//! One query model for both of Zoho's query languages: the search API's
//! `criteria` grammar ([`criteria`]) and COQL ([`coql`]) parse to the same
//! [`Query`], whose columns are already resolved against the module metadata
//! and whose literals are typed by the field they are compared with. The store
//! compiles it to SQL with bound parameters; nothing a client wrote ever
//! becomes SQL text.

pub mod coql;
pub mod criteria;
pub mod json_criteria;

use crate::meta::{Catalog, DataType, Field, Module};
use crate::value::{parse_date, parse_datetime, SqlValue};
use std::sync::Arc;

/// An attribute of a CRM user, reachable through a user lookup (`Owner.last_name`).
/// Users live in the control data, not in the org's tables, so the store turns
/// these into expressions over bound values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UserAttr {
    FirstName,
    LastName,
    FullName,
    Email,
    Status,
}

impl UserAttr {
    pub const ALL: [(&'static str, UserAttr); 5] = [
        ("first_name", UserAttr::FirstName),
        ("last_name", UserAttr::LastName),
        ("full_name", UserAttr::FullName),
        ("email", UserAttr::Email),
        ("status", UserAttr::Status),
    ];

    pub fn parse(s: &str) -> Option<UserAttr> {
        UserAttr::ALL
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(s))
            .map(|(_, a)| *a)
    }

    pub fn name(self) -> &'static str {
        UserAttr::ALL
            .iter()
            .find(|(_, a)| *a == self)
            .map(|(n, _)| *n)
            .unwrap_or("")
    }
}

/// What the store needs to know of one user to evaluate `Owner.<attr>`.
#[derive(Debug, Clone, Default)]
pub struct UserInfo {
    pub id: i64,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: String,
    pub status: String,
}

impl UserInfo {
    pub fn attr(&self, a: UserAttr) -> SqlValue {
        match a {
            UserAttr::FirstName => self.first_name.clone().into(),
            UserAttr::LastName => self.last_name.clone().into(),
            UserAttr::FullName => match &self.first_name {
                Some(f) if !f.is_empty() => format!("{f} {}", self.last_name).into(),
                _ => self.last_name.clone().into(),
            },
            UserAttr::Email => self.email.clone().into(),
            UserAttr::Status => self.status.clone().into(),
        }
    }
}

/// One lookup followed from a record to the record it points at.
#[derive(Debug, Clone)]
pub struct Hop {
    /// The lookup field, in the module the hop starts from.
    pub from: Arc<Module>,
    pub field: usize,
    /// The module reached.
    pub to: Arc<Module>,
}

/// What a resolved column reads at the end of its hops.
#[derive(Debug, Clone)]
pub enum Target {
    /// The record id (`id`, or `Account_Name.id`).
    Id,
    /// A field of the module reached.
    Field { module: Arc<Module>, index: usize },
    /// An attribute of the user a user-lookup field points at.
    User {
        module: Arc<Module>,
        index: usize,
        attr: UserAttr,
    },
}

/// A column resolved against metadata: `Last_Name`, `Account_Name.Account_Name`,
/// `Owner.last_name`, `Account_Name.Parent_Account.Account_Name`.
#[derive(Debug, Clone)]
pub struct Column {
    /// The name as Zoho renders it: metadata spelling, dotted path.
    pub name: String,
    pub hops: Vec<Hop>,
    pub target: Target,
}

/// How a column's values compare and are typed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Text,
    Number,
    Integer,
    Date,
    DateTime,
    Boolean,
    /// A lookup or user lookup by id; also `id` itself.
    Id,
    /// Stored as JSON (multi-select pick lists …): only emptiness is testable.
    Json,
}

impl Column {
    pub fn field(&self) -> Option<&Field> {
        match &self.target {
            Target::Field { module, index } => Some(&module.fields[*index]),
            _ => None,
        }
    }

    pub fn data_type(&self) -> DataType {
        match &self.target {
            Target::Id => DataType::Bigint,
            Target::Field { module, index } => module.fields[*index].data_type,
            Target::User { attr, .. } => match attr {
                UserAttr::Email => DataType::Email,
                _ => DataType::Text,
            },
        }
    }

    pub fn kind(&self) -> Kind {
        if matches!(self.target, Target::Id) {
            return Kind::Id;
        }
        use DataType::*;
        match self.data_type() {
            Integer | Bigint => Kind::Integer,
            Double | Percent | Currency | Decimal => Kind::Number,
            Date => Kind::Date,
            Datetime => Kind::DateTime,
            Boolean => Kind::Boolean,
            Lookup | Ownerlookup | Userlookup => Kind::Id,
            Multiselectpicklist | Subform | Fileupload | Imageupload | Profileimage => Kind::Json,
            _ => Kind::Text,
        }
    }

    /// Whether the path is a plain field of the base module (no hops).
    pub fn is_plain(&self) -> bool {
        self.hops.is_empty() && !matches!(self.target, Target::User { .. })
    }
}

/// Why a column name did not resolve.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ColumnError {
    /// No such field (or lookup path) in the module.
    Unknown,
    /// More than two lookups followed.
    TooDeep,
}

/// Resolves `a.b.c` against `base`: each part before the last must be a lookup
/// (or a user lookup, which must then be followed by a user attribute).
pub fn resolve(
    catalog: &Catalog,
    base: &Arc<Module>,
    path: &[&str],
) -> Result<Column, ColumnError> {
    if path.is_empty() || path.len() > 3 {
        return Err(if path.len() > 3 {
            ColumnError::TooDeep
        } else {
            ColumnError::Unknown
        });
    }
    let mut module = base.clone();
    let mut hops = Vec::new();
    let mut names: Vec<String> = Vec::new();
    for (i, part) in path.iter().enumerate() {
        let last = i + 1 == path.len();
        if last {
            if part.eq_ignore_ascii_case("id") {
                names.push("id".into());
                return Ok(Column {
                    name: names.join("."),
                    hops,
                    target: Target::Id,
                });
            }
            let index = field_index(&module, part).ok_or(ColumnError::Unknown)?;
            names.push(module.fields[index].api_name.clone());
            return Ok(Column {
                name: names.join("."),
                hops,
                target: Target::Field { module, index },
            });
        }
        // `What_Id->Leads`: a multi-module lookup followed to one of its modules.
        if let Some((field, target)) = part.split_once("->") {
            let index = field_index(&module, field).ok_or(ColumnError::Unknown)?;
            let f = &module.fields[index];
            let to = f
                .lookup_modules
                .iter()
                .find(|n| n.eq_ignore_ascii_case(target))
                .and_then(|n| catalog.module(n))
                .cloned()
                .ok_or(ColumnError::Unknown)?;
            if hops.len() == 2 {
                return Err(ColumnError::TooDeep);
            }
            names.push(format!("{}->{}", f.api_name, to.api_name));
            hops.push(Hop {
                from: module.clone(),
                field: index,
                to: to.clone(),
            });
            module = to;
            continue;
        }
        let index = field_index(&module, part).ok_or(ColumnError::Unknown)?;
        let f = &module.fields[index];
        names.push(f.api_name.clone());
        if f.is_user() {
            // A user lookup ends the path with one of the user's attributes.
            if i + 2 != path.len() {
                return Err(ColumnError::Unknown);
            }
            let attr = UserAttr::parse(path[i + 1]).ok_or(ColumnError::Unknown)?;
            if path[i + 1].eq_ignore_ascii_case("id") {
                return Err(ColumnError::Unknown);
            }
            names.push(attr.name().to_string());
            return Ok(Column {
                name: names.join("."),
                hops,
                target: Target::User {
                    module: module.clone(),
                    index,
                    attr,
                },
            });
        }
        if f.is_multi_module() || !f.is_lookup() {
            return Err(ColumnError::Unknown);
        }
        let to = f
            .lookup
            .as_deref()
            .and_then(|n| catalog.module(n))
            .cloned()
            .ok_or(ColumnError::Unknown)?;
        if hops.len() == 2 {
            return Err(ColumnError::TooDeep);
        }
        hops.push(Hop {
            from: module.clone(),
            field: index,
            to: to.clone(),
        });
        module = to;
    }
    Err(ColumnError::Unknown)
}

fn field_index(m: &Module, name: &str) -> Option<usize> {
    let f = m.field(name)?;
    m.fields.iter().position(|x| std::ptr::eq(x, f))
}

/// A text pattern for `like` / `starts_with` and friends; the text is literal
/// (the store escapes `%` and `_` before binding it).
#[derive(Debug, Clone, PartialEq)]
pub enum Pattern {
    StartsWith(String),
    EndsWith(String),
    Contains(String),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// The modules a read reaches: `base`, and each module a column or a
/// condition follows a lookup into (what its scopes must cover).
pub fn modules_reached<'a>(
    base: &Arc<Module>,
    columns: impl IntoIterator<Item = &'a Column>,
    filter: Option<&Filter>,
) -> Vec<Arc<Module>> {
    let mut out = vec![base.clone()];
    let mut add = |c: &Column| {
        for h in &c.hops {
            if !out.iter().any(|m| m.api_name == h.to.api_name) {
                out.push(h.to.clone());
            }
        }
    };
    columns.into_iter().for_each(&mut add);
    if let Some(f) = filter {
        f.each_column(&mut add);
    }
    out
}

/// A filter over the base module's records.
#[derive(Debug, Clone)]
pub enum Filter {
    And(Vec<Filter>),
    Or(Vec<Filter>),
    Cmp {
        col: Column,
        op: CmpOp,
        value: SqlValue,
    },
    Like {
        col: Column,
        pattern: Pattern,
        negated: bool,
    },
    In {
        col: Column,
        values: Vec<SqlValue>,
        negated: bool,
    },
    Between {
        col: Column,
        low: SqlValue,
        high: SqlValue,
        negated: bool,
    },
    /// `is null` / `is_empty` (`negated`: `is not null`).
    Null {
        col: Column,
        negated: bool,
    },
}

impl Filter {
    /// Calls `f` on the column of every condition.
    pub fn each_column(&self, f: &mut dyn FnMut(&Column)) {
        match self {
            Filter::And(v) | Filter::Or(v) => v.iter().for_each(|x| x.each_column(f)),
            Filter::Cmp { col, .. }
            | Filter::Like { col, .. }
            | Filter::In { col, .. }
            | Filter::Between { col, .. }
            | Filter::Null { col, .. } => f(col),
        }
    }

    /// Number of leaf conditions.
    pub fn terms(&self) -> usize {
        match self {
            Filter::And(v) | Filter::Or(v) => v.iter().map(Filter::terms).sum(),
            _ => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Aggregate {
    Count,
    Sum,
    Min,
    Max,
    Avg,
}

impl Aggregate {
    pub fn name(self) -> &'static str {
        match self {
            Aggregate::Count => "COUNT",
            Aggregate::Sum => "SUM",
            Aggregate::Min => "MIN",
            Aggregate::Max => "MAX",
            Aggregate::Avg => "AVG",
        }
    }
}

#[derive(Debug, Clone)]
pub enum SelectExpr {
    Column(Column),
    Aggregate(Aggregate, Column),
}

#[derive(Debug, Clone)]
pub struct SelectItem {
    pub expr: SelectExpr,
    /// The key in the response: the alias, or the expression as Zoho prints it.
    pub key: String,
}

#[derive(Debug, Clone)]
pub enum OrderKey {
    Column(Column),
    /// A select item (an aggregate or an aliased column), by position.
    Item(usize),
}

#[derive(Debug, Clone)]
pub struct Order {
    pub key: OrderKey,
    pub desc: bool,
}

/// A whole query over one module.
#[derive(Debug, Clone)]
pub struct Query {
    pub module: Arc<Module>,
    pub select: Vec<SelectItem>,
    pub filter: Option<Filter>,
    pub group_by: Vec<Column>,
    pub order: Vec<Order>,
    pub limit: u64,
    pub offset: u64,
}

impl Query {
    pub fn is_aggregate(&self) -> bool {
        !self.group_by.is_empty()
            || self
                .select
                .iter()
                .any(|s| matches!(s.expr, SelectExpr::Aggregate(..)))
    }
}

/// Why a literal did not fit its column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadValue;

/// A client's literal, as text, typed for `col`. Text compares as given; numbers,
/// dates, date-times (ISO 8601 with offset), booleans and ids are parsed.
pub fn typed_value(col: &Column, raw: &str) -> Result<SqlValue, BadValue> {
    let s = raw.trim();
    match col.kind() {
        Kind::Text => Ok(SqlValue::Text(raw.to_string())),
        Kind::Integer => s.parse::<i64>().map(SqlValue::Int).map_err(|_| BadValue),
        Kind::Number => s
            .parse::<f64>()
            .ok()
            .filter(|f| f.is_finite())
            .map(SqlValue::Real)
            .ok_or(BadValue),
        Kind::Date => parse_date(s)
            .map(|d| SqlValue::Text(d.format("%Y-%m-%d").to_string()))
            .ok_or(BadValue),
        Kind::DateTime => parse_datetime(s).map(SqlValue::Int).ok_or(BadValue),
        Kind::Boolean => match s.to_ascii_lowercase().as_str() {
            "true" => Ok(SqlValue::Int(1)),
            "false" => Ok(SqlValue::Int(0)),
            _ => Err(BadValue),
        },
        Kind::Id => crate::ids::parse_id_str(s)
            .map(SqlValue::Int)
            .ok_or(BadValue),
        Kind::Json => Err(BadValue),
    }
}

/// Escapes `\`, `%` and `_` so a text is matched literally by `LIKE … ESCAPE '\'`.
pub fn like_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    for c in s.chars() {
        if matches!(c, '\\' | '%' | '_') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::standard().unwrap()
    }

    #[test]
    fn resolves_lookup_paths() {
        let c = catalog();
        let contacts = c.module("Contacts").unwrap().clone();
        let col = resolve(&c, &contacts, &["account_name", "Account_Name"]).unwrap();
        assert_eq!(col.name, "Account_Name.Account_Name");
        assert_eq!(col.hops.len(), 1);
        let col = resolve(&c, &contacts, &["Owner", "last_name"]).unwrap();
        assert_eq!(col.name, "Owner.last_name");
        assert!(matches!(col.target, Target::User { .. }));
        assert_eq!(
            resolve(&c, &contacts, &["Nope"]).unwrap_err(),
            ColumnError::Unknown
        );
        assert_eq!(
            resolve(&c, &contacts, &["Last_Name", "x"]).unwrap_err(),
            ColumnError::Unknown
        );
    }
}
