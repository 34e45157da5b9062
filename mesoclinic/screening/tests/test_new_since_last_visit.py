"""“Any new diagnosis or medicine since your last visit?” is asked at every session, and a “yes” stops
the injections until a doctor reviews it (an override with a reason, for that session only)."""

from __future__ import annotations

import pytest

from mesoclinic.catalog.models import Protocol
from mesoclinic.catalog.selectors import current_version
from mesoclinic.screening import engine, services
from mesoclinic.screening.models import Screening
from mesoclinic.screening.selectors import eligibility

from .factories import ctx, rescreen, screen

pytestmark = pytest.mark.django_db
KEY = "new_diagnosis_or_medicine"
REASON = "Reviewed: new thyroid tablets, no interaction with the cocktail."


def _hair():
    return Protocol.objects.get(key="hair_cocktail")


def test_the_question_is_in_every_re_screen_and_not_in_the_full_screening(catalog):
    version = current_version()
    rescreen_keys = [q["key"] for q in services.questions_to_ask(version=version, kind=Screening.Kind.RESCREEN, area_keys=["scalp"])]
    full_keys = [q["key"] for q in services.questions_to_ask(version=version, kind=Screening.Kind.FULL)]
    assert KEY in rescreen_keys and KEY not in full_keys
    asked = next(q for q in services.questions_to_ask(version=version, kind="rescreen", area_keys=["cheeks"]) if q["key"] == KEY)
    assert asked["text"] == "Any new diagnosis or medicine since your last visit?"


def test_a_yes_at_the_re_screen_makes_the_session_not_eligible_with_its_explanation(catalog, doctor, nurse, patient):
    screen(doctor, patient)
    rescreen(nurse, patient, ["scalp"], **{KEY: "yes"})
    result = eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert result.status == "not_eligible" and not result.allows_booking
    (reason,) = result.reasons
    assert reason.rule_key == KEY and reason.condition == "New diagnosis or medicine since the last visit"
    assert "until a doctor has reviewed it" in reason.explanation


def test_not_sure_is_incomplete_and_no_is_eligible(catalog, doctor, nurse, patient):
    screen(doctor, patient)
    rescreen(nurse, patient, ["scalp"], **{KEY: "unknown"})
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).status == "incomplete"
    rescreen(nurse, patient, ["scalp"])
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).status == "eligible"


def test_a_doctors_review_clears_that_session_only(catalog, doctor, nurse, patient):
    screen(doctor, patient)
    first = rescreen(nurse, patient, ["scalp"], **{KEY: "yes"})
    services.override_verdict(ctx=ctx(doctor), screening=first, protocol=_hair(), area_keys=["scalp"], reason=REASON)
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).allows_booking
    rescreen(nurse, patient, ["scalp"], **{KEY: "yes"})  # the next session: something new again
    again = eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"])
    assert again.status == "not_eligible" and again.override is None and not again.allows_booking


def test_a_full_screening_is_not_held_up_by_the_session_question(catalog, doctor, patient):
    screen(doctor, patient)
    assert eligibility(patient=patient, protocol=_hair(), area_keys=["scalp"]).status == "eligible"


def test_the_engine_leaves_session_rules_out_of_a_full_screening():
    rule = engine.Rule(
        key="new",
        condition="New",
        severity=engine.Severity.ABSOLUTE,
        question_key="new",
        question_text="New?",
        explanation="Review first.",
        session_only=True,
    )
    assert engine.evaluate([rule], {}, "p", ["a"]).status == engine.Status.ELIGIBLE
    assert engine.evaluate([rule], {}, "p", ["a"], at_session=True).status == engine.Status.INCOMPLETE
    assert engine.evaluate([rule], {"new": "yes"}, "p", ["a"], at_session=True).status == engine.Status.NOT_ELIGIBLE
