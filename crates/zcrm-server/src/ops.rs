//! The operation table: every operation zcrm serves under `/crm`, once, with
//! its method, path, where Zoho documents it, the scope it needs, its credits
//! and its class. The router (`api::routes`), the scope check (`auth`),
//! credit charging and concurrency (`limits`), composite's allowed list,
//! `GET /crm/v8/__apis` and the README's operation list are all read from here.
//!
//! Adding an operation: one line here and one arm in `api::routes::handler`
//! (the compiler refuses a missing arm).

use zcrm_core::scope::Op;

mod doc;
mod shape;
#[cfg(test)]
mod tests;

pub use doc::markdown;
pub use shape::{is_reserved, matching, path_known};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl Method {
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Get => "GET",
            Method::Post => "POST",
            Method::Put => "PUT",
            Method::Patch => "PATCH",
            Method::Delete => "DELETE",
        }
    }

    /// The operation's method for a request's; `HEAD` is answered by `GET`.
    pub fn of(m: &str) -> Option<Method> {
        Some(match m {
            "GET" | "HEAD" => Method::Get,
            "POST" => Method::Post,
            "PUT" => Method::Put,
            "PATCH" => Method::Patch,
            "DELETE" => Method::Delete,
            _ => return None,
        })
    }
}

/// The scope an operation needs. `docs/security.md` lists each operation's.
#[derive(Debug, Clone, Copy)]
pub enum Need {
    /// `ZohoCRM.modules.<module>.<op>` for the `{module}` in the path.
    Module(Op),
    /// A fixed scope, e.g. `ZohoCRM.settings.fields.READ`.
    Scope(&'static str),
    /// The module scope, or else the given one (search also takes
    /// `ZohoSearch.securesearch.READ`, as Zoho's search-records page says).
    ModuleOr(Op, &'static str),
    /// Every one of these: a path that reaches more than one module needs
    /// the scopes of each.
    All(&'static [Need]),
    /// `ZohoCRM.modules.<child>.<op>` for the module behind the `{related}`
    /// list of `{module}` (Contacts of an Account, Notes of a Lead).
    Related(Op),
    /// `ZohoCRM.<family>.<module>.<op>` for the `{module}` in the path: a
    /// family Zoho divides by module (`ZohoCRM.mass_update.leads.READ`); the
    /// family's own scope (`ZohoCRM.mass_update.READ`) covers every module.
    Family(&'static str, Op),
    /// `ZohoCRM.modules.<module>.<op>` for the module of the bulk job (of
    /// the kind given, `read` or `write`) named by `{job_id}`.
    JobModule(&'static str, Op),
}

/// Where the operation is specified.
#[derive(Debug, Clone, Copy)]
pub enum Source {
    /// A document of Zoho's v8 OpenAPI set and the operationId in it.
    Spec { doc: &'static str, id: &'static str },
    /// Zoho's developer pages describe it but the OpenAPI set does not: the page.
    Page(&'static str),
}

#[derive(Debug)]
pub struct Operation {
    pub id: OpId,
    pub method: Method,
    /// Zoho's path template; placeholders in braces (`{module}`, `{id}`).
    pub path: &'static str,
    pub source: Source,
    pub need: Need,
    /// Credits charged before the handler runs, and the most it may charge.
    pub credits: (u32, u32),
    /// Zoho's sub-concurrency for heavy APIs applies.
    pub heavy: bool,
    /// May be a sub-request of `__composite_requests` (Zoho's allowed list).
    pub composite: bool,
}

const fn op(method: Method, path: &'static str, need: Need, source: Source) -> Operation {
    Operation {
        id: OpId::GetOrg,
        method,
        path,
        source,
        need,
        credits: (1, 1),
        heavy: false,
        composite: true,
    }
}

impl Operation {
    const fn with_id(mut self, id: OpId) -> Operation {
        self.id = id;
        self
    }
    const fn credits(mut self, min: u32, max: u32) -> Operation {
        self.credits = (min, max);
        self
    }
    const fn heavy(mut self) -> Operation {
        self.heavy = true;
        self
    }
    /// Outside Zoho's composite list (composite itself, scheduled jobs,
    /// binary transfers whose bodies a JSON answer cannot carry).
    const fn no_composite(mut self) -> Operation {
        self.composite = false;
        self
    }

    /// The place of this operation in [`OPERATIONS`], for per-operation counters.
    pub fn index(&self) -> usize {
        self.id as usize
    }

    /// `GET /crm/v8/{module}`: the usage ledger's key.
    pub fn key(&self) -> String {
        format!("{} {}", self.method.as_str(), self.path)
    }
}

macro_rules! operations {
    ($($id:ident = $op:expr;)*) => {
        /// One variant per operation, in table order.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum OpId { $($id),* }
        pub static OPERATIONS: &[Operation] = &[$($op.with_id(OpId::$id)),*];
    };
}

const fn spec(doc: &'static str, id: &'static str) -> Source {
    Source::Spec { doc, id }
}

use Method::{Delete as DELETE, Get as GET, Patch as PATCH, Post as POST, Put as PUT};
use Need::{All, Family, JobModule, Module, ModuleOr, Related, Scope};
use Op::{Create, Delete as Del, Read, Update};

operations! {
    // Users, org, metadata.
    GetOrg = op(GET, "/crm/v8/org", Scope("ZohoCRM.org.READ"), spec("org.json", "Get Organization"));
    GetUsers = op(GET, "/crm/v8/users", Scope("ZohoCRM.users.READ"), spec("users.json", "Get Users"));
    GetUser = op(GET, "/crm/v8/users/{id}", Scope("ZohoCRM.users.READ"), spec("users.json", "Get User"));
    GetApis = op(GET, "/crm/v8/__apis", Scope("ZohoCRM.apis.READ"), spec("apis.json", "Get Supported API"));
    GetModules = op(GET, "/crm/v8/settings/modules", Scope("ZohoCRM.settings.modules.READ"), spec("modules.json", "Get Modules"));
    GetModule = op(GET, "/crm/v8/settings/modules/{module}", Scope("ZohoCRM.settings.modules.READ"), spec("modules.json", "Get Module By API Name"));
    GetFields = op(GET, "/crm/v8/settings/fields", Scope("ZohoCRM.settings.fields.READ"), spec("fields.json", "Get Fields"));
    GetField = op(GET, "/crm/v8/settings/fields/{id}", Scope("ZohoCRM.settings.fields.READ"), spec("fields.json", "Get Field"));
    GetLayouts = op(GET, "/crm/v8/settings/layouts", Scope("ZohoCRM.settings.layouts.READ"), spec("layouts.json", "Get Layouts"));
    GetLayout = op(GET, "/crm/v8/settings/layouts/{id}", Scope("ZohoCRM.settings.layouts.READ"), spec("layouts.json", "Get Layout"));
    GetRelatedLists = op(GET, "/crm/v8/settings/related_lists", Scope("ZohoCRM.settings.related_lists.READ"), spec("related_lists.json", "Get Related Lists"));
    GetCustomViews = op(GET, "/crm/v8/settings/custom_views", Scope("ZohoCRM.settings.custom_views.READ"), spec("custom_views.json", "Get Custom Views"));
    GetCustomView = op(GET, "/crm/v8/settings/custom_views/{id}", Scope("ZohoCRM.settings.custom_views.READ"), spec("custom_views.json", "Get Custom View"));
    // Recycle bin.
    GetRecycleBin = op(GET, "/crm/v8/settings/recycle_bin", Scope("ZohoCRM.settings.recycle_bin.READ"), spec("recycle_bin.json", "Get RecycleBin Records"));
    DeleteRecycleBin = op(DELETE, "/crm/v8/settings/recycle_bin", Scope("ZohoCRM.settings.recycle_bin.DELETE"), spec("recycle_bin.json", "Delete RecycleBin Records"));
    GetRecycleBinRecord = op(GET, "/crm/v8/settings/recycle_bin/{id}", Scope("ZohoCRM.settings.recycle_bin.READ"), spec("recycle_bin.json", "Get RecycleBin Record"));
    DeleteRecycleBinRecord = op(DELETE, "/crm/v8/settings/recycle_bin/{id}", Scope("ZohoCRM.settings.recycle_bin.DELETE"), spec("recycle_bin.json", "Delete RecycleBin Record"));
    // Tags.
    GetTags = op(GET, "/crm/v8/settings/tags", Scope("ZohoCRM.settings.tags.READ"), spec("tags.json", "Get Tags"));
    CreateTags = op(POST, "/crm/v8/settings/tags", Scope("ZohoCRM.settings.tags.CREATE"), spec("tags.json", "Create Tags"));
    UpdateTags = op(PUT, "/crm/v8/settings/tags", Scope("ZohoCRM.settings.tags.UPDATE"), spec("tags.json", "Update Tags"));
    UpdateTag = op(PUT, "/crm/v8/settings/tags/{id}", Scope("ZohoCRM.settings.tags.UPDATE"), spec("tags.json", "Update Tag"));
    DeleteTag = op(DELETE, "/crm/v8/settings/tags/{id}", Scope("ZohoCRM.settings.tags.DELETE"), spec("tags.json", "Delete Tag"));
    MergeTags = op(POST, "/crm/v8/settings/tags/{id}/actions/merge", Scope("ZohoCRM.settings.tags.UPDATE"), spec("tags.json", "Merge Tags"));
    TagRecordsCount = op(GET, "/crm/v8/settings/tags/{id}/actions/records_count", Scope("ZohoCRM.settings.tags.READ"), spec("tags.json", "Get Record Count For Tag"));
    AddTagsMany = op(POST, "/crm/v8/{module}/actions/add_tags", Module(Update), spec("tags.json", "Add Tags To Multiple Records"));
    RemoveTagsMany = op(POST, "/crm/v8/{module}/actions/remove_tags", Module(Update), spec("tags.json", "Remove Tags From Multiple Records"));
    AddTags = op(POST, "/crm/v8/{module}/{id}/actions/add_tags", Module(Update), spec("tags.json", "Add Tags"));
    RemoveTags = op(POST, "/crm/v8/{module}/{id}/actions/remove_tags", Module(Update), spec("tags.json", "Remove Tags"));
    // Mass update.
    MassUpdate = op(POST, "/crm/v8/{module}/actions/mass_update", All(&[Family("mass_update", Update), Module(Update)]), spec("record.json", "Mass Update Records")).credits(25, 500).heavy().no_composite();
    MassUpdateStatus = op(GET, "/crm/v8/{module}/actions/mass_update", Family("mass_update", Read), spec("record.json", "Get Mass Update Status")).no_composite();
    // Attachments.
    GetAttachments = op(GET, "/crm/v8/{module}/{id}/Attachments", Module(Read), spec("attachments.json", "Get Attachments"));
    UploadAttachment = op(POST, "/crm/v8/{module}/{id}/Attachments", Module(Create), spec("attachments.json", "Upload Url Attachments"));
    DeleteAttachments = op(DELETE, "/crm/v8/{module}/{id}/Attachments", Module(Del), spec("attachments.json", "Delete Attachments"));
    GetAttachment = op(GET, "/crm/v8/{module}/{id}/Attachments/{attachment_id}", Module(Read), spec("attachments.json", "Get Attachment")).no_composite();
    DeleteAttachment = op(DELETE, "/crm/v8/{module}/{id}/Attachments/{attachment_id}", Module(Del), spec("attachments.json", "Delete Attachment")).no_composite();
    // Notifications.
    GetNotifications = op(GET, "/crm/v8/actions/watch", Scope("ZohoCRM.notifications.READ"), spec("notifications.json", "Get Notifications"));
    EnableNotifications = op(POST, "/crm/v8/actions/watch", Scope("ZohoCRM.notifications.CREATE"), spec("notifications.json", "Enable Notifications"));
    UpdateNotifications = op(PUT, "/crm/v8/actions/watch", Scope("ZohoCRM.notifications.UPDATE"), spec("notifications.json", "Update Notifications"));
    PatchNotifications = op(PATCH, "/crm/v8/actions/watch", Scope("ZohoCRM.notifications.UPDATE"), spec("notifications.json", "Disable Notification"));
    DeleteNotifications = op(DELETE, "/crm/v8/actions/watch", Scope("ZohoCRM.notifications.DELETE"), spec("notifications.json", "Delete Notification"));
    // Bulk read and write.
    UploadBulkFile = op(POST, "/crm/v8/upload", Scope("ZohoFiles.files.ALL"), spec("bulk_write.json", "Upload File"));
    CreateBulkWrite = op(POST, "/crm/bulk/v8/write", Scope("ZohoCRM.bulk.CREATE"), spec("bulk_write.json", "Create Bulk Write Job")).credits(500, 500);
    GetBulkWrite = op(GET, "/crm/bulk/v8/write/{job_id}", Scope("ZohoCRM.bulk.CREATE"), spec("bulk_write.json", "Get Bulk Write Job Details"));
    BulkWriteResult = op(GET, "/crm/bulk/v8/write/{job_id}/result", All(&[Scope("ZohoCRM.bulk.CREATE"), JobModule("write", Read)]), spec("bulk_write.json", "Download Bulk Write Result"));
    CreateBulkRead = op(POST, "/crm/bulk/v8/read", Scope("ZohoCRM.bulk.READ"), spec("bulk_read.json", "Create Bulk Read Job")).credits(50, 50);
    GetBulkRead = op(GET, "/crm/bulk/v8/read/{job_id}", All(&[Scope("ZohoCRM.bulk.READ"), JobModule("read", Read)]), spec("bulk_read.json", "Get Bulk Read Job Details"));
    BulkReadResult = op(GET, "/crm/bulk/v8/read/{job_id}/result", All(&[Scope("ZohoCRM.bulk.READ"), JobModule("read", Read)]), spec("bulk_read.json", "Download Result"));
    // Records.
    GetRecords = op(GET, "/crm/v8/{module}", Module(Read), spec("record.json", "Get Records"));
    CreateRecords = op(POST, "/crm/v8/{module}", Module(Create), spec("record.json", "Create Records"));
    UpdateRecords = op(PUT, "/crm/v8/{module}", Module(Update), spec("record.json", "Update Records"));
    DeleteRecords = op(DELETE, "/crm/v8/{module}", Module(Del), spec("record.json", "Delete Records"));
    GetDeletedRecords = op(GET, "/crm/v8/{module}/deleted", Module(Read), spec("record.json", "Get Deleted Records"));
    UpsertRecords = op(POST, "/crm/v8/{module}/upsert", Module(Create), spec("record.json", "Upsert Records"));
    GetRecord = op(GET, "/crm/v8/{module}/{id}", Module(Read), spec("record.json", "Get Record"));
    UpdateRecord = op(PUT, "/crm/v8/{module}/{id}", Module(Update), spec("record.json", "Update Record"));
    DeleteRecord = op(DELETE, "/crm/v8/{module}/{id}", Module(Del), spec("record.json", "Delete Record"));
    CloneRecord = op(POST, "/crm/v8/{module}/{id}/actions/clone", Module(Create), spec("record.json", "Clone Record"));
    ConvertLead = op(POST, "/crm/v8/{module}/{id}/actions/convert", Module(Create), spec("convert_lead.json", "Convert Lead")).credits(5, 5).heavy();
    // Related records.
    GetRelatedRecords = op(GET, "/crm/v8/{module}/{id}/{related}", All(&[Module(Read), Related(Read)]), spec("related_records.json", "Get Related Records"));
    UpdateRelatedRecords = op(PUT, "/crm/v8/{module}/{id}/{related}", All(&[Module(Update), Related(Update)]), spec("related_records.json", "Update Related Records"));
    DelinkRecords = op(DELETE, "/crm/v8/{module}/{id}/{related}", All(&[Module(Update), Related(Update)]), spec("related_records.json", "Delink Records"));
    CreateRelatedRecord = op(POST, "/crm/v8/{module}/{id}/{related}", Scope("ZohoCRM.modules.notes.CREATE"), Source::Page("https://www.zoho.com/crm/developer/docs/api/v8/create-notes.html (notes of a record)"));
    UpdateRelatedRecord = op(PUT, "/crm/v8/{module}/{id}/{related}/{related_id}", All(&[Module(Update), Related(Update)]), spec("related_records.json", "Update Related Record"));
    DelinkRecord = op(DELETE, "/crm/v8/{module}/{id}/{related}/{related_id}", All(&[Module(Update), Related(Update)]), spec("related_records.json", "Delink Record"));
    // Search, count, COQL.
    SearchRecords = op(GET, "/crm/v8/{module}/search", ModuleOr(Read, "ZohoSearch.securesearch.READ"), spec("record.json", "Search Records")).heavy();
    CountRecords = op(GET, "/crm/v8/{module}/actions/count", Module(Read), spec("record.json", "Record Count"));
    Coql = op(POST, "/crm/v8/coql", Scope("ZohoCRM.coql.READ"), spec("coql.json", "Get Records")).credits(1, 3).heavy();
    // Files and composite.
    UploadFiles = op(POST, "/crm/v8/files", Scope("ZohoCRM.files.CREATE"), spec("files.json", "Upload Files")).no_composite();
    GetFile = op(GET, "/crm/v8/files", Scope("ZohoCRM.files.READ"), spec("files.json", "Get File")).no_composite();
    Composite = op(POST, "/crm/v8/__composite_requests", Scope("ZohoCRM.composite_requests.CUSTOM"), spec("composite_requests.json", "composite")).credits(1, 2).no_composite();
}

/// The row of an operation.
pub fn get(id: OpId) -> &'static Operation {
    &OPERATIONS[id as usize]
}
