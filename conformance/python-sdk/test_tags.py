"""Tags through the SDK (issue 6)."""

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.tags import (
    TagsOperations, BodyWrapper, NewTagRequestWrapper, ExistingTagRequestWrapper, Tag, ExistingTag,
    CreateTagsParam, GetTagsParam, ActionWrapper, SuccessResponse, RecordActionWrapper,
    RecordSuccessResponse, ResponseWrapper,
)

from sdkutil import obj, value, assert_id, create_leads, get_record


def test_tags_create_add_remove(uniq):
    """Tags: create, add to record, list, remove"""
    name = "tag-" + uniq
    (lid,) = create_leads(1, "Tag-" + uniq)

    tag = Tag()
    tag.set_name(name)
    req = BodyWrapper()
    req.set_tags([tag])
    pm = ParameterMap()
    pm.add(CreateTagsParam.module, "Leads")
    (created,) = obj(TagsOperations().create_tags(req, pm), ActionWrapper, 201).get_tags()
    assert isinstance(created, SuccessResponse), type(created).__name__
    assert value(created.get_message()) == "tags created successfully"
    tag_id = assert_id(created.get_details()["id"])

    pm = ParameterMap()
    pm.add(GetTagsParam.module, "Leads")
    listed = obj(TagsOperations().get_tags(pm), ResponseWrapper, 200).get_tags()
    assert tag_id in [t.get_id() for t in listed]
    assert name in [t.get_name() for t in listed]

    to_add = Tag()
    to_add.set_name(name)
    add = NewTagRequestWrapper()
    add.set_tags([to_add])
    (added,) = obj(TagsOperations().add_tags("Leads", lid, add, ParameterMap()), RecordActionWrapper, 200).get_data()
    assert isinstance(added, RecordSuccessResponse), type(added).__name__
    assert assert_id(added.get_details()["id"]) == lid
    assert name in [t.get_name() for t in added.get_details()["tags"]]
    tags_on_record = get_record("Leads", lid).get_tag() or []
    assert name in [t.get_name() for t in tags_on_record]

    existing = ExistingTag()
    existing.set_name(name)
    remove = ExistingTagRequestWrapper()
    remove.set_tags([existing])
    (removed,) = obj(TagsOperations().remove_tags("Leads", lid, remove), RecordActionWrapper, 200).get_data()
    assert isinstance(removed, RecordSuccessResponse), type(removed).__name__
    assert name not in [t.get_name() for t in (get_record("Leads", lid).get_tag() or [])]
