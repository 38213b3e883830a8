"""Composite requests (issue 6).

zohocrmsdk8-0 has no composite-requests API, so this case sends the HTTP request itself, authenticated
with the access token the SDK manages (OAuthToken.get_token() refreshes it when due) and the same
Authorization header the SDK uses. The sub-responses are then read back through the SDK.
"""

import requests

from zohocrmsdk.src.com.zoho.crm.api.initializer import Initializer

from sdkutil import assert_id, get_record



def test_composite_create_then_get(sdk, uniq):
    """Composite: POST /__composite_requests (create + get by reference)"""
    access = Initializer.get_initializer().token.get_token()
    body = {
        "rollback_on_fail": False,
        "parallel_execution": False,
        "__composite_requests": [
            {"sub_request_id": "1", "method": "POST", "uri": "/crm/v8/Leads",
             "body": {"data": [{"Last_Name": "Comp-" + uniq, "Company": "Composite " + uniq}]}},
            {"sub_request_id": "2", "method": "GET", "uri": "/crm/v8/Leads/@{1:$.data[0].details.id}",
             "params": {"fields": "Last_Name,Company"}},
        ],
    }
    r = requests.post(sdk.server.url + "/crm/v8/__composite_requests", json=body, timeout=60,
                      headers={"Authorization": "Zoho-oauthtoken " + access})
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    items = r.json()["__composite_requests"]
    assert [i["code"] for i in items] == ["SUCCESS", "SUCCESS"]
    assert all(i["status"] == "success" for i in items)
    created, fetched = (i["details"]["response"] for i in items)
    assert created["status_code"] == 201
    rid = assert_id(created["body"]["data"][0]["details"]["id"])
    assert fetched["status_code"] == 200
    assert fetched["body"]["data"][0]["Last_Name"] == "Comp-" + uniq
    assert int(fetched["body"]["data"][0]["id"]) == rid
    rec = get_record("Leads", rid)
    assert rec.get_key_value("Company") == "Composite " + uniq
