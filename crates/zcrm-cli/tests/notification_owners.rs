//! Notification channels belong to the client that made them: another
//! client neither sees, changes nor stops them; deliveries with values need
//! the module's READ scope; channels are capped per client and per org.

mod common;
use common::*;
use reqwest::Method;
use serde_json::{json, Value};

const HOOK: &str = "http://127.0.0.1:9/hook";

fn item(channel: &str, events: &[&str]) -> Value {
    json!({"channel_id": channel, "events": events, "notify_url": HOOK, "token": format!("secret-{channel}")})
}

async fn watch(srv: &TestServer, method: Method, t: &str, items: Vec<Value>) -> Resp {
    srv.raw(
        method,
        "/crm/v8/actions/watch",
        t,
        &json!({ "watch": items }).to_string(),
    )
    .await
}

#[tokio::test]
async fn another_client_neither_sees_changes_nor_stops_a_channel() {
    let srv = TestServer::start().await;
    let a = srv.token("ZohoCRM.notifications.ALL").await;
    let b = srv.token("ZohoCRM.notifications.ALL").await;
    let r = watch(&srv, Method::POST, &a, vec![item("1000", &["Leads.all"])]).await;
    assert_eq!(r.status, 201, "{}", r.body);

    // B's list is empty, whether it asks for everything or for A's channel.
    assert_eq!(srv.get("/crm/v8/actions/watch", &b).await.status, 204);
    assert_eq!(
        srv.get("/crm/v8/actions/watch?channel_id=1000", &b)
            .await
            .status,
        204
    );
    // B cannot take the id, update the channel, or point it elsewhere.
    for method in [Method::POST, Method::PUT] {
        let r = watch(&srv, method, &b, vec![item("1000", &["Contacts.all"])]).await;
        assert_eq!(r.status, 400, "{}", r.body);
        assert_eq!(r.body["watch"][0]["code"], "DUPLICATE_DATA", "{}", r.body);
    }
    let r = watch(
        &srv,
        Method::PATCH,
        &b,
        vec![json!({"channel_id": "1000", "events": ["Leads.all"], "notify_url": "http://127.0.0.1:10/mine"})],
    )
    .await;
    assert_eq!(r.body["watch"][0]["code"], "NOT_SUBSCRIBED", "{}", r.body);
    let r = srv
        .delete("/crm/v8/actions/watch?channel_ids=1000", &b)
        .await;
    assert_eq!(r.body["watch"][0]["code"], "NOT_SUBSCRIBED", "{}", r.body);

    // A's channel is as A made it, signing token included.
    let r = srv.get("/crm/v8/actions/watch", &a).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = r.body["watch"].as_array().unwrap();
    assert_eq!(listed.len(), 1, "{}", r.body);
    assert_eq!(listed[0]["notify_url"], HOOK);
    assert_eq!(listed[0]["token"], "secret-1000");
    assert_eq!(listed[0]["events"], json!(["Leads.all"]));

    // Its maker stops it.
    let r = srv
        .delete("/crm/v8/actions/watch?channel_ids=1000", &a)
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(srv.get("/crm/v8/actions/watch", &a).await.status, 204);
}

#[tokio::test]
async fn values_in_deliveries_need_the_modules_read_scope() {
    let srv = TestServer::start().await;
    let only_watch = srv.token("ZohoCRM.notifications.ALL").await;
    let with_values = |ch: &str| {
        let mut i = item(ch, &["Contacts.all"]);
        i["return_affected_field_values"] = json!(true);
        i
    };
    let r = watch(&srv, Method::POST, &only_watch, vec![with_values("1")]).await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(
        r.body["watch"][0]["code"], "OAUTH_SCOPE_MISMATCH",
        "{}",
        r.body
    );
    assert_eq!(r.body["watch"][0]["details"]["module"], "Contacts");

    // Ids and operations only: allowed with the notifications scope alone,
    // but turning values on later is refused too.
    let r = watch(
        &srv,
        Method::POST,
        &only_watch,
        vec![item("2", &["Contacts.all"])],
    )
    .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = watch(
        &srv,
        Method::PATCH,
        &only_watch,
        vec![json!({"channel_id": "2", "events": ["Contacts.all"], "return_affected_field_values": true})],
    )
    .await;
    assert_eq!(
        r.body["watch"][0]["code"], "OAUTH_SCOPE_MISMATCH",
        "{}",
        r.body
    );

    let reader = srv
        .token("ZohoCRM.notifications.ALL,ZohoCRM.modules.contacts.READ")
        .await;
    let r = watch(&srv, Method::POST, &reader, vec![with_values("3")]).await;
    assert_eq!(r.status, 201, "{}", r.body);
}

#[tokio::test]
async fn channels_are_capped_per_client_and_per_org() {
    let srv = TestServer::start_with(|c| {
        c.watch.channels_per_client = 2;
        c.watch.channels_per_org = 3;
    })
    .await;
    let a = srv.token("ZohoCRM.notifications.ALL").await;
    let b = srv.token("ZohoCRM.notifications.ALL").await;
    let r = watch(
        &srv,
        Method::POST,
        &a,
        vec![
            item("1", &["Leads.all"]),
            item("2", &["Leads.all", "Contacts.all"]),
            item("3", &["Leads.all"]),
        ],
    )
    .await;
    assert_eq!(r.status, 207, "{}", r.body);
    let third = &r.body["watch"][2];
    assert_eq!(third["code"], "LIMIT_EXCEEDED", "{r:?}", r = r.body);
    assert_eq!(third["details"]["limit"], 2);
    // At its cap, a client still changes the channels it has.
    let r = watch(&srv, Method::PUT, &a, vec![item("2", &["Deals.all"])]).await;
    assert_eq!(r.status, 200, "{}", r.body);

    let r = watch(&srv, Method::POST, &b, vec![item("4", &["Leads.all"])]).await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = watch(&srv, Method::POST, &b, vec![item("5", &["Leads.all"])]).await;
    assert_eq!(r.body["watch"][0]["code"], "LIMIT_EXCEEDED", "{}", r.body);
    assert_eq!(r.body["watch"][0]["details"]["limit"], 3);

    // A stopped channel frees its place.
    srv.delete("/crm/v8/actions/watch?channel_ids=1", &a).await;
    let r = watch(&srv, Method::POST, &b, vec![item("5", &["Leads.all"])]).await;
    assert_eq!(r.status, 201, "{}", r.body);
}
