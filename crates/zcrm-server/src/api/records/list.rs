//! Reading records: a page of a module (or of a related list), one record,
//! deleted records.

use super::*;

pub async fn list(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
    headers: HeaderMap,
) -> HttpResult<Response> {
    list_page(&caller, &m, &q, &headers, None).await
}

/// One page of `m`'s records, as `GET /{module}` answers it; `related` limits
/// it to the children of one parent record (a related list).
/// `sort_by` and `sort_order` (newest id first by default), and the key a
/// page token is bound to.
fn sort_of(q: &Params) -> Result<(SortBy, bool, String), ApiError> {
    let sort_by = match q.get("sort_by").map(String::as_str) {
        None | Some("id") => SortBy::Id,
        Some("Created_Time") => SortBy::CreatedTime,
        Some("Modified_Time") => SortBy::ModifiedTime,
        Some(_) => return Err(ApiError::invalid_param("sort_by")),
    };
    let desc = match q.get("sort_order").map(String::as_str) {
        None | Some("desc") => true,
        Some("asc") => false,
        Some(_) => return Err(ApiError::invalid_param("sort_order")),
    };
    let key = format!(
        "{}{}",
        q.get("sort_by").map(String::as_str).unwrap_or("id"),
        if desc { "-" } else { "+" }
    );
    Ok((sort_by, desc, key))
}

/// Which records: `ids`, Leads' `converted` (not converted by default), and
/// the `If-Modified-Since` header.
type Filters = (Option<Vec<i64>>, Option<bool>, Option<i64>);

fn filters_of(m: &Module, q: &Params, headers: &HeaderMap) -> Result<Filters, ApiError> {
    let ids = q
        .get("ids")
        .map(|raw| id_list(raw, "ids", MAX_RECORDS))
        .transpose()?;
    let converted = if m.api_name == "Leads" {
        match q.get("converted").map(String::as_str) {
            None | Some("false") => Some(false),
            Some("true") => Some(true),
            Some("both") => None,
            Some(_) => return Err(ApiError::invalid_param("converted")),
        }
    } else {
        None
    };
    let modified_since = match headers
        .get("if-modified-since")
        .and_then(|v| v.to_str().ok())
    {
        Some(s) => Some(
            zcrm_core::value::parse_datetime(s)
                .ok_or_else(|| ApiError::invalid_param("If-Modified-Since"))?,
        ),
        None => None,
    };
    Ok((ids, converted, modified_since))
}

pub async fn list_page(
    caller: &Caller,
    m: &Arc<Module>,
    q: &Params,
    headers: &HeaderMap,
    related: Option<Related>,
) -> HttpResult<Response> {
    let (caller, m, q) = (caller.clone(), m.clone(), q.clone());
    let fields = field_list(&m, q.get("fields").map(String::as_str).unwrap_or(""))?;
    let per_page = int_param(&q, "per_page", 200, 200)?;
    if q.contains_key("cvid") && q.contains_key("sort_by") {
        return Err(ambiguity(&["cvid", "sort_by"]).into());
    }
    if q.contains_key("page") && q.contains_key("page_token") {
        return Err(ambiguity(&["page", "page_token"]).into());
    }
    if let Some(cvid) = q.get("cvid") {
        let known = m.custom_views.iter().any(|cv| {
            zcrm_core::meta::stable_id("custom_view", &format!("{}.{}", m.api_name, cv.name))
                == *cvid
        });
        if !known {
            return Err(ApiError::invalid_param("cvid").into());
        }
    }
    let (sort_by, desc, sort_key) = sort_of(&q)?;
    let now = caller_now(&caller);
    let bound = (caller.user_id, m.api_name.as_str(), sort_key.as_str());
    let page_no = match q.get("page_token") {
        Some(_) => 1,
        None => int_param(&q, "page", 1, u32::MAX as u64)?,
    };
    let page_token::Start { offset, page } = page_token::start(
        &caller.app,
        q.get("page_token").map(String::as_str),
        page_no,
        per_page,
        bound,
    )
    .await?;
    let (ids, converted, modified_since) = filters_of(&m, &q, headers)?;
    let limit = per_page.min(TOKEN_LIMIT - offset);
    let query = ListQuery {
        fields: fields.clone(),
        sort_by,
        desc,
        offset,
        limit,
        ids,
        converted,
        modified_since,
        related,
        filter: None,
    };
    let (rows, more) = caller.org.store.list(&m, &query).await?;
    if rows.is_empty() {
        return Ok(if modified_since.is_some() {
            not_modified()
        } else {
            no_content()
        });
    }
    let more = more && offset + limit < TOKEN_LIMIT;
    let next_token = match more {
        true => Some(page_token::next(&caller.app, offset + rows.len() as u64, bound).await?),
        false => None,
    };
    let data: Vec<String> = rows
        .iter()
        .map(|r| render_row(&caller.org, &m, &fields, r, false))
        .collect();
    Ok(raw_json_response(
        200,
        data_body(
            &data,
            Some(&json!({
                "info": {
                    "per_page": per_page,
                    "next_page_token": next_token,
                    "count": rows.len(),
                    "sort_by": q.get("sort_by").map(String::as_str).unwrap_or("id"),
                    "page": page,
                    "previous_page_token": null,
                    "page_token_expiry": next_token.as_ref().map(|_| format_datetime(now + PAGE_TOKEN_TTL_MS, caller.org.tz)),
                    "sort_order": if desc { "desc" } else { "asc" },
                    "email": false,
                    "call": false,
                    "more_records": more,
                }
            })),
        ),
    ))
}

