//! Converting a lead: the new Deal checked as the records API checks a Deal,
//! ids for the records it may create, then the store converts in one
//! transaction (a refusal leaves nothing behind).

use super::records::{check_record, Mode};
use crate::auth::Caller;
use serde_json::Value;
use zcrm_core::ApiError;
use zcrm_store::convert::{ConvertRequest, Converted};
use zcrm_store::records::WriteCtx;

/// What a convert request asks for, decoded.
pub struct Input<'a> {
    pub lead_id: i64,
    pub account_id: Option<i64>,
    pub contact_id: Option<i64>,
    pub assign_to: Option<i64>,
    pub overwrite: bool,
    /// The Deal to create, as the client wrote it.
    pub deal: Option<&'a Value>,
}

pub async fn convert(caller: &Caller, input: Input<'_>) -> Result<Converted, ApiError> {
    let now = caller.app.now();
    let deal = match input.deal {
        None => None,
        Some(d) => {
            let catalog = caller.org.store.catalog();
            let deals = catalog
                .module("Deals")
                .ok_or_else(|| ApiError::internal("no Deals module"))?;
            // Errors name the deal's place in the request.
            let row = check_record(deals, d, 0, Mode::Create, None, &caller.app.ids, now).map_err(
                |mut e| {
                    if let Some(Value::String(p)) = e.details.get_mut("json_path") {
                        *p = p.replacen("$.data[0]", "$.data[0].Deals", 1);
                    }
                    e
                },
            )?;
            Some(row)
        }
    };
    let req = ConvertRequest {
        lead_id: input.lead_id,
        account_id: input.account_id,
        contact_id: input.contact_id,
        overwrite: input.overwrite,
        deal,
        assign_to: input.assign_to,
        new_ids: [
            caller.app.ids.next(now),
            caller.app.ids.next(now),
            caller.app.ids.next(now),
        ],
    };
    let ctx = WriteCtx {
        now,
        user: caller.user_id,
        users: caller.org.user_ids(),
    };
    caller
        .org
        .store
        .convert_lead(req, ctx)
        .await
        .map_err(crate::error::store)?
        .map_err(crate::error::refusal)
}
