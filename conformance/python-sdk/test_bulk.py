"""Bulk read and bulk write through the SDK (issue 7)."""

import csv
import io
import zipfile

import pytest

from zohocrmsdk.src.com.zoho.crm.api import HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.bulk_read import (
    BulkReadOperations, BodyWrapper as ReadBody, Query, Criteria,
    ActionWrapper as ReadActionWrapper, SuccessResponse as ReadSuccess,
    ResponseWrapper as ReadJobWrapper, FileBodyWrapper as ReadFile,
)
from zohocrmsdk.src.com.zoho.crm.api.bulk_write import (
    BulkWriteOperations, UploadFileHeader, FileBodyWrapper as WriteUpload, RequestWrapper, Resource,
    FieldMapping, SuccessResponse as WriteSuccess, BulkWriteResponse, FileBodyWrapper as WriteFile,
)
from zohocrmsdk.src.com.zoho.crm.api.fields import MinifiedField
from zohocrmsdk.src.com.zoho.crm.api.modules import MinifiedModule
from zohocrmsdk.src.com.zoho.crm.api.org import OrgOperations, ResponseWrapper as OrgWrapper
from zohocrmsdk.src.com.zoho.crm.api.util import Choice, StreamWrapper

from sdkutil import obj, value, assert_id, create_leads, get_record, poll, read_stream



def unzip_single_csv(data):
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = [n for n in z.namelist() if n.endswith(".csv")]
        assert len(names) == 1, z.namelist()
        text = z.read(names[0]).decode("utf-8-sig")
    return list(csv.DictReader(io.StringIO(text)))


def test_bulk_read_job_and_download(uniq):
    """Bulk read: create job, poll, download and unzip"""
    company = "BR-" + uniq
    ids = create_leads(3, company, Email=lambda i: "br%d.%s@example.com" % (i, uniq))
    module = MinifiedModule()
    module.set_api_name("Leads")
    field = MinifiedField()
    field.set_api_name("Company")
    crit = Criteria()
    crit.set_field(field)
    crit.set_comparator(Choice("equal"))
    crit.set_value(company)
    query = Query()
    query.set_module(module)
    query.set_fields(["Last_Name", "Company", "Email"])
    query.set_criteria(crit)
    body = ReadBody()
    body.set_query(query)
    body.set_file_type("csv")
    resp = BulkReadOperations().create_bulk_read_job(body)
    (item,) = obj(resp, ReadActionWrapper, 201).get_data()
    assert isinstance(item, ReadSuccess), type(item).__name__
    assert value(item.get_code()) == "ADDED_SUCCESSFULLY"
    details = item.get_details()
    job_id = assert_id(details["id"])
    assert details["operation"] == "read" and value(details["state"]) == "ADDED"

    def job():
        (j,) = obj(BulkReadOperations().get_bulk_read_job_details(job_id), ReadJobWrapper, 200).get_data()
        return j

    j = poll(job, lambda j: value(j.get_state()) in ("COMPLETED", "FAILURE"))
    assert value(j.get_state()) == "COMPLETED"
    assert j.get_operation() == "read"
    assert j.get_result().get_count() == 3
    assert j.get_result().get_more_records() is False
    assert j.get_result().get_download_url()

    dl = obj(BulkReadOperations().download_result(job_id), ReadFile, 200)
    assert dl.get_file().get_name().endswith(".zip")
    rows = unzip_single_csv(read_stream(dl.get_file()))
    assert len(rows) == 3
    id_col = "Id" if "Id" in rows[0] else "id"
    assert {int(r[id_col]) for r in rows} == set(ids)
    assert {r["Company"] for r in rows} == {company}
    assert sorted(r["Email"] for r in rows) == ["br%d.%s@example.com" % (i, uniq) for i in range(3)]


def test_bulk_write_upload_job_result(sdk, uniq, tmp_path):
    """Bulk write: upload through the SDK, create job, poll, download result"""
    company = "BW-" + uniq
    csv_text = "Last_Name,Company\n" + "".join("BW-%s-%d,%s\n" % (uniq, i, company) for i in range(2))
    zpath = tmp_path / ("leads-%s.zip" % uniq)
    with zipfile.ZipFile(zpath, "w") as z:
        z.writestr("leads.csv", csv_text)

    zgid = obj(OrgOperations().get_organization(), OrgWrapper, 200).get_org()[0].get_zgid()
    headers = HeaderMap()
    headers.add(UploadFileHeader.feature, "bulk-write")
    headers.add(UploadFileHeader.x_crm_org, str(zgid))
    upload = WriteUpload()
    upload.set_file(StreamWrapper(file_path=str(zpath)))
    up = BulkWriteOperations().upload_file(upload, headers)
    up_obj = obj(up, WriteSuccess, 200, 201)
    assert value(up_obj.get_code()) == "FILE_UPLOAD_SUCCESS"
    file_id = up_obj.get_details()["file_id"]
    assert_id(file_id)

    module = MinifiedModule()
    module.set_api_name("Leads")
    m1, m2 = FieldMapping(), FieldMapping()
    m1.set_api_name("Last_Name")
    m1.set_index(0)
    m2.set_api_name("Company")
    m2.set_index(1)
    res = Resource()
    res.set_type(Choice("data"))
    res.set_module(module)
    res.set_file_id(str(file_id))
    res.set_field_mappings([m1, m2])
    req = RequestWrapper()
    req.set_operation(Choice("insert"))
    req.set_character_encoding("UTF-8")
    req.set_resource([res])
    created = obj(BulkWriteOperations().create_bulk_write_job(req), WriteSuccess, 201)
    assert value(created.get_code()) == "SUCCESS"
    job_id = str(created.get_details()["id"])
    assert_id(job_id)

    def job():
        return obj(BulkWriteOperations().get_bulk_write_job_details(job_id), BulkWriteResponse, 200)

    j = poll(job, lambda j: j.get_status() in ("COMPLETED", "FAILED"))
    assert j.get_status() == "COMPLETED"
    assert j.get_operation() == "insert"
    f = j.get_resource()[0].get_file()
    assert f.get_added_count() == 2 and f.get_total_count() == 2 and f.get_skipped_count() == 0
    url = j.get_result().get_download_url()
    assert url.startswith(sdk.server.url), "download_url must be absolute, on our host: %r" % url

    dl = obj(BulkWriteOperations().download_bulk_write_result(url), WriteFile, 200)
    rows = unzip_single_csv(read_stream(dl.get_file()))
    assert [r["STATUS"] for r in rows] == ["ADDED", "ADDED"]
    for i, r in enumerate(rows):
        rec = get_record("Leads", int(r["RECORD_ID"]))
        assert rec.get_key_value("Last_Name") == "BW-%s-%d" % (uniq, i)
        assert rec.get_key_value("Company") == company
