"""Attachments through the SDK (issue 6)."""

from zohocrmsdk.src.com.zoho.crm.api.attachments import (
    AttachmentsOperations, FileBodyWrapper, GetAttachmentsParam, ActionWrapper, SuccessResponse,
    ResponseWrapper,
)
from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.util import StreamWrapper

from sdkutil import obj, value, assert_id, create_leads, success_items, read_stream

def test_attachments_upload_list_download_delete(uniq, tmp_path):
    """Attachments: upload, list, download, delete"""
    (lid,) = create_leads(1, "Att-" + uniq)
    content = ("hello from the python sdk %s\n" % uniq).encode()
    path = tmp_path / ("note-%s.txt" % uniq)
    path.write_bytes(content)

    body = FileBodyWrapper()
    body.set_file(StreamWrapper(file_path=str(path)))
    resp = AttachmentsOperations().upload_attachments(lid, "Leads", body)
    (item,) = success_items(obj(resp, ActionWrapper, 200, 201), SuccessResponse, 1)
    att_id = assert_id(item.get_details()["id"])

    pm = ParameterMap()
    pm.add(GetAttachmentsParam.fields, "File_Name,Size,Created_Time,id")
    listed = obj(AttachmentsOperations().get_attachments(lid, "Leads", pm), ResponseWrapper, 200).get_data()
    att = next(a for a in listed if a.get_id() == att_id)
    assert att.get_file_name() == path.name
    assert str(att.get_size()) == str(len(content))

    dl = obj(AttachmentsOperations().get_attachment(att_id, lid, "Leads"), FileBodyWrapper, 200)
    assert dl.get_file().get_name() == path.name
    assert read_stream(dl.get_file()) == content

    (gone,) = success_items(obj(AttachmentsOperations().delete_attachment(att_id, lid, "Leads"),
                                ActionWrapper, 200), SuccessResponse, 1)
    assert assert_id(gone.get_details()["id"]) == att_id
    after = AttachmentsOperations().get_attachments(lid, "Leads", pm)
    assert after is not None and after.get_status_code() == 204
