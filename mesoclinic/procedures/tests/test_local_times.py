"""The day's sessions, the chart and the signed record show the clinic's wall clock, not UTC."""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.urls import reverse

from mesoclinic.aftercare.tests.factories import signed_session
from mesoclinic.core.tests.zones import shows_local_not_utc, wall_clock, zoned_location_fixture
from mesoclinic.scheduling.tests.factories import AppointmentFactory, practitioner_at

zoned_location = zoned_location_fixture()


def test_the_day_s_session_list_shows_local_start_times(client, zoned_location):
    location, utc_time = zoned_location
    nurse = practitioner_at(location)
    AppointmentFactory(location=location, practitioner=nurse, starts_at=wall_clock(location.time_zone))
    with time_machine.travel(wall_clock(location.time_zone, hour=8), tick=False):
        client.force_login(nurse)
        text = client.get(reverse("procedures:list") + f"?location={location.pk}&on=2027-03-30").content.decode()
    assert "<td>10:45</td>" in text
    shows_local_not_utc(text, utc_time)


def test_the_open_chart_shows_the_appointment_in_local_time(client, zoned_location):
    location, utc_time = zoned_location
    with time_machine.travel(wall_clock(location.time_zone, hour=11), tick=False):
        session = signed_session(location, signed_at=wall_clock(location.time_zone) + timedelta(minutes=50), sign=False)
        client.force_login(session.record.practitioner)
        text = client.get(reverse("procedures:detail", args=[session.record.pk])).content.decode()
    assert "Tuesday 30 March, 10:45" in text
    shows_local_not_utc(text, utc_time)


def test_the_signed_record_shows_every_step_in_local_time(client, zoned_location):
    location, utc_time = zoned_location
    session = signed_session(location, signed_at=wall_clock(location.time_zone, hour=11, minute=35))
    client.force_login(session.record.practitioner)
    text = client.get(reverse("procedures:detail", args=[session.record.pk])).content.decode()
    assert "Tuesday 30 March 2027, 10:45" in text  # the appointment
    assert "<dt>Alcohol swab</dt><dd>11:16</dd>" in text  # started + 31 minutes
    assert "<dt>Signed</dt><dd>11:35" in text
    shows_local_not_utc(text, utc_time)


def test_the_patient_page_dates_a_session_started_after_local_midnight_on_the_local_day(client, zoned_location):
    location, _ = zoned_location
    # Started 00:30 on Wednesday 31 March locally (signed 50 minutes later): still 30 March in UTC.
    session = signed_session(location, signed_at=wall_clock(location.time_zone, day=31, hour=1, minute=20))
    client.force_login(session.record.practitioner)
    text = client.get(reverse("patients:detail", args=[session.patient.pk])).content.decode()
    sessions_panel = text.split('id="panel-sessions"', 1)[1].split("</section>", 1)[0]
    assert "31 Mar 2027" in sessions_panel
    assert "30 Mar 2027" not in sessions_panel
