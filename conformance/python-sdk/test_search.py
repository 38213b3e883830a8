"""Search API through the SDK (issue 5)."""

import pytest

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap, HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.record import RecordOperations, ResponseWrapper, SearchRecordsParam

from sdkutil import obj, create_leads



def search(**params):
    pm = ParameterMap()
    for k, v in params.items():
        pm.add(getattr(SearchRecordsParam, k), v)
    return obj(RecordOperations("Leads").search_records(pm, HeaderMap()), ResponseWrapper, 200)


def test_search_by_criteria(uniq):
    """Search: by criteria (GET /{module}/search?criteria=)"""
    ids = create_leads(3, "Srch-" + uniq, First_Name=lambda i: ["Mia", "Max", "Zoe"][i])
    w = search(criteria="((Company:equals:Srch-%s)and(First_Name:starts_with:M))" % uniq,
               fields="Last_Name,First_Name,Company")
    got = {r.get_id(): r for r in w.get_data()}
    assert set(got) == {ids[0], ids[1]}
    assert all(r.get_key_value("First_Name").startswith("M") for r in got.values())
    info = w.get_info()
    assert info.get_count() == 2 and info.get_more_records() is False


def test_search_by_email(uniq):
    """Search: by email (GET /{module}/search?email=)"""
    email = "find.%s@example.com" % uniq
    (rid,) = create_leads(1, "Mail-" + uniq, Email=email)
    create_leads(1, "Mail2-" + uniq, Email="other.%s@example.com" % uniq)
    w = search(email=email)
    data = w.get_data()
    assert [r.get_id() for r in data] == [rid]
    assert data[0].get_key_value("Email") == email


def test_search_by_word(uniq):
    """Search: by word (GET /{module}/search?word=)"""
    word = "Word%s" % uniq
    ids = create_leads(2, word)
    w = search(word=word)
    assert {r.get_id() for r in w.get_data()} >= set(ids)
    assert all(word in (r.get_key_value("Company") or "") or word in (r.get_key_value("Last_Name") or "")
               for r in w.get_data())
