//! The search API's `criteria` grammar (Zoho's search-records page):
//!
//! ```text
//! criteria  := term (("and" | "or") term)*        -- "and" binds tighter than "or"
//! term      := "(" criteria ")" | "(" field ":" operator ":" value ")"
//! value     := chars, where "\(", "\)", "\,", "\:" and "\\" stand for themselves;
//!              an unescaped "," separates the items of in / not_in / between
//! ```
//!
//! Parsed by hand: it is a few characters of structure, not SQL.

use super::{typed_value, CmpOp, Column, Filter, Kind, Pattern};
use crate::error::{ApiError, Code};
use crate::meta::{Catalog, Module};
use crate::value::SqlValue;
use std::sync::Arc;

/// Zoho's limit on conditions in one criteria (OAS8n `CRITERIA_LIMIT_EXCEEDED`; D7 says 10).
pub const MAX_CRITERIA: usize = 15;
/// Values in one `in` (OAS8n module_search).
pub const MAX_IN_VALUES: usize = 100;
/// Length of the criteria parameter (OAS8n module_search).
pub const MAX_LENGTH: usize = 3000;
/// Nesting depth we accept; deeper input is refused before it can exhaust the stack.
const MAX_DEPTH: usize = 32;

fn malformed() -> ApiError {
    ApiError::new(Code::InvalidQuery)
        .detail("api_name", "criteria")
        .detail("param_name", "criteria")
        .message("Invalid query formed")
}

/// Parses and validates `criteria` for `module`.
pub fn parse(catalog: &Catalog, module: &Arc<Module>, criteria: &str) -> Result<Filter, ApiError> {
    if criteria.chars().count() > MAX_LENGTH {
        return Err(malformed());
    }
    let mut p = Parser {
        s: criteria.as_bytes(),
        src: criteria,
        i: 0,
        depth: 0,
        terms: 0,
        catalog,
        module,
    };
    p.ws();
    let f = p.expr()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(malformed());
    }
    Ok(f)
}

struct Parser<'a> {
    s: &'a [u8],
    src: &'a str,
    i: usize,
    depth: usize,
    terms: usize,
    catalog: &'a Catalog,
    module: &'a Arc<Module>,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
            self.i += 1;
        }
    }

    fn keyword(&mut self, kw: &str) -> bool {
        let end = self.i + kw.len();
        if end <= self.s.len() && self.s[self.i..end].eq_ignore_ascii_case(kw.as_bytes()) {
            self.i = end;
            true
        } else {
            false
        }
    }

    fn expr(&mut self) -> Result<Filter, ApiError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(malformed());
        }
        let mut ors = vec![];
        let mut ands = vec![self.term()?];
        loop {
            self.ws();
            if self.keyword("and") {
                self.ws();
                ands.push(self.term()?);
            } else if self.keyword("or") {
                self.ws();
                ors.push(group(std::mem::take(&mut ands), Filter::And));
                ands.push(self.term()?);
            } else {
                break;
            }
        }
        ors.push(group(ands, Filter::And));
        self.depth -= 1;
        Ok(group(ors, Filter::Or))
    }

    fn term(&mut self) -> Result<Filter, ApiError> {
        if self.s.get(self.i) != Some(&b'(') {
            return Err(malformed());
        }
        self.i += 1;
        self.ws();
        if self.s.get(self.i) == Some(&b'(') {
            let f = self.expr()?;
            self.ws();
            if self.s.get(self.i) != Some(&b')') {
                return Err(malformed());
            }
            self.i += 1;
            return Ok(f);
        }
        self.condition()
    }

    /// `field:operator:value)` — the opening bracket is already read.
    fn condition(&mut self) -> Result<Filter, ApiError> {
        let field = self.until_colon()?;
        let op = self.until_colon()?;
        let mut items = vec![String::new()];
        loop {
            // Walk by characters: values may be any UTF-8.
            let rest = &self.src[self.i..];
            let mut chars = rest.chars();
            let c = chars.next().ok_or_else(malformed)?;
            match c {
                '\\' => {
                    let e = chars.next().ok_or_else(malformed)?;
                    if let Some(last) = items.last_mut() {
                        last.push(e);
                    }
                    self.i += 1 + e.len_utf8();
                }
                ')' => {
                    self.i += 1;
                    break;
                }
                '(' => return Err(malformed()),
                ',' => {
                    items.push(String::new());
                    self.i += 1;
                }
                c => {
                    if let Some(last) = items.last_mut() {
                        last.push(c);
                    }
                    self.i += c.len_utf8();
                }
            }
        }
        self.terms += 1;
        if self.terms > MAX_CRITERIA {
            return Err(ApiError::new(Code::CriteriaLimitExceeded).message(format!(
                "no of criterium that can be given exceed the limit {MAX_CRITERIA}"
            )));
        }
        condition(self.catalog, self.module, field.trim(), op.trim(), items)
    }

    fn until_colon(&mut self) -> Result<String, ApiError> {
        let start = self.i;
        while self.i < self.s.len() && self.s[self.i] != b':' {
            if matches!(self.s[self.i], b'(' | b')') {
                return Err(malformed());
            }
            self.i += 1;
        }
        if self.i >= self.s.len() {
            return Err(malformed());
        }
        let out = self.src[start..self.i].to_string();
        self.i += 1;
        Ok(out)
    }
}

