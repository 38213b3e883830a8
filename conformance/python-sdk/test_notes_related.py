"""Notes and related records through the SDK (issue 6)."""

import pytest

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap, HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.notes import (
    NotesOperations, BodyWrapper as NotesBody, Note, ParentId, GetNoteParam, GetNotesParam,
    ActionWrapper as NotesActionWrapper, SuccessResponse as NotesSuccess, ResponseWrapper as NotesWrapper,
)
from zohocrmsdk.src.com.zoho.crm.api.record import Record
from zohocrmsdk.src.com.zoho.crm.api.related_records import (
    RelatedRecordsOperations, GetRelatedRecordsParam, ResponseWrapper as RelatedWrapper,
)

from sdkutil import obj, value, assert_id, make_record, create_records, create_leads, success_items

def test_notes_create_get_delete(uniq):
    """Notes: create, get, list, delete"""
    (lid,) = create_leads(1, "Note-" + uniq)
    module = MinifiedModule()
    module.set_api_name("Leads")
    parent = ParentId()
    parent.set_module(module)
    parent.set_id(lid)
    note = Note()
    note.set_note_title("Call back " + uniq)
    note.set_note_content("Asked for a quote " + uniq)
    note.set_parent_id(parent)
    body = NotesBody()
    body.set_data([note])
    resp = NotesOperations().create_notes(body)
    (item,) = success_items(obj(resp, NotesActionWrapper, 201), NotesSuccess, 1)
    assert value(item.get_message()) == "record added"
    nid = assert_id(item.get_details()["id"])

    pm = ParameterMap()
    pm.add(GetNoteParam.fields, "Note_Title,Note_Content,Parent_Id")
    (got,) = obj(NotesOperations().get_note(nid, pm, HeaderMap()), NotesWrapper, 200).get_data()
    assert got.get_id() == nid
    assert got.get_note_title() == "Call back " + uniq
    assert got.get_note_content() == "Asked for a quote " + uniq
    assert got.get_parent_id().get_id() == lid
    assert got.get_parent_id().get_module().get_api_name() == "Leads"

    pm = ParameterMap()
    pm.add(GetNotesParam.fields, "Note_Title,Note_Content")
    pm.add(GetNotesParam.per_page, "200")
    listed = obj(NotesOperations().get_notes(pm, HeaderMap()), NotesWrapper, 200).get_data()
    assert nid in [n.get_id() for n in listed]

    (gone,) = success_items(obj(NotesOperations().delete_note(nid), NotesActionWrapper, 200), NotesSuccess, 1)
    assert value(gone.get_message()) == "record deleted"
    assert assert_id(gone.get_details()["id"]) == nid


def test_related_records(uniq):
    """Related records: list (GET /Accounts/{id}/Contacts)"""
    (aid,) = create_records("Accounts", [make_record(Account_Name="Rel-" + uniq)])
    account = Record()
    account.set_id(aid)
    cids = create_records("Contacts", [make_record(Last_Name="Rel-%s-%d" % (uniq, i), Account_Name=account)
                                       for i in range(2)])
    create_records("Contacts", [make_record(Last_Name="Unrelated-" + uniq)])
    pm = ParameterMap()
    pm.add(GetRelatedRecordsParam.fields, "Last_Name,Account_Name")
    resp = RelatedRecordsOperations("Contacts", "Accounts").get_related_records(aid, pm, HeaderMap())
    w = obj(resp, RelatedWrapper, 200)
    got = {r.get_id(): r for r in w.get_data()}
    assert set(got) == set(cids)
    assert sorted(r.get_key_value("Last_Name") for r in got.values()) == ["Rel-%s-0" % uniq, "Rel-%s-1" % uniq]
    assert w.get_info().get_count() == 2 and w.get_info().get_more_records() is False
