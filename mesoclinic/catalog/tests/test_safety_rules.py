"""A catalog edit that weakens a safety rule waits for a second person; sane bounds hold (decision 0022)."""

from __future__ import annotations

import json
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog import approvals, exchange, services
from mesoclinic.catalog.models import (
    AftercareRule,
    Area,
    AreaKind,
    CatalogProposal,
    CatalogVersion,
    ContraindicationRule,
    ProcedureStep,
    Protocol,
    ProtocolArea,
    Question,
)
from mesoclinic.core.models import AuditEvent

from .factories import director, director_ctx, item

pytestmark = pytest.mark.django_db


@pytest.fixture
def doctor(location):
    return UserFactory(role=Role.DOCTOR, locations=[location])


def _save(user, model, key, **fields):
    obj = model._default_manager.get(key=key)
    return services.save_item(ctx=director_ctx(user), model=model, pk=obj.pk, fields=fields)


WEAKENING = {
    "numbing wait shortened": (Protocol, "hair_cocktail", {"numbing_minutes": 15}, "numbing wait is shortened from 30 to 15"),
    "no numbing cream any more": (Protocol, "hair_cocktail", {"uses_topical_anaesthetic": False}, "no longer numbs the skin"),
    "early start loosened": (Protocol, "hair_cocktail", {"early_start_role": "clinician"}, "more people may start injecting"),
    "contraindication made relative": (ContraindicationRule, "epilepsy", {"severity": "relative"}, "is made relative"),
    "contraindication switched off": (ContraindicationRule, "pregnancy", {"is_active": False}, "is switched off"),
    "re-screen question dropped": (Question, "pregnancy", {"rescreen": False}, "no longer asked at every session"),
    "aftercare shortened": (AftercareRule, "face_aftercare", {"duration_hours": 12}, "12 hours instead of 72"),
    "swab allowed before the wait": (ProcedureStep, "alcohol_swab", {"after_numbing_wait": False}, "before the numbing wait is over"),
}


@pytest.mark.parametrize("case", sorted(WEAKENING))
def test_an_edit_that_weakens_a_safety_rule_is_held_and_changes_nothing(catalog, medical_director, case):
    model, key, fields, sentence = WEAKENING[case]
    before = exchange.fingerprint(exchange.export_catalog())
    saved = _save(medical_director, model, key, **fields)
    assert saved.version is None
    proposal = saved.proposal
    assert proposal.status == CatalogProposal.Status.PENDING and proposal.proposed_by == medical_director
    assert any(sentence in text for text in proposal.weakenings), proposal.weakenings
    assert proposal.base_version == catalog and proposal.changes and proposal.changes[0]["key"] == key
    assert CatalogVersion.objects.count() == 1
    assert exchange.fingerprint(exchange.export_catalog()) == before  # the live catalog is untouched
    event = AuditEvent.objects.get(object_type="catalog-proposal")
    assert event.actor == medical_director and event.detail["weakens"] >= 1


def test_widening_a_depth_range_is_held(catalog, medical_director):
    hair = Protocol.objects.get(key="hair_cocktail")
    scalp = Area.objects.get(key="scalp")
    saved = services.save_protocol(
        ctx=director_ctx(medical_director),
        pk=hair.pk,
        fields={},
        related={},
        areas=[services.AreaGuidance(area=scalp, depth_min_mm=Decimal("0.50"), depth_max_mm=Decimal("2.50"))],
        ingredients=[
            services.IngredientDose(ingredient=row.ingredient, concentration=row.concentration, concentration_unit=row.concentration_unit)
            for row in hair.protocol_ingredients.all()
        ],
    )
    assert saved.version is None and "widened from 0.5–1.5 mm to 0.5–2.5 mm" in saved.proposal.weakenings[0]
    assert ProtocolArea.objects.get(protocol=hair, area=scalp).depth_max_mm == Decimal("1.50")


