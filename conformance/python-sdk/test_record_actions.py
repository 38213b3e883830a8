"""Upsert, mass update and lead conversion through the SDK (issue 6)."""


from zohocrmsdk.src.com.zoho.crm.api import ParameterMap, HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    RecordOperations, BodyWrapper, ActionWrapper, SuccessResponse,
    MassUpdateBodyWrapper, MassUpdateActionWrapper, MassUpdateSuccessResponse,
    MassUpdateResponseWrapper, MassUpdate, GetMassUpdateStatusParam,
)
from zohocrmsdk.src.com.zoho.crm.api.convert_lead import (
    ConvertLeadOperations, BodyWrapper as ConvertBody, LeadConverter,
    ActionWrapper as ConvertActionWrapper, SuccessResponse as ConvertSuccess,
)
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from sdkutil import obj, value, assert_id, make_record, create_leads, get_record, success_items, poll



def upsert(record):
    body = BodyWrapper()
    body.set_data([record])
    body.set_duplicate_check_fields(["Email"])
    resp = RecordOperations("Leads").upsert_records(body, HeaderMap())
    return success_items(obj(resp, ActionWrapper, 200), SuccessResponse, 1)[0]


def test_upsert(uniq):
    """Records: upsert (POST /{module}/upsert)"""
    email = "ups.%s@example.com" % uniq
    first = upsert(make_record(Last_Name="Ups-" + uniq, Company="Before", Email=email))
    assert value(first.get_action()) == "insert"
    assert value(first.get_message()) == "record added"
    rid = assert_id(first.get_details()["id"])
    second = upsert(make_record(Last_Name="Ups-" + uniq, Company="After", Email=email))
    assert value(second.get_action()) == "update"
    assert second.get_duplicate_field() == "Email"
    assert value(second.get_message()) == "record updated"
    assert assert_id(second.get_details()["id"]) == rid
    assert get_record("Leads", rid).get_key_value("Company") == "After"


def test_mass_update(uniq):
    """Records: mass update + status (POST/GET /{module}/actions/mass_update)"""
    ids = create_leads(3, "Mass-" + uniq)
    body = MassUpdateBodyWrapper()
    body.set_data([make_record(Lead_Status=Choice("Contacted"))])
    body.set_ids([str(i) for i in ids])
    body.set_over_write(True)
    resp = RecordOperations("Leads").mass_update_records(body)
    (item,) = obj(resp, MassUpdateActionWrapper, 200, 202).get_data()
    assert isinstance(item, MassUpdateSuccessResponse), type(item).__name__
    assert value(item.get_status()) == "success" and value(item.get_code()) == "SUCCESS"
    job_id = item.get_details()["job_id"]
    assert_id(job_id)

    def status():
        pm = ParameterMap()
        pm.add(GetMassUpdateStatusParam.job_id, str(job_id))
        (st,) = obj(RecordOperations("Leads").get_mass_update_status(pm), MassUpdateResponseWrapper, 200).get_data()
        assert isinstance(st, MassUpdate), type(st).__name__
        return st

    st = poll(status, lambda s: value(s.get_status()) in ("COMPLETED", "FAILED"))
    assert value(st.get_status()) == "COMPLETED"
    assert st.get_total_count() == 3 and st.get_updated_count() == 3
    assert st.get_failed_count() == 0 and st.get_not_updated_count() == 0
    for rid in ids:
        assert value(get_record("Leads", rid).get_key_value("Lead_Status")) == "Contacted"


def test_convert_lead(uniq):
    """Leads: convert (POST /Leads/{id}/actions/convert)"""
    (lid,) = create_leads(1, "Conv-" + uniq, Email="conv.%s@example.com" % uniq)
    conv = LeadConverter()
    conv.set_overwrite(True)
    conv.set_notify_lead_owner(False)
    conv.set_notify_new_entity_owner(False)
    body = ConvertBody()
    body.set_data([conv])
    resp = ConvertLeadOperations(lid).convert_lead(body)
    (item,) = obj(resp, ConvertActionWrapper, 200).get_data()
    assert isinstance(item, ConvertSuccess), type(item).__name__
    assert value(item.get_message()) == "The record has been converted successfully"
    details = item.get_details()
    contact_id = assert_id(details["Contacts"].get_id())
    account_id = assert_id(details["Accounts"].get_id())
    assert details.get("Deals") is None
    contact = get_record("Contacts", contact_id)
    assert contact.get_key_value("Last_Name") == "Conv-%s-00" % uniq
    assert contact.get_key_value("Email") == "conv.%s@example.com" % uniq
    account = get_record("Accounts", account_id)
    assert account.get_key_value("Account_Name") == "Conv-" + uniq
    lead = get_record("Leads", lid)
    assert lead.get_key_value("$converted") is True