fn group(mut v: Vec<Filter>, make: fn(Vec<Filter>) -> Filter) -> Filter {
    if v.len() == 1 {
        v.remove(0)
    } else {
        make(v)
    }
}

/// Operators of the criteria grammar.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    Equals,
    NotEqual,
    StartsWith,
    EndsWith,
    Contains,
    NotContains,
    In,
    NotIn,
    Between,
    GreaterThan,
    GreaterEqual,
    LessThan,
    LessEqual,
    IsEmpty,
    IsNotEmpty,
}

const OPS: [(&str, Op); 15] = [
    ("equals", Op::Equals),
    ("not_equal", Op::NotEqual),
    ("starts_with", Op::StartsWith),
    ("ends_with", Op::EndsWith),
    ("contains", Op::Contains),
    ("not_contains", Op::NotContains),
    ("in", Op::In),
    ("not_in", Op::NotIn),
    ("between", Op::Between),
    ("greater_than", Op::GreaterThan),
    ("greater_equal", Op::GreaterEqual),
    ("less_than", Op::LessThan),
    ("less_equal", Op::LessEqual),
    ("is_empty", Op::IsEmpty),
    ("is_not_empty", Op::IsNotEmpty),
];

/// Which operators a kind of field takes.
fn allowed(kind: Kind, op: Op) -> bool {
    use Op::*;
    match kind {
        Kind::Text => matches!(
            op,
            Equals
                | NotEqual
                | StartsWith
                | EndsWith
                | Contains
                | NotContains
                | In
                | NotIn
                | IsEmpty
                | IsNotEmpty
        ),
        Kind::Number | Kind::Integer | Kind::Date | Kind::DateTime => matches!(
            op,
            Equals
                | NotEqual
                | GreaterThan
                | GreaterEqual
                | LessThan
                | LessEqual
                | Between
                | In
                | NotIn
                | IsEmpty
                | IsNotEmpty
        ),
        Kind::Boolean => matches!(op, Equals | NotEqual),
        Kind::Id => matches!(op, Equals | NotEqual | In | NotIn | IsEmpty | IsNotEmpty),
        Kind::Json => matches!(op, IsEmpty | IsNotEmpty),
    }
}

fn value_for(col: &Column, raw: &str) -> Result<SqlValue, ApiError> {
    let v = typed_value(col, raw).or_else(|_| {
        // A `+` in an offset that was not URL-encoded arrives as a space.
        if col.kind() == Kind::DateTime {
            typed_value(col, &raw.trim().replace(' ', "+"))
        } else {
            Err(super::BadValue)
        }
    });
    v.map_err(|_| bad_value(col))
}

fn bad_value(col: &Column) -> ApiError {
    ApiError::new(Code::InvalidQuery)
        .detail("expected_data_type", col.data_type().as_str())
        .detail("reason", "invalid value given for the field")
        .detail("api_name", col.name.as_str())
        .message("Invalid query formed")
}

fn condition(
    catalog: &Catalog,
    module: &Arc<Module>,
    field: &str,
    op: &str,
    items: Vec<String>,
) -> Result<Filter, ApiError> {
    let col = criteria_column(catalog, module, field)?;
    let op = operator(&col, op)?;
    build(col, op, items)
}

/// The field a condition names.
fn criteria_column(
    catalog: &Catalog,
    module: &Arc<Module>,
    field: &str,
) -> Result<Column, ApiError> {
    let path: Vec<&str> = field.split('.').collect();
    // Search criteria name fields of the module itself (lookups compare by id).
    let col = super::resolve(catalog, module, &path)
        .ok()
        .filter(Column::is_plain)
        .ok_or_else(|| {
            ApiError::new(Code::InvalidQuery)
                .detail("reason", "the api name given seems to be invalid")
                .detail("api_name", field)
                .message("Invalid query formed")
        })?;
    Ok(col)
}

