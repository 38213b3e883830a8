"""API limits as the SDK meets them (issue 9): a 429 is an APIException like any other."""

import time

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.users import (
    UsersOperations, GetUsersParam, ResponseWrapper as UsersResponse, APIException as UsersAPIException,
)

from sdkutil import obj, value

# The server applies `zcrm admin org set` within a second.
APPLIED = 1.5


def current_user():
    pm = ParameterMap()
    pm.add(GetUsersParam.type, "CurrentUser")
    return UsersOperations().get_users(pm)


def test_credits_exhausted(server, sdk):
    """Limits: daily credits used up -> 429 TOO_MANY_REQUESTS, then served again"""
    server.admin("org", "set", "--credits", "1")
    time.sleep(APPLIED)
    try:
        resp = current_user()
        err = obj(resp, UsersAPIException, 429)
        assert value(err.get_code()) == "TOO_MANY_REQUESTS"
        assert value(err.get_status()) == "error"
        assert err.get_details() == {}
        headers = {k.lower(): v for k, v in resp.get_headers().items()}
        assert int(headers["retry-after"]) >= 1
        assert headers["x-ratelimit-remaining"] == "0"
    finally:
        server.admin("org", "set", "--credits", "auto")
        time.sleep(APPLIED)
    resp = current_user()
    obj(resp, UsersResponse, 200)
    headers = {k.lower(): v for k, v in resp.get_headers().items()}
    assert int(headers["x-ratelimit-limit"]) >= 51000
