"""The manager's audit-trail screen: who may see it, its filters, and paging by `before`."""

from __future__ import annotations

import datetime
import re

import pytest
import time_machine
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.views import AUDIT_PAGE_SIZE

pytestmark = pytest.mark.django_db
URL = reverse("core:audit-list")


def write(actor, *, action=AuditEvent.Action.VIEW, patient_id=1, location_id=None, object_type="patient"):
    return audit.record(
        audit.AuditContext(actor=actor),
        action=action,
        object_type=object_type,
        object_id=patient_id,
        patient_id=patient_id,
        location_id=location_id,
    )


def listed_ids(response) -> list[int]:
    return [event.pk for event in response.context["events"]]


def test_a_receptionist_may_not_open_the_audit_trail(client, receptionist):
    client.force_login(receptionist)
    response = client.get(URL)
    assert response.status_code == 403
    assert "Your role does not allow this" in response.content.decode()


def test_a_signed_out_visitor_is_sent_to_sign_in(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("accounts:sign-in"))


def test_a_manager_sees_the_rows_of_their_own_locations_newest_first(client, manager, location, other_location):
    older = write(manager, location_id=location.pk)
    newer = write(manager, location_id=location.pk, action=AuditEvent.Action.UPDATE)
    write(manager, location_id=other_location.pk)
    client.force_login(manager)
    response = client.get(URL)
    assert response.status_code == 200
    assert listed_ids(response) == [newer.pk, older.pk]


def test_each_row_shows_who_did_what_to_which_patient_in_plain_words(client, manager, location):
    audit.record(
        audit.AuditContext(actor=manager, ip_address="192.0.2.9"),
        action=AuditEvent.Action.UPDATE,
        object_type="patient",
        object_id=42,
        patient_id=42,
        location_id=location.pk,
        detail={"fields": ["family_name", "notes"]},
    )
    client.force_login(manager)
    html = client.get(URL).content.decode()
    assert '<a href="?patient_id=42" title="Show every event for this patient">patient 42</a></td>' in html
    assert "fields: family_name, notes" in html
    assert "192.0.2.9" in html
    assert '<a href="/audit/" aria-current="page">Audit trail</a>' in html


def test_the_admin_sees_every_location(client, location, other_location):
    admin = UserFactory(role=Role.ADMIN)
    rows = [write(admin, location_id=location.pk), write(admin, location_id=other_location.pk)]
    client.force_login(admin)
    assert listed_ids(client.get(URL)) == [rows[1].pk, rows[0].pk]


def test_a_manager_filters_by_user_name_action_patient_and_record_type(client, manager, receptionist, location):
    mine = write(manager, location_id=location.pk, patient_id=10)
    theirs = write(receptionist, location_id=location.pk, patient_id=11)
    change = write(receptionist, location_id=location.pk, patient_id=11, action=AuditEvent.Action.UPDATE)
    user_row = write(receptionist, location_id=location.pk, patient_id=None, object_type="user")
    client.force_login(manager)
    assert listed_ids(client.get(URL, {"actor": manager.username.upper()})) == [mine.pk]
    assert listed_ids(client.get(URL, {"action": "update"})) == [change.pk]
    assert listed_ids(client.get(URL, {"patient_id": "11"})) == [change.pk, theirs.pk]
    assert listed_ids(client.get(URL, {"object_type": "user"})) == [user_row.pk]
    assert listed_ids(client.get(URL, {"actor": receptionist.username, "action": "view", "patient_id": "11"})) == [theirs.pk]


def test_a_manager_filters_by_day_range(client, manager, location):
    with time_machine.travel(datetime.datetime(2026, 3, 1, 12, tzinfo=datetime.UTC)):
        march = write(manager, location_id=location.pk)
    with time_machine.travel(datetime.datetime(2026, 3, 5, 23, 30, tzinfo=datetime.UTC)):
        later = write(manager, location_id=location.pk)
    client.force_login(manager)
    assert listed_ids(client.get(URL, {"since": "2026-03-01", "until": "2026-03-01"})) == [march.pk]
    assert listed_ids(client.get(URL, {"since": "2026-03-02"})) == [later.pk]
    assert listed_ids(client.get(URL, {"until": "2026-03-05"})) == [later.pk, march.pk]


def test_it_pages_by_the_id_of_the_last_row_shown(client, manager, location):
    rows = [write(manager, location_id=location.pk, patient_id=n) for n in range(AUDIT_PAGE_SIZE + 5)]
    client.force_login(manager)
    first = client.get(URL, {"action": "view"})
    assert listed_ids(first) == [row.pk for row in reversed(rows)][:AUDIT_PAGE_SIZE]
    cursor = first.context["next_before"]
    assert cursor == rows[5].pk
    older_link = re.search(r'href="\?([^"]*before=\d+)"', first.content.decode()).group(1).replace("&amp;", "&")
    assert "action=view" in older_link
    second = client.get(f"{URL}?{older_link}")
    assert listed_ids(second) == [row.pk for row in reversed(rows[:5])]
    assert second.context["next_before"] is None


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"patient_id": "abc"}, "Patient id must be a whole number."),
        ({"patient_id": "99999999999999999999"}, "Patient id must be a whole number."),
        ({"before": "-1"}, "must be a whole number"),
        ({"since": "yesterday"}, "must be a date"),
        ({"until": "2026-02-31"}, "must be a date"),
        ({"since": "2026-03-02", "until": "2026-03-01"}, "must not be after"),
        ({"action": "explode"}, "is not an audit action"),
        ({"actor": "meg\x00an"}, "User name contains a character that cannot be searched for."),
    ],
)
def test_it_answers_a_filter_it_cannot_read_with_a_clear_400(client, manager, location, query, message):
    write(manager, location_id=location.pk)
    client.force_login(manager)
    response = client.get(URL, query)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response.context["events"] == []


def test_the_audit_trail_is_read_only(client, manager, location):
    write(manager, location_id=location.pk)
    client.force_login(manager)
    assert client.post(URL).status_code == 405
    assert client.delete(URL).status_code == 405
    assert AuditEvent.objects.count() == 1
