//! Reading records: one by id, a page of a list (sorted, filtered, a related
//! list's children), counts, and COQL queries.

use super::{ListQuery, SortBy};
use crate::db::{int, page, Dialect};
use crate::org::OrgStore;
use crate::query::{compile, Compiler};
use crate::rows::{marks, read_row, table, Row};
use crate::schema::{col, module_col};
use crate::StoreError;
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::query::{Filter, Query, UserInfo};
use zcrm_core::value::SqlValue;

/// A WHERE clause being built: its conditions and their bound values.
#[derive(Default)]
struct Where {
    conds: Vec<String>,
    args: Vec<SqlValue>,
}

impl Where {
    /// The next placeholder's number.
    fn next(&self) -> usize {
        self.args.len() + 1
    }

    fn sql(&self) -> String {
        if self.conds.is_empty() {
            String::new()
        } else {
            format!("WHERE {}", self.conds.join(" AND "))
        }
    }
}

/// Leads: `Some(false)` keeps unconverted leads, `Some(true)` converted ones.
fn converted_cond(m: &Module, converted: Option<bool>) -> Option<String> {
    let (conv, f) = (converted?, m.field("Converted__s")?);
    Some(format!(
        "COALESCE(t.{}, 0) = {}",
        col(&f.api_name),
        conv as i32
    ))
}

/// Rows a filtered page first walks in id order (see `walk_sql`).
const WALK_WINDOW: u64 = 20_000;
/// Pages beyond this reach take the usual plan directly.
const WALK_REACH: u64 = 2_000;

impl OrgStore {
    pub async fn get(
        &self,
        m: &Arc<Module>,
        id: i64,
        fields: &[usize],
    ) -> Result<Option<Row>, StoreError> {
        let sql = format!(
            "SELECT {} FROM {} t WHERE t.id = ?1",
            self.select(m, fields),
            table(&self.prefix, m)
        );
        // One statement: on PostgreSQL it is awaited without a blocking thread.
        match self
            .db
            .point_read(sql, vec![id.into()])
            .await?
            .into_iter()
            .next()
        {
            Some(r) => Ok(Some(read_row(&self.catalog, m, fields, r)?)),
            None => Ok(None),
        }
    }

    /// One page of records, plus whether more follow.
    pub async fn list(
        &self,
        m: &Arc<Module>,
        q: &ListQuery,
    ) -> Result<(Vec<Row>, bool), StoreError> {
        let (mut w, joins) = self.list_where(m, q);
        let order_col = match q.sort_by {
            SortBy::Id => "t.id".to_string(),
            SortBy::CreatedTime => format!("t.{}", col("Created_Time")),
            SortBy::ModifiedTime => format!("t.{}", col("Modified_Time")),
        };
        let dir = if q.desc { "DESC" } else { "ASC" };
        let sql = format!(
            "SELECT {} FROM {} t {joins} {} ORDER BY {order_col} {dir}, t.id {dir} LIMIT ?{} OFFSET ?{}",
            self.select(m, &q.fields),
            table(&self.prefix, m),
            w.sql(),
            w.next(),
            w.next() + 1,
        );
        let walk = self.walk_sql(m, q, &joins, &w);
        let mut args = std::mem::take(&mut w.args);
        args.push(SqlValue::Int(q.limit as i64 + 1));
        args.push(SqlValue::Int(q.offset as i64));
        let (catalog, m, fields, limit) =
            (self.catalog.clone(), m.clone(), q.fields.clone(), q.limit);
        self.db
            .read(move |c| {
                let mut rows = Vec::new();
                if let Some(walk) = walk {
                    rows = c.rows(&walk, &args)?;
                }
                // The walk answers only with a full page (and one more row);
                // anything less may be the window's end, not the data's.
                if rows.len() as u64 <= limit {
                    rows = c.rows(&sql, &args)?;
                }
                let rows = rows
                    .into_iter()
                    .map(|r| read_row(&catalog, &m, &fields, r))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(page(rows, limit))
            })
            .await
    }