pub async fn get_one(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Path((_, id)): Path<(String, String)>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let id = parse_path_id(&id)?;
    let (fields, full) = match q.get("fields") {
        Some(raw) => (field_list(&m, raw)?, false),
        None => ((0..m.fields.len()).collect(), true),
    };
    let Some(row) = caller.org.store.get(&m, id, &fields).await? else {
        return Ok(no_content());
    };
    let mut rec = render_row(&caller.org, &m, &fields, &row, full);
    // Only a converted lead has a conversion to look up (`Converted__s`).
    let converted = m.field_index("Converted__s").is_some_and(|i| {
        fields
            .iter()
            .position(|&f| f == i)
            .is_some_and(|at| matches!(row.cells[at].value, zcrm_core::value::SqlValue::Int(1)))
    });
    if full && converted {
        if let Some(d) = caller.org.store.conversion(id).await? {
            // A converted lead names what it became, as Zoho's `$converted_detail`.
            let id_or_null =
                |v: Option<i64>| v.map(|i| json!(i.to_string())).unwrap_or(Value::Null);
            let detail = json!({
                "contact": id_or_null(d.contact),
                "account": id_or_null(d.account),
                "deal": id_or_null(d.deal),
                "convert_date": format_datetime(d.time, caller.org.tz),
                "converted_by": id_or_null(Some(d.by)),
            });
            rec.pop(); // the closing brace
            let _ = write!(rec, ",\"$converted_detail\":{detail}}}");
        }
    }
    Ok(raw_json_response(200, data_body(&[rec], None)))
}

pub async fn deleted(
    Extension(caller): Extension<Caller>,
    Extension(PathModule(m)): Extension<PathModule>,
    Query(q): Query<Params>,
) -> HttpResult<Response> {
    let kind = match q.get("type").map(String::as_str) {
        None | Some("all") => None,
        Some("recycle") => Some("recycle"),
        Some("permanent") => Some("permanent"),
        Some(_) => {
            return Err(ApiError::new(Code::PatternNotMatched)
                .detail("param_name", "type")
                .into())
        }
    };
    let per_page = int_param(&q, "per_page", 200, 200)?;
    let page = int_param(&q, "page", 1, 10_000)?;
    let (rows, more) = caller
        .org
        .store
        .deleted(&m, kind, (page - 1) * per_page, per_page)
        .await?;
    if rows.is_empty() {
        return Ok(no_content());
    }
    let tz = caller.org.tz;
    let data: Vec<Value> = rows
        .iter()
        .map(|r| {
            json!({
                "deleted_by": user_ref(&caller, r.deleted_by, false),
                "id": r.id.to_string(),
                "display_name": r.display_name,
                "type": r.kind,
                "created_by": r.created_by.map(|c| user_ref(&caller, c, false)),
                "deleted_time": format_datetime(r.deleted_time, tz),
            })
        })
        .collect();
    Ok(json_response(
        200,
        &json!({
            "data": data,
            "info": {"per_page": per_page, "count": rows.len(), "page": page, "more_records": more},
        }),
    ))
}
