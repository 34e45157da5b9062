"""Recording screenings: full (doctor), re-screen (doctor or nurse), self; answers checked; audited."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine

from mesoclinic.catalog import services as catalog_services
from mesoclinic.catalog.models import Question
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.screening import services
from mesoclinic.screening.models import Answer, Screening, Verdict

from .factories import all_no, ctx, rescreen, screen

pytestmark = pytest.mark.django_db


@time_machine.travel("2026-03-02 10:00Z", tick=False)
def test_a_doctor_records_a_full_screening_with_a_verdict_per_protocol_and_area(catalog, doctor, patient):
    screening = screen(doctor, patient, pregnancy="yes")
    assert screening.kind == "full" and screening.catalog_version == catalog and screening.questionnaire.number >= 1
    assert screening.screened_by == doctor and screening.base is None
    assert screening.expires_on == date(2026, 3, 2) + timedelta(days=182)
    asked_in_full = Question.objects.filter(is_active=True, session_only=False)
    assert Answer.objects.filter(screening=screening).count() == asked_in_full.count()
    verdicts = Verdict.objects.filter(screening=screening)
    expected = sum(len(protocol["areas"]) for protocol in catalog.snapshot["protocols"])
    assert verdicts.count() == expected
    assert set(verdicts.values_list("status", flat=True)) == {"not_eligible"}
    hair = verdicts.get(protocol__key="hair_cocktail", area__key="scalp")
    assert hair.headline == "Not eligible — Pregnancy"
    assert hair.reasons[0]["rule_key"] == "pregnancy" and hair.reasons[0]["answer"] == "yes"
    event = AuditEvent.objects.get(object_type="screening", action="create")
    assert event.patient_id == patient.pk and event.location_id == patient.location_id and event.actor == doctor
    assert event.detail["kind"] == "full" and event.detail["verdicts"] == {"not_eligible": expected}


def test_the_validity_follows_the_setting(catalog, doctor, patient, settings):
    settings.MESOCLINIC_SCREENING_VALID_DAYS = 30
    screening = screen(doctor, patient)
    assert (screening.expires_on - screening.screened_at.date()).days in (29, 30, 31)


@pytest.mark.parametrize("role", ["nurse", "receptionist", "manager", "medical_director"])
def test_only_a_doctor_may_carry_out_a_full_screening(catalog, patient, location, role):
    from mesoclinic.accounts.tests.factories import UserFactory

    user = UserFactory(role=role, locations=[location])
    with pytest.raises(services.NotAllowed):
        screen(user, patient)
    with pytest.raises(services.NotAllowed):
        services.record_screening(ctx=audit.SYSTEM, patient=patient, answers=all_no(), kind="full")
    assert not Screening.objects.exists()


def test_every_question_must_be_answered_in_a_full_screening(catalog, doctor, patient):
    answers = all_no()
    del answers["epilepsy"], answers["pregnancy"]
    with pytest.raises(services.InvalidAnswers) as refused:
        services.record_screening(ctx=ctx(doctor), patient=patient, answers=answers, kind="full")
    assert set(refused.value.errors) == {"epilepsy", "pregnancy"}
    assert not Screening.objects.exists() and not AuditEvent.objects.filter(object_type="screening").exists()


@pytest.mark.parametrize(
    ("answers", "key", "message"),
    [
        ({"pregnancy": "perhaps"}, "pregnancy", "Answer yes, no or not sure"),
        ({"favourite_colour": "no"}, "favourite_colour", "not part of this questionnaire"),
    ],
)
def test_bad_answers_are_refused(catalog, doctor, patient, answers, key, message):
    with pytest.raises(services.InvalidAnswers) as refused:
        services.record_screening(ctx=ctx(doctor), patient=patient, answers={**all_no(), **answers}, kind="full")
    assert message in refused.value.errors[key]
    assert not Screening.objects.exists()


def test_an_unknown_kind_is_refused(catalog, doctor, patient):
    with pytest.raises(services.InvalidAnswers):
        services.record_screening(ctx=ctx(doctor), patient=patient, answers=all_no(), kind="casual")


def test_the_questionnaire_gets_a_new_version_only_when_its_questions_change(catalog, doctor, patient, medical_director):
    first = screen(doctor, patient).questionnaire
    assert screen(doctor, patient).questionnaire == first
    question = Question.objects.get(key="diabetes")
    catalog_services.save_item(
        ctx=ctx(medical_director), model=Question, pk=question.pk, fields={"text": "Have you ever been told you have diabetes?"}
    )
    second = screen(doctor, patient).questionnaire
    assert second.number == first.number + 1
    assert any(q["text"] == "Have you ever been told you have diabetes?" for q in second.questions)


def test_the_rescreen_asks_only_the_session_questions_for_todays_areas(catalog):
    from mesoclinic.catalog.selectors import current_version

    scalp = {str(q["key"]) for q in services.questions_to_ask(version=current_version(), kind="rescreen", area_keys=["scalp"])}
    face = {
        str(q["key"]) for q in services.questions_to_ask(version=current_version(), kind="rescreen", area_keys=["cheeks", "periorbital"])
    }
    assert scalp == {"pregnancy", "breastfeeding", "infection_scalp", "new_medicines", "new_diagnosis_or_medicine"}
    assert face == {"pregnancy", "breastfeeding", "infection_face", "new_medicines", "new_diagnosis_or_medicine"}


def test_a_nurse_rescreens_and_the_answers_update_the_full_screening(catalog, doctor, nurse, patient):
    full = screen(doctor, patient, anticoagulants="yes")
    again = rescreen(nurse, patient, ["scalp"], infection_scalp="yes")
    assert again.kind == "rescreen" and again.base == full and again.expires_on == full.expires_on
    assert again.answers_used["anticoagulants"] == "yes" and again.answers_used["infection_scalp"] == "yes"
    assert again.answers.count() == 5
    verdicts = {(v.protocol.key, v.area.key): v.status for v in again.verdicts.select_related("protocol", "area")}
    assert verdicts == {("hair_cocktail", "scalp"): "not_eligible", ("hair_prp", "scalp"): "not_eligible"}
    later = rescreen(nurse, patient, ["scalp"])
    assert later.base == full and later.answers_used["infection_scalp"] == "no"


def test_a_rescreen_needs_a_valid_full_screening(catalog, doctor, nurse, patient):
    with pytest.raises(services.NeedsFullScreening):
        rescreen(nurse, patient, ["scalp"])
    with time_machine.travel("2026-01-05 09:00Z", tick=False):
        screen(doctor, patient)
    with time_machine.travel("2026-09-01 09:00Z", tick=False), pytest.raises(services.NeedsFullScreening):
        rescreen(nurse, patient, ["scalp"])


@pytest.mark.parametrize(("areas", "message"), [([], "Choose the area"), (["elbow"], "Unknown treatment area")])
def test_a_rescreen_needs_known_areas(catalog, doctor, nurse, patient, areas, message):
    screen(doctor, patient)
    with pytest.raises(services.InvalidAnswers) as refused:
        services.record_screening(ctx=ctx(nurse), patient=patient, answers={"pregnancy": "no"}, kind="rescreen", area_keys=areas)
    assert message in refused.value.errors["__all__"]


def test_a_receptionist_may_not_rescreen(catalog, doctor, receptionist, patient):
    screen(doctor, patient)
    with pytest.raises(services.NotAllowed):
        rescreen(receptionist, patient, ["scalp"])


def test_a_self_screening_is_stored_but_never_counts_for_booking(catalog, patient):
    from mesoclinic.catalog.models import Protocol
    from mesoclinic.screening.selectors import eligibility

    screening = services.record_screening(ctx=audit.SYSTEM, patient=patient, answers={"pregnancy": "yes"}, kind="self")
    assert screening.kind == "self" and screening.screened_by is None
    assert screening.verdicts.filter(status="not_eligible").exists()
    assert eligibility(patient=patient, protocol=Protocol.objects.get(key="hair_cocktail"), area_keys=["scalp"]).status == "unscreened"
