"""What a registration costs in queries (decision 27): the duplicate check under the lock adds one
statement on PostgreSQL (the advisory lock) and none on SQLite."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.core import audit
from mesoclinic.patients import services
from mesoclinic.patients.tests.factories import patient_data

pytestmark = pytest.mark.django_db


def register(location, receptionist, **data):
    return services.register_patient(
        ctx=audit.AuditContext(actor=receptionist), location=location, data=patient_data(**data), scope=frozenset({location.pk})
    )


def test_a_registration_and_a_duplicate_warning_cost_a_fixed_number_of_queries(location, receptionist):
    register(location, receptionist, family_name="Warm", email="warm@example.com", phone="")  # the number sequence exists
    lock = 1 if connection.vendor == "postgresql" else 0

    with CaptureQueriesContext(connection) as registering:
        register(location, receptionist)
    with CaptureQueriesContext(connection) as warning, pytest.raises(services.LikelyDuplicate):
        register(location, receptionist)

    assert (len(registering), len(warning)) == (15 + lock, 4 + lock)