/// The operator a condition names, if `col`'s type takes it.
fn operator(col: &Column, op: &str) -> Result<Op, ApiError> {
    let bad_op = || {
        ApiError::new(Code::InvalidQuery)
            .detail("operator", op)
            .detail("reason", "invalid operator found")
            .detail("api_name", col.name.as_str())
            .message("Invalid query formed")
    };
    let op = OPS
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(op))
        .map(|(_, o)| *o)
        .ok_or_else(bad_op)?;
    if !allowed(col.kind(), op) {
        return Err(bad_op());
    }
    Ok(op)
}

/// The condition `col` `op` `items` (the values between commas).
fn build(col: Column, op: Op, items: Vec<String>) -> Result<Filter, ApiError> {
    let whole = items.join(",");
    let pattern = |p: fn(String) -> Pattern| p(whole.clone());
    Ok(match op {
        Op::Equals | Op::NotEqual => {
            let value = value_for(&col, &whole)?;
            let op = if op == Op::Equals {
                CmpOp::Eq
            } else {
                CmpOp::Ne
            };
            Filter::Cmp { col, op, value }
        }
        Op::GreaterThan | Op::GreaterEqual | Op::LessThan | Op::LessEqual => {
            let value = value_for(&col, &whole)?;
            let op = match op {
                Op::GreaterThan => CmpOp::Gt,
                Op::GreaterEqual => CmpOp::Ge,
                Op::LessThan => CmpOp::Lt,
                _ => CmpOp::Le,
            };
            Filter::Cmp { col, op, value }
        }
        Op::StartsWith | Op::EndsWith | Op::Contains | Op::NotContains => {
            if whole.is_empty() {
                return Err(malformed());
            }
            let (pattern, negated) = match op {
                Op::StartsWith => (pattern(Pattern::StartsWith), false),
                Op::EndsWith => (pattern(Pattern::EndsWith), false),
                Op::Contains => (pattern(Pattern::Contains), false),
                _ => (pattern(Pattern::Contains), true),
            };
            Filter::Like {
                col,
                pattern,
                negated,
            }
        }
        Op::In | Op::NotIn => {
            if items.len() > MAX_IN_VALUES {
                return Err(ApiError::new(Code::InvalidQuery)
                    .detail("api_name", col.name.as_str())
                    .detail("param_name", "criteria")
                    .message("Only 100 values are allowed in \"IN\" criteria"));
            }
            let values = items
                .iter()
                .map(|v| value_for(&col, v))
                .collect::<Result<Vec<_>, _>>()?;
            Filter::In {
                col,
                values,
                negated: op == Op::NotIn,
            }
        }
        Op::Between => {
            if items.len() != 2 {
                return Err(bad_value(&col));
            }
            Filter::Between {
                low: value_for(&col, &items[0])?,
                high: value_for(&col, &items[1])?,
                col,
                negated: false,
            }
        }
        Op::IsEmpty | Op::IsNotEmpty => {
            // `(Email:is_empty:false)` asks the opposite.
            let flip = whole.trim().eq_ignore_ascii_case("false");
            Filter::Null {
                col,
                negated: (op == Op::IsNotEmpty) != flip,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn leads() -> (Catalog, Arc<Module>) {
        let c = Catalog::standard().unwrap();
        let m = c.module("Leads").unwrap().clone();
        (c, m)
    }

    #[test]
    fn parses_nested_groups_and_escapes() {
        let (c, m) = leads();
        let f = parse(
            &c,
            &m,
            r"((Last_Name:equals:Burns\,B\(x\))and((First_Name:starts_with:M)or(Annual_Revenue:between:1,2)))",
        )
        .unwrap();
        let Filter::And(v) = f else { panic!() };
        match &v[0] {
            Filter::Cmp { value, .. } => assert_eq!(value, &SqlValue::Text("Burns,B(x)".into())),
            other => panic!("{other:?}"),
        }
        assert!(matches!(v[1], Filter::Or(_)));
    }

    #[test]
    fn refuses_bad_input() {
        let (c, m) = leads();
        for bad in [
            "",
            "(",
            "(Last_Name:equals)",
            "(Last_Name:equals:x",
            "(Last_Name:equals:x))",
            "(Last_Name:equals:x)and",
            "(Nope:equals:x)",
            "(Last_Name:greater_than:x)",
            "(Annual_Revenue:equals:abc)",
        ] {
            let e = parse(&c, &m, bad).unwrap_err();
            assert_eq!(e.code, Code::InvalidQuery, "{bad}");
        }
        let many = vec!["(Last_Name:equals:x)"; 16].join("and");
        assert_eq!(
            parse(&c, &m, &format!("({many})")).unwrap_err().code,
            Code::CriteriaLimitExceeded
        );
    }
}
