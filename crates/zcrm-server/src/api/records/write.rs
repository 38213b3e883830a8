//! Writing records: create, upsert, clone, update and delete, each answered
//! with one item per record.

use super::*;

fn success_item(caller: &Caller, s: &Saved, message: &str) -> Value {
    let tz = caller.org.tz;
    if let Some(u) = &s.upserted {
        // Upsert answers say what happened to each record.
        let mut item = success_item(
            caller,
            &Saved {
                upserted: None,
                ..s.clone()
            },
            if u.inserted {
                "record added"
            } else {
                "record updated"
            },
        );
        item["action"] = json!(if u.inserted { "insert" } else { "update" });
        item["duplicate_field"] = json!(u.duplicate_field);
        return item;
    }
    Success::new(message)
        .detail("Modified_Time", format_datetime(s.modified_time, tz))
        .detail("Modified_By", user_ref(caller, s.modified_by, false))
        .detail("Created_Time", format_datetime(s.created_time, tz))
        .detail("id", s.id.to_string())
        .detail("Created_By", user_ref(caller, s.created_by, false))
        .detail("$approval_state", "approved")
        .to_value()
}

/// Saves checked rows and answers as Zoho does: one item per row, 207 when
/// some failed.
pub(crate) async fn write(
    caller: &Caller,
    m: &Arc<Module>,
    rows: Vec<Result<WriteRow, ApiError>>,
    message: &str,
    all_ok: u16,
) -> HttpResult<Response> {
    let results = writes::save(caller, m, rows).await?;
    let ok = results.iter().filter(|r| r.is_ok()).count();
    let data: Vec<Value> = results
        .iter()
        .map(|r| match r {
            Ok(s) => success_item(caller, s, message),
            Err(e) => e.to_json(),
        })
        .collect();
    Ok(json_response(
        batch_status(ok, results.len(), all_ok),
        &json!({"data": data}),
    ))
}

pub async fn create(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    budget: Option<Extension<crate::admission::Budget>>,
    body: Bytes,
) -> HttpResult<Response> {
    if !m.creatable {
        return Err(ApiError::new(Code::NotSupported)
            .detail("resource_path_index", 0)
            .into());
    }
    let body = json_body(&body)?;
    let data = data_array(&body, MAX_RECORDS)?;
    crate::admission::large_write(&budget, data.len())?;
    let now = caller.app.now();
    let rows = data
        .iter()
        .enumerate()
        .map(|(i, r)| check_record(&m, r, i, Mode::Create, None, &caller.app.ids, now))
        .collect();
    write(&caller, &m, rows, "record added", 201).await
}

/// `POST /crm/v8/{module}/upsert`: insert, or update the record matching a
/// duplicate-check field (the module's system one, then its unique fields,
/// unless `duplicate_check_fields` names others).
pub async fn upsert(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    budget: Option<Extension<crate::admission::Budget>>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let data = data_array(&body, MAX_RECORDS)?;
    crate::admission::large_write(&budget, data.len())?;
    let check_on = writes::upsert_order(&m, body.get("duplicate_check_fields"))?;
    let now = caller.app.now();
    let rows = data
        .iter()
        .enumerate()
        .map(|(i, r)| {
            check_record(&m, r, i, Mode::Upsert, None, &caller.app.ids, now).map(|mut row| {
                row.upsert_on = check_on.clone();
                row
            })
        })
        .collect();
    write(&caller, &m, rows, "record added", 200).await
}

/// `POST /crm/v8/{module}/{id}/actions/clone`: a new record with the same
/// values (system fields and conversion state aside); fields in an optional
/// `{"data":[{…}]}` body override the copy.
pub async fn clone_record(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    let all: Vec<usize> = (0..m.fields.len()).collect();
    let Some(row) = caller.org.store.get(&m, id, &all).await? else {
        return Err(ApiError::invalid_id_at(2).into());
    };
    let now = caller.app.now();
    let overrides = if body.iter().all(|b| b.is_ascii_whitespace()) {
        None
    } else {
        let body = json_body(&body)?;
        Some(data_array(&body, 1)?.remove(0))
    };
    let mut values = writes::clone_values(&m, &row);
    if let Some(o) = overrides {
        let checked = check_record(&m, &o, 0, Mode::Update, None, &caller.app.ids, now)?;
        for (i, v) in checked.values {
            values.retain(|(j, _)| *j != i);
            values.push((i, v));
        }
    }
    let rows = vec![Ok(WriteRow {
        values,
        json_path: "$.data[0]".into(),
        id: None,
        upsert_on: Vec::new(),
    })];
    write(&caller, &m, rows, "record added", 201).await
}

pub async fn update_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    budget: Option<Extension<crate::admission::Budget>>,
    body: Bytes,
) -> HttpResult<Response> {
    let body = json_body(&body)?;
    let data = data_array(&body, MAX_RECORDS)?;
    crate::admission::large_write(&budget, data.len())?;
    let now = caller.app.now();
    let rows = data
        .iter()
        .enumerate()
        .map(|(i, r)| {
            let id = match r.get("id") {
                None | Some(Value::Null) => {
                    return Err(ApiError::new(Code::MandatoryNotFound)
                        .detail("api_name", "id")
                        .detail("json_path", format!("$.data[{i}].id")))
                }
                Some(v) => zcrm_core::ids::parse_id(v).ok_or_else(|| {
                    ApiError::new(Code::InvalidData)
                        .detail("api_name", "id")
                        .detail("json_path", format!("$.data[{i}].id"))
                        .message("the id given seems to be invalid")
                })?,
            };
            check_record(&m, r, i, Mode::Update, Some(id), &caller.app.ids, now)
        })
        .collect();
    write(&caller, &m, rows, "record updated", 200).await
}

pub async fn update_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    body: Bytes,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    let body = json_body(&body)?;
    let data = data_array(&body, 1)?;
    let now = caller.app.now();
    let rows = vec![check_record(
        &m,
        &data[0],
        0,
        Mode::Update,
        Some(id),
        &caller.app.ids,
        now,
    )];
    write(&caller, &m, rows, "record updated", 200).await
}

async fn delete(caller: &Caller, m: &Arc<Module>, ids: Vec<i64>) -> HttpResult<Response> {
    let done = caller
        .org
        .store
        .delete(m.clone(), ids.clone(), caller.user_id, caller.app.now())
        .await?;
    let ok = done.iter().filter(|d| **d).count();
    let data: Vec<Value> = ids
        .iter()
        .zip(&done)
        .map(|(id, d)| {
            if *d {
                Success::new("record deleted")
                    .detail("id", id.to_string())
                    .to_value()
            } else {
                ApiError::new(Code::InvalidData)
                    .detail("id", id.to_string())
                    .message("record not deleted")
                    .to_json()
            }
        })
        .collect();
    Ok(json_response(
        batch_status(ok, ids.len(), 200),
        &json!({"data": data}),
    ))
}

pub async fn delete_many(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let raw = q.get("ids").ok_or_else(|| ApiError::param_missing("ids"))?;
    let ids = id_list(raw, "ids", MAX_RECORDS)?;
    delete(&caller, &m, ids).await
}

pub async fn delete_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    delete(&caller, &m, vec![id]).await
}
