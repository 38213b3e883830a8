//! A bulk job as Zoho renders it: what `GET /crm/bulk/v8/{read,write}/{id}`
//! answers and what the job's callback carries.

use super::{WriteSpec, READ_PAGE};
use crate::state::{App, OrgCtx};
use serde_json::{json, Value};
use zcrm_core::value::format_datetime;
use zcrm_store::bulk::BulkJob;

pub fn user_json(app: &App, org: &OrgCtx, id: i64) -> Value {
    let _ = app;
    let name = org
        .with_user(id, |u| match &u.first_name {
            Some(f) if !f.is_empty() => format!("{f} {}", u.last_name),
            _ => u.last_name.clone(),
        })
        .unwrap_or_default();
    json!({"id": id.to_string(), "name": name})
}

pub fn time(org: &OrgCtx, ms: i64) -> String {
    format_datetime(ms, org.tz)
}

/// The job as its GET renders it; a job's callback carries the same body.
pub fn bulk_job_json(app: &App, org: &OrgCtx, job: &BulkJob) -> Value {
    if job.kind == "write" {
        write_json(app, org, job)
    } else {
        read_json(app, org, job)
    }
}

fn job_state_write(job: &BulkJob) -> &str {
    job.state.as_str()
}

pub fn write_json(app: &App, org: &OrgCtx, job: &BulkJob) -> Value {
    let req: Value = serde_json::from_str(&job.request).unwrap_or(Value::Null);
    let spec: Option<WriteSpec> = serde_json::from_value(req["spec"].clone()).ok();
    let original = &req["request"];
    let res0 = &original["resource"][0];
    let m = app.catalog.module(&job.module);
    let state = job_state_write(job);
    let mut resource = json!({
        "status": state,
        "type": "data",
        "module": {"api_name": job.module, "id": m.map(|m| m.id.clone()).unwrap_or_default()},
        "field_mappings": spec.as_ref().map(|s| s.mappings.iter().map(|mp| {
            let mut o = json!({"api_name": mp.api_name});
            if let Some(i) = mp.index { o["index"] = json!(i); }
            if let Some(d) = &mp.default { o["default_value"] = json!({"value": d}); }
            if let Some(f) = &mp.format { o["format"] = json!(f); }
            o
        }).collect::<Vec<_>>()).unwrap_or_default(),
        "file": {
            "status": state,
            "name": spec.as_ref().map(|s| s.file_name.clone()).unwrap_or_default(),
            "added_count": job.added,
            "skipped_count": job.skipped,
            "updated_count": job.updated,
            "total_count": job.total,
        },
    });
    if let Some(fb) = spec.as_ref().and_then(|s| s.find_by.clone()) {
        resource["find_by"] = json!(fb);
    }
    if let Some(fid) = res0.get("file_id") {
        resource["file_id"] = fid.clone();
    }
    let mut out = json!({
        "status": state,
        "character_encoding": original.get("character_encoding").and_then(|v| v.as_str()).unwrap_or("UTF-8"),
        "id": job.id.to_string(),
        "operation": job.operation,
        "created_time": time(org, job.created_time),
        "created_by": user_json(app, org, job.created_by),
        "resource": [resource],
    });
    if let Some(cb) = original.get("callback").filter(|v| !v.is_null()) {
        out["callback"] = cb.clone();
    }
    if job.state == "COMPLETED" {
        out["result"] = json!({"download_url": format!("{}/crm/bulk/v8/write/{}/result", app.public_url, job.id)});
    }
    if let Some(e) = &job.error {
        out["result"] =
            json!({"error_message": serde_json::from_str::<Value>(e).unwrap_or(json!(e))});
    }
    out
}

pub fn read_json(app: &App, org: &OrgCtx, job: &BulkJob) -> Value {
    let req: Value = serde_json::from_str(&job.request).unwrap_or(Value::Null);
    let original = &req["request"];
    let page = req["spec"]["page"].as_i64().unwrap_or(1);
    let state = if job.state == "FAILED" {
        "FAILURE"
    } else {
        job.state.as_str()
    };
    let mut out = json!({
        "id": job.id.to_string(),
        "operation": "read",
        "state": state,
        "query": original.get("query").cloned().unwrap_or(json!({})),
        "created_by": user_json(app, org, job.created_by),
        "created_time": time(org, job.created_time),
        "file_type": "csv",
    });
    if let Some(cb) = original.get("callback").filter(|v| !v.is_null()) {
        out["callback"] = cb.clone();
    }
    if job.state == "COMPLETED" {
        out["result"] = json!({
            "page": page,
            "per_page": READ_PAGE,
            "count": job.result_count,
            "download_url": format!("/crm/bulk/v8/read/{}/result", job.id),
            "more_records": job.more_records,
            "next_page_token": Value::Null,
        });
    } else if let Some(e) = &job.error {
        out["result"] =
            json!({"error_message": serde_json::from_str::<Value>(e).unwrap_or(json!(e))});
    }
    out
}
