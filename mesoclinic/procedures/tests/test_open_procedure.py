"""Opening the chart from an appointment: one record per appointment, the catalog pinned."""

from __future__ import annotations

from datetime import date

import pytest
from django.db import IntegrityError, transaction

from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog.selectors import current_version
from mesoclinic.core.models import AuditEvent
from mesoclinic.procedures import services
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.scheduling.models import Appointment

from .factories import book_hair_course, ctx_of

pytestmark = pytest.mark.django_db


def test_opening_a_booked_appointment_checks_the_patient_in_and_starts_the_session(clinic):
    appointment = clinic.appointment(status=Appointment.Status.BOOKED)

    record = services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointment)

    appointment.refresh_from_db()
    assert appointment.status == Appointment.Status.IN_PROGRESS
    assert appointment.checked_in_at is not None
    assert (record.patient, record.location, record.practitioner) == (clinic.patient, clinic.location, clinic.nurse)
    assert record.protocol.key == "hair_cocktail"
    assert record.catalog_version == current_version()
    assert record.numbing_minutes == 30
    assert record.area_keys == ["scalp"]
    assert record.status == ProcedureRecord.Status.OPEN
    event = AuditEvent.objects.get(object_type="procedure-record", action=AuditEvent.Action.CREATE)
    assert (event.patient_id, event.location_id, event.detail["appointment"]) == (clinic.patient.pk, clinic.location.pk, appointment.pk)


def test_opening_twice_gives_the_same_record(clinic):
    appointment = clinic.appointment()
    first = services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointment)
    again = services.open_procedure(ctx=clinic.doctor_ctx, appointment=appointment)
    assert first.pk == again.pk
    assert ProcedureRecord.objects.count() == 1


def test_the_database_allows_one_record_per_appointment(clinic):
    record = clinic.record()
    duplicate = ProcedureRecord(
        appointment=record.appointment,
        patient=record.patient,
        location=record.location,
        practitioner=record.practitioner,
        protocol=record.protocol,
        catalog_version=record.catalog_version,
        numbing_minutes=30,
        opened_by=clinic.nurse,
        started_at=record.started_at,
    )
    with pytest.raises(IntegrityError, match=r"procedures_procedurerecord_appointment_unique|UNIQUE"), transaction.atomic():
        duplicate.save()


def test_a_course_session_gives_the_protocol_areas_and_the_link(clinic):
    course, appointments = book_hair_course(clinic, start_on=date(2026, 3, 10))
    record = services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointments[0])
    assert record.course_session.course == course
    assert record.course_session.number == 1
    assert record.area_keys == ["scalp"]


def test_it_refuses_a_consultation(clinic):
    appointment = clinic.appointment(kind=Appointment.Kind.CONSULTATION)
    with pytest.raises(services.ChartRefused, match="consultation"):
        services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointment)


def test_it_refuses_an_appointment_without_a_protocol(clinic):
    appointment = clinic.appointment(protocol_key="")
    with pytest.raises(services.ChartRefused, match="names no protocol"):
        services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointment)
    assert not ProcedureRecord.objects.exists()


def test_it_refuses_a_cancelled_appointment(clinic):
    appointment = clinic.appointment(status=Appointment.Status.COMPLETED)
    with pytest.raises(services.StepOutOfOrder, match="completed"):
        services.open_procedure(ctx=clinic.nurse_ctx, appointment=appointment)


def test_a_receptionist_cannot_open_a_chart(clinic):
    with pytest.raises(services.NotAllowed):
        services.open_procedure(ctx=ctx_of(clinic.receptionist), appointment=clinic.appointment())


def test_a_nurse_of_another_location_cannot_open_the_chart(clinic, other_location):
    stranger = UserFactory(role="nurse", locations=[other_location])
    with pytest.raises(services.NotAllowed, match="location"):
        services.open_procedure(ctx=ctx_of(stranger), appointment=clinic.appointment())
