//! The clauses of a COQL query, one function each, checked against Zoho's
//! rules and limits in the order Zoho reports them: the statement's shape,
//! FROM, SELECT, WHERE, GROUP BY, ORDER BY, LIMIT/OFFSET.

use super::builder::Builder;
use super::{limit_exceeded, missing_clause, unsupported};
use super::{DEFAULT_LIMIT, MAX_AGGREGATES, MAX_COLUMNS, MAX_GROUP_BY, MAX_LIMIT};
use super::{MAX_ORDER_BY, MAX_REACH, MAX_TERMS};
use crate::error::{ApiError, Code};
use crate::meta::{Catalog, Module};
use crate::query::{Column, Filter, Order, OrderKey, SelectExpr, SelectItem};
use sqlparser::ast::{
    self, Expr, GroupByExpr, LimitClause, ObjectNamePart, OrderBy, OrderByKind, OrderBySort,
    SetExpr, Statement, TableFactor, UnaryOperator, Value,
};
use std::sync::Arc;

/// Aliases given in SELECT, with the item each names.
pub(super) type Aliases = Vec<(String, usize)>;

/// The one plain SELECT a COQL query may be.
pub(super) fn select_of(statements: &[Statement]) -> Result<(&ast::Query, &ast::Select), ApiError> {
    let [Statement::Query(q)] = statements else {
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
    Ok((q, s))
}

pub(super) fn from_module(
    catalog: &Catalog,
    from: &[ast::TableWithJoins],
) -> Result<Arc<Module>, ApiError> {
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

/// The SELECT items, each keyed by its alias or its text; and the aliases.
pub(super) fn select(
    b: &Builder,
    projection: &[ast::SelectItem],
) -> Result<(Vec<SelectItem>, Aliases), ApiError> {
    if projection.len() > MAX_COLUMNS {
        return Err(limit_exceeded(MAX_COLUMNS as u64, "select"));
    }
    let mut select: Vec<SelectItem> = Vec::new();
    let mut aliases: Aliases = Vec::new();
    for item in projection {
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
    Ok((select, aliases))
}

/// How many aggregates the query selects; none may repeat another.
pub(super) fn aggregates(select: &[SelectItem]) -> Result<usize, ApiError> {
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
    Ok(aggregates)
}

pub(super) fn filter(b: &Builder, selection: Option<&Expr>) -> Result<Option<Filter>, ApiError> {
    let Some(e) = selection else {
        return Ok(None);
    };
    let f = b.filter(e, 0)?;
    if f.terms() > MAX_TERMS {
        return Err(limit_exceeded(MAX_TERMS as u64, "where"));
    }
    Ok(Some(f))
}

pub(super) fn group_by(b: &Builder, group_by: &GroupByExpr) -> Result<Vec<Column>, ApiError> {
    let exprs: &[Expr] = match group_by {
        GroupByExpr::Expressions(v, mods) if mods.is_empty() => v,
        _ => return Err(unsupported()),
    };
    if exprs.len() > MAX_GROUP_BY {
        return Err(limit_exceeded(MAX_GROUP_BY as u64, "group by"));
    }
    let mut out: Vec<Column> = Vec::new();
    for e in exprs {
        let c = b.column(e)?;
        if out.iter().any(|g| g.name == c.name) {
            return Err(ApiError::new(Code::DuplicateData).detail("column_name", c.name.as_str()));
        }
        out.push(c);
    }
    Ok(out)
}

/// An aggregating query may only name grouped columns outside aggregates.
pub(super) fn check_grouped(c: &Column, group_by: &[Column]) -> Result<(), ApiError> {
    if group_by.iter().any(|g| g.name == c.name) {
        return Ok(());
    }
    Err(ApiError::new(Code::InvalidQuery)
        .detail("column_name", c.name.as_str())
        .detail("reason", "column should be in group by clause")
        .message("invalid query formed"))
}

/// The ORDER BY terms; `grouped`: the GROUP BY columns of an aggregating query.
pub(super) fn order_by(
    b: &Builder,
    order_by: Option<&OrderBy>,
    select: &[SelectItem],
    aliases: &Aliases,
    grouped: Option<&[Column]>,
) -> Result<Vec<Order>, ApiError> {
    let mut order: Vec<Order> = Vec::new();
    let Some(ob) = order_by else {
        return Ok(order);
    };
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
        let (key, name) = b.order_key(&o.expr, select, aliases)?;
        if seen.contains(&name) {
            return Err(ApiError::new(Code::DuplicateData).detail("column_name", name));
        }
        if let (Some(group_by), OrderKey::Column(c)) = (grouped, &key) {
            check_grouped(c, group_by)?;
        }
        seen.push(name);
        order.push(Order { key, desc });
    }
    Ok(order)
}

/// `(limit, offset)`: `LIMIT n`, `LIMIT o, n` or `LIMIT n OFFSET o`.
pub(super) fn limit_offset(clause: Option<&LimitClause>) -> Result<(u64, u64), ApiError> {
    let (limit, offset) = match clause {
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
    Ok((limit, offset))
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
