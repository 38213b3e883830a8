//! Names and expressions of a COQL query resolved against the module
//! metadata: columns (through lookups), select items with aggregates, and
//! ORDER BY keys.

use super::{invalid_column, unsupported};
use crate::error::{ApiError, Code};
use crate::meta::{Catalog, DataType, Module};
use crate::query::{
    resolve, Aggregate, Column, ColumnError, Kind, OrderKey, SelectExpr, SelectItem,
};
use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, FunctionArgExpr, FunctionArguments, ObjectNamePart,
};
use std::sync::Arc;

pub(super) struct Builder<'a> {
    pub(super) catalog: &'a Catalog,
    pub(super) module: Arc<Module>,
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

    pub(super) fn column(&self, e: &Expr) -> Result<Column, ApiError> {
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

    pub(super) fn select_expr(&self, e: &Expr) -> Result<(SelectExpr, String), ApiError> {
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

    pub(super) fn order_key(
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
