//! Many-to-many related lists: Products of a Deal or a Price Book, Campaigns
//! of a Lead or a Contact, read from either side (issue 6).

mod common;
use common::*;
use serde_json::{json, Value};

fn ids_of(r: &Resp) -> Vec<String> {
    if r.status == 204 {
        return vec![];
    }
    assert_eq!(r.status, 200, "{}", r.body);
    let mut v: Vec<String> = r.body["data"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["id"].as_str().unwrap().to_string())
        .collect();
    v.sort();
    v
}

#[tokio::test]
async fn products_of_deals_from_both_sides() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let deal = srv
        .create(
            "Deals",
            &t,
            vec![
                json!({"Deal_Name": "Big", "Stage": "Qualification", "Closing_Date": "2026-12-31"}),
            ],
        )
        .await
        .remove(0);
    let mut products = srv
        .create(
            "Products",
            &t,
            vec![
                json!({"Product_Name": "P1"}),
                json!({"Product_Name": "P2"}),
                json!({"Product_Name": "P3"}),
            ],
        )
        .await;
    products.sort();
    let path = format!("/crm/v8/Deals/{deal}/Products");
    assert_eq!(
        srv.get(&format!("{path}?fields=Product_Name"), &t)
            .await
            .status,
        204
    );

    // Many form (and linking one twice is fine), then the single form.
    let r = srv
        .put(
            &path,
            &t,
            json!({"data": [{"id": products[0]}, {"id": products[1]}, {"id": products[0]}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"][0]["message"], "relation added");
    let r = srv
        .call(
            reqwest::Method::PUT,
            &format!("{path}/{}", products[2]),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let listed = srv.get(&format!("{path}?fields=Product_Name"), &t).await;
    assert_eq!(ids_of(&listed), products);
    assert_eq!(listed.body["info"]["count"], 3);
    // The other side sees the same link.
    let back = srv
        .get(
            &format!("/crm/v8/Products/{}/Deals?fields=Deal_Name", products[1]),
            &t,
        )
        .await;
    assert_eq!(ids_of(&back), vec![deal.clone()]);
    assert_eq!(back.body["data"][0]["Deal_Name"], "Big");

    // Unlink one; unlinking it again, or linking a record that does not exist, fails per item.
    let r = srv.delete(&format!("{path}/{}", products[0]), &t).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.body["data"][0]["message"], "relation removed");
    let r = srv
        .delete(&format!("{path}?ids={},{}", products[0], products[1]), &t)
        .await;
    assert_eq!(r.status, 207, "{}", r.body);
    assert_eq!(r.body["data"][0]["code"], "INVALID_DATA");
    assert_eq!(r.body["data"][1]["status"], "success");
    let r = srv
        .put(&path, &t, json!({"data": [{"id": "123456789"}]}))
        .await;
    assert_eq!(r.status, 400, "{}", r.body);
    assert_eq!(r.body["data"][0]["code"], "INVALID_DATA");
    assert_eq!(
        ids_of(&srv.get(&format!("{path}?fields=Product_Name"), &t).await),
        vec![products[2].clone()]
    );

    // A deleted product leaves the list; a missing deal is Zoho's invalid id.
    srv.delete(&format!("/crm/v8/Products/{}", products[2]), &t)
        .await;
    assert_eq!(
        srv.get(&format!("{path}?fields=Product_Name"), &t)
            .await
            .status,
        204
    );
    let r = srv
        .get("/crm/v8/Deals/999999/Products?fields=Product_Name", &t)
        .await;
    assert_error(&r, 400, "INVALID_DATA");

    // Metadata lists the relation on both modules.
    for (module, list, target) in [
        ("Deals", "Products", "Products"),
        ("Products", "Deals", "Deals"),
        ("Products", "Price_Books", "Price_Books"),
    ] {
        let r = srv
            .get(
                &format!("/crm/v8/settings/related_lists?module={module}"),
                &t,
            )
            .await;
        let found: Vec<&Value> = r.body["related_lists"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|rl| rl["api_name"] == list)
            .collect();
        assert_eq!(found.len(), 1, "{module}: {}", r.body);
        assert_eq!(found[0]["module"]["api_name"], target);
        assert_eq!(found[0]["href"], format!("{module}/{{ENTITYID}}/{list}"));
    }
}

#[tokio::test]
async fn campaigns_of_leads_and_contacts() {
    let srv = TestServer::start().await;
    let t = srv.token(ALL_SCOPES).await;
    let camp = srv
        .create("Campaigns", &t, vec![json!({"Campaign_Name": "Spring"})])
        .await
        .remove(0);
    let lead = srv
        .create("Leads", &t, vec![json!({"Last_Name": "L"})])
        .await
        .remove(0);
    let contact = srv
        .create("Contacts", &t, vec![json!({"Last_Name": "C"})])
        .await
        .remove(0);
    let r = srv
        .call(
            reqwest::Method::PUT,
            &format!("/crm/v8/Leads/{lead}/Campaigns/{camp}"),
            &t,
            None,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let r = srv
        .put(
            &format!("/crm/v8/Campaigns/{camp}/Contacts"),
            &t,
            json!({"data": [{"id": contact}]}),
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let leads = srv
        .get(
            &format!("/crm/v8/Campaigns/{camp}/Leads?fields=Last_Name"),
            &t,
        )
        .await;
    assert_eq!(ids_of(&leads), vec![lead.clone()]);
    let camps = srv
        .get(
            &format!("/crm/v8/Contacts/{contact}/Campaigns?fields=Campaign_Name"),
            &t,
        )
        .await;
    assert_eq!(ids_of(&camps), vec![camp.clone()]);
    assert_eq!(camps.body["data"][0]["Campaign_Name"], "Spring");
    // Scopes: linking needs UPDATE on the parent's module.
    let read = srv
        .token("ZohoCRM.modules.leads.READ,ZohoCRM.modules.campaigns.READ")
        .await;
    let r = srv
        .call(
            reqwest::Method::PUT,
            &format!("/crm/v8/Leads/{lead}/Campaigns/{camp}"),
            &read,
            None,
        )
        .await;
    assert_error(&r, 401, "OAUTH_SCOPE_MISMATCH");
    assert_eq!(
        ids_of(
            &srv.get(
                &format!("/crm/v8/Leads/{lead}/Campaigns?fields=Campaign_Name"),
                &read
            )
            .await
        ),
        vec![camp]
    );
}