@pytest.mark.parametrize(
    ("model", "key", "fields"),
    [
        pytest.param(Protocol, "hair_cocktail", {"numbing_minutes": 45}, id="longer numbing wait"),
        pytest.param(ContraindicationRule, "ingredient_allergy", {"severity": "absolute"}, id="relative made absolute"),
        pytest.param(Question, "diabetes", {"rescreen": True}, id="question now asked at every session"),
        pytest.param(Protocol, "hair_cocktail", {"early_start_role": "nobody"}, id="early start closed"),
        pytest.param(Protocol, "hair_cocktail", {"sessions_max": 8}, id="course rule within bounds"),
    ],
)
def test_an_edit_that_keeps_or_tightens_the_rules_takes_effect_at_once(catalog, medical_director, model, key, fields):
    saved = _save(medical_director, model, key, **fields)
    assert saved.proposal is None and saved.version.number == 2 and saved.version.approved_by is None
    assert not CatalogProposal.objects.exists()


def test_a_second_person_approves_and_the_version_names_both(catalog, medical_director, doctor):
    proposal = _save(medical_director, Protocol, "hair_cocktail", numbing_minutes=20).proposal
    version = approvals.approve_proposal(ctx=director_ctx(doctor), proposal=proposal, note="Agreed for this cream")
    assert version.number == 2
    assert (version.created_by, version.approved_by) == (medical_director, doctor) and version.approved_at is not None
    assert item(version.snapshot, "protocols", "hair_cocktail")["numbing_minutes"] == 20
    assert Protocol.objects.get(key="hair_cocktail").numbing_minutes == 20
    proposal.refresh_from_db()
    assert (proposal.status, proposal.decided_by, proposal.version) == ("approved", doctor, version)
    assert proposal.decision_note == "Agreed for this cream"
    decided = AuditEvent.objects.get(object_type="catalog-proposal", action="update")
    assert decided.actor == doctor and decided.detail["decision"] == "approved"
    assert AuditEvent.objects.get(object_type="catalog-version", object_id="2").detail["proposal"] == proposal.pk


def test_the_author_cannot_approve_their_own_weakening(catalog, medical_director):
    proposal = _save(medical_director, Protocol, "hair_cocktail", numbing_minutes=20).proposal
    with pytest.raises(approvals.NotAllowedToApprove, match="second person"):
        approvals.approve_proposal(ctx=director_ctx(medical_director), proposal=proposal)
    assert Protocol.objects.get(key="hair_cocktail").numbing_minutes == 30


def test_a_nurse_cannot_approve(catalog, medical_director, location):
    proposal = _save(medical_director, Protocol, "hair_cocktail", numbing_minutes=20).proposal
    nurse = UserFactory(role=Role.NURSE, locations=[location])
    with pytest.raises(approvals.NotAllowedToApprove, match="medical director or a doctor"):
        approvals.approve_proposal(ctx=director_ctx(nurse), proposal=proposal)


def test_the_database_refuses_a_decision_by_the_author(catalog, medical_director):
    proposal = _save(medical_director, Protocol, "hair_cocktail", numbing_minutes=20).proposal
    with pytest.raises(IntegrityError), transaction.atomic():
        CatalogProposal.objects.filter(pk=proposal.pk).update(
            status="rejected", decided_by=medical_director, decided_at=proposal.proposed_at
        )


def test_a_rejected_change_never_takes_effect(catalog, medical_director, doctor):
    proposal = _save(medical_director, ContraindicationRule, "pregnancy", is_active=False).proposal
    approvals.reject_proposal(ctx=director_ctx(doctor), proposal=proposal, note="Pregnancy stays absolute")
    proposal.refresh_from_db()
    assert proposal.status == "rejected" and proposal.decided_by == doctor
    assert ContraindicationRule.objects.get(key="pregnancy").is_active
    with pytest.raises(approvals.ProposalRefused, match="already rejected"):
        approvals.approve_proposal(ctx=director_ctx(doctor), proposal=proposal)


def test_a_proposal_made_before_another_edit_is_stale(catalog, medical_director, doctor):
    proposal = _save(medical_director, Protocol, "hair_cocktail", numbing_minutes=20).proposal
    _save(medical_director, Protocol, "rejuvenation", numbing_minutes=40)  # tightening: version 2 at once
    with pytest.raises(approvals.ProposalRefused, match="made from version 1, the catalog is now version 2"):
        approvals.approve_proposal(ctx=director_ctx(doctor), proposal=proposal)
    assert Protocol.objects.get(key="hair_cocktail").numbing_minutes == 30


