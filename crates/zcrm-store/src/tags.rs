//! Tags of an org, per module. A record's `Tag` column holds the JSON array
//! of its tags as Zoho renders them (`[{"name","id","color_code"}]`); renaming,
//! recolouring, merging or deleting a tag rewrites the records that carry it,
//! inside the same transaction.

use crate::db::{int, opt_text, text, Conn};
use crate::org::{OrgStore, WriteCtx};
use crate::outbox::{self, Change, Op};
use crate::rows::table;
use crate::schema::col;
use crate::Refusal;
use crate::StoreError;
use serde_json::{json, Value};
use std::sync::Arc;
use zcrm_core::meta::Module;
use zcrm_core::value::SqlValue;

#[derive(Debug, Clone)]
pub struct TagRow {
    pub id: i64,
    pub name: String,
    pub color_code: Option<String>,
    pub created_by: i64,
    pub created_time: i64,
    pub modified_by: i64,
    pub modified_time: i64,
}

impl TagRow {
    fn reference(&self) -> Value {
        json!({"name": self.name, "id": self.id.to_string(), "color_code": self.color_code})
    }
}

/// A tag named by a client: by id or by name.
#[derive(Debug, Clone)]
pub enum TagRef {
    Id(i64),
    Name(String),
}

/// A tag to create, `at` its place in the request (for `json_path`); its
/// name and colour already checked by the caller.
pub struct NewTag {
    pub at: usize,
    pub name: String,
    pub color: Option<String>,
}

/// A change to a tag, `at` its place in the request.
pub struct TagChange {
    pub at: usize,
    pub id: Option<i64>,
    pub name: Option<String>,
    pub color: Option<String>,
}

/// Tags to put on (`add`) or take off records.
pub struct Tagging {
    pub records: Vec<i64>,
    pub tags: Vec<TagRef>,
    pub add: bool,
    /// Adding replaces the records' tags instead of extending them.
    pub over_write: bool,
    /// Ids for tags that adding by name creates.
    pub new_ids: Vec<i64>,
}

const COLS: &str = "id, name, color_code, created_by, created_time, modified_by, modified_time";

fn tag_from(r: &[SqlValue]) -> Result<TagRow, StoreError> {
    Ok(TagRow {
        id: int(&r[0])?,
        name: text(&r[1])?,
        color_code: opt_text(&r[2]),
        created_by: int(&r[3])?,
        created_time: int(&r[4])?,
        modified_by: int(&r[5])?,
        modified_time: int(&r[6])?,
    })
}

fn by_name(
    c: &mut dyn Conn,
    prefix: &str,
    module: &str,
    name: &str,
) -> Result<Option<TagRow>, StoreError> {
    let d = c.dialect();
    let sql = format!(
        "SELECT {COLS} FROM {prefix}tags WHERE module = ?1 AND {} = {}",
        d.ci("name"),
        d.ci("?2")
    );
    c.row(&sql, &[module.into(), name.into()])?
        .map(|r| tag_from(&r))
        .transpose()
}

fn by_id(
    c: &mut dyn Conn,
    prefix: &str,
    module: Option<&str>,
    id: i64,
) -> Result<Option<(TagRow, String)>, StoreError> {
    let sql = format!("SELECT {COLS}, module FROM {prefix}tags WHERE id = ?1");
    let Some(r) = c.row(&sql, &[id.into()])? else {
        return Ok(None);
    };
    let m = text(&r[7])?;
    if module.is_some_and(|want| !want.eq_ignore_ascii_case(&m)) {
        return Ok(None);
    }
    Ok(Some((tag_from(&r)?, m)))
}

fn insert_tag(
    c: &mut dyn Conn,
    prefix: &str,
    module: &str,
    id: i64,
    name: &str,
    color: Option<&str>,
    ctx: &WriteCtx,
) -> Result<TagRow, StoreError> {
    c.exec(
        &format!(
            "INSERT INTO {prefix}tags ({COLS}, module) VALUES (?1, ?2, ?3, ?4, ?5, ?4, ?5, ?6)"
        ),
        &[
            id.into(),
            name.trim().into(),
            color.into(),
            ctx.user.into(),
            ctx.now.into(),
            module.into(),
        ],
    )?;
    Ok(TagRow {
        id,
        name: name.trim().to_string(),
        color_code: color.map(String::from),
        created_by: ctx.user,
        created_time: ctx.now,
        modified_by: ctx.user,
        modified_time: ctx.now,
    })
}

/// Records of `m` carrying tag `id`: (record id, its tags).
fn carriers(
    c: &mut dyn Conn,
    prefix: &str,
    m: &Module,
    id: i64,
) -> Result<Vec<(i64, Vec<Value>)>, StoreError> {
    let sql = format!(
        "SELECT id, {tag} FROM {t} WHERE {tag} LIKE ?1",
        tag = col("Tag"),
        t = table(prefix, m)
    );
    let rows = c.rows(&sql, &[format!("%\"id\":\"{id}\"%").into()])?;
    rows.into_iter()
        .map(|r| Ok((int(&r[0])?, parse_tags(&r[1]))))
        .collect()
}

