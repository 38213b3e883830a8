"""Metadata, users and org through the SDK (issue 2: foundation)."""

import datetime

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap, HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.modules import ModulesOperations, ResponseWrapper as ModulesWrapper
from zohocrmsdk.src.com.zoho.crm.api.fields import FieldsOperations, GetFieldsParam, ResponseWrapper as FieldsWrapper
from zohocrmsdk.src.com.zoho.crm.api.layouts import LayoutsOperations, GetLayoutsParam, ResponseWrapper as LayoutsWrapper
from zohocrmsdk.src.com.zoho.crm.api.users import UsersOperations, GetUsersParam, ResponseWrapper as UsersWrapper
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations, ResponseWrapper as OrgWrapper

from sdkutil import obj, value, assert_id

STANDARD = ["Leads", "Contacts", "Accounts", "Deals"]


def test_modules_list():
    """Metadata: modules (GET /settings/modules)"""
    resp = ModulesOperations().get_modules(ParameterMap(), HeaderMap())
    modules = obj(resp, ModulesWrapper, 200).get_modules()
    by_name = {m.get_api_name(): m for m in modules}
    for name in STANDARD + ["Notes"]:
        assert name in by_name, "module %s missing from %s" % (name, sorted(by_name))
    leads = by_name["Leads"]
    assert leads.get_api_supported() is True
    assert value(leads.get_generated_type()) == "default"
    assert assert_id(leads.get_id()) > 0
    assert leads.get_plural_label() == "Leads"
    assert leads.get_singular_label() == "Lead"
    assert leads.get_module_name() == "Leads"
    # Raw JSON types the SDK's matching depends on.
    raw = next(m for m in resp.get_response_json()["modules"] if m["api_name"] == "Leads")
    assert isinstance(raw["id"], str) and isinstance(raw["api_supported"], bool)


def test_fields_of_leads():
    """Metadata: fields (GET /settings/fields?module=Leads)"""
    pm = ParameterMap()
    pm.add(GetFieldsParam.module, "Leads")
    fields = obj(FieldsOperations().get_fields(pm), FieldsWrapper, 200).get_fields()
    by_name = {f.get_api_name(): f for f in fields}
    for name in ["Last_Name", "First_Name", "Company", "Email", "Lead_Status", "Owner", "Annual_Revenue"]:
        assert name in by_name, "field %s missing" % name
    last = by_name["Last_Name"]
    assert last.get_data_type() == "text"
    assert last.get_system_mandatory() is True
    assert last.get_field_label() == "Last Name"
    assert assert_id(last.get_id()) > 0
    assert by_name["Email"].get_data_type() == "email"
    assert by_name["Owner"].get_data_type() == "ownerlookup"
    assert by_name["Annual_Revenue"].get_data_type() == "currency"
    status = by_name["Lead_Status"]
    assert status.get_data_type() == "picklist"
    shown = [v.get_display_value() for v in status.get_pick_list_values()]
    actual = [v.get_actual_value() for v in status.get_pick_list_values()]
    assert "Contacted" in shown and "Contacted" in actual, shown


def test_layouts_of_leads():
    """Metadata: layouts (GET /settings/layouts?module=Leads)"""
    pm = ParameterMap()
    pm.add(GetLayoutsParam.module, "Leads")
    layouts = obj(LayoutsOperations().get_layouts(pm), LayoutsWrapper, 200).get_layouts()
    assert len(layouts) >= 1
    std = layouts[0]
    assert assert_id(std.get_id()) > 0
    assert std.get_name()
    sections = std.get_sections()
    assert sections, "layout without sections"
    names = [f.get_api_name() for s in sections for f in (s.get_fields() or [])]
    assert "Last_Name" in names, names


def test_users_current_and_all():
    """Users: current and all (GET /users?type=CurrentUser|AllUsers)"""
    pm = ParameterMap()
    pm.add(GetUsersParam.type, "CurrentUser")
    resp = UsersOperations().get_users(pm)
    me_list = obj(resp, UsersWrapper, 200).get_users()
    assert len(me_list) == 1
    me = me_list[0]
    my_id = assert_id(me.get_id())
    assert "@" in me.get_email()
    assert me.get_full_name()
    assert me.get_status() == "active"
    assert me.get_role() is not None and me.get_role().get_name()
    assert me.get_profile() is not None and me.get_profile().get_name()
    raw = resp.get_response_json()["users"][0]
    assert isinstance(raw["id"], str) and isinstance(raw["email"], str)

    pm = ParameterMap()
    pm.add(GetUsersParam.type, "AllUsers")
    pm.add(GetUsersParam.per_page, 200)
    wrapper = obj(UsersOperations().get_users(pm), UsersWrapper, 200)
    ids = [int(u.get_id()) for u in wrapper.get_users()]
    assert my_id in ids
    info = wrapper.get_info()
    assert info is not None and info.get_count() == len(ids) and info.get_more_records() is False


def test_org():
    """Org: GET /org"""
    resp = OrgOperations().get_organization()
    orgs = obj(resp, OrgWrapper, 200).get_org()
    assert len(orgs) == 1
    org = orgs[0]
    assert org.get_zgid() and str(org.get_zgid()).isdigit()
    assert org.get_id() and str(org.get_id()).isdigit()
    assert org.get_company_name()
    assert "@" in org.get_primary_email()
    assert org.get_time_zone()
    assert org.get_currency_symbol()
    raw = resp.get_response_json()["org"][0]
    assert isinstance(raw["zgid"], str) and isinstance(raw["id"], str)
    if org.get_created_time() is not None:
        assert isinstance(org.get_created_time(), datetime.datetime)
