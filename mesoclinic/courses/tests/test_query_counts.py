"""The course pages and the patient panel run a constant number of queries, whatever the history."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.courses.planner import plan_course
from mesoclinic.courses.services import book_course

from .factories import prescribe_hair

pytestmark = pytest.mark.django_db


def _queries(client, url):
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured)


def test_the_patient_panel_does_not_grow_with_the_number_of_courses(client, clinic):
    client.force_login(clinic.receptionist)
    url = reverse("patients:detail", args=[clinic.patient.pk])
    book_course(
        ctx=clinic.ctx,
        course=(c := prescribe_hair(clinic.doctor, clinic.patient, sessions=4)),
        proposals=plan_course(course=c, start_on=date(2026, 3, 3)),
    )
    one = _queries(client, url)

    for _ in range(4):
        prescribe_hair(clinic.doctor, clinic.patient, sessions=6)
    assert _queries(client, url) == one


def test_a_booked_course_page_does_not_grow_with_its_sessions(client, clinic):
    client.force_login(clinic.receptionist)
    small = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    book_course(ctx=clinic.ctx, course=small, proposals=plan_course(course=small, start_on=date(2026, 3, 3)))
    from .factories import PatientFactory, screen

    other = PatientFactory(location=clinic.location)
    screen(clinic.doctor, other)
    big = prescribe_hair(clinic.doctor, other, sessions=6)
    book_course(ctx=clinic.ctx, course=big, proposals=plan_course(course=big, start_on=date(2026, 3, 4)))

    assert _queries(client, reverse("courses:detail", args=[small.pk])) == _queries(client, reverse("courses:detail", args=[big.pk]))


def test_the_course_list_does_not_grow_with_the_number_of_courses(client, clinic):
    client.force_login(clinic.receptionist)
    prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    one = _queries(client, reverse("courses:list"))
    for _ in range(5):
        prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    assert _queries(client, reverse("courses:list")) == one