    /// A filtered page in id order, tried first on the newest (or oldest)
    /// `WALK_WINDOW` rows by walking the table in id order and stopping at
    /// the page's end. SQLite, knowing nothing of how many rows a filter
    /// matches, otherwise takes the filter's index, reads every match and
    /// sorts them: 41,701 Leads named "Smi…" for a page of 200 (tens of ms),
    /// where walking ids finds the page within a few thousand rows (under a
    /// millisecond). A rare match leaves the walk short and the usual plan runs.
    fn walk_sql(&self, m: &Module, q: &ListQuery, joins: &str, w: &Where) -> Option<String> {
        let early = q.offset + q.limit <= WALK_REACH;
        if self.db.dialect() != Dialect::Sqlite || q.filter.is_none() || !early {
            return None;
        }
        if !matches!(q.sort_by, SortBy::Id) {
            return None;
        }
        let (dir, op) = if q.desc {
            ("DESC", ">=")
        } else {
            ("ASC", "<=")
        };
        let t = table(&self.prefix, m);
        Some(format!(
            "SELECT {} FROM {t} t NOT INDEXED {joins} {} AND t.id {op} \
             (SELECT id FROM {t} ORDER BY id {dir} LIMIT 1 OFFSET {WALK_WINDOW}) \
             ORDER BY t.id {dir} LIMIT ?{} OFFSET ?{}",
            self.select(m, &q.fields),
            w.sql(),
            w.next(),
            w.next() + 1,
        ))
    }

    /// The conditions of a list query, and the joins its criteria need.
    fn list_where(&self, m: &Module, q: &ListQuery) -> (Where, String) {
        let mut w = Where::default();
        if let Some(ids) = &q.ids {
            let ms = marks(w.next(), ids.len());
            w.conds.push(format!("t.id IN ({})", ms.join(",")));
            w.args.extend(ids.iter().map(|i| SqlValue::Int(*i)));
        }
        w.conds.extend(converted_cond(m, q.converted));
        if let Some(t) = q.modified_since {
            w.conds
                .push(format!("t.{} > ?{}", col("Modified_Time"), w.next()));
            w.args.push(SqlValue::Int(t));
        }
        if let Some(link) = q.related.as_ref().and_then(|r| r.link.as_ref()) {
            let rel = q.related.as_ref().map(|r| r.parent_id).unwrap_or_default();
            w.conds.push(link.filter_sql(&self.prefix, w.next()));
            w.args.push(link.name.as_str().into());
            w.args.push(SqlValue::Int(rel));
        } else if let Some(rel) = &q.related {
            let f = &m.fields[rel.field];
            w.conds
                .push(format!("t.{} = ?{}", col(&f.api_name), w.next()));
            w.args.push(SqlValue::Int(rel.parent_id));
            if f.is_multi_module() {
                w.conds.push(format!("t.{} = ?{}", module_col(f), w.next()));
                w.args.push(rel.parent_module.as_str().into());
            }
        }
        let mut joins = String::new();
        if let Some(f) = &q.filter {
            let mut c = Compiler::new(&self.prefix, self.db.dialect(), &[], w.args.len());
            w.conds.push(c.filter(f));
            joins = c.joins();
            w.args.extend(c.args);
        }
        (w, joins)
    }

    /// Records of `m` matching `filter` (Leads: `converted` as in [`ListQuery`]).
    pub async fn count_where(
        &self,
        m: &Module,
        filter: Option<&Filter>,
        converted: Option<bool>,
    ) -> Result<i64, StoreError> {
        let mut c = Compiler::new(&self.prefix, self.db.dialect(), &[], 0);
        let mut w = Where::default();
        if let Some(f) = filter {
            w.conds.push(c.filter(f));
        }
        w.conds.extend(converted_cond(m, converted));
        let sql = format!(
            "SELECT COUNT(*) FROM {} t {} {}",
            table(&self.prefix, m),
            c.joins(),
            w.sql()
        );
        let args = c.args;
        self.db
            .read(move |c| {
                int(&c
                    .row(&sql, &args)?
                    .map(|r| r[0].clone())
                    .unwrap_or(SqlValue::Int(0)))
            })
            .await
    }

    /// Runs a COQL query: rows of values in select order (with the record id
    /// first unless it aggregates), and whether more rows follow.
    pub async fn query(
        &self,
        q: &Query,
        users: &[UserInfo],
    ) -> Result<(Vec<Vec<SqlValue>>, bool), StoreError> {
        let (sql, args) = compile(&self.prefix, self.db.dialect(), users, q);
        let limit = q.limit;
        self.db
            .read(move |c| {
                let rows = c.rows(&sql, &args)?;
                Ok(page(rows, limit))
            })
            .await
    }

    pub async fn count(&self, m: &Module) -> Result<i64, StoreError> {
        let sql = format!("SELECT COUNT(*) FROM {}", table(&self.prefix, m));
        self.db
            .read(move |c| {
                int(&c
                    .row(&sql, &[])?
                    .map(|r| r[0].clone())
                    .unwrap_or(SqlValue::Int(0)))
            })
            .await
    }
}
