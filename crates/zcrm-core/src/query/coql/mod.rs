//! COQL (`POST /crm/v8/coql`): parsed by `sqlparser` (MySQL dialect, which has
//! `LIMIT offset, n`), then checked against Zoho's rules and the module
//! metadata into a [`Query`]: each clause in `clauses.rs`, names and select
//! expressions in `builder.rs`, the WHERE clause in `filter.rs`. Limits
//! follow Zoho's v8 COQL pages (COQL-Overview, COQL-Limitations).

mod builder;
mod clauses;
mod filter;

use super::{Column, OrderKey, Query, SelectExpr};
use crate::error::{ApiError, Code};
use crate::meta::{Catalog, Module};
use builder::Builder;
use sqlparser::dialect::MySqlDialect;
use sqlparser::parser::Parser;
use std::sync::Arc;

pub const MAX_COLUMNS: usize = 50;
pub const MAX_TERMS: usize = 25;
pub const MAX_IN_VALUES: usize = 50;
pub const MAX_ORDER_BY: usize = 10;
pub const MAX_GROUP_BY: usize = 4;
pub const MAX_AGGREGATES: usize = 5;
pub const DEFAULT_LIMIT: u64 = 200;
pub const MAX_LIMIT: u64 = 2_000;
/// Records reachable with LIMIT/OFFSET.
pub const MAX_REACH: u64 = 100_000;
/// Longest query text we look at; sqlparser's recursion limit guards depth.
const MAX_QUERY_LEN: usize = 20_000;

fn unsupported() -> ApiError {
    ApiError::new(Code::SyntaxError).message("given coql query not supported")
}

fn missing_clause(clause: &str) -> ApiError {
    ApiError::new(Code::SyntaxError)
        .detail("clause", clause)
        .message("missing clause")
}

fn invalid_column(name: &str) -> ApiError {
    ApiError::new(Code::InvalidQuery)
        .detail("column_name", name)
        .detail("reason", "column given seems to be invalid")
        .message("column given seems to be invalid")
}

fn limit_exceeded(limit: u64, clause: &str) -> ApiError {
    ApiError::new(Code::LimitExceeded)
        .detail("limit", limit)
        .detail("clause", clause)
}

/// `SYNTAX_ERROR` with `line`/`column`/`near` from sqlparser's message
/// ("Expected: …, found: X at Line: 1, Column: 23"); `near` is the word of the
/// query at that place (or what sqlparser found there).
fn syntax_error(sql: &str, msg: &str) -> ApiError {
    let mut e = ApiError::new(Code::SyntaxError).message("unexpected token");
    let num_after = |key: &str| -> Option<u64> {
        let rest = &msg[msg.rfind(key)? + key.len()..];
        let digits: String = rest
            .trim_start()
            .chars()
            .take_while(|c| c.is_ascii_digit())
            .collect();
        digits.parse().ok()
    };
    let mut near = msg
        .find("found: ")
        .map(|i| {
            let rest = &msg[i + 7..];
            rest.split(" at Line:")
                .next()
                .unwrap_or(rest)
                .trim()
                .to_string()
        })
        .unwrap_or_default();
    if let (Some(line), Some(column)) = (num_after("Line:"), num_after("Column:")) {
        e = e.detail("line", line).detail("column", column);
        let at: String = sql
            .lines()
            .nth(line.saturating_sub(1) as usize)
            .unwrap_or("")
            .chars()
            .skip(column.saturating_sub(1) as usize)
            .take_while(|c| !c.is_whitespace())
            .take(50)
            .collect();
        if !at.is_empty() {
            near = at;
        }
    }
    e.detail("near", near)
}

