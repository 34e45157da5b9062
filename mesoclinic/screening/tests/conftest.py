from __future__ import annotations

import pytest

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog.tests.factories import default_catalog
from mesoclinic.patients.tests.factories import PatientFactory


@pytest.fixture
def catalog(db):
    return default_catalog()


@pytest.fixture
def nurse(location):
    return UserFactory(role=Role.NURSE, locations=[location])


@pytest.fixture
def medical_director(location):
    return UserFactory(role=Role.MEDICAL_DIRECTOR, locations=[location])


@pytest.fixture
def patient(location):
    return PatientFactory(location=location, given_name="Amelia", family_name="Hart")
