"""The patient page's aftercare and adverse-event panels: shown to clinical staff, constant queries."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.safety.tests.factories import record_event

from .factories import issued, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


def add_sessions(location, patient, count: int) -> None:
    start = timezone.now().replace(microsecond=0) - timedelta(hours=8)
    already = patient.procedure_records.count()
    for n in range(already, already + count):  # a week apart: a patient's appointments never overlap
        session = signed_session(location, patient=patient, signed_at=start - timedelta(days=7 * n))
        issued(session)
        record_event(session)


def test_the_panels_show_handouts_and_events_and_cost_the_same_for_1_and_6_sessions(client, location):
    patient = PatientFactory(location=location)
    client.force_login(UserFactory(role=Role.DOCTOR, locations=[location]))

    def count() -> tuple[int, str]:
        with CaptureQueriesContext(connection) as captured:
            response = client.get(f"/patients/{patient.pk}/")
        assert response.status_code == 200
        return len(captured), response.content.decode()

    add_sessions(location, patient, 1)
    few, body = count()
    assert "Aftercare and check-ins" in body and "Adverse events" in body and "Persistent redness" in body
    add_sessions(location, patient, 5)
    many, _ = count()
    assert many == few


def test_a_receptionist_sees_neither_panel(client, location):
    patient = PatientFactory(location=location)
    add_sessions(location, patient, 1)
    client.force_login(UserFactory(role=Role.RECEPTIONIST, locations=[location]))
    body = client.get(f"/patients/{patient.pk}/").content.decode()
    assert "Aftercare and check-ins" not in body and "Persistent redness" not in body