/// Parses and validates a COQL `select_query`.
pub fn parse(catalog: &Catalog, sql: &str) -> Result<Query, ApiError> {
    if sql.trim().is_empty() {
        return Err(ApiError::new(Code::MandatoryNotFound)
            .detail("api_name", "select_query")
            .message("mandatory key not found"));
    }
    if sql.len() > MAX_QUERY_LEN {
        return Err(limit_exceeded(MAX_QUERY_LEN as u64, "select_query"));
    }
    let statements =
        Parser::parse_sql(&MySqlDialect {}, sql).map_err(|e| syntax_error(sql, &e.to_string()))?;
    let (q, s) = clauses::select_of(&statements)?;
    let module = clauses::from_module(catalog, &s.from)?;
    let b = Builder { catalog, module };
    let (select, aliases) = clauses::select(&b, &s.projection)?;
    let aggregates = clauses::aggregates(&select)?;
    let filter = clauses::filter(&b, s.selection.as_ref())?;
    let group_by = clauses::group_by(&b, &s.group_by)?;
    let aggregate = aggregates > 0 || !group_by.is_empty();
    if aggregate {
        for item in &select {
            if let SelectExpr::Column(c) = &item.expr {
                clauses::check_grouped(c, &group_by)?;
            }
        }
    }
    let grouped = aggregate.then_some(group_by.as_slice());
    let order = clauses::order_by(&b, q.order_by.as_ref(), &select, &aliases, grouped)?;
    let (limit, offset) = clauses::limit_offset(q.limit_clause.as_ref())?;
    Ok(Query {
        module: b.module,
        select,
        filter,
        group_by,
        order,
        limit,
        offset,
    })
}

/// The modules a query reads: its own and each one reached through a lookup.
pub fn modules_touched(q: &Query) -> Vec<Arc<Module>> {
    let mut columns: Vec<&Column> = Vec::new();
    for s in &q.select {
        match &s.expr {
            SelectExpr::Column(c) | SelectExpr::Aggregate(_, c) => columns.push(c),
        }
    }
    columns.extend(&q.group_by);
    for o in &q.order {
        if let OrderKey::Column(c) = &o.key {
            columns.push(c);
        }
    }
    super::modules_reached(&q.module, columns, q.filter.as_ref())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(sql: &str) -> Result<Query, ApiError> {
        let c = Catalog::standard().unwrap();
        parse(&c, sql)
    }

    #[test]
    fn parses_a_full_query() {
        let query = q("select Last_Name, Account_Name.Account_Name as 'acc', Owner.last_name from Contacts \
                   where (Last_Name like 'B%' and (Created_Time >= '2024-01-01T00:00:00+05:30' or Account_Name is null)) \
                   order by acc desc, Last_Name limit 10, 20")
        .unwrap();
        assert_eq!(query.select.len(), 3);
        assert_eq!(query.select[1].key, "acc");
        assert_eq!((query.offset, query.limit), (10, 20));
        assert_eq!(query.order.len(), 2);
        assert!(query.order[0].desc);
        assert_eq!(modules_touched(&query).len(), 2);
        let query = q("select What_Id->Leads.Last_Name, Subject from Tasks where What_Id->Leads.Last_Name like 'B%'").unwrap();
        assert_eq!(query.select[0].key, "What_Id->Leads.Last_Name");
        assert_eq!(modules_touched(&query).len(), 2);
    }

    #[test]
    fn errors_carry_zoho_codes() {
        let code = |s: &str| q(s).unwrap_err().code;
        assert_eq!(code("select Last_Name"), Code::SyntaxError);
        assert_eq!(code("select Last_Name form Leads"), Code::SyntaxError);
        assert_eq!(code("select Nope from Leads"), Code::InvalidQuery);
        assert_eq!(code("select Last_Name from Nope"), Code::InvalidModule);
        assert_eq!(
            code("select Last_Name from Leads limit 2001"),
            Code::LimitExceeded
        );
        assert_eq!(
            code("select Last_Name from Leads limit 99900, 200"),
            Code::LimitExceeded
        );
        assert_eq!(
            code("select Last_Name from Leads limit 0"),
            Code::InvalidData
        );
        assert_eq!(
            code("select Last_Name from Leads where Last_Name > 'a'"),
            Code::SyntaxError
        );
        assert_eq!(
            code("select Last_Name from Leads where Annual_Revenue = 'x'"),
            Code::InvalidQuery
        );
        assert_eq!(
            code("select Last_Name as 'a', Company as 'a' from Leads"),
            Code::DuplicateAlias
        );
        assert_eq!(
            code("select id from Leads order by id, id"),
            Code::DuplicateData
        );
        assert_eq!(
            code("select Last_Name from Leads; drop table m_leads"),
            Code::SyntaxError
        );
        let e = q("select Last_Name from Leads whre Last_Name = 'x'").unwrap_err();
        assert!(e.details.contains_key("near"), "{e:?}");
    }
}
