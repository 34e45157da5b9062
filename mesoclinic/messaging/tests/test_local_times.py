"""The failed-deliveries worklist shows when each message was due in its location's wall clock."""

from __future__ import annotations

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.tests.factories import LocationFactory
from mesoclinic.core.tests.zones import shows_local_not_utc, wall_clock, zoned_location_fixture
from mesoclinic.messaging.models import OutboundMessage

from .factories import queue

zoned_location = zoned_location_fixture()


def failed(location, due_at, body="Your appointment"):
    message = queue(location, location_id=location.pk, due_at=due_at, body=body)
    OutboundMessage.objects.filter(pk=message.pk).update(status="failed", attempts=5, last_error="refused")
    return message


def test_a_failed_message_is_due_at_its_location_s_time(client, zoned_location):
    location, utc_time = zoned_location
    failed(location, wall_clock(location.time_zone))
    client.force_login(UserFactory(role=Role.MANAGER, locations=[location]))
    text = client.get(reverse("messaging:failed-list")).content.decode()
    assert "30 Mar 2027 10:45" in text
    shows_local_not_utc(text, utc_time)


def test_each_row_uses_its_own_location_and_the_page_s_queries_do_not_grow_with_them(client, db):
    london, madrid = LocationFactory(time_zone="Europe/London"), LocationFactory(time_zone="Europe/Madrid")
    client.force_login(UserFactory(role=Role.MANAGER, locations=[london, madrid]))
    failed(london, wall_clock("Europe/London", hour=11))
    with CaptureQueriesContext(connection) as one:
        client.get(reverse("messaging:failed-list"))
    failed(madrid, wall_clock("Europe/Madrid", hour=12))
    with CaptureQueriesContext(connection) as two:
        text = client.get(reverse("messaging:failed-list")).content.decode()
    assert "30 Mar 2027 11:45" in text and "30 Mar 2027 12:45" in text
    assert len(two) == len(one)
