"""Answering a check-in: escalation to a follow-up, single use, expiry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from mesoclinic.aftercare import services
from mesoclinic.aftercare.models import CheckIn, FollowUp
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from .factories import issued, nurse, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


@pytest.fixture
def checkin(location):
    return issued(signed_session(location)).checkin


def answer(checkin, value, text="", now=None):
    return services.answer_checkin(
        ctx=audit.SYSTEM, checkin_id=checkin.pk, answer=value, text=text, now=now or checkin.due_at + timedelta(minutes=5)
    )


@pytest.mark.parametrize("value", ["not_settled", "worse", "other"])
def test_an_answer_other_than_settled_opens_a_follow_up_for_the_nurse(checkin, value):
    answered, follow_up = answer(checkin, value, text="Still red on the left side")
    assert answered.answer == value and answered.answered_at is not None
    assert follow_up is not None
    assert (follow_up.reason, follow_up.patient_text, follow_up.status) == (value, "Still red on the left side", FollowUp.Status.OPEN)
    assert (follow_up.location_id, follow_up.patient_id, follow_up.record_id) == (
        checkin.location_id,
        checkin.patient_id,
        checkin.record_id,
    )


def test_settled_opens_no_follow_up(checkin):
    answered, follow_up = answer(checkin, "settled")
    assert follow_up is None
    assert FollowUp.objects.count() == 0
    assert answered.answer == CheckIn.Answer.SETTLED


def test_a_check_in_is_answered_once(checkin):
    answer(checkin, "settled")
    with pytest.raises(services.AlreadyAnswered):
        answer(checkin, "worse")
    checkin.refresh_from_db()
    assert checkin.answer == "settled"
    assert FollowUp.objects.count() == 0


def test_an_expired_check_in_cannot_be_answered(checkin):
    with pytest.raises(services.LinkExpired):
        answer(checkin, "worse", now=checkin.expires_at)
    checkin.refresh_from_db()
    assert not checkin.is_answered


def test_an_unknown_answer_is_refused(checkin):
    with pytest.raises(ValueError, match="unknown answer"):
        answer(checkin, "fine")


def test_answering_is_audited_without_the_patients_text(checkin):
    answer(checkin, "worse", text="private words")
    row = AuditEvent.objects.get(object_type="aftercare-checkin", action="update")
    assert row.patient_id == checkin.patient_id and row.detail["answer"] == "worse"
    assert "private words" not in str(row.detail)


def test_a_later_answer_updates_the_follow_up_a_nurse_opened_for_no_answer(checkin, location):
    follow_up = services.open_follow_up_for_unanswered(ctx=audit.SYSTEM, checkin=checkin)
    answer(checkin, "worse", text="spreading")
    follow_up.refresh_from_db()
    assert (follow_up.reason, follow_up.patient_text) == ("worse", "spreading")
    assert FollowUp.objects.count() == 1


def test_a_follow_up_is_closed_with_a_note_once(checkin, location):
    _, follow_up = answer(checkin, "not_settled")
    user = nurse(location)
    ctx = audit.AuditContext(actor=user)
    with pytest.raises(ValueError, match="note"):
        services.close_follow_up(ctx=ctx, follow_up=follow_up, note="  ")
    closed = services.close_follow_up(ctx=ctx, follow_up=follow_up, note="Called: settling, no action.")
    assert (closed.status, closed.closed_by, closed.close_note) == (FollowUp.Status.CLOSED, user, "Called: settling, no action.")
    with pytest.raises(services.FollowUpNotOpen):
        services.close_follow_up(ctx=ctx, follow_up=follow_up, note="again")


def test_an_answered_check_in_cannot_be_taken_on_as_unanswered(checkin):
    answer(checkin, "settled")
    with pytest.raises(services.AlreadyAnswered):
        services.open_follow_up_for_unanswered(ctx=audit.SYSTEM, checkin=checkin, now=timezone.now())
