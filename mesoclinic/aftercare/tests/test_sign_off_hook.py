"""Signing a session through the procedures app issues its aftercare in the same transaction."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.aftercare.models import AftercareHandout, CheckIn
from mesoclinic.messaging.models import OutboundMessage
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.procedures.hooks import registered_sign_off_hooks

from .factories import charted_and_signed, lot_of

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


def test_the_aftercare_hook_is_registered():
    assert "aftercare" in dict(registered_sign_off_hooks())


def test_sign_procedure_issues_the_handout_the_check_in_and_both_messages(location, time_machine):
    # Mid-day: the factory's appointment began 45 minutes ago, which just after midnight is yesterday,
    # and a session is checked in on its own day only.
    time_machine.move_to(datetime.combine(datetime.now(UTC).date(), time(11, 0), tzinfo=UTC), tick=True)
    nurse = UserFactory(role=Role.NURSE, locations=[location])
    doctor = UserFactory(role=Role.DOCTOR, locations=[location])
    patient = PatientFactory(location=location)
    lots = [lot_of(location, "hair_cocktail"), lot_of(location, "hair_loss_medicine_solution")]
    record = charted_and_signed(location, patient=patient, nurse=nurse, doctor=doctor, lots=lots)
    handout = AftercareHandout.objects.get(record=record)
    assert handout.ended_at == record.signed_at
    assert [item.rule_key for item in handout.aftercare.instructions] == ["scalp_aftercare"]
    assert CheckIn.objects.get(handout=handout).due_at == handout.aftercare.checkin_at
    assert sorted(OutboundMessage.objects.values_list("kind", flat=True)) == ["aftercare-checkin", "aftercare-handout"]
