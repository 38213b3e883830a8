//! Generated from the operation table: every operation, called with a token
//! that lacks the scope its row names, answers Zoho's `OAUTH_SCOPE_MISMATCH`
//! (401) and changes nothing, before any handler runs.

mod common;
use common::*;
use zcrm_core::scope::{Scope, Scopes};
use zcrm_server::ops::{Need, OPERATIONS};

const SOME_ID: &str = "4150000000000000001";

/// The operation's path with every placeholder filled: a module with a
/// related list, and ids of the right form.
fn concrete(path: &str) -> String {
    let module = if path.contains("{related}") {
        "Accounts"
    } else {
        "Leads"
    };
    path.replace("{module}", module)
        .replace("{related}", "Contacts")
        .replace("{id}", SOME_ID)
        .replace("{related_id}", SOME_ID)
        .replace("{attachment_id}", SOME_ID)
        .replace("{job_id}", SOME_ID)
}

/// A token's scopes that do not reach what `need` asks for the module of
/// [`concrete`] paths.
fn lacking(need: Need) -> &'static str {
    let wanted: Vec<Scope> = match need {
        Need::Module(op) | Need::ModuleOr(op, _) => ["leads", "accounts"]
            .iter()
            .map(|m| Scope::crm(&["modules", m], op))
            .collect(),
        Need::Scope(s) => vec![Scope::parse(s).expect("the table's scopes parse")],
    };
    let alt = match need {
        Need::ModuleOr(_, alt) => Scope::parse(alt),
        _ => None,
    };
    [
        "ZohoCRM.modules.deals.ALL",
        "ZohoCRM.org.READ",
        "ZohoCRM.users.READ",
    ]
    .into_iter()
    .find(|candidate| {
        let have = Scopes::parse_list(candidate).unwrap();
        !wanted.iter().any(|w| have.allows(w)) && alt.as_ref().is_none_or(|a| !have.allows(a))
    })
    .expect("a scope that does not reach the operation")
}

#[tokio::test]
async fn every_operation_refuses_a_token_without_its_scope() {
    let srv = TestServer::start().await;
    let mut tokens = std::collections::HashMap::new();
    let admin = srv.token(ALL_SCOPES).await;
    let before = srv
        .get("/crm/v8/Leads?fields=Last_Name", &admin)
        .await
        .status;
    let mut checked = 0;
    for op in OPERATIONS {
        let scopes = lacking(op.need);
        if !tokens.contains_key(scopes) {
            tokens.insert(scopes, srv.token(scopes).await);
        }
        let path = concrete(op.path);
        let method = reqwest::Method::from_bytes(op.method.as_str().as_bytes()).unwrap();
        let r = srv.raw(method, &path, &tokens[scopes], "{}").await;
        assert_eq!(
            (r.status, r.code()),
            (401, "OAUTH_SCOPE_MISMATCH"),
            "{} {path} with {scopes}: {}",
            op.method.as_str(),
            r.body
        );
        checked += 1;
    }
    assert_eq!(checked, OPERATIONS.len());
    assert!(checked >= 70, "the table has {checked} operations");
    // Nothing was written by the refused calls.
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &admin)
            .await
            .status,
        before
    );
}
