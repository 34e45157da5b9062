from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from mesoclinic.accounts.demo import NAMED
from mesoclinic.accounts.models import User
from mesoclinic.core.models import AuditEvent, Device, Location, Organisation, Room
from mesoclinic.patients.models import Patient

pytestmark = pytest.mark.django_db


def seed(*args: str) -> str:
    out = StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


def test_the_small_demo_loads_the_demo_patient_and_the_named_sign_ins(settings):
    output = seed("--scale", "small")

    assert "Demo data (small) loaded" in output
    assert Location.objects.count() == 2
    assert Room.objects.exists()
    assert Device.objects.filter(in_service=False).count() == 2
    demo = Patient.objects.get(given_name="Amelia", family_name="Hart", record_number="MC0000001")
    assert demo.location.name == "London Harley Street"
    assert demo.family_key == "hart"  # findable by search
    assert Patient.objects.count() == 201
    assert set(Patient.objects.values_list("location__name", flat=True)) == {"London Harley Street", "Madrid Salamanca"}
    for username, _first, _last, role in NAMED:
        user = User.objects.get(username=username)
        assert user.role == role
        assert user.check_password(settings.MESOCLINIC_DEMO_PASSWORD)
    assert User.objects.get(username="reception").location_ids == frozenset({demo.location_id})
    assert User.objects.get(username="admin").location_ids == frozenset()
    assert AuditEvent.objects.filter(object_type="patient-batch", action=AuditEvent.Action.CREATE).count() == 1


def test_running_it_again_with_if_empty_changes_nothing():
    seed("--scale", "small")
    counts = (Organisation.objects.count(), User.objects.count(), Patient.objects.count(), AuditEvent.objects.count())

    output = seed("--scale", "small", "--if-empty")

    assert "already loaded; nothing to do" in output
    assert (Organisation.objects.count(), User.objects.count(), Patient.objects.count(), AuditEvent.objects.count()) == counts


def test_running_it_again_without_if_empty_is_refused_with_a_clear_error():
    seed("--scale", "small")
    with pytest.raises(CommandError, match="already has an organisation"):
        seed("--scale", "small")
    assert Organisation.objects.count() == 1


def test_it_refuses_an_unknown_scale():
    with pytest.raises(CommandError, match="invalid choice"):
        seed("--scale", "huge")
    assert not Organisation.objects.exists()
