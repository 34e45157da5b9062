"""Staff see and touch only the courses of the locations they work at; others answer 404."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.courses.models import Course
from mesoclinic.courses.planner import plan_course
from mesoclinic.scheduling.models import Appointment

from .factories import prescribe_hair
from .test_views import new_url, prescribe_data, proposal_data

pytestmark = pytest.mark.django_db


@pytest.fixture
def outsider(other_location):
    return UserFactory(role=Role.RECEPTIONIST, locations=[other_location])


@pytest.fixture
def outside_doctor(other_location):
    return UserFactory(role=Role.DOCTOR, locations=[other_location])


def test_another_locations_course_answers_404_on_every_screen(client, clinic, outsider):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    rows = plan_course(course=course, start_on=date(2026, 3, 3))
    client.force_login(outsider)

    assert client.get(reverse("courses:detail", args=[course.pk])).status_code == 404
    assert client.post(reverse("courses:check", args=[course.pk]), proposal_data(rows)).status_code == 404
    assert client.post(reverse("courses:book", args=[course.pk]), proposal_data(rows)).status_code == 404
    assert client.get(reverse("courses:session-move", args=[course.pk, 1])).status_code == 404
    assert not Appointment.objects.exists()


def test_another_locations_patient_cannot_be_prescribed(client, clinic, outside_doctor):
    client.force_login(outside_doctor)

    response = client.get(new_url(clinic.patient))

    assert response.status_code == 404


def test_the_course_list_shows_only_the_users_locations(client, clinic, outsider):
    prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(outsider)
    assert "Hair meso" not in client.get(reverse("courses:list")).content.decode()

    client.force_login(clinic.receptionist)
    assert "Hair meso" in client.get(reverse("courses:list")).content.decode()


@pytest.mark.parametrize(
    ("role", "url_name", "method", "status"),
    [
        (Role.RECEPTIONIST, "courses:new", "get", 403),
        (Role.NURSE, "courses:new", "get", 403),
        (Role.MEDICAL_DIRECTOR, "courses:book", "post", 403),
        (Role.RECEPTIONIST, "courses:stop", "post", 403),
        (Role.ADMIN, "courses:detail", "get", 403),
    ],
)
def test_roles_get_only_what_their_work_needs(client, clinic, role, url_name, method, status):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(UserFactory(role=role, locations=[clinic.location]))
    url = reverse(url_name) + f"?patient={clinic.patient.pk}" if url_name == "courses:new" else reverse(url_name, args=[course.pk])

    response = getattr(client, method)(url, {"reason": "x"} if method == "post" else None)

    assert response.status_code == status
    assert Course.objects.get().status == Course.Status.PLANNED


def test_the_patient_panel_lists_only_courses_at_the_users_locations(client, clinic, other_location):
    prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    both = UserFactory(role=Role.RECEPTIONIST, locations=[clinic.location, other_location])
    elsewhere_doctor = UserFactory(role=Role.DOCTOR, locations=[clinic.location, other_location])
    from .factories import hair, qualify

    qualify(hair(), elsewhere_doctor)
    client.force_login(elsewhere_doctor)
    client.post(new_url(clinic.patient, hair()), prescribe_data(clinic, location=other_location.pk))
    assert Course.objects.filter(location=other_location).count() == 1

    links = [f'href="{reverse("courses:detail", args=[course.pk])}"' for course in Course.objects.order_by("id")]
    client.force_login(clinic.receptionist)
    body = client.get(reverse("patients:detail", args=[clinic.patient.pk])).content.decode()
    assert [link in body for link in links] == [True, False]
    client.force_login(both)
    body = client.get(reverse("patients:detail", args=[clinic.patient.pk])).content.decode()
    assert [link in body for link in links] == [True, True]
