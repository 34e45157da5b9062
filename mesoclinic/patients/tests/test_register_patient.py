from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients import services
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, patient_data

pytestmark = pytest.mark.django_db


def register(location, receptionist, confirm: bool = False, **overrides):
    return services.register_patient(
        ctx=audit.AuditContext(actor=receptionist, ip_address="192.0.2.5", path="/patients/new/"),
        location=location,
        data=patient_data(**overrides),
        scope=receptionist.location_ids,
        confirm_not_duplicate=confirm,
    )


def test_it_assigns_the_next_record_number_and_the_search_keys(location, receptionist):
    first = register(location, receptionist)
    second = register(location, receptionist, given_name="Ana", family_name="Núñez", email="ana@example.com", phone="")
    assert (first.record_number, second.record_number) == ("MC0000001", "MC0000002")
    assert (first.family_key, first.given_key, first.phone_key) == ("olcer", "zoe", "447700900456")
    stored = Patient.objects.get(pk=first.pk)
    assert (stored.location, stored.date_of_birth, stored.fitzpatrick) == (location, datetime.date(1988, 6, 2), "III")


def test_it_writes_one_create_row_in_the_audit_trail(location, receptionist):
    patient = register(location, receptionist)
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (AuditEvent.Action.CREATE, "patient", str(patient.pk))
    assert (event.patient_id, event.location_id, event.actor) == (patient.pk, location.pk, receptionist)
    assert (event.actor_label, event.ip_address, event.path) == (receptionist.username, "192.0.2.5", "/patients/new/")
    assert event.detail == {"duplicate_warning_overridden": False}


@pytest.mark.parametrize(
    "same",
    [
        pytest.param({"given_name": "ZOE", "family_name": "olcer", "phone": "", "email": ""}, id="same-name-and-birth-date"),
        pytest.param(
            {"given_name": "Z", "family_name": "Other", "phone": "+44 (7700) 900-456", "email": ""}, id="same-phone-and-birth-date"
        ),
        pytest.param({"given_name": "Z", "family_name": "Other", "phone": "", "email": "ZOE@example.com"}, id="same-email-and-birth-date"),
    ],
)
def test_it_warns_of_a_likely_duplicate_and_registers_nothing(location, receptionist, same):
    existing = register(location, receptionist)
    before = AuditEvent.objects.count()

    with pytest.raises(services.LikelyDuplicate) as warning:
        register(location, receptionist, **same)

    assert warning.value.candidates == [existing]
    assert Patient.objects.count() == 1
    shown = AuditEvent.objects.order_by("id")[before:]
    assert [(e.action, e.patient_id, e.detail) for e in shown] == [(AuditEvent.Action.VIEW, existing.pk, {"screen": "duplicate-warning"})]
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.CREATE, patient_id__gt=existing.pk).exists()


def test_a_different_birth_date_is_not_a_duplicate(location, receptionist):
    register(location, receptionist)
    other = register(location, receptionist, date_of_birth=datetime.date(1988, 6, 3))
    assert other.record_number == "MC0000002"


def test_a_patient_of_a_location_the_user_cannot_see_is_not_offered_as_a_duplicate(location, other_location, receptionist):
    PatientFactory(location=other_location, given_name="Zoë", family_name="Ölçer", date_of_birth=datetime.date(1988, 6, 2))
    assert register(location, receptionist).location == location


def test_confirming_registers_the_patient_anyway_and_the_audit_row_says_so(location, receptionist):
    existing = register(location, receptionist)
    twin = register(location, receptionist, confirm=True)
    assert twin.pk != existing.pk
    assert twin.record_number == "MC0000002"
    event = AuditEvent.objects.get(action=AuditEvent.Action.CREATE, patient_id=twin.pk)
    assert event.detail == {"duplicate_warning_overridden": True}


def test_invalid_data_saves_nothing_and_takes_no_number(location, receptionist):
    with pytest.raises(ValidationError) as error:
        register(location, receptionist, given_name="", phone="")
    assert "given_name" in error.value.message_dict
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.exists()
    assert register(location, receptionist).record_number == "MC0000001"


def test_it_refuses_a_location_outside_the_callers_scope(location, other_location, receptionist):
    with pytest.raises(PermissionDenied):
        register(other_location, receptionist)
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.exists()
