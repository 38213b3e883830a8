//! The test clock moves only for an Administrator's token, only forward and
//! by a bounded step, and not at all without `--test-clock`.

mod common;
use common::*;

async fn advance(srv: &TestServer, token: Option<&str>, seconds: &str) -> u16 {
    let mut req = srv.http.post(format!(
        "{}/__zcrm/clock/advance?seconds={seconds}",
        srv.url
    ));
    if let Some(t) = token {
        req = req.header("Authorization", format!("Zoho-oauthtoken {t}"));
    }
    req.send().await.unwrap().status().as_u16()
}

#[tokio::test]
async fn the_clock_moves_only_for_an_administrator_and_only_forward() {
    let srv = TestServer::start_process().await;
    let admin = srv.token("ZohoCRM.org.ALL").await;
    let other = srv.token("ZohoCRM.modules.ALL").await;
    assert_eq!(advance(&srv, None, "60").await, 401);
    assert_eq!(advance(&srv, Some(&other), "60").await, 401);
    for bad in ["-60", "0", "31708801", "soon"] {
        assert_eq!(advance(&srv, Some(&admin), bad).await, 400, "{bad}");
    }
    // A token that expires in an hour is dead after the clock moves past it.
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &other)
            .await
            .status,
        204
    );
    assert_eq!(advance(&srv, Some(&admin), "3601").await, 200);
    assert_eq!(
        srv.get("/crm/v8/Leads?fields=Last_Name", &other)
            .await
            .status,
        401
    );
}

#[tokio::test]
async fn without_the_test_clock_there_is_no_such_path() {
    let srv = TestServer::start_process_with(|c| c.test_clock = false).await;
    let admin = srv.token("ZohoCRM.org.ALL").await;
    assert_eq!(advance(&srv, Some(&admin), "60").await, 404);
}
