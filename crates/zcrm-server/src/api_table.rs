//! Every operation zcrm serves, once: its route, the OAuth scope it needs and
//! its credit cost. The auth layer enforces the scopes from here and
//! `GET /crm/v8/__apis` publishes the same table.

use zcrm_core::scope::Op;

#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// `ZohoCRM.modules.<module>.<op>` for the `:module` in the path.
    Module(Op),
    /// A fixed scope, e.g. `ZohoCRM.settings.fields.READ`.
    Scope(&'static str),
    /// The module scope, or else the given one (search also takes
    /// `ZohoSearch.securesearch.READ`, as Zoho's search-records page says).
    ModuleOr(Op, &'static str),
}

#[derive(Debug)]
pub struct Operation {
    pub method: &'static str,
    /// The axum route template.
    pub route: &'static str,
    pub need: Need,
    pub credits: (u32, u32),
}

macro_rules! ops {
    ($($method:literal $route:literal => $need:expr, $min:literal..$max:literal;)*) => {
        pub static OPERATIONS: &[Operation] = &[
            $(Operation { method: $method, route: $route, need: $need, credits: ($min, $max) },)*
        ];
    };
}

use Need::*;

ops! {
    "GET" "/crm/v8/org" => Scope("ZohoCRM.org.READ"), 1..1;
    "GET" "/crm/v8/users" => Scope("ZohoCRM.users.READ"), 1..1;
    "GET" "/crm/v8/users/:id" => Scope("ZohoCRM.users.READ"), 1..1;
    "GET" "/crm/v8/__apis" => Scope("ZohoCRM.apis.READ"), 1..1;
    "GET" "/crm/v8/settings/modules" => Scope("ZohoCRM.settings.modules.READ"), 1..1;
    "GET" "/crm/v8/settings/modules/:module" => Scope("ZohoCRM.settings.modules.READ"), 1..1;
    "GET" "/crm/v8/settings/fields" => Scope("ZohoCRM.settings.fields.READ"), 1..1;
    "GET" "/crm/v8/settings/fields/:id" => Scope("ZohoCRM.settings.fields.READ"), 1..1;
    "GET" "/crm/v8/settings/layouts" => Scope("ZohoCRM.settings.layouts.READ"), 1..1;
    "GET" "/crm/v8/settings/layouts/:id" => Scope("ZohoCRM.settings.layouts.READ"), 1..1;
    "GET" "/crm/v8/settings/related_lists" => Scope("ZohoCRM.settings.related_lists.READ"), 1..1;
    "GET" "/crm/v8/settings/custom_views" => Scope("ZohoCRM.settings.custom_views.READ"), 1..1;
    "GET" "/crm/v8/settings/custom_views/:id" => Scope("ZohoCRM.settings.custom_views.READ"), 1..1;
    "GET" "/crm/v8/settings/recycle_bin" => Scope("ZohoCRM.settings.recycle_bin.READ"), 1..1;
    "DELETE" "/crm/v8/settings/recycle_bin" => Scope("ZohoCRM.settings.recycle_bin.DELETE"), 1..1;
    "GET" "/crm/v8/settings/recycle_bin/:id" => Scope("ZohoCRM.settings.recycle_bin.READ"), 1..1;
    "DELETE" "/crm/v8/settings/recycle_bin/:id" => Scope("ZohoCRM.settings.recycle_bin.DELETE"), 1..1;
    "GET" "/crm/v8/settings/tags" => Scope("ZohoCRM.settings.tags.READ"), 1..1;
    "POST" "/crm/v8/settings/tags" => Scope("ZohoCRM.settings.tags.CREATE"), 1..1;
    "PUT" "/crm/v8/settings/tags" => Scope("ZohoCRM.settings.tags.UPDATE"), 1..1;
    "PUT" "/crm/v8/settings/tags/:id" => Scope("ZohoCRM.settings.tags.UPDATE"), 1..1;
    "DELETE" "/crm/v8/settings/tags/:id" => Scope("ZohoCRM.settings.tags.DELETE"), 1..1;
    "POST" "/crm/v8/settings/tags/:id/actions/merge" => Scope("ZohoCRM.settings.tags.UPDATE"), 1..1;
    "GET" "/crm/v8/settings/tags/:id/actions/records_count" => Scope("ZohoCRM.settings.tags.READ"), 1..1;
    "POST" "/crm/v8/:module/actions/mass_update" => Scope("ZohoCRM.mass_update.UPDATE"), 25..500;
    "GET" "/crm/v8/:module/actions/mass_update" => Scope("ZohoCRM.mass_update.READ"), 1..1;
    "POST" "/crm/v8/:module/actions/add_tags" => Module(Op::Update), 1..1;
    "POST" "/crm/v8/:module/actions/remove_tags" => Module(Op::Update), 1..1;
    "POST" "/crm/v8/:module/:id/actions/add_tags" => Module(Op::Update), 1..1;
    "POST" "/crm/v8/:module/:id/actions/clone" => Module(Op::Create), 1..1;
    "GET" "/crm/v8/:module/:id/Attachments" => Module(Op::Read), 1..1;
    "POST" "/crm/v8/:module/:id/Attachments" => Module(Op::Create), 1..1;
    "DELETE" "/crm/v8/:module/:id/Attachments" => Module(Op::Delete), 1..1;
    "GET" "/crm/v8/:module/:id/Attachments/:attachment_id" => Module(Op::Read), 1..1;
    "DELETE" "/crm/v8/:module/:id/Attachments/:attachment_id" => Module(Op::Delete), 1..1;
    "POST" "/crm/v8/:module/:id/actions/remove_tags" => Module(Op::Update), 1..1;
    "GET" "/crm/v8/actions/watch" => Scope("ZohoCRM.notifications.READ"), 1..1;
    "POST" "/crm/v8/actions/watch" => Scope("ZohoCRM.notifications.CREATE"), 1..1;
    "PUT" "/crm/v8/actions/watch" => Scope("ZohoCRM.notifications.UPDATE"), 1..1;
    "PATCH" "/crm/v8/actions/watch" => Scope("ZohoCRM.notifications.UPDATE"), 1..1;
    "DELETE" "/crm/v8/actions/watch" => Scope("ZohoCRM.notifications.DELETE"), 1..1;
    "POST" "/crm/v8/upload" => Scope("ZohoFiles.files.ALL"), 1..1;
    "POST" "/crm/bulk/v8/write" => Scope("ZohoCRM.bulk.CREATE"), 500..500;
    "GET" "/crm/bulk/v8/write/:job_id" => Scope("ZohoCRM.bulk.CREATE"), 1..1;
    "GET" "/crm/bulk/v8/write/:job_id/result" => Scope("ZohoCRM.bulk.CREATE"), 1..1;
    "POST" "/crm/bulk/v8/read" => Scope("ZohoCRM.bulk.READ"), 50..50;
    "GET" "/crm/bulk/v8/read/:job_id" => Scope("ZohoCRM.bulk.READ"), 1..1;
    "GET" "/crm/bulk/v8/read/:job_id/result" => Scope("ZohoCRM.bulk.READ"), 1..1;
    "GET" "/crm/v8/:module" => Module(Op::Read), 1..1;
    "POST" "/crm/v8/:module" => Module(Op::Create), 1..1;
    "PUT" "/crm/v8/:module" => Module(Op::Update), 1..1;
    "DELETE" "/crm/v8/:module" => Module(Op::Delete), 1..1;
    "GET" "/crm/v8/:module/deleted" => Module(Op::Read), 1..1;
    "POST" "/crm/v8/:module/upsert" => Module(Op::Create), 1..1;
    "POST" "/crm/v8/:module/:id/actions/convert" => Module(Op::Create), 5..5;
    "GET" "/crm/v8/:module/:id/:related" => Module(Op::Read), 1..1;
    "PUT" "/crm/v8/:module/:id/:related" => Module(Op::Update), 1..1;
    "DELETE" "/crm/v8/:module/:id/:related" => Module(Op::Update), 1..1;
    "POST" "/crm/v8/:module/:id/:related" => Scope("ZohoCRM.modules.notes.CREATE"), 1..1;
    "PUT" "/crm/v8/:module/:id/:related/:related_id" => Module(Op::Update), 1..1;
    "DELETE" "/crm/v8/:module/:id/:related/:related_id" => Module(Op::Update), 1..1;
    "GET" "/crm/v8/:module/search" => ModuleOr(Op::Read, "ZohoSearch.securesearch.READ"), 1..1;
    "GET" "/crm/v8/:module/actions/count" => Module(Op::Read), 1..1;
    "POST" "/crm/v8/coql" => Scope("ZohoCRM.coql.READ"), 1..3;
    "POST" "/crm/v8/files" => Scope("ZohoCRM.files.CREATE"), 1..1;
    "GET" "/crm/v8/files" => Scope("ZohoCRM.files.READ"), 1..1;
    "POST" "/crm/v8/__composite_requests" => Scope("ZohoCRM.composite_requests.CUSTOM"), 1..2;
    "GET" "/crm/v8/:module/:id" => Module(Op::Read), 1..1;
    "PUT" "/crm/v8/:module/:id" => Module(Op::Update), 1..1;
    "DELETE" "/crm/v8/:module/:id" => Module(Op::Delete), 1..1;
}

pub fn find(method: &str, route: &str) -> Option<&'static Operation> {
    OPERATIONS
        .iter()
        .find(|o| o.method == method && o.route == route)
}
