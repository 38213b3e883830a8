"""Files (/crm/v8/files) and link attachments through the SDK (issue 6)."""

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.attachments import (
    AttachmentsOperations, ActionWrapper as AttActionWrapper, GetAttachmentsParam, ResponseWrapper,
    SuccessResponse as AttSuccess, UploadUrlAttachmentsParam,
)
from zohocrmsdk.src.com.zoho.crm.api.files import (
    ActionWrapper, BodyWrapper, FileBodyWrapper, FilesOperations, GetFileParam, SuccessResponse,
)
from zohocrmsdk.src.com.zoho.crm.api.util import StreamWrapper

from sdkutil import obj, assert_id, create_leads, success_items, read_stream


def test_files_upload_and_get(uniq, tmp_path):
    """Files: upload two files, get one back (POST/GET /files)"""
    paths = []
    for i in range(2):
        p = tmp_path / ("file-%d-%s.txt" % (i, uniq))
        p.write_bytes(("file %d of %s\n" % (i, uniq)).encode())
        paths.append(p)
    body = BodyWrapper()
    body.set_file([StreamWrapper(file_path=str(p)) for p in paths])
    items = success_items(obj(FilesOperations().upload_files(body), ActionWrapper, 200), SuccessResponse, 2)
    ids = [it.get_details()["id"] for it in items]
    assert [it.get_details()["name"] for it in items] == [p.name for p in paths]

    pm = ParameterMap()
    pm.add(GetFileParam.id, ids[1])
    got = obj(FilesOperations().get_file(pm), FileBodyWrapper, 200)
    assert got.get_file().get_name() == paths[1].name
    assert read_stream(got.get_file()) == paths[1].read_bytes()


def test_link_attachment(uniq):
    """Attachments: attach a link (attachmentUrl) and list it"""
    (lid,) = create_leads(1, "Link-" + uniq)
    pm = ParameterMap()
    pm.add(UploadUrlAttachmentsParam.attachmenturl, "https://www.example.com/%s.pdf" % uniq)
    pm.add(UploadUrlAttachmentsParam.title, "Report " + uniq)
    resp = AttachmentsOperations().upload_url_attachments(lid, "Leads", pm)
    (item,) = success_items(obj(resp, AttActionWrapper, 200), AttSuccess, 1)
    att_id = assert_id(item.get_details()["id"])

    pm = ParameterMap()
    pm.add(GetAttachmentsParam.fields, "File_Name,Size,id")
    listed = obj(AttachmentsOperations().get_attachments(lid, "Leads", pm), ResponseWrapper, 200).get_data()
    att = next(a for a in listed if a.get_id() == att_id)
    assert att.get_file_name() == "Report " + uniq
    assert att.get_link_url() == "https://www.example.com/%s.pdf" % uniq
