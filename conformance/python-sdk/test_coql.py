"""COQL through the SDK (issue 5)."""

import pytest

from zohocrmsdk.src.com.zoho.crm.api.coql import CoqlOperations, BodyWrapper, ResponseWrapper

from zohocrmsdk.src.com.zoho.crm.api.util import Choice

from sdkutil import obj, create_leads



def coql(query):
    body = BodyWrapper()
    body.set_select_query(query)
    return obj(CoqlOperations().get_records(body), ResponseWrapper, 200)


def test_coql_where_order_limit(uniq):
    """COQL: where, order by, limit/offset (POST /coql)"""
    company = "Coql-" + uniq
    ids = create_leads(4, company, Annual_Revenue=lambda i: 1000.0 * (i + 1))
    w = coql("select Last_Name, Company, Annual_Revenue from Leads "
             "where (Company = '%s' and Annual_Revenue >= 2000) order by Last_Name desc limit 2" % company)
    data = w.get_data()
    assert [r.get_key_value("Last_Name") for r in data] == ["%s-03" % company, "%s-02" % company]
    assert [r.get_id() for r in data] == [ids[3], ids[2]]
    assert data[0].get_key_value("Annual_Revenue") == 4000.0
    info = w.get_info()
    assert info.get_count() == 2 and info.get_more_records() is True
    rest = coql("select Last_Name from Leads where (Company = '%s' and Annual_Revenue >= 2000) "
                "order by Last_Name desc limit 2, 2" % company)
    assert [r.get_key_value("Last_Name") for r in rest.get_data()] == ["%s-01" % company]
    assert rest.get_info().get_more_records() is False


def test_coql_aggregate(uniq):
    """COQL: COUNT/SUM with group by (POST /coql)"""
    company = "Agg-" + uniq
    create_leads(3, company, Annual_Revenue=lambda i: 100.0 * (i + 1),
                 Lead_Source=lambda i: Choice("Web Download" if i < 2 else "Cold Call"))
    w = coql("select Lead_Source, COUNT(id), SUM(Annual_Revenue) from Leads where Company = '%s' "
             "group by Lead_Source order by Lead_Source asc" % company)
    rows = {r.get_key_value("Lead_Source"): r for r in w.get_data()}
    assert set(rows) == {"Web Download", "Cold Call"}
    assert rows["Web Download"].get_key_value("COUNT(id)") == 2
    assert rows["Web Download"].get_key_value("SUM(Annual_Revenue)") == 300.0
    assert rows["Cold Call"].get_key_value("COUNT(id)") == 1
    assert rows["Cold Call"].get_key_value("SUM(Annual_Revenue)") == 300.0
