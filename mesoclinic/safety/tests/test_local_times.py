"""Adverse events and lot recalls — pages, print, CSV and the patient panel — in the clinic's wall clock.

The session is signed at 10:45 local on Tuesday 30 March 2027; the reaction starts at 16:45 and is
reported the next morning at 10:45; the recall call is made at 10:45 on 1 April.
"""

from __future__ import annotations

from datetime import timedelta

import time_machine
from django.urls import reverse

from mesoclinic.core.tests.zones import shows_local_not_utc, wall_clock, zoned_location_fixture
from mesoclinic.safety.models import RecallContact

from .factories import doctor_at, lot_of, record_event, signed_session

zoned_location = zoned_location_fixture()


def offset(location) -> str:
    return "+01:00" if location.time_zone == "Europe/London" else "+02:00"


def an_event(location):
    lot = lot_of(location, "hair_cocktail")
    session = signed_session(location, areas={"scalp": [lot]}, signed_at=wall_clock(location.time_zone))
    event = record_event(session, onset_at=wall_clock(location.time_zone, hour=16))
    return session, event, lot


def test_the_event_pages_and_the_patient_panel_show_local_times(client, zoned_location):
    location, utc_time = zoned_location
    session, event, _ = an_event(location)
    client.force_login(doctor_at(location))
    listing = client.get(reverse("safety:event-list")).content.decode()
    assert "30 Mar 2027 16:45" in listing
    detail = client.get(reverse("safety:event-detail", args=[event.pk])).content.decode()
    assert "Tuesday 30 March 2027, 16:45" in detail  # onset
    assert "31 Mar 2027 10:45" in detail  # reported
    assert "30 Mar 2027 10:45" in detail  # the session signed
    shows_local_not_utc(detail, utc_time)
    patient_page = client.get(reverse("patients:detail", args=[session.patient.pk])).content.decode()
    assert "30 Mar 2027" in patient_page


def test_the_printed_report_is_in_local_time_including_when_it_was_printed(client, zoned_location):
    location, utc_time = zoned_location
    _, event, _ = an_event(location)
    with time_machine.travel(wall_clock(location.time_zone, day=31, hour=11, minute=5), tick=False):
        client.force_login(doctor_at(location))
        text = client.get(reverse("safety:event-print", args=[event.pk])).content.decode()
    assert "30 March 2027, 16:45" in text
    assert "31 March 2027 10:45" in text  # reported
    assert "printed 31 March 2027 11:05" in text
    shows_local_not_utc(text, utc_time)


def test_the_adverse_event_csv_gives_local_times_with_their_offset(client, zoned_location):
    location, utc_time = zoned_location
    an_event(location)
    client.force_login(doctor_at(location))
    text = client.get(reverse("safety:event-export")).content.decode()
    assert f"2027-03-31T10:45:00{offset(location)}" in text  # reported
    assert f"2027-03-30T16:45:00{offset(location)}" in text  # onset
    assert f"T{utc_time}" not in text and "+00:00" not in text


def test_the_recall_page_and_csv_give_the_session_and_the_call_in_local_time(client, zoned_location):
    location, utc_time = zoned_location
    session, _, lot = an_event(location)
    doctor = doctor_at(location)
    RecallContact.objects.create(
        lot=lot,
        patient=session.patient,
        method=RecallContact.Method.PHONE,
        contacted_at=wall_clock(location.time_zone, day=1, month=4, hour=9, minute=15),
        contacted_by=doctor,
    )
    client.force_login(doctor)
    page = client.get(reverse("safety:recall-detail", args=[lot.pk])).content.decode()
    assert "30 Mar 2027 10:45" in page
    assert "1 Apr 09:15" in page
    shows_local_not_utc(page, utc_time)
    csv = client.get(reverse("safety:recall-export", args=[lot.pk])).content.decode()
    assert f"2027-03-30T10:45:00{offset(location)}" in csv
    assert f"2027-04-01T09:15:00{offset(location)}" in csv
    assert "+00:00" not in csv


def test_a_reaction_late_in_the_evening_is_dated_on_the_local_day(client, zoned_location):
    location, _ = zoned_location
    lot = lot_of(location, "hair_cocktail")
    session = signed_session(location, areas={"scalp": [lot]}, signed_at=wall_clock(location.time_zone, hour=20))
    event = record_event(session, onset_at=wall_clock(location.time_zone, day=31, hour=0, minute=30) - timedelta(minutes=0))
    client.force_login(doctor_at(location))
    patient_page = client.get(reverse("patients:detail", args=[session.patient.pk])).content.decode()
    assert "31 Mar 2027" in patient_page
    detail = client.get(reverse("safety:event-detail", args=[event.pk])).content.decode()
    assert "Wednesday 31 March 2027, 00:30" in detail
