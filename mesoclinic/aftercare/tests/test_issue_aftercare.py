"""issue_aftercare: a signed session gets one handout, one check-in and its two messages, once."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django.db import DatabaseError, connection, transaction

from mesoclinic.aftercare import services
from mesoclinic.aftercare.models import AftercareHandout, CheckIn
from mesoclinic.core.models import AuditEvent
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory

from .factories import issued, lot_of, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]
LONDON = ZoneInfo("Europe/London")


def test_a_scalp_session_gets_the_scalp_rule_with_real_times_and_a_check_in_six_hours_later(location):
    session = signed_session(location, signed_at=datetime(2023, 11, 28, 11, 5, tzinfo=LONDON))
    handout = issued(session)
    aftercare = handout.aftercare
    assert [item.rule_key for item in aftercare.instructions] == ["scalp_aftercare"]
    assert aftercare.instructions[0].until_label == "Wednesday 29 November, 11:05"
    assert "do not wash your hair" in handout.text.lower()
    assert location.phone in handout.text
    checkin = CheckIn.objects.get(handout=handout)
    assert checkin.due_at == datetime(2023, 11, 28, 17, 5, tzinfo=LONDON)
    assert checkin.expires_at == checkin.due_at + timedelta(hours=72)
    assert checkin.channel == CheckIn.Channel.EMAIL
    assert handout.catalog_version == session.record.catalog_version.number


def test_scalp_and_face_in_one_session_give_both_rules(location):
    session = signed_session(
        location,
        protocol_key="rejuvenation",
        areas={"scalp": [lot_of(location, "hair_cocktail")], "cheeks": [lot_of(location, "biorevitalisation_cocktail")]},
        signed_at=datetime(2023, 11, 28, 11, 5, tzinfo=LONDON),
    )
    aftercare = issued(session).aftercare
    assert [(item.rule_key, item.until_label) for item in aftercare.instructions] == [
        ("scalp_aftercare", "Wednesday 29 November, 11:05"),
        ("face_aftercare", "Friday 1 December, 11:05"),
    ]


def test_the_handout_and_the_check_in_are_queued_once_with_dedupe_keys(location):
    session = signed_session(location)
    handout = issued(session)
    assert issued(session) == handout  # a second call returns the same handout
    messages = list(OutboundMessage.objects.order_by("due_at"))
    assert [message.dedupe_key for message in messages] == [f"aftercare-handout:{handout.pk}", f"aftercare-checkin:{handout.checkin.pk}"]
    handout_message, checkin_message = messages
    assert handout_message.channel == "email" and handout_message.recipient == session.patient.email
    assert "Until" in handout_message.body and "Your aftercare" in handout_message.subject
    assert checkin_message.due_at == handout.checkin.due_at
    assert "https://clinic.example/check-in/" in checkin_message.body
    assert AftercareHandout.objects.count() == 1 and CheckIn.objects.count() == 1
    assert AuditEvent.objects.filter(object_type="aftercare-handout", action="create", patient_id=session.patient.pk).count() == 1


def test_a_patient_who_prefers_sms_gets_texts(location):
    patient = PatientFactory(location=location, preferred_channel=Patient.Channel.SMS)
    handout = issued(signed_session(location, patient=patient))
    assert set(OutboundMessage.objects.values_list("channel", flat=True)) == {"sms"}
    assert handout.checkin.channel == CheckIn.Channel.SMS
    sms = OutboundMessage.objects.get(kind="aftercare-checkin").body
    assert sms.startswith(location.name) and "/check-in/" in sms


def test_a_patient_who_takes_no_messages_gets_none_but_still_has_a_check_in(location):
    patient = PatientFactory(location=location, preferred_channel=Patient.Channel.PHONE)
    handout = issued(signed_session(location, patient=patient))
    assert OutboundMessage.objects.count() == 0
    assert handout.checkin.channel == CheckIn.Channel.NONE


def test_a_patient_without_an_e_mail_address_has_both_messages_kept_as_undeliverable_and_is_called(location):
    patient = PatientFactory(location=location, preferred_channel=Patient.Channel.EMAIL, email="")
    handout = issued(signed_session(location, patient=patient))
    rows = set(OutboundMessage.objects.values_list("kind", "status", "last_error"))
    assert rows == {
        ("aftercare-handout", "undeliverable", "no e-mail address on file"),
        ("aftercare-checkin", "undeliverable", "no e-mail address on file"),
    }
    assert handout.checkin.channel == CheckIn.Channel.NONE  # nothing reaches them: the nurses call


def test_it_refuses_an_unsigned_session(location):
    session = signed_session(location, sign=False)
    with pytest.raises(services.NotSigned):
        issued(session)
    assert AftercareHandout.objects.count() == 0


def test_an_issued_handout_cannot_be_changed_in_the_database(location):
    handout = issued(signed_session(location))
    with pytest.raises(DatabaseError), transaction.atomic():
        AftercareHandout.objects.filter(pk=handout.pk).update(text="changed")
    handout.refresh_from_db()
    assert "changed" not in handout.text


@pytest.mark.postgres
def test_truncate_cannot_empty_the_issued_handouts(location):
    handout = issued(signed_session(location))
    refused = "aftercare_aftercarehandout_immutable: issued aftercare handouts cannot be truncated"
    with pytest.raises(DatabaseError, match=refused), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # TRUNCATE wants this transaction's foreign-key checks settled
        cursor.execute("TRUNCATE aftercare_aftercarehandout CASCADE")
    assert AftercareHandout.objects.filter(pk=handout.pk).exists()
