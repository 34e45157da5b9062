"""The aftercare handout — page, PDF, e-mail, SMS — and the check-in page use the clinic's wall clock.

The session is signed at 10:45 local on Tuesday 30 March 2027 (summer time in London and Madrid).
"""

from __future__ import annotations

import pytest
import time_machine
from django.urls import reverse

from mesoclinic.aftercare.models import CheckIn
from mesoclinic.aftercare.tokens import make_token
from mesoclinic.core.tests.zones import shows_local_not_utc, wall_clock, zoned_location_fixture
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.tests.factories import PatientFactory

from .factories import issued, nurse, signed_session
from .test_handout_pdf import page_text

pytestmark = pytest.mark.usefixtures("no_worker")
zoned_location = zoned_location_fixture()


def test_the_handout_page_pdf_and_patient_panel_show_local_times(client, zoned_location):
    location, utc_time = zoned_location
    session = signed_session(location, signed_at=wall_clock(location.time_zone))
    handout = issued(session)
    client.force_login(nurse(location))
    page = client.get(reverse("aftercare:handout-detail", args=[handout.pk])).content.decode()
    assert "Tuesday 30 March, 10:45" in page
    shows_local_not_utc(page, utc_time)
    pdf = " ".join(page_text(client.get(reverse("aftercare:handout-pdf", args=[handout.pk])).content).split())
    assert "your session ended on Tuesday 30 March, 10:45" in pdf
    assert "Until Wednesday 31 March, 10:45:" in pdf  # the scalp rule: 24 hours
    shows_local_not_utc(pdf, utc_time)
    patient_page = client.get(reverse("patients:detail", args=[session.patient.pk])).content.decode()
    assert "30 Mar 2027 10:45" in patient_page


@pytest.mark.parametrize("channel", ["email", "sms"])
def test_the_handout_e_mail_and_sms_give_local_times(zoned_location, channel):
    location, utc_time = zoned_location
    patient = PatientFactory(location=location, preferred_channel=channel)
    issued(signed_session(location, patient=patient, signed_at=wall_clock(location.time_zone)))
    body = OutboundMessage.objects.get(kind="aftercare-handout").body
    assert "Wednesday 31 March, 10:45" in body
    shows_local_not_utc(body, utc_time)


def test_the_check_in_page_names_the_local_day_of_a_late_session(client, zoned_location):
    location, _ = zoned_location
    # Signed at 00:30 on Wednesday 31 March locally: still Tuesday 30 March in UTC.
    issued(signed_session(location, signed_at=wall_clock(location.time_zone, day=31, hour=0, minute=30)))
    checkin = CheckIn.objects.get()
    with time_machine.travel(checkin.due_at, tick=False):
        text = client.get(reverse("checkin:answer", kwargs={"token": make_token(checkin.pk)})).content.decode()
    assert "your session on Wednesday 31 March" in text
