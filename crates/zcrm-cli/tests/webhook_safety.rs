//! A server that does not listen on loopback alone refuses private webhook
//! targets unless the operator allows them (`allow_private_webhooks` off stands
//! for such a server).

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn private_targets_refused_unless_allowed() {
    let srv = TestServer::start_with(|c| c.allow_private_webhooks = Some(false)).await;
    let t = srv.token("ZohoCRM.notifications.ALL").await;
    for url in [
        "http://127.0.0.1:9/hook",
        "http://localhost/hook",
        "http://10.0.0.8/hook",
        "http://169.254.169.254/latest/meta-data",
        "http://[::1]/hook",
    ] {
        let r = srv
            .post(
                "/crm/v8/actions/watch",
                &t,
                json!({"watch": [{"channel_id": "1", "events": ["Leads.create"], "notify_url": url}]}),
            )
            .await;
        assert_eq!(r.status, 400, "{url}: {}", r.body);
        assert_eq!(r.body["watch"][0]["code"], "INVALID_DATA");
        assert_eq!(r.body["watch"][0]["details"]["api_name"], "notify_url");
    }
    let r = srv
        .post(
            "/crm/v8/actions/watch",
            &t,
            json!({"watch": [{"channel_id": "1", "events": ["Leads.create"], "notify_url": "https://hooks.example.com/zoho"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
}
