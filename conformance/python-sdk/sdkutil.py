"""Small helpers over the SDK's public classes, shared by the test files."""

import io
import re
import time

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap, HeaderMap
from zohocrmsdk.src.com.zoho.crm.api.record import (
    RecordOperations, Record, BodyWrapper as RecordBody, ActionWrapper as RecordActionWrapper,
    SuccessResponse as RecordSuccess, APIException as RecordAPIException,
    ResponseWrapper as RecordResponseWrapper, GetRecordParam,
)
from zohocrmsdk.src.com.zoho.crm.api.util import Choice

ID_RE = re.compile(r"^[0-9]{6,20}$")


def check_response(response, *statuses):
    """The SDK returns None when it could not parse a response (it logs and swallows the error)."""
    assert response is not None, "SDK returned no APIResponse (unparseable response; see sdk.log)"
    if statuses:
        assert response.get_status_code() in statuses, (
            "HTTP %s, expected %s; body=%r" % (response.get_status_code(), statuses, response.get_response_json()))
    return response


def obj(response, cls, *statuses):
    """The parsed object of a response, which must be of class `cls`."""
    check_response(response, *statuses)
    o = response.get_object()
    assert isinstance(o, cls), "expected %s, got %r; body=%r" % (
        cls.__name__, type(o).__name__, response.get_response_json())
    return o


def value(choice_or_value):
    return choice_or_value.get_value() if isinstance(choice_or_value, Choice) else choice_or_value


def assert_id(x):
    """Ids are decimal digit strings on the wire; the SDK turns them into int (Long)."""
    assert isinstance(x, int) or (isinstance(x, str) and ID_RE.match(x)), "not an id: %r" % (x,)
    assert ID_RE.match(str(x)), "not an id: %r" % (x,)
    return int(x)


def make_record(**fields):
    r = Record()
    for k, v in fields.items():
        r.add_key_value(k, v)
    return r


def success_items(action_wrapper, success_cls, n=None):
    items = action_wrapper.get_data()
    assert items, "empty data[]"
    if n is not None:
        assert len(items) == n, "expected %d items, got %d" % (n, len(items))
    for it in items:
        assert isinstance(it, success_cls), "item is %s: code=%s details=%r message=%r" % (
            type(it).__name__, value(getattr(it, "get_code", lambda: None)()),
            getattr(it, "get_details", lambda: None)(), value(getattr(it, "get_message", lambda: None)()))
        assert value(it.get_status()) == "success"
        assert value(it.get_code()) == "SUCCESS"
    return items


def create_records(module, records, trigger=None):
    """POST /crm/v8/{module} through the SDK; returns the new ids (int), in input order."""
    body = RecordBody()
    body.set_data(records)
    if trigger is not None:
        body.set_trigger(trigger)
    resp = RecordOperations(module).create_records(body, HeaderMap())
    aw = obj(resp, RecordActionWrapper, 201)
    items = success_items(aw, RecordSuccess, len(records))
    ids = []
    for it in items:
        assert value(it.get_message()) == "record added"
        ids.append(assert_id(it.get_details()["id"]))
    return ids


def create_leads(n, prefix, **extra):
    recs = []
    for i in range(n):
        fields = {"Last_Name": "%s-%02d" % (prefix, i), "Company": prefix}
        for k, v in extra.items():
            fields[k] = v(i) if callable(v) else v
        recs.append(make_record(**fields))
    return create_records("Leads", recs)


def get_record(module, rid, fields=None):
    pm = ParameterMap()
    if fields:
        pm.add(GetRecordParam.fields, fields)
    resp = RecordOperations(module).get_record(int(rid), pm, HeaderMap())
    rw = obj(resp, RecordResponseWrapper, 200)
    data = rw.get_data()
    assert len(data) == 1
    return data[0]


def poll(fn, done, timeout=90.0, interval=0.5):
    """Call fn() until done(result) or timeout; returns the last result."""
    deadline = time.time() + timeout
    last = fn()
    while not done(last) and time.time() < deadline:
        time.sleep(interval)
        last = fn()
    return last


def read_stream(stream_wrapper):
    """Bytes of a downloaded file (StreamWrapper around a requests.Response)."""
    s = stream_wrapper.get_stream()
    if hasattr(s, "content"):
        return s.content
    if hasattr(s, "read"):
        return s.read()
    buf = io.BytesIO()
    for chunk in s:
        buf.write(chunk)
    return buf.getvalue()
