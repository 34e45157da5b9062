"""Registrations and edits sent at the same moment, over real concurrent PostgreSQL connections
(one per thread): the duplicate warning and the stale-edit check hold under concurrency."""

from __future__ import annotations

import pytest

from mesoclinic.core import audit
from mesoclinic.core.tests.races import kinds, race
from mesoclinic.patients import services
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory, patient_data

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]
CLIENTS = 10


def registration(location, receptionist, **data):
    def call():
        return services.register_patient(
            ctx=audit.AuditContext(actor=receptionist), location=location, data=patient_data(**data), scope=frozenset({location.pk})
        )

    return call


def test_ten_identical_registrations_at_once_register_one_patient_and_warn_the_other_nine(location, receptionist):
    outcomes = race([registration(location, receptionist) for _ in range(CLIENTS)])

    assert kinds(outcomes) == {"Patient": 1, "LikelyDuplicate": CLIENTS - 1}
    assert Patient.objects.count() == 1


def test_registrations_alike_only_by_phone_and_birth_date_also_take_turns(location, receptionist):
    calls = [registration(location, receptionist, given_name=f"Zoe{n}", family_name=f"Name{n}", email="") for n in range(CLIENTS)]

    outcomes = race(calls)

    assert kinds(outcomes) == {"Patient": 1, "LikelyDuplicate": CLIENTS - 1}


def test_after_the_race_a_user_who_confirms_a_different_person_still_registers(location, receptionist):
    race([registration(location, receptionist) for _ in range(2)])

    services.register_patient(
        ctx=audit.AuditContext(actor=receptionist),
        location=location,
        data=patient_data(),
        scope=frozenset({location.pk}),
        confirm_not_duplicate=True,
    )

    assert Patient.objects.count() == 2


def test_two_receptionists_saving_one_patient_from_the_same_version_at_once_give_exactly_one_save(location, receptionist):
    patient = PatientFactory(location=location, address="1 Old Street", email="zoe@example.com")

    def edit(**data):
        def call():
            return services.update_patient(ctx=audit.AuditContext(actor=receptionist), patient=patient, data=data, expected_version=1)

        return call

    outcomes = race([edit(address="2 New Road"), edit(email="zoe.new@example.com")])

    assert kinds(outcomes) == {"Patient": 1, "StaleEdit": 1}
    stored = Patient.objects.get(pk=patient.pk)
    assert stored.version == 2
    assert (stored.address == "2 New Road") != (stored.email == "zoe.new@example.com")
