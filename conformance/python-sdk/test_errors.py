"""The SDK's error objects for the common failures (issue 2: foundation)."""

import pytest

from zohocrmsdk.src.com.zoho.api.authenticator.oauth_token import OAuthToken
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap, HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.exception import SDKException
from zohocrmsdk.src.com.zoho.crm.api.record import (
    RecordOperations, BodyWrapper, ActionWrapper, APIException as RecordAPIException, GetRecordsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.users import (
    UsersOperations, GetUsersParam, APIException as UsersAPIException,
)

from sdkutil import obj, value, make_record

BOGUS_TOKEN = "1000." + "0" * 32 + "." + "f" * 32


def test_invalid_token(sdk):
    """Error: invalid access token -> 401 INVALID_TOKEN"""
    token = OAuthToken(access_token=BOGUS_TOKEN, find_user=False)
    with sdk.acting_as(token):
        pm = ParameterMap()
        pm.add(GetUsersParam.type, "CurrentUser")
        err = obj(UsersOperations().get_users(pm), UsersAPIException, 401)
        assert value(err.get_code()) == "INVALID_TOKEN"
        assert value(err.get_status()) == "error"
        assert err.get_message() == "invalid oauth token"
        assert err.get_details() == {}


def test_missing_mandatory_field(uniq):
    """Error: create without a mandatory field -> MANDATORY_NOT_FOUND"""
    body = BodyWrapper()
    body.set_data([make_record(First_Name="NoLast", Company="Acme " + uniq)])
    resp = RecordOperations("Leads").create_records(body, HeaderMap())
    aw = obj(resp, ActionWrapper, 400)
    (item,) = aw.get_data()
    assert isinstance(item, RecordAPIException), type(item).__name__
    assert value(item.get_code()) == "MANDATORY_NOT_FOUND"
    assert value(item.get_status()) == "error"
    assert value(item.get_message()) == "required field not found"
    assert item.get_details()["api_name"] == "Last_Name"
    assert item.get_details()["json_path"] == "$.data[0].Last_Name"


def test_unknown_module():
    """Error: unknown module -> INVALID_MODULE"""
    # Before any record call the SDK fetches /settings/fields?module=<name>; for an unknown module that
    # call's error is what the SDK user sees, as an SDKException carrying the API error.
    pm = ParameterMap()
    pm.add(GetRecordsParam.fields, "Name")
    with pytest.raises(SDKException) as exc:
        RecordOperations("No_Such_Module").get_records(pm, HeaderMap())
    details = exc.value.details
    assert isinstance(details, dict), repr(exc.value)
    assert details.get("code") == "INVALID_MODULE", details
    assert details.get("status") == "error"
    assert details.get("message") == "the module name given seems to be invalid"


def test_scope_mismatch(sdk):
    """Error: token without the module scope -> 401 OAUTH_SCOPE_MISMATCH"""
    creds = sdk.server.self_client(["ZohoCRM.users.READ", "ZohoCRM.org.READ", "ZohoCRM.settings.ALL"])
    token = OAuthToken(client_id=creds["client_id"], client_secret=creds["client_secret"],
                       grant_token=creds["code"])
    with sdk.acting_as(token):
        pm = ParameterMap()
        pm.add(GetRecordsParam.fields, "Last_Name")
        err = obj(RecordOperations("Leads").get_records(pm, HeaderMap()), RecordAPIException, 401)
        assert value(err.get_code()) == "OAUTH_SCOPE_MISMATCH"
        assert value(err.get_status()) == "error"
        assert isinstance(value(err.get_message()), str) and value(err.get_message())
