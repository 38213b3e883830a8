//! Related lists through a lookup field: linking a child sets its lookup to
//! the parent, unlinking clears it (many-to-many lists are `links`').

use crate::org::{OrgStore, WriteCtx};
use crate::outbox::{self, Change, Op};
use crate::rows::table;
use crate::schema::{col, module_col};
use crate::StoreError;
use std::sync::Arc;
use zcrm_core::meta::Module;

impl OrgStore {
    /// Links (`Some(parent)`) or unlinks (`None`) children of a related list:
    /// sets their lookup `field` to the parent. Per-id outcome: `false` when the
    /// child does not exist (or, unlinking, is not linked to this parent).
    pub async fn relate(
        &self,
        child: Arc<Module>,
        field: usize,
        parent: (i64, String),
        ids: Vec<i64>,
        link: bool,
        ctx: WriteCtx,
    ) -> Result<Vec<bool>, StoreError> {
        let (prefix, catalog) = (self.prefix.clone(), self.catalog.clone());
        self.db
            .write(move |c| {
                let m = &*child;
                let f = &m.fields[field];
                let t = table(&prefix, m);
                let multi = f.is_multi_module();
                let mut out = Vec::with_capacity(ids.len());
                let mut changes = Vec::new();
                for id in ids {
                    let n = if link {
                        let module_set = if multi { format!(", {} = ?5", module_col(f)) } else { String::new() };
                        c.exec(
                            &format!(
                                "UPDATE {t} SET {fc} = ?1, {mt} = ?2, {mb} = ?3{module_set} WHERE id = ?4",
                                fc = col(&f.api_name),
                                mt = col("Modified_Time"),
                                mb = col("Modified_By")
                            ),
                            &if multi {
                                vec![parent.0.into(), ctx.now.into(), ctx.user.into(), id.into(), parent.1.as_str().into()]
                            } else {
                                vec![parent.0.into(), ctx.now.into(), ctx.user.into(), id.into()]
                            },
                        )?
                    } else {
                        let module_set = if multi { format!(", {} = NULL", module_col(f)) } else { String::new() };
                        c.exec(
                            &format!(
                                "UPDATE {t} SET {fc} = NULL, {mt} = ?1, {mb} = ?2{module_set} WHERE id = ?3 AND {fc} = ?4",
                                fc = col(&f.api_name),
                                mt = col("Modified_Time"),
                                mb = col("Modified_By")
                            ),
                            &[ctx.now.into(), ctx.user.into(), id.into(), parent.0.into()],
                        )?
                    };
                    out.push(n > 0);
                    if n > 0 {
                        changes.push(Change { op: Op::Update, id, fields: vec![f.api_name.clone()] });
                    }
                }
                outbox::enqueue(c, &prefix, &catalog, &m.api_name, &changes, ctx.now, true)?;
                Ok(out)
            })
            .await
    }
}
