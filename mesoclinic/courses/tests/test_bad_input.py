"""Every course form and endpoint answers wrong types, missing fields, out-of-range values, unknown
ids and other locations' ids with a clear 4xx — never a 500 — and saves nothing half-way."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from mesoclinic.courses.models import Course
from mesoclinic.courses.planner import plan_course
from mesoclinic.scheduling.models import Appointment

from .factories import PatientFactory, hair, prescribe_hair
from .test_views import new_url, prescribe_data, proposal_data

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("overrides", "field_message"),
    [
        ({"sessions": "six"}, "Enter a whole number"),
        ({"sessions": None}, "This field is required"),
        ({"sessions": "9"}, "is a course of 4 to 6 sessions"),
        ({"sessions": "99999999999999999999"}, "less than or equal to"),
        ({"interval_min_days": "14"}, "days apart"),
        ({"interval_max_days": "35"}, "days apart"),
        ({"interval_min_days": "28", "interval_max_days": "21"}, "cannot be shorter"),
        ({"areas": ["face"]}, "Select a valid choice"),
        ({"areas": None}, "This field is required"),
        ({"techniques": ["999999"]}, "Select a valid choice"),
        ({"techniques": ["x"]}, "is not a valid value"),
        ({"concern": "999999"}, "Select a valid choice"),
        ({"location": "999999"}, "Select a valid choice"),
        ({"preferred_practitioner": "999999"}, "Select a valid choice"),
    ],
)
def test_the_prescription_form_refuses_bad_input_with_a_message(client, clinic, overrides, field_message):
    client.force_login(clinic.doctor)

    response = client.post(new_url(clinic.patient, hair()), prescribe_data(clinic, **overrides))

    assert response.status_code == 400
    assert field_message in response.content.decode()
    assert not Course.objects.exists()


def test_another_locations_id_is_not_a_choice(client, clinic, other_location):
    client.force_login(clinic.doctor)

    response = client.post(new_url(clinic.patient, hair()), prescribe_data(clinic, location=other_location.pk))

    assert response.status_code == 400
    assert not Course.objects.exists()


@pytest.mark.parametrize("query", ["", "?patient=", "?patient=abc", "?patient=-1", "?patient=99999999999999999999999"])
def test_a_missing_or_malformed_patient_is_a_400(client, clinic, query):
    client.force_login(clinic.doctor)

    assert client.get(reverse("courses:new") + query).status_code == 400


def test_an_unknown_patient_or_protocol_answers_404_or_400(client, clinic):
    client.force_login(clinic.doctor)

    assert client.get(f"{reverse('courses:new')}?patient=999999").status_code == 404
    assert client.get(f"{reverse('courses:new')}?patient={clinic.patient.pk}&protocol=999999").status_code == 400
    assert client.get(f"{reverse('courses:new')}?patient={clinic.patient.pk}&protocol=x").status_code == 400


def test_an_overlong_stop_reason_or_none_is_refused(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient)
    client.force_login(clinic.doctor)

    assert client.post(reverse("courses:stop", args=[course.pk]), {"reason": "x" * 301}).status_code == 400
    assert client.post(reverse("courses:stop", args=[course.pk]), {}).status_code == 400
    course.refresh_from_db()
    assert course.status == Course.Status.PLANNED


@pytest.mark.parametrize(
    "overrides",
    [
        {"s1-on": "not a date"},
        {"s1-on": None},
        {"s2-at": "25:99"},
        {"s3-practitioner": "999999"},
        {"s3-practitioner": "abc"},
        {"s1-on": "1999-01-01"},
        {"s1-on": "2099-01-01"},
    ],
)
def test_the_proposal_table_refuses_bad_input_and_books_nothing(client, clinic, overrides):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    rows = plan_course(course=course, start_on=date(2026, 3, 3))
    data = {key: value for key, value in proposal_data(rows, **overrides).items() if value is not None}
    client.force_login(clinic.receptionist)

    checked = client.post(reverse("courses:check", args=[course.pk]), data)
    booked = client.post(reverse("courses:book", args=[course.pk]), data)

    assert checked.status_code == 400
    assert booked.status_code == 400
    assert 'class="error"' in booked.content.decode()
    assert not Appointment.objects.exists()


def test_a_time_off_the_grid_or_outside_opening_hours_is_explained(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    rows = plan_course(course=course, start_on=date(2026, 3, 3))
    client.force_login(clinic.receptionist)

    odd = client.post(reverse("courses:book", args=[course.pk]), proposal_data(rows, **{"s1-at": "10:07"}))
    late = client.post(reverse("courses:book", args=[course.pk]), proposal_data(rows, **{"s1-at": "19:45"}))

    assert odd.status_code == 400 and "not a bookable start" in odd.content.decode()
    assert late.status_code == 400 and "must fit in the opening hours" in late.content.decode()
    assert not Appointment.objects.exists()


@pytest.mark.parametrize("start", ["yesterday", "2026-03-01", "2030-01-01"])
def test_a_bad_planning_date_is_a_400(client, clinic, start):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(clinic.receptionist)

    response = client.get(reverse("courses:detail", args=[course.pk]) + f"?start_on={start}")

    assert response.status_code == 400
    assert 'class="error"' in response.content.decode()


@pytest.mark.parametrize(
    "data", [{}, {"on": "x", "at": "10:00", "practitioner": "1"}, {"on": "2026-03-31", "at": "10:30", "practitioner": "999"}]
)
def test_the_move_form_refuses_bad_input(client, clinic, data):
    from mesoclinic.courses.services import book_course

    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    book_course(ctx=clinic.ctx, course=course, proposals=plan_course(course=course, start_on=date(2026, 3, 3)))
    before = list(Appointment.objects.order_by("id").values_list("starts_at", flat=True))
    client.force_login(clinic.receptionist)

    response = client.post(reverse("courses:session-move", args=[course.pk, 2]), data)

    assert response.status_code == 400
    assert list(Appointment.objects.order_by("id").values_list("starts_at", flat=True)) == before


def test_unknown_courses_and_sessions_are_404(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(clinic.receptionist)

    assert client.get(reverse("courses:detail", args=[999999])).status_code == 404
    assert client.get(reverse("courses:session-move", args=[course.pk, 99])).status_code == 404
    assert client.get("/courses/99999999999999999999999/").status_code in (400, 404)


def test_moving_a_session_that_is_not_booked_is_a_conflict(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(clinic.receptionist)

    assert client.get(reverse("courses:session-move", args=[course.pk, 1])).status_code == 409


def test_booking_an_already_booked_course_is_a_conflict(client, clinic):
    from mesoclinic.courses.services import book_course

    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    rows = plan_course(course=course, start_on=date(2026, 3, 3))
    book_course(ctx=clinic.ctx, course=course, proposals=rows)
    client.force_login(clinic.receptionist)

    response = client.post(reverse("courses:book", args=[course.pk]), proposal_data(rows))

    assert response.status_code == 409
    assert Appointment.objects.count() == 4


@pytest.mark.parametrize("query", ["?status=nope", "?page=0", "?page=x", "?page=100000"])
def test_the_course_list_refuses_bad_filters(client, clinic, query):
    client.force_login(clinic.receptionist)

    assert client.get(reverse("courses:list") + query).status_code == 400


def test_a_patient_without_screening_cannot_be_prescribed_through_the_form(client, clinic):
    patient = PatientFactory(location=clinic.location)
    client.force_login(clinic.doctor)

    response = client.post(new_url(patient, hair()), prescribe_data(clinic))

    assert response.status_code == 409
    assert "has not been screened" in response.content.decode()
