//! Jobs as resolved when they were created, stored with the job.

use super::*;
use crate::auth::Caller;
use zcrm_core::scope::Op;

/// Where a mapped field's value comes from.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Mapping {
    /// Index into the module's fields; `None` for `id`.
    pub field: Option<usize>,
    pub api_name: String,
    pub index: Option<usize>,
    pub default: Option<Value>,
    /// Date format of the column (`MM/dd/yyyy` by default, as Zoho).
    pub format: Option<String>,
}

/// A write job as resolved when it was created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct WriteSpec {
    pub operation: String,
    pub module: String,
    pub file_id: i64,
    pub file_key: String,
    pub file_name: String,
    pub mappings: Vec<Mapping>,
    /// `id`, or a unique field's api name.
    pub find_by: Option<String>,
    pub ignore_empty: bool,
    /// `utf-8` or `iso-8859-1`.
    pub encoding: String,
    pub header_len: usize,
}

/// A read job as resolved when it was created.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ReadReq {
    pub module: String,
    pub fields: Vec<String>,
    pub criteria: Option<Value>,
    /// Only records owned by this user (a "My …" custom view).
    pub owner: Option<i64>,
    pub page: i64,
}

/// The users of an org as the query compiler needs them.
pub fn user_infos(org: &OrgCtx) -> Vec<UserInfo> {
    org.users()
        .iter()
        .map(|u| UserInfo {
            id: u.id,
            first_name: u.first_name.clone(),
            last_name: u.last_name.clone(),
            email: u.email.clone(),
            status: u.status.clone(),
        })
        .collect()
}

/// The columns and filter of a read, from its stored request.
pub fn read_spec(
    app: &App,
    org: &OrgCtx,
    req: &ReadReq,
) -> Result<(ReadSpec, Vec<String>), ApiError> {
    let m = app
        .catalog
        .module(&req.module)
        .cloned()
        .ok_or_else(|| ApiError::new(Code::ModuleNotAvailable))?;
    let mut columns: Vec<Column> = Vec::new();
    let mut names = vec!["Id".to_string()];
    for f in &req.fields {
        let path: Vec<&str> = f.split('.').collect();
        let c = zcrm_core::query::resolve(&app.catalog, &m, &path).map_err(|_| {
            ApiError::new(Code::FieldNotAvailable)
                .detail("api_name", f.as_str())
                .detail("module", m.api_name.as_str())
        })?;
        names.push(c.name.clone());
        columns.push(c);
    }
    let mut filters = Vec::new();
    if let Some(c) = &req.criteria {
        filters.push(zcrm_core::query::json_criteria::parse(&app.catalog, &m, c)?);
    }
    if let Some(owner) = req.owner {
        if let Ok(c) = zcrm_core::query::resolve(&app.catalog, &m, &["Owner"]) {
            filters.push(Filter::Cmp {
                col: c,
                op: zcrm_core::query::CmpOp::Eq,
                value: SqlValue::Int(owner),
            });
        }
    }
    let filter = match filters.len() {
        0 => None,
        1 => filters.pop(),
        _ => Some(Filter::And(filters)),
    };
    Ok((
        ReadSpec {
            module: m,
            columns,
            filter,
            users: user_infos(org),
        },
        names,
    ))
}

/// A new read job's spec, if its creator may read everything it reaches.
/// The module is known only from the request's body, so the auth layer
/// cannot check it: READ on the job's module and on every module its fields
/// and criteria follow a lookup into (`Account_Name.Phone`) is checked here,
/// as COQL does.
pub fn read_spec_for(caller: &Caller, req: &ReadReq) -> Result<ReadSpec, ApiError> {
    let (spec, _) = read_spec(&caller.app, &caller.org, req)?;
    let modules =
        zcrm_core::query::modules_reached(&spec.module, &spec.columns, spec.filter.as_ref());
    caller.require(&modules, Op::Read)?;
    Ok(spec)
}