def test_an_import_that_weakens_a_rule_goes_through_the_same_approval(catalog, medical_director, doctor):
    data = json.loads(json.dumps(exchange.export_catalog()))
    item(data, "contraindication_rules", "diabetes")["severity"] = "relative"
    edit = services.import_or_propose(ctx=director_ctx(medical_director), data=data)
    assert edit.version is None and edit.proposal.source == "import"
    assert ContraindicationRule.objects.get(key="diabetes").severity == "absolute"
    version = approvals.approve_proposal(ctx=director_ctx(doctor), proposal=edit.proposal)
    assert ContraindicationRule.objects.get(key="diabetes").severity == "relative"
    assert version.approved_by == doctor


def test_an_export_from_before_the_safety_fields_still_imports(catalog, medical_director):
    data = json.loads(json.dumps(exchange.export_catalog()))
    data["format_version"] = 1
    for protocol in data["protocols"]:
        del protocol["uses_topical_anaesthetic"], protocol["early_start_role"]
    for question in data["questions"]:
        del question["session_only"]
    for step in data["procedure_steps"]:
        for name in ("chart_step", "after_numbing_wait", "after_step", "min_minutes_after"):
            del step[name]
    assert services.import_catalog(ctx=director_ctx(medical_director), data=data) is None  # nothing changed
    assert ProcedureStep.objects.get(key="alcohol_swab").after_step.key == "numbing"


BOUNDS = {
    "no numbing wait with a cream": ({"numbing_minutes": 0}, "wait at least 10 minutes"),
    "too many sessions": ({"sessions_max": 25}, "At most 20 sessions"),
    "sessions too close": ({"interval_min_days": 2}, "at least 7 days apart"),
    "interval too long": ({"interval_max_days": 400}, "At most 180 days"),
}


@pytest.mark.parametrize("case", sorted(BOUNDS))
def test_a_protocol_outside_sane_bounds_is_refused(catalog, medical_director, case):
    fields, message = BOUNDS[case]
    with pytest.raises(services.CatalogInvalid) as refused:
        _save(medical_director, Protocol, "hair_cocktail", **fields)
    assert any(message in error for error in refused.value.errors), refused.value.errors
    assert CatalogVersion.objects.count() == 1 and not CatalogProposal.objects.exists()


def test_the_database_refuses_a_zero_numbing_wait_with_a_cream(catalog):
    with pytest.raises(IntegrityError), transaction.atomic():
        Protocol.objects.filter(key="hair_cocktail").update(numbing_minutes=0)


def test_every_kind_of_area_and_every_area_has_an_aftercare_rule_in_the_default_catalog(catalog):
    kinds = set(AftercareRule.objects.filter(is_active=True).exclude(area_kind="").values_list("area_kind", flat=True))
    assert kinds == set(AreaKind.values)
    covered = kinds | set()
    for area in Area.objects.filter(is_active=True):
        assert area.kind in covered or AftercareRule.objects.filter(area=area, is_active=True).exists(), area.key


def test_the_default_steps_put_the_swab_after_the_numbing_wait_and_not_in_the_same_minute(catalog):
    swab = ProcedureStep.objects.get(key="alcohol_swab")
    assert swab.chart_step == "antisepsis" and swab.after_numbing_wait
    assert swab.after_step.key == "numbing" and swab.min_minutes_after == 1
    assert ProcedureStep.objects.get(key="micro_injections").after_numbing_wait


def test_a_second_director_may_approve_too(catalog, medical_director, location):
    other = director(location)
    proposal = _save(medical_director, Question, "new_medicines", rescreen=False).proposal
    approvals.approve_proposal(ctx=director_ctx(other), proposal=proposal)
    assert not Question.objects.get(key="new_medicines").rescreen


def test_the_import_command_refuses_a_file_that_weakens_a_rule(catalog, tmp_path):
    path = tmp_path / "catalog.json"
    data = json.loads(json.dumps(exchange.export_catalog()))
    item(data, "protocols", "hair_cocktail")["numbing_minutes"] = 15
    path.write_text(json.dumps(data))
    with pytest.raises(CommandError, match="weakens a safety rule") as refused:
        call_command("import_catalog", str(path))
    assert "numbing wait is shortened from 30 to 15 minutes" in str(refused.value)
    assert CatalogVersion.objects.count() == 1 and not CatalogProposal.objects.exists()
