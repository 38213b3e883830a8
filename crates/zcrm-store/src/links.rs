//! Many-to-many related lists (Products of a Deal or a Price Book, Campaigns
//! of a Lead or a Contact): one row per linked pair in `record_links`, named
//! by the link (`Deals.Products`) and read from either side.

use crate::org::{OrgStore, WriteCtx};
use crate::outbox::{self, Change, Op};
use crate::rows::table;
use crate::StoreError;
use std::sync::Arc;
use zcrm_core::meta::Module;

/// One side of a link: which link, and whether the parent is its first module.
#[derive(Debug, Clone)]
pub struct Link {
    pub name: String,
    pub parent_is_a: bool,
}

impl Link {
    /// The link behind a related list's `via` seen from `parent`; `None` when
    /// `parent` is neither of its modules.
    pub fn of(via: &str, parent: &str) -> Option<Link> {
        let (a, b) = via.split_once('.')?;
        if a == parent {
            Some(Link {
                name: via.to_string(),
                parent_is_a: true,
            })
        } else if b == parent {
            Some(Link {
                name: via.to_string(),
                parent_is_a: false,
            })
        } else {
            None
        }
    }

    /// The module of the parent side.
    pub fn parent_module(&self) -> &str {
        let (a, b) = self.name.split_once('.').unwrap_or((&self.name, ""));
        if self.parent_is_a {
            a
        } else {
            b
        }
    }

    fn cols(&self) -> (&'static str, &'static str) {
        if self.parent_is_a {
            ("a_id", "b_id")
        } else {
            ("b_id", "a_id")
        }
    }

    /// `t.id IN (…)` for a list query: the children linked to the parent,
    /// with the link name and parent id bound as `?{first}` and `?{first+1}`.
    pub fn filter_sql(&self, prefix: &str, first: usize) -> String {
        let (parent, child) = self.cols();
        format!(
            "t.id IN (SELECT {child} FROM {prefix}record_links WHERE link = ?{first} AND {parent} = ?{})",
            first + 1
        )
    }
}

impl OrgStore {
    /// Links (or unlinks) `ids` of `child` to `parent_id`; per id whether it
    /// happened: linking needs the child to exist (linking twice is fine),
    /// unlinking needs the pair to be linked.
    pub async fn link_records(
        &self,
        link: Link,
        child: Arc<Module>,
        parent_id: i64,
        ids: Vec<i64>,
        add: bool,
        ctx: WriteCtx,
    ) -> Result<Vec<bool>, StoreError> {
        let (prefix, catalog) = (self.prefix.clone(), self.catalog.clone());
        self.db
            .write(move |c| {
                let (pcol, ccol) = link.cols();
                let child_table = table(&prefix, &child);
                let mut out = Vec::with_capacity(ids.len());
                let mut changes = Vec::new();
                for id in ids {
                    let done = if add {
                        let exists = c
                            .row(&format!("SELECT 1 FROM {child_table} WHERE id = ?1"), &[id.into()])?
                            .is_some();
                        if exists {
                            c.exec(
                                &format!(
                                    "INSERT INTO {prefix}record_links (link, {pcol}, {ccol}, created_by, created_time)
                                     VALUES (?1, ?2, ?3, ?4, ?5) ON CONFLICT DO NOTHING"
                                ),
                                &[link.name.as_str().into(), parent_id.into(), id.into(), ctx.user.into(), ctx.now.into()],
                            )?;
                        }
                        exists
                    } else {
                        c.exec(
                            &format!("DELETE FROM {prefix}record_links WHERE link = ?1 AND {pcol} = ?2 AND {ccol} = ?3"),
                            &[link.name.as_str().into(), parent_id.into(), id.into()],
                        )? > 0
                    };
                    if done {
                        changes.push(Change { op: Op::Update, id, fields: Vec::new() });
                    }
                    out.push(done);
                }
                // A related-list action on both sides, for channels that follow them
                // (`notify_on_related_action`), in the same transaction.
                if !changes.is_empty() {
                    outbox::enqueue(c, &prefix, &catalog, &child.api_name, &changes, ctx.now, true)?;
                    let parent = Change { op: Op::Update, id: parent_id, fields: Vec::new() };
                    outbox::enqueue(c, &prefix, &catalog, link.parent_module(), &[parent], ctx.now, true)?;
                }
                Ok(out)
            })
            .await
    }
}
