"""The nurses' worklist and follow-up screens: scoping, closing, bad input, query counts."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.aftercare import services
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from .factories import issued, nurse, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


def worse(location):
    checkin = issued(signed_session(location)).checkin
    _, follow_up = services.answer_checkin(ctx=audit.SYSTEM, checkin_id=checkin.pk, answer="worse", now=checkin.due_at)
    return follow_up


def test_the_worklist_lists_open_follow_ups_and_unanswered_check_ins_of_my_locations_only(client, location, other_location):
    mine = worse(location)
    theirs = worse(other_location)
    silent = issued(signed_session(location)).checkin
    user = nurse(location)
    with time_machine.travel(silent.due_at + timedelta(hours=13)):
        client.force_login(user)  # a fresh sign-in: staff sessions last 8 hours
        response = client.get("/aftercare/follow-ups/")
    body = response.content.decode()
    assert response.status_code == 200
    assert mine.patient.full_name in body and theirs.patient.full_name not in body
    assert silent.patient.full_name in body  # unanswered after 12 hours
    row = AuditEvent.objects.get(object_type="aftercare-worklist")
    assert set(row.detail["patient_ids"]) == {mine.patient_id, silent.patient_id}


def test_a_check_in_is_not_listed_as_unanswered_before_the_configured_time(client, location, settings):
    settings.MESOCLINIC_CHECKIN_UNANSWERED_HOURS = 2
    silent = issued(signed_session(location)).checkin
    user = nurse(location)
    with time_machine.travel(silent.due_at + timedelta(hours=1)):
        client.force_login(user)
        assert silent.patient.full_name not in client.get("/aftercare/follow-ups/").content.decode()
    with time_machine.travel(silent.due_at + timedelta(hours=3)):
        client.force_login(user)
        assert silent.patient.full_name in client.get("/aftercare/follow-ups/").content.decode()


def test_a_nurse_takes_on_an_unanswered_check_in_and_closes_the_follow_up_with_a_note(client, location):
    silent = issued(signed_session(location)).checkin
    user = nurse(location)
    client.force_login(user)
    response = client.post(f"/aftercare/check-ins/{silent.pk}/follow-up/")
    follow_up = FollowUp.objects.get(checkin=silent)
    assert response.status_code == 302 and response["Location"] == f"/aftercare/follow-ups/{follow_up.pk}/"
    assert follow_up.reason == FollowUp.Reason.UNANSWERED
    assert client.post(f"/aftercare/check-ins/{silent.pk}/follow-up/").status_code == 302  # again: a message, no second follow-up
    assert FollowUp.objects.count() == 1
    assert client.get(f"/aftercare/follow-ups/{follow_up.pk}/").status_code == 200
    response = client.post(
        f"/aftercare/follow-ups/{follow_up.pk}/close/", {"note": "Called twice, left a voicemail; patient fine by text."}
    )
    assert response.status_code == 302
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.CLOSED and follow_up.closed_by == user


@pytest.mark.parametrize("data", [{}, {"note": "   "}, {"note": "x" * 2001}, {"note": "a\x00b"}])
def test_closing_without_a_proper_note_is_refused_with_a_400(client, location, data):
    follow_up = worse(location)
    client.force_login(nurse(location))
    assert client.post(f"/aftercare/follow-ups/{follow_up.pk}/close/", data).status_code == 400
    follow_up.refresh_from_db()
    assert follow_up.is_open


def test_closing_twice_answers_409(client, location):
    follow_up = worse(location)
    client.force_login(nurse(location))
    client.post(f"/aftercare/follow-ups/{follow_up.pk}/close/", {"note": "done"})
    assert client.post(f"/aftercare/follow-ups/{follow_up.pk}/close/", {"note": "again"}).status_code == 409


def test_another_locations_follow_ups_check_ins_and_handouts_answer_404(client, location, other_location):
    follow_up = worse(other_location)
    client.force_login(nurse(location))
    for method, path in [
        ("get", f"/aftercare/follow-ups/{follow_up.pk}/"),
        ("post", f"/aftercare/follow-ups/{follow_up.pk}/close/"),
        ("post", f"/aftercare/check-ins/{follow_up.checkin_id}/follow-up/"),
        ("get", f"/aftercare/handouts/{follow_up.checkin.handout_id}/"),
        ("get", f"/aftercare/handouts/{follow_up.checkin.handout_id}/pdf/"),
        ("get", "/aftercare/follow-ups/99999999999999999999/"),
    ]:
        response = getattr(client, method)(path, {"note": "x"} if method == "post" else None)
        assert response.status_code == 404, path
    follow_up.refresh_from_db()
    assert follow_up.is_open


def test_receptionists_and_managers_do_not_work_the_clinical_worklist(client, location):
    for role in (Role.RECEPTIONIST, Role.MANAGER):
        client.force_login(UserFactory(role=role, locations=[location]))
        assert client.get("/aftercare/follow-ups/").status_code == 403


def test_the_worklist_costs_the_same_for_2_and_12_follow_ups(client, location):
    user = nurse(location)
    client.force_login(user)

    def count() -> int:
        with CaptureQueriesContext(connection) as captured:
            assert client.get("/aftercare/follow-ups/").status_code == 200
        return len(captured)

    for _ in range(2):
        worse(location)
    few = count()
    for _ in range(10):
        worse(location)
    assert count() == few