pub fn parse_tags(v: &SqlValue) -> Vec<Value> {
    match v {
        SqlValue::Text(s) => match serde_json::from_str::<Value>(s) {
            Ok(Value::Array(a)) => a
                .into_iter()
                .map(|t| match t {
                    Value::String(name) => json!({"name": name, "id": null, "color_code": null}),
                    other => other,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}

fn set_tags(
    c: &mut dyn Conn,
    prefix: &str,
    m: &Module,
    record: i64,
    tags: &[Value],
    ctx: &WriteCtx,
) -> Result<(), StoreError> {
    c.exec(
        &format!(
            "UPDATE {} SET {} = ?1, {} = ?2, {} = ?3 WHERE id = ?4",
            table(prefix, m),
            col("Tag"),
            col("Modified_Time"),
            col("Modified_By")
        ),
        &[
            Value::Array(tags.to_vec()).to_string().into(),
            ctx.now.into(),
            ctx.user.into(),
            record.into(),
        ],
    )?;
    Ok(())
}

fn same_tag(t: &Value, id: i64) -> bool {
    t.get("id").and_then(|v| v.as_str()) == Some(id.to_string().as_str())
}

impl OrgStore {
    pub async fn list_tags(&self, module: &str) -> Result<Vec<TagRow>, StoreError> {
        let sql = format!(
            "SELECT {COLS} FROM {}tags WHERE module = ?1 ORDER BY name, id",
            self.prefix
        );
        let module = module.to_string();
        self.db
            .read(move |c| {
                c.rows(&sql, &[module.into()])?
                    .iter()
                    .map(|r| tag_from(r))
                    .collect()
            })
            .await
    }

    /// Creates tags with the given fresh ids; per-tag outcome (a name the
    /// module already has is refused).
    pub async fn create_tags(
        &self,
        module: String,
        tags: Vec<NewTag>,
        ids: Vec<i64>,
        ctx: WriteCtx,
    ) -> Result<Vec<Result<TagRow, Refusal>>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let mut out = Vec::new();
                for (t, id) in tags.into_iter().zip(ids) {
                    let path = format!("$.tags[{}]", t.at);
                    if let Some(dup) = by_name(c, &prefix, &module, &t.name)? {
                        out.push(Err(Refusal::Duplicate {
                            field: Some("name".into()),
                            json_path: Some(format!("{path}.name")),
                            id: Some(dup.id),
                            holder: None,
                        }));
                        continue;
                    }
                    out.push(Ok(insert_tag(
                        c,
                        &prefix,
                        &module,
                        id,
                        &t.name,
                        t.color.as_deref(),
                        &ctx,
                    )?));
                }
                Ok(out)
            })
            .await
    }

    /// Renames / recolours tags of `m`; records carrying them follow.
    pub async fn update_tags(
        &self,
        m: Arc<Module>,
        changes: Vec<TagChange>,
        ctx: WriteCtx,
    ) -> Result<Vec<Result<TagRow, Refusal>>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let mut out = Vec::new();
                for TagChange { at, id, name, color } in changes {
                    let path = format!("$.tags[{at}]");
                    let Some(id) = id else {
                        out.push(Err(Refusal::missing("id", format!("{path}.id"))));
                        continue;
                    };
                    let Some((mut tag, _)) = by_id(c, &prefix, Some(&m.api_name), id)? else {
                        out.push(Err(Refusal::invalid("id", format!("{path}.id"))));
                        continue;
                    };
                    if let Some(n) = &name {
                        if by_name(c, &prefix, &m.api_name, n)?.is_some_and(|t| t.id != id) {
                            out.push(Err(Refusal::Duplicate { field: Some("name".into()), json_path: Some(format!("{path}.name")), id: None, holder: None }));
                            continue;
                        }
                        tag.name = n.trim().to_string();
                    }
                    if color.is_some() {
                        tag.color_code = color.clone();
                    }
                    tag.modified_by = ctx.user;
                    tag.modified_time = ctx.now;
                    c.exec(
                        &format!("UPDATE {prefix}tags SET name = ?1, color_code = ?2, modified_by = ?3, modified_time = ?4 WHERE id = ?5"),
                        &[tag.name.as_str().into(), tag.color_code.clone().into(), ctx.user.into(), ctx.now.into(), id.into()],
                    )?;
                    for (record, mut tags) in carriers(c, &prefix, &m, id)? {
                        for t in tags.iter_mut().filter(|t| same_tag(t, id)) {
                            *t = tag.reference();
                        }
                        set_tags(c, &prefix, &m, record, &tags, &ctx)?;
                    }
                    out.push(Ok(tag));
                }
                Ok(out)
            })
            .await
    }

    /// Deletes tag `id` (removing it from every record), or merges it into
    /// `into` (records carrying it carry `into` instead). `None` when no such tag.
    pub async fn delete_or_merge_tag(
        &self,
        catalog_module: impl Fn(&str) -> Option<Arc<Module>> + Send + 'static,
        id: i64,
        into: Option<i64>,
        ctx: WriteCtx,
    ) -> Result<Result<TagRow, Refusal>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .write(move |c| {
                let Some((tag, module)) = by_id(c, &prefix, None, id)? else {
                    return Ok(Err(Refusal::NoRecordAtPath(3)));
                };
                let m = catalog_module(&module)
                    .ok_or_else(|| StoreError::Other(format!("tag of unknown module {module}")))?;
                let target = match into {
                    None => None,
                    Some(t) => match by_id(c, &prefix, Some(&module), t)? {
                        Some((t, _)) if t.id != id => Some(t),
                        _ => {
                            return Ok(Err(Refusal::invalid(
                                "conflict_id",
                                "$.tags[0].conflict_id",
                            )))
                        }
                    },
                };
                for (record, mut tags) in carriers(c, &prefix, &m, id)? {
                    tags.retain(|t| !same_tag(t, id));
                    if let Some(t) = &target {
                        if !tags.iter().any(|x| same_tag(x, t.id)) {
                            tags.push(t.reference());
                        }
                    }
                    set_tags(c, &prefix, &m, record, &tags, &ctx)?;
                }
                c.exec(
                    &format!("DELETE FROM {prefix}tags WHERE id = ?1"),
                    &[id.into()],
                )?;
                Ok(Ok(target.unwrap_or(tag)))
            })
            .await
    }

    pub async fn tag_records_count(
        &self,
        m: Arc<Module>,
        id: i64,
    ) -> Result<Option<i64>, StoreError> {
        let prefix = self.prefix.clone();
        self.db
            .read(move |c| {
                if by_id(c, &prefix, Some(&m.api_name), id)?.is_none() {
                    return Ok(None);
                }
                Ok(Some(carriers(c, &prefix, &m, id)?.len() as i64))
            })
            .await
    }

    /// Adds (creating unknown names) or removes tags on records. `over_write`
    /// replaces a record's tags with the given ones. Per-record outcome: its tags after.
    pub async fn tag_records(
        &self,
        m: Arc<Module>,
        change: Tagging,
        ctx: WriteCtx,
    ) -> Result<Result<Vec<Result<Vec<Value>, Refusal>>, Refusal>, StoreError> {
        let Tagging {
            records,
            tags,
            add,
            over_write,
            new_ids,
        } = change;
        let (prefix, catalog) = (self.prefix.clone(), self.catalog.clone());
        self.db
            .write(move |c| {
                // Resolve the tags once; adding creates names not seen before.
                let mut resolved: Vec<TagRow> = Vec::new();
                let mut fresh = new_ids.into_iter();
                for (i, t) in tags.iter().enumerate() {
                    let path = format!("$.tags[{i}]");
                    let found = match t {
                        TagRef::Id(id) => {
                            by_id(c, &prefix, Some(&m.api_name), *id)?.map(|(t, _)| t)
                        }
                        TagRef::Name(n) => by_name(c, &prefix, &m.api_name, n)?,
                    };
                    match (found, t) {
                        (Some(tag), _) => resolved.push(tag),
                        (None, TagRef::Name(n)) if add => {
                            let id = fresh.next().unwrap_or(0);
                            resolved.push(insert_tag(c, &prefix, &m.api_name, id, n, None, &ctx)?);
                        }
                        (None, _) if add => {
                            return Ok(Err(Refusal::invalid("id", format!("{path}.id"))))
                        }
                        // Removing a tag that does not exist changes nothing.
                        (None, _) => {}
                    }
                }
                let mut out = Vec::new();
                let mut changes = Vec::new();
                for record in records {
                    let r = c.row(
                        &format!(
                            "SELECT {} FROM {} WHERE id = ?1",
                            col("Tag"),
                            table(&prefix, &m)
                        ),
                        &[record.into()],
                    )?;
                    let Some(r) = r else {
                        out.push(Err(Refusal::NoRecordId(record)));
                        continue;
                    };
                    let mut current = if over_write && add {
                        Vec::new()
                    } else {
                        parse_tags(&r[0])
                    };
                    for t in &resolved {
                        let has = current.iter().any(|x| same_tag(x, t.id));
                        if add && !has {
                            current.push(t.reference());
                        } else if !add {
                            current.retain(|x| !same_tag(x, t.id));
                        }
                    }
                    set_tags(c, &prefix, &m, record, &current, &ctx)?;
                    changes.push(Change {
                        op: Op::Update,
                        id: record,
                        fields: vec!["Tag".into()],
                    });
                    out.push(Ok(current));
                }
                outbox::enqueue(c, &prefix, &catalog, &m.api_name, &changes, ctx.now, false)?;
                Ok(Ok(out))
            })
            .await
    }
}
