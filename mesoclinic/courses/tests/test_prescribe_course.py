from __future__ import annotations

import pytest

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog.models import Concern, Technique
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.courses.models import Course, CourseSession
from mesoclinic.courses.services import CourseRefused, NotAllowed, NotEligible, prescribe_course

from .factories import PatientFactory, hair, override, prescribe_hair, screen

pytestmark = pytest.mark.django_db


def test_a_doctor_prescribes_a_course_for_a_screened_patient(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=6, interval=(28, 28), preferred=clinic.nurse)

    assert course.status == Course.Status.PLANNED
    assert course.protocol.key == "hair_cocktail"
    assert list(course.areas.values_list("key", flat=True)) == ["scalp"]
    assert course.catalog_version.number >= 1
    assert course.prescribed_by == clinic.doctor
    assert list(course.sessions.values_list("number", flat=True)) == [1, 2, 3, 4, 5, 6]
    assert not CourseSession.objects.filter(course=course, appointment__isnull=False).exists()
    event = AuditEvent.objects.get(object_type="course", action=AuditEvent.Action.CREATE)
    assert event.patient_id == clinic.patient.pk
    assert event.detail["eligibility"] == "eligible"


def test_it_refuses_an_unscreened_patient(clinic):
    patient = PatientFactory(location=clinic.location)

    with pytest.raises(NotEligible) as refused:
        prescribe_hair(clinic.doctor, patient)

    assert refused.value.eligibility.status == "unscreened"
    assert "has not been screened" in str(refused.value)
    assert not Course.objects.exists()


def test_it_refuses_a_not_eligible_patient(clinic):
    patient = PatientFactory(location=clinic.location)
    screen(clinic.doctor, patient, pregnancy=True)

    with pytest.raises(NotEligible) as refused:
        prescribe_hair(clinic.doctor, patient)

    assert refused.value.eligibility.status == "not_eligible"
    assert "Pregnancy" in str(refused.value)
    assert not Course.objects.exists()


def test_it_refuses_an_expired_screening(clinic, frozen):
    frozen.shift(200 * 86400)  # the default screening validity is 182 days

    with pytest.raises(NotEligible) as refused:
        prescribe_hair(clinic.doctor, clinic.patient)

    assert refused.value.eligibility.status == "expired"
    assert not Course.objects.exists()


def test_an_incomplete_screening_blocks_with_its_reason(clinic):
    patient = PatientFactory(location=clinic.location)
    screen(clinic.doctor, patient)
    from mesoclinic.screening.models import Screening

    screening = Screening.objects.filter(patient=patient).get()
    answers = dict(screening.answers_used)
    answers["diabetes"] = "unknown"
    Screening.objects.filter(pk=screening.pk).update(answers_used=answers)

    with pytest.raises(NotEligible) as refused:
        prescribe_hair(clinic.doctor, patient)

    assert refused.value.eligibility.status == "incomplete"
    assert "Diabetes" in str(refused.value)


def test_a_doctors_override_allows_a_not_eligible_patient(clinic):
    patient = PatientFactory(location=clinic.location)
    screening = screen(clinic.doctor, patient, diabetes=True)
    override(clinic.doctor, screening, hair(), ["scalp"])

    course = prescribe_hair(clinic.doctor, patient)

    event = AuditEvent.objects.get(object_type="course", action=AuditEvent.Action.CREATE)
    assert event.detail["eligibility"] == "not_eligible"
    assert event.detail["override_id"] is not None
    assert course.sessions.count() == 6


@pytest.mark.parametrize(
    ("sessions", "interval", "field"),
    [
        (3, (21, 28), "sessions"),
        (7, (21, 28), "sessions"),
        (6, (14, 28), "interval_min_days"),
        (6, (21, 35), "interval_max_days"),
        (6, (28, 21), "interval_max_days"),
    ],
)
def test_it_refuses_sessions_or_intervals_outside_the_protocols_range(clinic, sessions, interval, field):
    with pytest.raises(CourseRefused) as refused:
        prescribe_hair(clinic.doctor, clinic.patient, sessions=sessions, interval=interval)

    assert field in refused.value.errors
    assert not Course.objects.exists()


def test_a_narrowed_interval_inside_the_protocols_range_is_accepted(clinic):
    course = prescribe_hair(clinic.doctor, clinic.patient, sessions=4, interval=(24, 26))

    assert (course.interval_min_days, course.interval_max_days, course.sessions_planned) == (24, 26, 4)


def test_only_a_doctor_may_prescribe(clinic):
    with pytest.raises(NotAllowed):
        prescribe_hair(clinic.nurse, clinic.patient)
    with pytest.raises(NotAllowed):
        prescribe_hair(clinic.receptionist, clinic.patient)
    assert not Course.objects.exists()


def test_it_refuses_a_location_the_doctor_does_not_work_at(clinic, other_location):
    with pytest.raises(NotAllowed):
        prescribe_hair(clinic.doctor, clinic.patient, location=other_location)


def test_it_refuses_areas_techniques_concerns_and_practitioners_outside_the_protocol(clinic):
    unqualified = UserFactory(role=Role.NURSE, locations=[clinic.location])
    with pytest.raises(CourseRefused) as refused:
        prescribe_course(
            ctx=audit.AuditContext(actor=clinic.doctor),
            patient=clinic.patient,
            protocol=hair(),
            concern=Concern.objects.get(key="acne_scars"),
            area_keys=["face"],
            sessions=6,
            interval_min_days=21,
            interval_max_days=28,
            preferred_practitioner=unqualified,
            techniques=list(Technique.objects.filter(key="direct_point_by_point")),
        )

    assert set(refused.value.errors) == {"concern", "areas", "techniques", "preferred_practitioner"}
    assert not Course.objects.exists()
