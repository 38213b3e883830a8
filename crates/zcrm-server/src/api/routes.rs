//! The handler of each operation in `ops`, and the router built from the table.

use super::*;
use crate::ops::{self, OpId, Operation, OPERATIONS};
use axum::extract::DefaultBodyLimit;
use axum::routing::{on, MethodFilter, MethodRouter};

type Routes = MethodRouter<Arc<App>>;

/// The handler of an operation, bound to the operation's method.
fn handler(op: &Operation) -> Routes {
    let m = match op.method {
        ops::Method::Get => MethodFilter::GET,
        ops::Method::Post => MethodFilter::POST,
        ops::Method::Put => MethodFilter::PUT,
        ops::Method::Patch => MethodFilter::PATCH,
        ops::Method::Delete => MethodFilter::DELETE,
    };
    // Zoho takes attachments up to 20 MB; leave room for the multipart framing.
    let attachment_body = DefaultBodyLimit::max(attachments::MAX_ATTACHMENT + 1024 * 1024);
    use OpId::*;
    match op.id {
        GetOrg => on(m, users_org::org),
        GetUsers => on(m, users_org::users),
        GetUser => on(m, users_org::user),
        GetApis => on(m, apis::list),
        GetModules => on(m, metadata::modules),
        GetModule => on(m, metadata::module),
        GetFields => on(m, metadata::fields),
        GetField => on(m, metadata::field),
        GetLayouts => on(m, metadata::layouts),
        GetLayout => on(m, metadata::layout),
        GetRelatedLists => on(m, metadata::related_lists),
        GetCustomViews => on(m, metadata::custom_views),
        GetCustomView => on(m, metadata::custom_view),
        GetRecycleBin => on(m, recycle_bin::list),
        DeleteRecycleBin => on(m, recycle_bin::delete_many),
        GetRecycleBinRecord => on(m, recycle_bin::get_one),
        DeleteRecycleBinRecord => on(m, recycle_bin::delete_one),
        GetTags => on(m, tags::list),
        CreateTags => on(m, tags::create),
        UpdateTags => on(m, tags::update_many),
        UpdateTag => on(m, tags::update_one),
        DeleteTag => on(m, tags::delete),
        MergeTags => on(m, tags::merge),
        TagRecordsCount => on(m, tags::records_count),
        AddTagsMany => on(m, tags::add_many),
        RemoveTagsMany => on(m, tags::remove_many),
        AddTags => on(m, tags::add_one),
        RemoveTags => on(m, tags::remove_one),
        MassUpdate => on(m, mass_update::schedule),
        MassUpdateStatus => on(m, mass_update::status),
        GetAttachments => on(m, attachments::list),
        UploadAttachment => on(m, attachments::upload).layer(attachment_body),
        DeleteAttachments => on(m, attachments::delete_many),
        GetAttachment => on(m, attachments::download),
        DeleteAttachment => on(m, attachments::delete_one),
        GetNotifications => on(m, notifications::list),
        EnableNotifications => on(m, notifications::enable),
        UpdateNotifications => on(m, notifications::replace),
        PatchNotifications => on(m, notifications::patch),
        DeleteNotifications => on(m, notifications::disable),
        UploadBulkFile => on(m, bulk::upload).layer(DefaultBodyLimit::max(bulk::UPLOAD_BODY_LIMIT)),
        CreateBulkWrite => on(m, bulk::create_write),
        GetBulkWrite => on(m, bulk::get_write),
        BulkWriteResult => on(m, bulk::write_result),
        CreateBulkRead => on(m, bulk::create_read),
        GetBulkRead => on(m, bulk::get_read),
        BulkReadResult => on(m, bulk::read_result),
        GetRecords => on(m, records::list),
        CreateRecords => on(m, records::create),
        UpdateRecords => on(m, records::update_many),
        DeleteRecords => on(m, records::delete_many),
        GetDeletedRecords => on(m, records::deleted),
        UpsertRecords => on(m, records::upsert),
        GetRecord => on(m, records::get_one),
        UpdateRecord => on(m, records::update_one),
        DeleteRecord => on(m, records::delete_one),
        CloneRecord => on(m, records::clone_record),
        ConvertLead => on(m, convert::convert),
        GetRelatedRecords => on(m, related::list),
        UpdateRelatedRecords => on(m, related::link_many),
        DelinkRecords => on(m, related::unlink_many),
        CreateRelatedRecord => on(m, related::create_child),
        UpdateRelatedRecord => on(m, related::link_one),
        DelinkRecord => on(m, related::unlink_one),
        SearchRecords => on(m, search::search),
        CountRecords => on(m, search::count),
        Coql => on(m, coql::query),
        UploadFiles => on(m, files::upload).layer(DefaultBodyLimit::max(
            files::MAX_FILES * files::MAX_FILE + 1024 * 1024,
        )),
        GetFile => on(m, files::get),
        Composite => on(m, composite::composite),
    }
}

/// axum's spelling of a template: `{module}` → `:module`.
fn axum_path(template: &str) -> String {
    template
        .split('/')
        .map(
            |s| match s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                Some(name) => format!(":{name}"),
                None => s.to_string(),
            },
        )
        .collect::<Vec<_>>()
        .join("/")
}

/// Every operation of the table, each behind the auth layer holding its own
/// row (so the scope, credits and class checked are the operation's, and
/// `HEAD` on a GET route is that GET).
pub fn crm(app: &Arc<App>) -> Router<Arc<App>> {
    OPERATIONS.iter().fold(Router::new(), |r, op| {
        let guarded = handler(op).route_layer(axum::middleware::from_fn_with_state(
            (app.clone(), op),
            auth::layer,
        ));
        r.route(&axum_path(op.path), guarded)
    })
}
