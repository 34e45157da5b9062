"""A course's proposal, booked sessions and the patient page's course panel show the clinic's wall clock."""

from __future__ import annotations

from datetime import date, time

import time_machine
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core import audit
from mesoclinic.core.tests.zones import shows_local_not_utc, wall_clock, zoned_location_fixture
from mesoclinic.courses.planner import plan_course
from mesoclinic.courses.services import book_course

from .factories import DeviceFactory, PatientFactory, RoomFactory, hair_clinic, prescribe_hair, screen

zoned_location = zoned_location_fixture()


def a_course(location, *, at=time(10, 45)):
    doctor, nurse = hair_clinic(location)
    RoomFactory(location=location, name="Room A")
    DeviceFactory(location=location)
    patient = PatientFactory(location=location)
    screen(doctor, patient)
    course = prescribe_hair(doctor, patient, sessions=4, preferred=nurse, location=location)
    return doctor, patient, course


def test_the_course_page_proposes_and_then_shows_sessions_at_local_times(client, zoned_location):
    location, utc_time = zoned_location
    receptionist = UserFactory(role=Role.RECEPTIONIST, locations=[location])
    with time_machine.travel(wall_clock(location.time_zone, day=1, hour=9), tick=False):
        _, patient, course = a_course(location)
        client.force_login(receptionist)
        url = reverse("courses:detail", args=[course.pk]) + "?start_on=2027-03-30&at_time=10:45"
        proposal = client.get(url).content.decode()
        rows = plan_course(course=course, start_on=date(2027, 3, 30), at_time=time(10, 45))
        book_course(ctx=audit.AuditContext(actor=receptionist, path="/test"), course=course, proposals=rows)
        booked = client.get(reverse("courses:detail", args=[course.pk])).content.decode()
        listing = client.get(reverse("courses:list") + "?status=active").content.decode()
        patient_page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
    assert 'name="s1-at" value="10:45"' in proposal
    shows_local_not_utc(proposal, utc_time)
    assert "Tue 30 Mar 2027, 10:45" in booked
    shows_local_not_utc(booked, utc_time)
    assert "Tue 30 Mar, 10:45" in listing
    assert "Tue 30 Mar 2027, 10:45" in patient_page


def test_a_course_prescribed_late_in_the_evening_is_dated_on_the_local_day(client, zoned_location):
    location, _ = zoned_location
    with time_machine.travel(wall_clock(location.time_zone, day=31, hour=0, minute=30), tick=False):
        doctor, patient, course = a_course(location)
        client.force_login(doctor)
        patient_page = client.get(reverse("patients:detail", args=[patient.pk])).content.decode()
        detail = client.get(reverse("courses:detail", args=[course.pk])).content.decode()
    assert "prescribed 31 Mar 2027" in patient_page
    assert "31 Mar 2027 by" in detail
