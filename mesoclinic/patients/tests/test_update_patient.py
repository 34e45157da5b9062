from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients import services
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def patient(location):
    return PatientFactory(location=location, given_name="Zoë", family_name="Ölçer", phone="+44 7700 900456", notes="")


def update(patient, actor, **data):
    return services.update_patient(ctx=audit.AuditContext(actor=actor), patient=patient, data=data)


def test_it_saves_the_change_and_refreshes_the_search_keys(patient, receptionist):
    updated = update(patient, receptionist, family_name="Núñez", phone="020 7946 0001")
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.family_name, stored.family_key, stored.phone_key) == (
        "Núñez",
        "nunez",
        "442079460001",
    )  # stored as E.164: +44 20 7946 0001
    assert updated.family_name == "Núñez"


def test_the_audit_row_names_the_changed_fields_but_not_their_values(patient, receptionist):
    update(patient, receptionist, family_name="Núñez", notes="Allergic to lidocaine", given_name="Zoë")
    event = AuditEvent.objects.get()
    assert (event.action, event.object_type, event.object_id) == (AuditEvent.Action.UPDATE, "patient", str(patient.pk))
    assert (event.patient_id, event.location_id, event.actor) == (patient.pk, patient.location_id, receptionist)
    assert event.detail == {"fields": ["family_name", "notes"]}
    assert "Núñez" not in str(event.detail)
    assert "lidocaine" not in str(event.detail)


def test_an_edit_that_changes_nothing_writes_nothing(patient, receptionist):
    update(patient, receptionist, given_name="Zoë", family_name="Ölçer")
    assert not AuditEvent.objects.exists()


def test_invalid_data_saves_nothing_and_writes_no_audit_row(patient, receptionist):
    with pytest.raises(ValidationError) as error:
        update(patient, receptionist, family_name="Núñez", email="not-an-address")
    assert "email" in error.value.message_dict
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.family_name == "Ölçer"
    assert not AuditEvent.objects.exists()


def test_fields_outside_the_editable_list_are_ignored(patient, receptionist, other_location):
    update(patient, receptionist, record_number="MC0000999", location=other_location, family_key="hacked")
    stored = Patient.objects.get(pk=patient.pk)
    assert (stored.record_number, stored.location_id, stored.family_key) == (patient.record_number, patient.location_id, "olcer")
    assert not AuditEvent.objects.exists()
