//! COQL's WHERE clause: operators by field type, typed literals.

use super::{limit_exceeded, unsupported, Builder, MAX_IN_VALUES};
use crate::error::{ApiError, Code};
use crate::query::{typed_value, CmpOp, Column, Filter, Kind, Pattern, Target};
use crate::value::SqlValue;
use sqlparser::ast::{BinaryOperator, Expr, InTarget, UnaryOperator, Value};

impl Builder<'_> {
    pub(super) fn filter(&self, e: &Expr, depth: usize) -> Result<Filter, ApiError> {
        if depth > 64 {
            return Err(unsupported());
        }
        match e {
            Expr::Nested(inner) => self.filter(inner, depth + 1),
            Expr::BinaryOp { left, op, right } => match op {
                BinaryOperator::And | BinaryOperator::Or => {
                    let and = *op == BinaryOperator::And;
                    self.logic(left, right, and, depth)
                }
                BinaryOperator::Eq
                | BinaryOperator::NotEq
                | BinaryOperator::Lt
                | BinaryOperator::LtEq
                | BinaryOperator::Gt
                | BinaryOperator::GtEq => self.comparison(left, op, right),
                _ => Err(ApiError::new(Code::SyntaxError)
                    .detail("operator", op.to_string())
                    .message("operator not supported")),
            },
            Expr::Like {
                negated,
                any,
                expr,
                pattern,
                escape_char,
            } => {
                if *any || escape_char.is_some() {
                    return Err(unsupported());
                }
                self.like(expr, pattern, *negated)
            }
            Expr::In {
                expr,
                target: InTarget::List(list),
                negated,
                global: false,
            } => self.in_list(expr, list, *negated),
            Expr::Between {
                expr,
                negated,
                low,
                high,
            } => {
                let sym = if *negated { "not between" } else { "between" };
                let col = self.column(expr)?;
                if !matches!(
                    col.kind(),
                    Kind::Number | Kind::Integer | Kind::Date | Kind::DateTime
                ) {
                    return Err(bad_operator(sym, &col));
                }
                Ok(Filter::Between {
                    low: self.value(&col, low, sym)?,
                    high: self.value(&col, high, sym)?,
                    col,
                    negated: *negated,
                })
            }
            Expr::IsNull(inner) | Expr::IsNotNull(inner) => Ok(Filter::Null {
                col: self.column(inner)?,
                negated: matches!(e, Expr::IsNotNull(_)),
            }),
            Expr::In { .. } | Expr::Subquery(_) | Expr::Exists { .. } => Err(unsupported()),
            other => Err(ApiError::new(Code::SyntaxError)
                .detail("near", truncate(&other.to_string()))
                .message("unexpected token")),
        }
    }

    /// `and`/`or` of two conditions, flattened into one group.
    fn logic(
        &self,
        left: &Expr,
        right: &Expr,
        and: bool,
        depth: usize,
    ) -> Result<Filter, ApiError> {
        let l = self.filter(left, depth + 1)?;
        let r = self.filter(right, depth + 1)?;
        let mut v = Vec::new();
        for f in [l, r] {
            match (f, and) {
                (Filter::And(x), true) | (Filter::Or(x), false) => v.extend(x),
                (f, _) => v.push(f),
            }
        }
        Ok(if and { Filter::And(v) } else { Filter::Or(v) })
    }

    /// `=`, `!=`, `<`, `<=`, `>`, `>=`: ordering only on ordered types.
    fn comparison(
        &self,
        left: &Expr,
        op: &BinaryOperator,
        right: &Expr,
    ) -> Result<Filter, ApiError> {
        let (cmp, sym) = match op {
            BinaryOperator::Eq => (CmpOp::Eq, "="),
            BinaryOperator::NotEq => (CmpOp::Ne, "!="),
            BinaryOperator::Lt => (CmpOp::Lt, "<"),
            BinaryOperator::LtEq => (CmpOp::Le, "<="),
            BinaryOperator::Gt => (CmpOp::Gt, ">"),
            _ => (CmpOp::Ge, ">="),
        };
        let col = self.column(left)?;
        let ordered = !matches!(cmp, CmpOp::Eq | CmpOp::Ne);
        let ok = match col.kind() {
            Kind::Text | Kind::Id | Kind::Boolean => !ordered,
            Kind::Json => false,
            _ => true,
        };
        if !ok {
            return Err(bad_operator(sym, &col));
        }
        let value = self.value(&col, right, sym)?;
        Ok(Filter::Cmp {
            col,
            op: cmp,
            value,
        })
    }

    /// `like` on text: `%x%`, `x%`, `%x`; without `%` it is `=` (`!=`).
    fn like(&self, expr: &Expr, pattern: &Expr, negated: bool) -> Result<Filter, ApiError> {
        let sym = if negated { "not like" } else { "like" };
        let col = self.column(expr)?;
        if col.kind() != Kind::Text {
            return Err(bad_operator(sym, &col));
        }
        let raw = match pattern {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                _ => return Err(bad_value(&col, sym)),
            },
            _ => return Err(bad_value(&col, sym)),
        };
        let lead = raw.starts_with('%');
        let trail = raw.len() > 1 && raw.ends_with('%');
        let core = &raw[lead as usize..raw.len() - trail as usize];
        if core.is_empty() || core.contains('%') {
            return Err(bad_value(&col, sym));
        }
        let core = core.to_string();
        let pattern = match (lead, trail) {
            (true, true) => Pattern::Contains(core),
            (false, true) => Pattern::StartsWith(core),
            (true, false) => Pattern::EndsWith(core),
            (false, false) => {
                let value = SqlValue::Text(core);
                let op = if negated { CmpOp::Ne } else { CmpOp::Eq };
                return Ok(Filter::Cmp { col, op, value });
            }
        };
        Ok(Filter::Like {
            col,
            pattern,
            negated,
        })
    }

    fn in_list(&self, expr: &Expr, list: &[Expr], negated: bool) -> Result<Filter, ApiError> {
        let sym = if negated { "not in" } else { "in" };
        let col = self.column(expr)?;
        if matches!(col.kind(), Kind::Boolean | Kind::Json) {
            return Err(bad_operator(sym, &col));
        }
        if list.len() > MAX_IN_VALUES {
            return Err(limit_exceeded(MAX_IN_VALUES as u64, "where").detail("operator", sym));
        }
        let values = list
            .iter()
            .map(|v| self.value(&col, v, sym))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Filter::In {
            col,
            values,
            negated,
        })
    }

    /// A literal typed by `col`.
    fn value(&self, col: &Column, e: &Expr, op: &str) -> Result<SqlValue, ApiError> {
        let text = match e {
            Expr::Value(v) => match &v.value {
                Value::SingleQuotedString(s) | Value::DoubleQuotedString(s) => s.clone(),
                Value::Number(n, _) => n.clone(),
                Value::Boolean(b) if col.kind() == Kind::Boolean => b.to_string(),
                _ => return Err(bad_value(col, op)),
            },
            Expr::UnaryOp {
                op: UnaryOperator::Minus,
                expr,
            } => match expr.as_ref() {
                Expr::Value(v) => match &v.value {
                    Value::Number(n, _) => format!("-{n}"),
                    _ => return Err(bad_value(col, op)),
                },
                _ => return Err(bad_value(col, op)),
            },
            _ => return Err(bad_value(col, op)),
        };
        if matches!(col.target, Target::Id) || col.kind() != Kind::Text {
            return typed_value(col, &text).map_err(|_| bad_value(col, op));
        }
        Ok(SqlValue::Text(text))
    }
}

fn truncate(s: &str) -> String {
    s.chars().take(50).collect()
}

fn bad_operator(op: &str, col: &Column) -> ApiError {
    ApiError::new(Code::SyntaxError)
        .detail("operator", op)
        .detail("column_name", col.name.as_str())
        .message("operator not supported")
}

fn bad_value(col: &Column, op: &str) -> ApiError {
    ApiError::new(Code::InvalidQuery)
        .detail("column_name", col.name.as_str())
        .detail("operator", op)
        .detail("reason", "value given seems to be invalid for the column")
        .detail("expected_data_type", col.data_type().as_str())
        .message("value given seems to be invalid for the column")
}
