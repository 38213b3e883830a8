//! A read job's records: where a resumed read starts, and the next chunk
//! in id order with the job's columns.

use super::ReadSpec;
use crate::db::int;
use crate::org::OrgStore;
use crate::query::Compiler;
use crate::rows::table;
use crate::StoreError;
use zcrm_core::value::SqlValue;

impl OrgStore {
    /// The id of the last record before row `skip` of a read (`None`: fewer records).
    pub async fn bulk_read_start(
        &self,
        spec: &ReadSpec,
        skip: i64,
    ) -> Result<Option<i64>, StoreError> {
        if skip == 0 {
            return Ok(Some(0));
        }
        let (sql, mut args) = self.read_sql(spec, "t.id", 0);
        let n = args.len();
        let sql = format!("{sql} ORDER BY t.id LIMIT 1 OFFSET ?{}", n + 1);
        args.push((skip - 1).into());
        self.db
            .read(move |c| match c.row(&sql, &args)? {
                Some(r) => Ok(Some(int(&r[0])?)),
                None => Ok(None),
            })
            .await
    }

    /// Up to `limit` records after id `after`, in id order: the id, then each column.
    pub async fn bulk_read_chunk(
        &self,
        spec: &ReadSpec,
        after: i64,
        limit: i64,
    ) -> Result<Vec<Vec<SqlValue>>, StoreError> {
        let (sql, mut args) = self.read_sql(spec, "", after);
        let n = args.len();
        let sql = format!("{sql} ORDER BY t.id LIMIT ?{}", n + 1);
        args.push(limit.into());
        self.db.read(move |c| c.rows(&sql, &args)).await
    }

    /// `SELECT t.id, <columns> … WHERE <filter> AND t.id > after` (`only`: select just that).
    fn read_sql(&self, spec: &ReadSpec, only: &str, after: i64) -> (String, Vec<SqlValue>) {
        let mut c = Compiler::new(&self.prefix, self.db.dialect(), &spec.users, 0);
        let mut items = vec!["t.id".to_string()];
        if only.is_empty() {
            for col in &spec.columns {
                items.push(c.column(col));
            }
        }
        let mut wheres = Vec::new();
        if let Some(f) = &spec.filter {
            wheres.push(c.filter(f));
        }
        let joins = c.joins();
        let mut args = c.args;
        wheres.push(format!("t.id > ?{}", args.len() + 1));
        args.push(after.into());
        (
            format!(
                "SELECT {} FROM {} t {joins} WHERE {}",
                items.join(", "),
                table(&self.prefix, &spec.module),
                wheres.join(" AND ")
            ),
            args,
        )
    }
}
