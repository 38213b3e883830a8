//! COQL (`POST /crm/v8/coql`): parsed by `sqlparser` (MySQL dialect, which has
//! `LIMIT offset, n`), then checked against Zoho's rules and the module
//! metadata into a [`Query`]; the WHERE clause is in `filter.rs`. Limits
//! follow Zoho's v8 COQL pages (COQL-Overview, COQL-Limitations).

mod filter;

use super::{
    resolve, Aggregate, Column, ColumnError, Filter, Kind, Order, OrderKey, Query, SelectExpr,
    SelectItem,
};
use crate::error::{ApiError, Code};
use crate::meta::{Catalog, DataType, Module};
use sqlparser::ast::{
    self, BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, GroupByExpr,
    LimitClause, ObjectNamePart, OrderByKind, OrderBySort, SetExpr, Statement, TableFactor,
    UnaryOperator, Value,
};
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
    let [Statement::Query(q)] = statements.as_slice() else {
        return Err(unsupported());
    };
    if q.with.is_some() || q.fetch.is_some() || !q.locks.is_empty() || q.for_clause.is_some() {
        return Err(unsupported());
    }
    let SetExpr::Select(s) = q.body.as_ref() else {
        return Err(unsupported());
    };
    if s.distinct.is_some()
        || s.top.is_some()
        || s.having.is_some()
        || s.into.is_some()
        || !s.lateral_views.is_empty()
        || s.qualify.is_some()
    {
        return Err(unsupported());
    }
    let module = from_module(catalog, &s.from)?;
    let b = Builder { catalog, module };

    // SELECT
    if s.projection.len() > MAX_COLUMNS {
        return Err(limit_exceeded(MAX_COLUMNS as u64, "select"));
    }
    let mut select: Vec<SelectItem> = Vec::new();
    let mut aliases: Vec<(String, usize)> = Vec::new();
    for item in &s.projection {
        let (expr, alias) = match item {
            ast::SelectItem::UnnamedExpr(e) => (e, None),
            ast::SelectItem::ExprWithAlias { expr, alias } => (expr, Some(alias.value.clone())),
            _ => return Err(unsupported()),
        };
        let (sel, text) = b.select_expr(expr)?;
        let key = match &alias {
            Some(a) => {
                if a.is_empty() || a.contains('.') {
                    return Err(ApiError::new(Code::InvalidAlias).detail("alias", a.as_str()));
                }
                if let Some((_, j)) = aliases.iter().find(|(n, _)| n.eq_ignore_ascii_case(a)) {
                    return Err(ApiError::new(Code::DuplicateAlias)
                        .detail("alias", a.as_str())
                        .detail(
                            "referred_columns",
                            serde_json::json!([select[*j].key, text]),
                        ));
                }
                aliases.push((a.clone(), select.len()));
                a.clone()
            }
            None => text,
        };
        select.push(SelectItem { expr: sel, key });
    }
    let aggregates = select
        .iter()
        .filter(|s| matches!(s.expr, SelectExpr::Aggregate(..)))
        .count();
    if aggregates > MAX_AGGREGATES {
        return Err(limit_exceeded(MAX_AGGREGATES as u64, "aggregate"));
    }
    for (i, a) in select.iter().enumerate() {
        if select[..i].iter().any(|b| {
            matches!((&a.expr, &b.expr), (SelectExpr::Aggregate(fa, ca), SelectExpr::Aggregate(fb, cb)) if fa == fb && ca.name == cb.name)
        }) {
            return Err(ApiError::new(Code::DuplicateData).detail("column_name", a.key.as_str()));
        }
    }

    // WHERE
    let filter = match &s.selection {
        Some(e) => {
            let f = b.filter(e, 0)?;
            if f.terms() > MAX_TERMS {
                return Err(limit_exceeded(MAX_TERMS as u64, "where"));
            }
            Some(f)
        }
        None => None,
    };

    // GROUP BY
    let group_exprs: &[Expr] = match &s.group_by {
        GroupByExpr::Expressions(v, mods) if mods.is_empty() => v,
        _ => return Err(unsupported()),
    };
    if group_exprs.len() > MAX_GROUP_BY {
        return Err(limit_exceeded(MAX_GROUP_BY as u64, "group by"));
    }
    let mut group_by: Vec<Column> = Vec::new();
    for e in group_exprs {
        let c = b.column(e)?;
        if group_by.iter().any(|g| g.name == c.name) {
            return Err(ApiError::new(Code::DuplicateData).detail("column_name", c.name.as_str()));
        }
        group_by.push(c);
    }
    let aggregate = aggregates > 0 || !group_by.is_empty();
    if aggregate {
        for item in &select {
            if let SelectExpr::Column(c) = &item.expr {
                if !group_by.iter().any(|g| g.name == c.name) {
                    return Err(ApiError::new(Code::InvalidQuery)
                        .detail("column_name", c.name.as_str())
                        .detail("reason", "column should be in group by clause")
                        .message("invalid query formed"));
                }
            }
        }
    }

    // ORDER BY
    let mut order: Vec<Order> = Vec::new();
    if let Some(ob) = &q.order_by {
        let OrderByKind::Expressions(exprs) = &ob.kind else {
            return Err(unsupported());
        };
        if exprs.len() > MAX_ORDER_BY {
            return Err(limit_exceeded(MAX_ORDER_BY as u64, "order by"));
        }
        let mut seen: Vec<String> = Vec::new();
        for o in exprs {
            let desc = match o.options.sort {
                None | Some(OrderBySort::Asc) => false,
                Some(OrderBySort::Desc) => true,
                Some(_) => return Err(unsupported()),
            };
            let (key, name) = b.order_key(&o.expr, &select, &aliases)?;
            if seen.contains(&name) {
                return Err(ApiError::new(Code::DuplicateData).detail("column_name", name));
            }
            if aggregate {
                if let OrderKey::Column(c) = &key {
                    if !group_by.iter().any(|g| g.name == c.name) {
                        return Err(ApiError::new(Code::InvalidQuery)
                            .detail("column_name", c.name.as_str())
                            .detail("reason", "column should be in group by clause")
                            .message("invalid query formed"));
                    }
                }
            }
            seen.push(name);
            order.push(Order { key, desc });
        }
    }

    // LIMIT / OFFSET
    let (limit, offset) = match &q.limit_clause {
        None => (None, None),
        Some(LimitClause::LimitOffset {
            limit,
            offset,
            limit_by,
        }) => {
            if !limit_by.is_empty() {
                return Err(unsupported());
            }
            (limit.as_ref(), offset.as_ref().map(|o| &o.value))
        }
        Some(LimitClause::OffsetCommaLimit { offset, limit }) => (Some(limit), Some(offset)),
    };
    let limit = match limit {
        Some(e) => {
            let n = int_literal(e).ok_or_else(|| {
                ApiError::new(Code::InvalidQuery)
                    .detail("limit", e.to_string())
                    .message("limit given seems to be invalid")
            })?;
            if n <= 0 {
                return Err(ApiError::new(Code::InvalidData)
                    .detail("param_name", "limit")
                    .message("limit should be greater than 0"));
            }
            n as u64
        }
        None => DEFAULT_LIMIT,
    };
    if limit > MAX_LIMIT {
        return Err(limit_exceeded(MAX_LIMIT, "limit"));
    }
    let offset = match offset {
        Some(e) => match int_literal(e) {
            Some(n) if n >= 0 => n as u64,
            _ => {
                return Err(ApiError::new(Code::InvalidQuery)
                    .detail("offset", e.to_string())
                    .message("offset given seems to be invalid"))
            }
        },
        None => 0,
    };
    if offset.saturating_add(limit) > MAX_REACH {
        return Err(limit_exceeded(MAX_REACH, "offset"));
    }

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
    let mut out = vec![q.module.clone()];
    let mut add = |c: &Column| {
        for h in &c.hops {
            if !out.iter().any(|m| m.api_name == h.to.api_name) {
                out.push(h.to.clone());
            }
        }
    };
    for s in &q.select {
        match &s.expr {
            SelectExpr::Column(c) | SelectExpr::Aggregate(_, c) => add(c),
        }
    }
    q.group_by.iter().for_each(&mut add);
    for o in &q.order {
        if let OrderKey::Column(c) = &o.key {
            add(c);
        }
    }
    fn walk(f: &Filter, add: &mut dyn FnMut(&Column)) {
        match f {
            Filter::And(v) | Filter::Or(v) => v.iter().for_each(|x| walk(x, add)),
            Filter::Cmp { col, .. }
            | Filter::Like { col, .. }
            | Filter::In { col, .. }
            | Filter::Between { col, .. }
            | Filter::Null { col, .. } => add(col),
        }
    }
    if let Some(f) = &q.filter {
        walk(f, &mut add);
    }
    out
}

