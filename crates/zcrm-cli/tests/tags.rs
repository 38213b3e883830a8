//! Tags: settings CRUD, merge, counts, and tagging records (issue 6).

mod common;
use common::*;
use serde_json::json;

#[tokio::test]
async fn tags_lifecycle_on_records() {
    let srv = TestServer::start().await;
    let t = srv
        .token(&format!("{ALL_SCOPES},ZohoCRM.settings.tags.ALL"))
        .await;
    assert_eq!(
        srv.get("/crm/v8/settings/tags?module=Leads", &t)
            .await
            .status,
        204
    );
    let r = srv
        .post(
            "/crm/v8/settings/tags?module=Leads",
            &t,
            json!({"tags": [{"name": "Hot", "color_code": "#F17574"}, {"name": "Cold"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    assert_eq!(r.body["tags"][0]["message"], "tags created successfully");
    let hot = r.body["tags"][0]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let cold = r.body["tags"][1]["details"]["id"]
        .as_str()
        .unwrap()
        .to_string();
    let dup = srv.post("/crm/v8/settings/tags?module=Leads", &t, json!({"tags": [{"name": "hot"}, {"name": "x".repeat(26)}, {"name": "C", "color_code": "red"}]})).await;
    assert_eq!(dup.status, 400);
    assert_eq!(dup.body["tags"][0]["code"], "DUPLICATE_DATA");
    assert_eq!(dup.body["tags"][1]["details"]["maximum_length"], 25);
    assert_eq!(dup.body["tags"][2]["details"]["api_name"], "color_code");

    let list = srv.get("/crm/v8/settings/tags?module=Leads", &t).await;
    assert_eq!(list.body["info"]["count"], 2);
    assert!(list.body["tags"][0]["created_by"]["id"].is_string());

    let leads = srv
        .create(
            "Leads",
            &t,
            vec![json!({"Last_Name": "A"}), json!({"Last_Name": "B"})],
        )
        .await;
    // Add by name to one record (a new name creates the tag), then to several.
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{}/actions/add_tags", leads[0]),
            &t,
            json!({"tags": [{"name": "Hot"}, {"name": "Brand New"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"][0]["details"]["id"], leads[0].as_str());
    assert_eq!(
        r.body["data"][0]["details"]["tags"]
            .as_array()
            .unwrap()
            .len(),
        2
    );
    let r = srv
        .post(
            "/crm/v8/Leads/actions/add_tags",
            &t,
            json!({"tags": [{"id": cold}], "ids": [leads[0], leads[1]]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = srv
        .get(&format!("/crm/v8/Leads/{}?fields=Tag", leads[0]), &t)
        .await;
    let tags = g.body["data"][0]["Tag"].as_array().unwrap().clone();
    assert_eq!(tags.len(), 3);
    assert!(tags
        .iter()
        .any(|x| x == &json!({"name": "Hot", "id": hot, "color_code": "#F17574"})));
    let count = srv
        .get(
            &format!("/crm/v8/settings/tags/{cold}/actions/records_count?module=Leads"),
            &t,
        )
        .await;
    assert_eq!(count.body["count"], "2");

    // Rename follows onto records; merge moves records; delete removes.
    let r = srv
        .put(
            &format!("/crm/v8/settings/tags/{hot}?module=Leads"),
            &t,
            json!({"tags": [{"name": "Very Hot"}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = srv
        .get(&format!("/crm/v8/Leads/{}?fields=Tag", leads[0]), &t)
        .await;
    assert!(g.body["data"][0]["Tag"]
        .as_array()
        .unwrap()
        .iter()
        .any(|x| x["name"] == "Very Hot"));
    let r = srv
        .post(
            &format!("/crm/v8/settings/tags/{cold}/actions/merge"),
            &t,
            json!({"tags": [{"conflict_id": hot}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let g = srv
        .get(&format!("/crm/v8/Leads/{}?fields=Tag", leads[1]), &t)
        .await;
    assert_eq!(
        g.body["data"][0]["Tag"][0]["id"],
        hot.as_str(),
        "cold's records now carry hot"
    );
    let r = srv
        .post(
            &format!("/crm/v8/Leads/{}/actions/remove_tags", leads[0]),
            &t,
            json!({"tags": [{"name": "Very Hot"}]}),
        )
        .await;
    assert_eq!(
        r.body["data"][0]["details"]["tags"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    let r = srv
        .delete(&format!("/crm/v8/settings/tags/{hot}"), &t)
        .await;
    assert_eq!(r.body["tags"][0]["message"], "tags deleted successfully");
    let g = srv
        .get(&format!("/crm/v8/Leads/{}?fields=Tag", leads[1]), &t)
        .await;
    assert_eq!(g.body["data"][0]["Tag"], json!([]));

    // Errors and scopes.
    assert_error(
        &srv.get("/crm/v8/settings/tags", &t).await,
        400,
        "REQUIRED_PARAM_MISSING",
    );
    assert_error(
        &srv.delete(&format!("/crm/v8/settings/tags/{hot}"), &t)
            .await,
        400,
        "INVALID_DATA",
    );
    let r = srv
        .post(
            "/crm/v8/Leads/actions/add_tags",
            &t,
            json!({"tags": [{"name": "x"}]}),
        )
        .await;
    assert_error(&r, 400, "MANDATORY_NOT_FOUND");
    let read = srv
        .token("ZohoCRM.settings.tags.READ,ZohoCRM.modules.leads.READ")
        .await;
    assert_error(
        &srv.post(
            "/crm/v8/settings/tags?module=Leads",
            &read,
            json!({"tags": [{"name": "y"}]}),
        )
        .await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
    assert_error(
        &srv.post(
            &format!("/crm/v8/Leads/{}/actions/add_tags", leads[0]),
            &read,
            json!({"tags": [{"name": "y"}]}),
        )
        .await,
        401,
        "OAUTH_SCOPE_MISMATCH",
    );
}

#[tokio::test]
async fn each_tag_item_is_answered_at_its_place() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let r = srv
        .post(
            "/crm/v8/settings/tags?module=Leads",
            &t,
            json!({"tags": [{"name": "Hot"}]}),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    let r = srv
        .post(
            "/crm/v8/settings/tags?module=Leads",
            &t,
            json!({"tags": [{"name": "y".repeat(30)}, {"name": "HOT"}, {"name": "Warm", "color_code": "#63C57E"}]}),
        )
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["tags"][0]["details"]["json_path"], "$.tags[0].name");
    assert_eq!(r.body["tags"][1]["code"], "DUPLICATE_DATA");
    assert_eq!(r.body["tags"][1]["details"]["json_path"], "$.tags[1].name");
    assert_eq!(r.body["tags"][2]["status"], "success");
}
