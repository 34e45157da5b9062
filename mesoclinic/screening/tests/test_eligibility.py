"""`eligibility()` and `ensure_eligible()`: what booking and prescribing ask, with version pinning and expiry."""

from __future__ import annotations

from decimal import Decimal

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext

from mesoclinic.catalog import approvals
from mesoclinic.catalog import services as catalog_services
from mesoclinic.catalog.models import Area, ContraindicationRule, Protocol, Question
from mesoclinic.screening import services
from mesoclinic.screening.selectors import eligibility

from .factories import ctx, rescreen, screen

pytestmark = pytest.mark.django_db


def _hair():
    return Protocol.objects.get(key="hair_cocktail")


def test_an_unscreened_patient_may_not_be_booked(catalog, patient):
    result = eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "unscreened" and not result.allows_booking
    with pytest.raises(services.NotEligible) as refused:
        services.ensure_eligible(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert refused.value.eligibility.status == "unscreened"
    assert "has not been screened" in str(refused.value)


def test_an_eligible_patient_may_be_booked(catalog, doctor, patient):
    screen(doctor, patient)
    result = services.ensure_eligible(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "eligible" and result.allows_booking and result.reasons == ()


def test_caution_allows_booking_and_carries_its_reasons(catalog, doctor, patient):
    screen(doctor, patient, anticoagulants="yes")
    result = services.ensure_eligible(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "caution" and [r.rule_key for r in result.reasons] == ["anticoagulant_medicine"]


def test_not_eligible_refuses_booking_with_every_reason(catalog, doctor, patient):
    screen(doctor, patient, pregnancy="yes", epilepsy="yes")
    with pytest.raises(services.NotEligible) as refused:
        services.ensure_eligible(patient=patient, protocol=_hair(), area_keys=["scalp"])
    result = refused.value.eligibility
    assert result.status == "not_eligible" and not result.allows_booking
    assert {r.rule_key for r in result.reasons} == {"pregnancy", "epilepsy"}
    assert str(refused.value) == "Not eligible — Epilepsy, Pregnancy."


def test_an_unsure_answer_to_an_absolute_rule_is_incomplete_and_refuses_booking(catalog, doctor, patient):
    screen(doctor, patient, diabetes="unknown")
    result = eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "incomplete" and not result.allows_booking


def test_infection_at_one_site_blocks_only_that_site(catalog, doctor, patient):
    screen(doctor, patient, infection_scalp="yes")
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).status == "not_eligible"
    face = Protocol.objects.get(key="rejuvenation")
    assert eligibility(patient=patient, protocol=face, area_keys=["face", "periorbital"]).status == "eligible"


def test_a_screening_expires(catalog, doctor, patient):
    with time_machine.travel("2026-01-05 09:00Z", tick=False):
        screening = screen(doctor, patient)
    with time_machine.travel("2026-07-05 09:00Z", tick=False):
        assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).status == "eligible"
    day = screening.expires_on
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"], on=day).status == "expired"
    with time_machine.travel(f"{day.isoformat()} 09:00Z", tick=False), pytest.raises(services.NotEligible) as refused:
        services.ensure_eligible(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert refused.value.eligibility.status == "expired" and "expired" in str(refused.value)


def test_editing_the_catalog_does_not_change_an_old_verdict(catalog, doctor, patient, medical_director):
    screening = screen(doctor, patient, diabetes="yes")
    stored = list(screening.verdicts.values_list("protocol__key", "area__key", "status", "reasons"))
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).status == "not_eligible"
    director = ctx(medical_director)
    diabetes = ContraindicationRule.objects.get(key="diabetes")
    held = catalog_services.save_item(ctx=director, model=ContraindicationRule, pk=diabetes.pk, fields={"severity": "relative"})
    approvals.approve_proposal(ctx=ctx(doctor), proposal=held.proposal)  # weakening a rule takes a second person
    question = Question.objects.get(key="epilepsy")
    catalog_services.save_item(
        ctx=director,
        model=ContraindicationRule,
        pk=None,
        fields={
            "key": "everyone",
            "condition": "Everyone",
            "severity": "absolute",
            "question": question,
            "description": "A new rule for all.",
        },
    )
    hair = _hair()
    catalog_services.save_protocol(
        ctx=director,
        pk=hair.pk,
        fields={},
        related={"concerns": list(hair.concerns.all()), "techniques": list(hair.techniques.all()), "products": list(hair.products.all())},
        areas=[catalog_services.AreaGuidance(area=Area.objects.get(key="scalp"), depth_min_mm=Decimal("0.6"), depth_max_mm=Decimal("1.2"))],
        ingredients=[],
    )
    screening.refresh_from_db()
    assert list(screening.verdicts.values_list("protocol__key", "area__key", "status", "reasons")) == stored
    assert screening.catalog_version.number == 1
    result = eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "not_eligible" and [r.severity for r in result.reasons] == ["absolute"]
    newer = screen(doctor, patient, diabetes="yes")
    assert newer.catalog_version.number == 4
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).status == "caution"


def test_an_area_the_screening_version_did_not_know_is_incomplete(catalog, doctor, patient, medical_director):
    screen(doctor, patient)
    saved = catalog_services.save_item(
        ctx=ctx(medical_director), model=Area, pk=None, fields={"key": "neck", "name": "Neck", "kind": "face", "description": "The neck."}
    )
    result = eligibility(patient=patient, protocol=Protocol.objects.get(key="rejuvenation"), area_keys=[saved.item.key])
    assert result.status == "incomplete" and "Screen again" in result.reasons[0].explanation
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["Scalp"]).status == "incomplete"


def test_eligibility_needs_an_area(catalog, patient):
    with pytest.raises(ValueError, match="at least one area"):
        eligibility(patient=patient, protocol=_hair(), area_keys=[])


def test_a_rescreen_changes_todays_eligibility(catalog, doctor, nurse, patient):
    screen(doctor, patient)
    rescreen(nurse, patient, ["scalp"], pregnancy="yes")
    result = eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "not_eligible" and result.screening.kind == "rescreen"


def test_eligibility_runs_a_fixed_small_number_of_queries(catalog, doctor, patient):
    for _ in range(3):
        screen(doctor, patient, pregnancy="yes")
    eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])  # warm the per-version cache
    with CaptureQueriesContext(connection) as queries:
        eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert len(queries) <= 3