fn int_literal(e: &Expr) -> Option<i64> {
    match e {
        Expr::Value(v) => match &v.value {
            Value::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        Expr::UnaryOp {
            op: UnaryOperator::Minus,
            expr,
        } => int_literal(expr).map(|n| -n),
        _ => None,
    }
}

fn from_module(catalog: &Catalog, from: &[ast::TableWithJoins]) -> Result<Arc<Module>, ApiError> {
    let [twj] = from else {
        return Err(if from.is_empty() {
            missing_clause("from")
        } else {
            unsupported()
        });
    };
    if !twj.joins.is_empty() {
        return Err(unsupported());
    }
    let TableFactor::Table {
        name, alias, args, ..
    } = &twj.relation
    else {
        return Err(unsupported());
    };
    if alias.is_some() || args.is_some() {
        return Err(unsupported());
    }
    let [ObjectNamePart::Identifier(ident)] = name.0.as_slice() else {
        return Err(unsupported());
    };
    catalog.module(&ident.value).cloned().ok_or_else(|| {
        ApiError::new(Code::InvalidModule).message("the given module is not supported in api")
    })
}

struct Builder<'a> {
    catalog: &'a Catalog,
    module: Arc<Module>,
}

impl Builder<'_> {
    fn path(e: &Expr) -> Option<Vec<String>> {
        match e {
            Expr::Identifier(i) => Some(vec![i.value.clone()]),
            Expr::CompoundIdentifier(v) => Some(v.iter().map(|i| i.value.clone()).collect()),
            // A multi-module lookup names its module: `What_Id->Leads.Last_Name`.
            Expr::BinaryOp {
                left,
                op: BinaryOperator::Arrow,
                right,
            } => match (left.as_ref(), right.as_ref()) {
                (Expr::Identifier(f), Expr::CompoundIdentifier(v)) if v.len() >= 2 => {
                    let mut out = vec![format!("{}->{}", f.value, v[0].value)];
                    out.extend(v[1..].iter().map(|i| i.value.clone()));
                    Some(out)
                }
                _ => None,
            },
            _ => None,
        }
    }

    fn column(&self, e: &Expr) -> Result<Column, ApiError> {
        let Some(path) = Self::path(e) else {
            return Err(ApiError::new(Code::SyntaxError)
                .detail("near", e.to_string())
                .message("unexpected token"));
        };
        let parts: Vec<&str> = path.iter().map(String::as_str).collect();
        resolve(self.catalog, &self.module, &parts).map_err(|err| match err {
            ColumnError::TooDeep => ApiError::new(Code::LimitExceeded)
                .detail("column_name", path.join("."))
                .detail("limit", 2)
                .message("relation limit exceeded"),
            ColumnError::Unknown => invalid_column(&path.join(".")),
        })
    }

    fn select_expr(&self, e: &Expr) -> Result<(SelectExpr, String), ApiError> {
        if let Expr::Function(f) = e {
            let [ObjectNamePart::Identifier(fname)] = f.name.0.as_slice() else {
                return Err(unsupported());
            };
            let agg = match fname.value.to_ascii_lowercase().as_str() {
                "count" => Aggregate::Count,
                "sum" => Aggregate::Sum,
                "min" => Aggregate::Min,
                "max" => Aggregate::Max,
                "avg" => Aggregate::Avg,
                _ => {
                    return Err(ApiError::new(Code::InvalidData)
                        .detail("function", fname.value.as_str())
                        .message("aggregate function not supported"))
                }
            };
            let FunctionArguments::List(list) = &f.args else {
                return Err(unsupported());
            };
            if list.duplicate_treatment.is_some() || !list.clauses.is_empty() || f.filter.is_some()
            {
                return Err(unsupported());
            }
            let [FunctionArg::Unnamed(arg)] = list.args.as_slice() else {
                return Err(unsupported());
            };
            let (col, written) = match arg {
                FunctionArgExpr::Expr(e) => (self.column(e)?, e.to_string()),
                FunctionArgExpr::Wildcard if agg == Aggregate::Count => (
                    resolve(self.catalog, &self.module, &["id"]).map_err(|_| unsupported())?,
                    "*".to_string(),
                ),
                _ => return Err(unsupported()),
            };
            let ok = match agg {
                Aggregate::Count => col.kind() != Kind::Json,
                Aggregate::Sum | Aggregate::Avg => {
                    matches!(col.kind(), Kind::Number | Kind::Integer)
                }
                Aggregate::Min | Aggregate::Max => matches!(
                    col.kind(),
                    Kind::Number | Kind::Integer | Kind::Date | Kind::DateTime
                ),
            };
            if !ok {
                return Err(ApiError::new(Code::InvalidQuery)
                    .detail("column_name", col.name.as_str())
                    .detail("aggregate", agg.name())
                    .detail("data_type", col.data_type().as_str())
                    .message("data type not supported"));
            }
            let key = format!("{}({written})", fname.value);
            return Ok((SelectExpr::Aggregate(agg, col), key));
        }
        let col = self.column(e)?;
        if col.kind() == Kind::Json && col.data_type() != DataType::Multiselectpicklist {
            return Err(ApiError::new(Code::InvalidQuery)
                .detail("column_name", col.name.as_str())
                .message("data type not supported"));
        }
        let key = col.name.clone();
        Ok((SelectExpr::Column(col), key))
    }

    fn order_key(
        &self,
        e: &Expr,
        select: &[SelectItem],
        aliases: &[(String, usize)],
    ) -> Result<(OrderKey, String), ApiError> {
        if let Expr::Identifier(i) = e {
            if let Some((a, j)) = aliases
                .iter()
                .find(|(n, _)| n.eq_ignore_ascii_case(&i.value))
            {
                return Ok((OrderKey::Item(*j), a.clone()));
            }
        }
        if let Expr::Function(_) = e {
            let text = e.to_string();
            if let Some(j) = select.iter().position(|s| {
                matches!(s.expr, SelectExpr::Aggregate(..)) && s.key.eq_ignore_ascii_case(&text)
            }) {
                return Ok((OrderKey::Item(j), text));
            }
            let (_, key) = self.select_expr(e)?;
            return Err(ApiError::new(Code::InvalidQuery)
                .detail("column_name", key)
                .detail("reason", "aggregate in order by is not selected")
                .message("invalid query formed"));
        }
        let c = self.column(e)?;
        let name = c.name.clone();
        Ok((OrderKey::Column(c), name))
    }
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
