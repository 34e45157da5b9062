"""Staff see and touch only their own locations' patients; other locations' records answer 404."""

from __future__ import annotations

import pytest
from django.urls import reverse

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, form_data

pytestmark = pytest.mark.django_db

# Every patient view that takes a patient id, with the request to make (test_audit_completeness
# checks that every view of the namespace has a case there; this table covers the id-taking ones).
BY_ID = [
    pytest.param("detail", "get", id="detail"),
    pytest.param("edit", "get", id="edit-form"),
    pytest.param("edit", "post", id="edit-save"),
]


@pytest.fixture
def theirs(other_location):
    return PatientFactory(location=other_location, given_name="Ana", family_name="Silva", email="ana@example.com")


def request(client, name: str, method: str, patient):
    url = reverse(f"patients:{name}", args=[patient.pk])
    return client.post(url, form_data(family_name="Changed")) if method == "post" else client.get(url)


@pytest.mark.parametrize(("name", "method"), BY_ID)
def test_another_locations_patient_answers_404_and_is_not_touched(client, receptionist, theirs, name, method):
    client.force_login(receptionist)
    response = request(client, name, method, theirs)
    assert response.status_code == 404
    assert "belongs to a location you do not work at" in response.content.decode()
    theirs.refresh_from_db()
    assert theirs.family_name == "Silva"
    assert not AuditEvent.objects.filter(patient_id=theirs.pk).exists()


@pytest.mark.parametrize(("name", "method"), BY_ID)
def test_the_same_request_works_for_a_patient_of_the_users_own_location(client, receptionist, location, name, method):
    client.force_login(receptionist)
    mine = PatientFactory(location=location)
    assert request(client, name, method, mine).status_code in (200, 302)


@pytest.mark.parametrize(("name", "method"), BY_ID)
def test_a_user_of_both_locations_may_open_either(client, location, other_location, theirs, name, method):
    both = UserFactory(role=Role.RECEPTIONIST, locations=[location, other_location])
    client.force_login(both)
    assert request(client, name, method, theirs).status_code in (200, 302)


@pytest.mark.parametrize(("name", "method"), BY_ID)
def test_a_user_with_no_location_gets_404(client, theirs, name, method):
    client.force_login(UserFactory(role=Role.RECEPTIONIST))
    assert request(client, name, method, theirs).status_code == 404


@pytest.mark.parametrize(
    ("name", "method"),
    [*BY_ID, pytest.param("list", "get", id="list"), pytest.param("new", "get", id="new-form"), pytest.param("new", "post", id="new-save")],
)
def test_the_admin_role_is_refused_every_patient_view(client, location, theirs, name, method):
    admin = UserFactory(role=Role.ADMIN, is_staff=True, locations=[location])
    client.force_login(admin)
    if name in ("list", "new"):
        url = reverse(f"patients:{name}")
        response = client.post(url, form_data(location)) if method == "post" else client.get(url)
    else:
        response = request(client, name, method, theirs)
    assert response.status_code == 403
    assert Patient.objects.count() == 1


@pytest.mark.parametrize("query", ["", "ana", "silva", "ana@example.com", "1990-01-01"])
def test_the_search_never_lists_another_locations_patient(client, receptionist, location, theirs, query):
    PatientFactory(location=location, given_name="Ana", family_name="Silvestre")
    client.force_login(receptionist)
    listed = client.get(reverse("patients:list"), {"q": query}).context["result"].patients
    assert theirs not in listed
    assert all(patient.location_id == location.pk for patient in listed)


def test_the_search_by_record_number_or_phone_never_finds_another_locations_patient(client, receptionist, theirs):
    client.force_login(receptionist)
    for query in (theirs.record_number, theirs.phone):
        assert client.get(reverse("patients:list"), {"q": query}).context["result"].patients == []


def test_a_user_with_no_location_sees_no_patients_and_cannot_register_any(client, location, theirs):
    PatientFactory(location=location)
    client.force_login(UserFactory(role=Role.RECEPTIONIST))
    assert client.get(reverse("patients:list")).context["result"].patients == []
    response = client.post(reverse("patients:new"), form_data(location))
    assert response.status_code == 400
    assert "Select a valid choice" in response.content.decode()
    assert Patient.objects.count() == 2


def test_registering_at_another_location_is_refused(client, receptionist, other_location):
    client.force_login(receptionist)
    response = client.post(reverse("patients:new"), form_data(other_location))
    assert response.status_code == 400
    assert "Select a valid choice. That choice is not one of the available choices." in response.content.decode()
    assert not Patient.objects.exists()


def test_a_duplicate_at_another_location_is_not_revealed(client, receptionist, location, theirs):
    client.force_login(receptionist)
    response = client.post(
        reverse("patients:new"), form_data(location, given_name="Ana", family_name="Silva", date_of_birth=theirs.date_of_birth.isoformat())
    )
    assert response.status_code == 302  # no 409 naming the other location's patient
    assert theirs.record_number not in client.get(response["Location"]).content.decode()
    assert not AuditEvent.objects.filter(patient_id=theirs.pk).exists()
