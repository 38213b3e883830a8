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

/// Whether a token with `have` could meet `need` on the modules the
/// [`concrete`] paths name (Leads; Accounts and its Contacts; any job's).
fn meets(have: &Scopes, need: Need) -> bool {
    let any_module = |op| {
        ["leads", "accounts", "contacts"]
            .iter()
            .any(|m| have.allows(&Scope::crm(&["modules", m], op)))
    };
    match need {
        Need::Module(op) | Need::Related(op) | Need::JobModule(_, op) => any_module(op),
        Need::ModuleOr(op, alt) => any_module(op) || have.allows(&Scope::parse(alt).unwrap()),
        Need::Scope(s) => have.allows(&Scope::parse(s).expect("the table's scopes parse")),
        Need::Family(family, op) => {
            have.allows(&Scope::crm(&[family], op))
                || have.allows(&Scope::crm(&[family, "leads"], op))
        }
        Need::All(list) => list.iter().all(|n| meets(have, *n)),
    }
}

/// A token's scopes that do not meet `need`.
fn lacking(need: Need) -> &'static str {
    [
        "ZohoCRM.modules.deals.ALL",
        "ZohoCRM.org.READ",
        "ZohoCRM.users.READ",
    ]
    .into_iter()
    .find(|candidate| !meets(&Scopes::parse_list(candidate).unwrap(), need))
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
