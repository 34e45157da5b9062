from __future__ import annotations

import datetime

import pytest

from mesoclinic.core import audit
from mesoclinic.patients import selectors
from mesoclinic.patients.tests.factories import PatientFactory

pytestmark = pytest.mark.django_db


def search(location, query: str) -> list[str]:
    page = selectors.search_patients(ctx=audit.SYSTEM, scope=frozenset({location.pk}), query=query)
    return [p.full_name for p in page.patients]


def test_it_finds_a_patient_by_the_start_of_a_name_without_accents(location):
    PatientFactory(location=location, given_name="Zoë", family_name="Ölçer")
    PatientFactory(location=location, given_name="Zack", family_name="Olsen")
    assert search(location, "zoe ol") == ["Zoë Ölçer"]
    assert search(location, "OLÇ") == ["Zoë Ölçer"]
    assert search(location, "ölçer zo") == ["Zoë Ölçer"]


def test_it_finds_a_patient_by_date_of_birth_in_either_format(location):
    PatientFactory(location=location, given_name="Ana", family_name="Silva", date_of_birth=datetime.date(1985, 3, 14))
    assert search(location, "14/03/1985") == ["Ana Silva"]
    assert search(location, "1985-03-14") == ["Ana Silva"]


def test_it_finds_a_patient_by_phone_prefix_and_record_number(location):
    patient = PatientFactory(location=location, given_name="Ana", family_name="Silva", phone="+44 7700 123456")
    assert search(location, "447700 12") == ["Ana Silva"]
    assert search(location, patient.record_number.lower()) == ["Ana Silva"]


def test_it_never_returns_another_locations_patient(location, other_location):
    PatientFactory(location=other_location, given_name="Ana", family_name="Silva")
    assert search(location, "silva") == []
