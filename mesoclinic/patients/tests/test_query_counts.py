"""Query-count guards: the patient list, the search and the patient page cost the same whatever the data."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def queries(client, url: str, **headers: str) -> int:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url, headers=headers)
    assert response.status_code == 200
    return len(captured)


def add_patients(location, count: int) -> None:
    patients = PatientFactory.build_batch(count, location=location, given_name="Amelia")
    for patient in patients:
        patient.refresh_search_keys()
    Patient.objects.bulk_create(patients)


def add_audit_rows(user, patient, count: int) -> None:
    ctx = audit.AuditContext(actor=user)
    for _ in range(count):
        audit.record(ctx, action=AuditEvent.Action.VIEW, object_type="patient", object_id=patient.pk, patient_id=patient.pk)


@pytest.mark.parametrize(
    ("url", "headers"),
    [
        pytest.param("/patients/", {}, id="list"),
        pytest.param("/patients/?q=hart", {}, id="search-by-name"),
        pytest.param("/patients/?q=amelia+h", {}, id="search-by-full-name"),
        pytest.param("/patients/?q=1990-01-01", {}, id="search-by-birth-date"),
        pytest.param("/patients/?q=07700+900", {}, id="search-by-local-phone-number"),
        pytest.param("/patients/?q=amelia%40example.com", {}, id="search-by-email"),
        pytest.param("/patients/?q=hart&page=2", {}, id="second-page"),
        pytest.param("/patients/?q=hart", {"HX-Request": "true"}, id="htmx-search"),
    ],
)
def test_the_list_and_search_cost_the_same_for_5_and_60_patients(client, receptionist, location, other_location, url, headers):
    client.force_login(receptionist)
    add_patients(location, 5)
    queries(client, url, **headers)  # warm the session
    few = queries(client, url, **headers)
    add_patients(location, 55)
    add_patients(other_location, 10)
    many = queries(client, url, **headers)
    assert few == many
    assert many <= 6  # session, user, memberships, the page of patients, the audit row


@pytest.mark.parametrize("name", ["detail", "edit"])
@pytest.mark.parametrize("role", ["receptionist", "manager"])
def test_the_patient_page_costs_the_same_with_3_or_60_audit_rows(client, request, location, role, name):
    user = request.getfixturevalue(role)
    client.force_login(user)
    add_patients(location, 5)
    patient = PatientFactory(location=location)
    url = reverse(f"patients:{name}", args=[patient.pk])
    queries(client, url)
    few = queries(client, url)
    add_audit_rows(user, patient, 60)
    add_patients(location, 55)
    many = queries(client, url)
    assert few == many  # panels that other apps add must keep this true


def test_a_manager_sees_at_most_twenty_rows_of_the_access_log(client, manager, location):
    patient = PatientFactory(location=location)
    add_audit_rows(manager, patient, 30)
    client.force_login(manager)
    response = client.get(reverse("patients:detail", args=[patient.pk]))
    assert len(response.context["access_log"]) == 20
