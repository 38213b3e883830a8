"""Notifications (actions/watch) through the SDK (issue 8)."""

import datetime
import time

import pytest
from dateutil import tz

from zohocrmsdk.src.com.zoho.crm.api import ParameterMap
from zohocrmsdk.src.com.zoho.crm.api.notifications import (
    NotificationsOperations, BodyWrapper, Notification, GetNotificationsParam, DeleteNotificationParam,
    ActionWrapper, SuccessResponse, ResponseWrapper,
)

from conftest import free_port
from sdkutil import obj, value



def test_notifications_enable_list_disable(uniq):
    """Notifications: enable, list, disable (actions/watch)"""
    channel_id = int(time.time() * 1000)
    # Nothing listens there: the test is about the subscription, not about deliveries.
    notify_url = "http://127.0.0.1:%d/hook/%s" % (free_port(), uniq)
    expiry = (datetime.datetime.now(tz.tzlocal()) + datetime.timedelta(hours=2)).replace(microsecond=0)
    watch = Notification()
    watch.set_channel_id(str(channel_id))
    watch.set_events(["Leads.create", "Leads.edit"])
    watch.set_notify_url(notify_url)
    watch.set_token("tok-" + uniq)
    watch.set_channel_expiry(expiry)
    watch.set_notify_on_related_action(False)
    body = BodyWrapper()
    body.set_watch([watch])
    resp = NotificationsOperations().enable_notifications(body)
    (item,) = obj(resp, ActionWrapper, 201).get_watch()
    assert isinstance(item, SuccessResponse), type(item).__name__
    assert value(item.get_message()) == "Successfully subscribed for actions-watch of the given module"
    events = item.get_details()["events"]
    assert [e.get_resource_name() for e in events] == ["Leads"]
    assert all(str(e.get_channel_id()) == str(channel_id) for e in events)
    assert all(e.get_channel_expiry() == expiry for e in events)

    pm = ParameterMap()
    pm.add(GetNotificationsParam.channel_id, channel_id)
    (got,) = obj(NotificationsOperations().get_notifications(pm), ResponseWrapper, 200).get_watch()
    assert str(got.get_channel_id()) == str(channel_id)
    assert sorted(got.get_events()) == ["Leads.create", "Leads.edit"]
    assert got.get_notify_url() == notify_url
    assert got.get_token() == "tok-" + uniq
    assert got.get_channel_expiry() == expiry
    assert got.get_resource_name() == "Leads"

    pm = ParameterMap()
    pm.add(DeleteNotificationParam.channel_ids, str(channel_id))
    (gone,) = obj(NotificationsOperations().delete_notification(pm), ActionWrapper, 200).get_watch()
    assert isinstance(gone, SuccessResponse), type(gone).__name__
    assert value(gone.get_message()) == "Successfully un-subscribed from actions-watch"

    pm = ParameterMap()
    pm.add(GetNotificationsParam.channel_id, channel_id)
    after = NotificationsOperations().get_notifications(pm)
    assert after is not None and after.get_status_code() == 204
