"""A doctor stops a course from the page they loaded: if its sessions were booked or moved since, the
stop is refused (409, nothing cancelled) and says what changed, keeping the reason to confirm."""

from __future__ import annotations

from datetime import date

import pytest
from django.urls import reverse

from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.tests.browser_form import posted_form
from mesoclinic.core.tests.races import kinds, race
from mesoclinic.courses import services
from mesoclinic.courses.models import Course
from mesoclinic.courses.planner import plan_course
from mesoclinic.scheduling.models import Appointment

from .factories import prescribe_hair

pytestmark = pytest.mark.django_db
STOP = {"reason": "Patient moved abroad."}


def load(client, course):
    response = client.get(reverse("courses:detail", args=[course.pk]))
    assert response.status_code == 200
    return posted_form(response.content, action=reverse("courses:stop", args=[course.pk]))


def book(clinic, course):
    services.book_course(ctx=clinic.ctx, course=course, proposals=plan_course(course=course, start_on=date(2026, 3, 3)))


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}], ids=["page", "htmx"])
def test_a_stop_decided_before_the_sessions_were_booked_is_refused_and_cancels_nothing(client, clinic, headers):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    client.force_login(clinic.doctor)
    loaded = load(client, course)
    book(clinic, course)  # the receptionist books the sessions meanwhile

    response = client.post(reverse("courses:stop", args=[course.pk]), {**loaded, **STOP}, headers=headers)

    assert response.status_code == 409
    assert "Status: you loaded “Prescribed, not booked yet”, it is now “Active”" in response.content.decode()
    course.refresh_from_db()
    assert course.status == Course.Status.ACTIVE
    assert set(Appointment.objects.filter(patient=clinic.patient).values_list("status", flat=True)) == {"booked"}
    again = posted_form(response.content, action=reverse("courses:stop", args=[course.pk]))
    assert (again["reason"], again["version"]) == (STOP["reason"], str(course.version))
    assert client.post(reverse("courses:stop", args=[course.pk]), again).status_code == 302


def test_a_stop_from_a_fresh_page_stops_the_course(client, clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    book(clinic, course)
    client.force_login(clinic.doctor)
    response = client.post(reverse("courses:stop", args=[course.pk]), {**load(client, course), **STOP})
    assert response.status_code == 302
    assert Course.objects.get(pk=course.pk).status == Course.Status.STOPPED


def test_booking_and_stopping_move_the_version_on_and_the_service_refuses_a_stale_one(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)
    book(clinic, course)
    assert Course.objects.get(pk=course.pk).version == 2
    with pytest.raises(StaleEdit):
        services.stop_course(ctx=audit.AuditContext(actor=clinic.doctor), course=course, reason="x", expected_version=1)
    stopped = services.stop_course(ctx=audit.AuditContext(actor=clinic.doctor), course=course, reason="x", expected_version=2)
    assert (stopped.status, stopped.version) == (Course.Status.STOPPED, 3)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_doctors_stopping_one_course_at_once_give_exactly_one_stop(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4)

    def stop():
        return services.stop_course(ctx=audit.AuditContext(actor=clinic.doctor), course=course, reason="x", expected_version=1)

    outcomes = race([stop, stop])

    assert sorted(kinds(outcomes)) == ["Course", "CourseRefused"]
    assert Course.objects.get(pk=course.pk).version == 2
