"""Overrides: a doctor only, a written reason, audited; they cover what was overridden and nothing new."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied

from mesoclinic.catalog.models import Protocol
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.screening import services
from mesoclinic.screening.models import Override
from mesoclinic.screening.selectors import eligibility

from .factories import ctx, rescreen, screen

pytestmark = pytest.mark.django_db
REASON = "Discussed with the obstetrician; topical only, benefit outweighs risk."


def _hair():
    return Protocol.objects.get(key="hair_cocktail")


def test_a_doctor_overrides_with_a_reason_and_it_is_audited(catalog, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    override = services.override_verdict(
        ctx=ctx(doctor), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=f"  {REASON}  "
    )
    assert override.reason == REASON and override.rule_keys == ["pregnancy"] and override.overridden_by == doctor
    result = services.ensure_eligible(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "not_eligible" and result.override == override and result.allows_booking
    assert result.label == "Not eligible (overridden by a doctor)"
    event = AuditEvent.objects.get(action="override")
    assert event.object_type == "screening-verdict" and event.patient_id == patient.pk and event.actor == doctor
    assert event.detail == {"screening": screening.pk, "protocol": "hair_cocktail", "areas": ["scalp"], "rules": ["pregnancy"]}
    assert REASON not in str(event.detail)


@pytest.mark.parametrize("role", ["nurse", "medical_director", "receptionist", "manager"])
def test_only_a_doctor_may_override(catalog, doctor, patient, location, role):
    from mesoclinic.accounts.tests.factories import UserFactory

    screening = screen(doctor, patient, pregnancy="yes")
    user = UserFactory(role=role, locations=[location])
    with pytest.raises(services.NotAllowed) as refused:
        services.override_verdict(ctx=ctx(user), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=REASON)
    assert isinstance(refused.value, PermissionDenied)
    with pytest.raises(services.NotAllowed):
        services.override_verdict(ctx=audit.SYSTEM, screening=screening, protocol=_hair(), area_keys=["scalp"], reason=REASON)
    assert not Override.objects.exists() and not AuditEvent.objects.filter(action="override").exists()


@pytest.mark.parametrize("reason", ["", "   ", "ok", "x" * 2001])
def test_an_override_needs_a_written_reason(catalog, doctor, patient, reason):
    screening = screen(doctor, patient, pregnancy="yes")
    with pytest.raises(services.OverrideRefused, match="reason"):
        services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=reason)
    assert not Override.objects.exists()


@pytest.mark.parametrize(
    ("answers", "label"), [({}, "Eligible"), ({"anticoagulants": "yes"}, "Caution"), ({"diabetes": "unknown"}, "Incomplete")]
)
def test_only_a_not_eligible_verdict_can_be_overridden(catalog, doctor, patient, answers, label):
    screening = screen(doctor, patient, **answers)
    with pytest.raises(services.OverrideRefused, match=label):
        services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=REASON)


def test_a_superseded_screening_cannot_be_overridden(catalog, doctor, patient):
    old = screen(doctor, patient, pregnancy="yes")
    screen(doctor, patient, pregnancy="yes")
    with pytest.raises(services.OverrideRefused, match="newer screening"):
        services.override_verdict(ctx=ctx(doctor), screening=old, protocol=_hair(), area_keys=["scalp"], reason=REASON)


def test_a_verdict_is_overridden_once(catalog, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=REASON)
    with pytest.raises(services.OverrideRefused, match="already overridden"):
        services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=REASON)


def test_an_override_covers_only_its_protocol_and_areas(catalog, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    face = Protocol.objects.get(key="rejuvenation")
    services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=face, area_keys=["face"], reason=REASON)
    assert eligibility(patient=patient, protocol=face, area_keys=["face"]).allows_booking
    assert not eligibility(patient=patient, protocol=face, area_keys=["face", "forehead"]).allows_booking
    assert not eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).allows_booking
    services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=face, area_keys=["forehead"], reason=REASON)
    assert eligibility(patient=patient, protocol=face, area_keys=["face", "forehead"]).allows_booking


def test_an_override_carries_over_a_rescreen_until_a_new_absolute_reason_appears(catalog, doctor, nurse, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=REASON)
    rescreen(nurse, patient, ["scalp"], pregnancy="yes")
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).allows_booking
    rescreen(nurse, patient, ["scalp"], pregnancy="yes", infection_scalp="yes")
    result = eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "not_eligible" and result.override is None and not result.allows_booking


def test_a_new_full_screening_needs_a_new_override(catalog, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    services.override_verdict(ctx=ctx(doctor), screening=screening, protocol=_hair(), area_keys=["scalp"], reason=REASON)
    screen(doctor, patient, pregnancy="yes")
    assert not eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).allows_booking
