//! Which operation a concrete path is, by the table's templates alone.
//!
//! A placeholder (`{module}`, `{id}`, `{related}` …) never takes a word that
//! Zoho's own paths use as a fixed segment (`settings`, `actions`, `photo` …):
//! `/crm/v8/settings/roles` is Zoho's roles API, which zcrm does not serve,
//! not the record `roles` of a module `settings`. So an unserved Zoho path
//! answers `INVALID_URL_PATTERN` instead of an error about a module or id.

use super::{Method, Operation, OPERATIONS};

/// Fixed segments of Zoho's v8 paths that are neither modules nor related
/// lists (from the path templates of Zoho's v8 OpenAPI documents).
const RESERVED: &[&str] = &[
    "actions",
    "settings",
    "users",
    "org",
    "coql",
    "files",
    "upload",
    "deleted",
    "search",
    "upsert",
    "photo",
    "roles",
    "Emails",
    "Locking_Information__s",
    "territories",
    "currencies",
    "map_dependency",
    "pick_list_values",
    "automation",
    "data_sharing",
    "portals",
];

/// A word a placeholder may not take; names starting `__` are Zoho's own
/// endpoints (`__timeline`, `__features`, `__email_drafts` …).
pub fn is_reserved(segment: &str) -> bool {
    segment.starts_with("__") || RESERVED.contains(&segment)
}

fn fits(template: &str, path: &str) -> Option<usize> {
    let mut fixed = 0;
    let mut t = template.split('/');
    let mut p = path.split('/');
    loop {
        match (t.next(), p.next()) {
            (None, None) => return Some(fixed),
            (Some(ts), Some(ps)) if ts.starts_with('{') => {
                if ps.is_empty() || is_reserved(ps) {
                    return None;
                }
            }
            (Some(ts), Some(ps)) if ts == ps => fixed += 1,
            _ => return None,
        }
    }
}

/// The operation a method and path are, preferring the template with the
/// most fixed segments (`{module}/{id}/Attachments` over `{module}/{id}/{related}`).
pub fn matching(method: Method, path: &str) -> Option<&'static Operation> {
    let path = path.trim_end_matches('/');
    OPERATIONS
        .iter()
        .filter(|o| o.method == method)
        .filter_map(|o| fits(o.path, path).map(|n| (n, o)))
        .max_by_key(|(n, _)| *n)
        .map(|(_, o)| o)
}

/// Whether any operation, of any method, has this path.
pub fn path_known(path: &str) -> bool {
    let path = path.trim_end_matches('/');
    OPERATIONS.iter().any(|o| fits(o.path, path).is_some())
}
