from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from mesoclinic.accounts.models import User
from mesoclinic.accounts.roles import Role
from mesoclinic.courses.models import Course, Qualification
from mesoclinic.patients.models import Patient
from mesoclinic.scheduling.models import Appointment

pytestmark = pytest.mark.django_db


def test_the_small_demo_qualifies_clinicians_books_courses_and_leaves_amelia_without_one():
    out = StringIO()
    call_command("seed_demo", "--scale", "small", stdout=out)

    clinicians = User.objects.filter(role__in=[Role.DOCTOR, Role.NURSE]).count()
    assert Qualification.objects.count() == clinicians * 10
    assert Course.objects.filter(status=Course.Status.ACTIVE).count() >= 2
    assert Course.objects.filter(status=Course.Status.PLANNED).exists()
    amelia = Patient.objects.get(record_number="MC0000001")
    assert not Course.objects.filter(patient=amelia).exists()
    for course in Course.objects.filter(status=Course.Status.ACTIVE):
        booked = Appointment.objects.filter(course_session__course=course)
        assert booked.count() == course.sessions_planned
        assert all(a.device_id is not None for a in booked)
    assert "courses booked" in out.getvalue()
