"""The verdict engine: each default contraindication rule by rule, and properties that must hold for any rules."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mesoclinic.catalog.tests.factories import fixture_data
from mesoclinic.screening import engine
from mesoclinic.screening.engine import Rule, Severity, Status, evaluate, rules_from_snapshot
from mesoclinic.screening.models import Verdict

SNAPSHOT = fixture_data()
RULES = rules_from_snapshot(SNAPSHOT)
AREAS = {area["key"]: area["kind"] for area in SNAPSHOT["areas"]}
PROTOCOL_AREAS = [(protocol["key"], row["area"]) for protocol in SNAPSHOT["protocols"] for row in protocol["areas"]]
NO = {rule.question_key: "no" for rule in RULES}

# Where each default rule must apply (None: everywhere), and what it must do there.
EXPECTED = {
    "pregnancy": (None, Status.NOT_ELIGIBLE),
    "lactation": (None, Status.NOT_ELIGIBLE),
    "active_infection_scalp": ({"scalp"}, Status.NOT_ELIGIBLE),
    "active_infection_face": (
        {"face", "forehead", "cheeks", "perioral", "jawline_chin", "periorbital", "eyelids", "submental"},
        Status.NOT_ELIGIBLE,
    ),
    "active_infection_body": ({"body"}, Status.NOT_ELIGIBLE),
    "diabetes": (None, Status.NOT_ELIGIBLE),
    "coagulation_disorder": (None, Status.NOT_ELIGIBLE),
    "epilepsy": (None, Status.NOT_ELIGIBLE),
    "ingredient_allergy": (None, Status.CAUTION),
    "anticoagulant_medicine": (None, Status.CAUTION),
    "new_medicine": (None, Status.CAUTION),
    "new_diagnosis_or_medicine": (None, Status.NOT_ELIGIBLE),  # asked at every session only
}


def test_the_expectations_cover_every_default_rule():
    assert {rule.key for rule in RULES} == set(EXPECTED)


@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.key)
def test_each_default_rule_decides_exactly_the_areas_it_applies_to(rule):
    areas, status = EXPECTED[rule.key]
    answers = {**NO, rule.question_key: "yes"}
    for protocol_key, area_key in PROTOCOL_AREAS:
        verdict = evaluate(RULES, answers, protocol_key, [area_key], at_session=True)
        if areas is None or area_key in areas:
            assert verdict.status == status, (protocol_key, area_key)
            assert [reason.rule_key for reason in verdict.reasons] == [rule.key]
            reason = verdict.reasons[0]
            assert (reason.answer, reason.severity, reason.condition) == ("yes", str(rule.severity), rule.condition)
            assert reason.explanation and reason.question_text
        else:
            assert verdict.status == Status.ELIGIBLE and verdict.reasons == (), (protocol_key, area_key)


def test_all_no_is_eligible_everywhere():
    for protocol_key, area_key in PROTOCOL_AREAS:
        assert evaluate(RULES, NO, protocol_key, [area_key]) == engine.Verdict(Status.ELIGIBLE, ())


def test_an_unsure_or_missing_answer_to_an_absolute_rule_is_incomplete():
    unsure = evaluate(RULES, {**NO, "pregnancy": "unknown"}, "hair_cocktail", ["scalp"])
    assert unsure.status == Status.INCOMPLETE and unsure.reasons[0].answer == "unknown"
    missing = {key: value for key, value in NO.items() if key != "epilepsy"}
    verdict = evaluate(RULES, missing, "hair_cocktail", ["scalp"])
    assert verdict.status == Status.INCOMPLETE and verdict.reasons[0].answer is None and verdict.reasons[0].answer_label == "Not answered"
    assert evaluate(RULES, {**NO, "epilepsy": "maybe"}, "hair_cocktail", ["scalp"]).status == Status.INCOMPLETE


def test_an_unsure_answer_to_a_relative_rule_calls_for_caution():
    verdict = evaluate(RULES, {**NO, "anticoagulants": "unknown"}, "rejuvenation", ["face"])
    assert verdict.status == Status.CAUTION


def test_not_eligible_outranks_incomplete_and_caution_and_every_reason_is_listed():
    answers = {**NO, "pregnancy": "yes", "diabetes": "unknown", "anticoagulants": "yes"}
    verdict = evaluate(RULES, answers, "hair_cocktail", ["scalp"])
    assert verdict.status == Status.NOT_ELIGIBLE
    assert [(reason.rule_key, reason.effect) for reason in verdict.reasons] == [
        ("pregnancy", "not_eligible"),
        ("diabetes", "incomplete"),
        ("anticoagulant_medicine", "caution"),
    ]
    assert verdict.conditions == ["Pregnancy"]


def test_a_site_rule_counts_when_any_treated_area_is_of_its_kind():
    answers = {**NO, "infection_scalp": "yes"}
    assert evaluate(RULES, answers, "rejuvenation", ["face", "forehead"]).status == Status.ELIGIBLE
    assert evaluate(RULES, answers, "hair_cocktail", ["scalp", "face"]).status == Status.NOT_ELIGIBLE


def test_a_rule_limited_to_protocols_applies_only_to_them():
    rule = Rule("lipo_only", "X", Severity.ABSOLUTE, "q", "Q?", "Why.", protocol_keys=frozenset({"lipolysis_chin"}))
    assert evaluate([rule], {"q": "yes"}, "lipolysis_chin", ["submental"]).status == Status.NOT_ELIGIBLE
    assert evaluate([rule], {"q": "yes"}, "hair_cocktail", ["scalp"]).status == Status.ELIGIBLE


def test_inactive_rules_and_kinds_without_areas_are_left_out_of_a_snapshot():
    snapshot = fixture_data()
    snapshot["contraindication_rules"][0]["is_active"] = False
    snapshot["areas"] = [area for area in snapshot["areas"] if area["kind"] != "body"]
    keys = {rule.key for rule in rules_from_snapshot(snapshot)}
    assert snapshot["contraindication_rules"][0]["key"] not in keys
    assert "active_infection_body" not in keys


def test_the_engine_statuses_match_the_stored_verdict_statuses():
    assert set(Verdict.Status.values) == {status.value for status in Status}


# --- properties ----------------------------------------------------------------------------------------

QUESTION_KEYS = [f"q{n}" for n in range(6)]
AREA_KEYS = ["scalp", "face", "body", "periorbital"]


@st.composite
def rule_sets(draw):
    count = draw(st.integers(min_value=0, max_value=8))
    rules = []
    for n in range(count):
        rules.append(
            Rule(
                key=f"r{n}",
                condition=f"Condition {n}",
                severity=draw(st.sampled_from(list(Severity))),
                question_key=draw(st.sampled_from(QUESTION_KEYS)),
                question_text="?",
                explanation="Because.",
                protocol_keys=frozenset(draw(st.lists(st.sampled_from(["p1", "p2"]), max_size=2))),
                area_keys=frozenset(draw(st.lists(st.sampled_from(AREA_KEYS), max_size=3))),
            )
        )
    return rules


answers_strategy = st.dictionaries(
    st.sampled_from(QUESTION_KEYS), st.sampled_from(["yes", "no", "unknown", "", "YES"]), max_size=len(QUESTION_KEYS)
)
areas_strategy = st.lists(st.sampled_from(AREA_KEYS), min_size=1, max_size=3)
protocols_strategy = st.sampled_from(["p1", "p2", "p3"])


def _applicable(rules, protocol, areas):
    return [rule for rule in rules if rule.applies_to(protocol, areas)]


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets(), answers=answers_strategy, protocol=protocols_strategy, areas=areas_strategy)
def test_never_eligible_when_an_applicable_absolute_rule_fires(rules, answers, protocol, areas):
    verdict = evaluate(rules, answers, protocol, areas)
    fired = [r for r in _applicable(rules, protocol, areas) if r.severity == Severity.ABSOLUTE and answers.get(r.question_key) == "yes"]
    if fired:
        assert verdict.status == Status.NOT_ELIGIBLE
        assert {r.key for r in fired} <= {reason.rule_key for reason in verdict.reasons}


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets(), answers=answers_strategy, protocol=protocols_strategy, areas=areas_strategy)
def test_never_eligible_with_a_missing_or_unsure_absolute_answer(rules, answers, protocol, areas):
    verdict = evaluate(rules, answers, protocol, areas)
    open_questions = [
        r
        for r in _applicable(rules, protocol, areas)
        if r.severity == Severity.ABSOLUTE and answers.get(r.question_key) not in ("yes", "no")
    ]
    if open_questions:
        assert verdict.status in (Status.INCOMPLETE, Status.NOT_ELIGIBLE)


@settings(max_examples=300, deadline=None)
@given(rules=rule_sets(), answers=answers_strategy, protocol=protocols_strategy, areas=areas_strategy)
def test_eligible_exactly_when_every_applicable_rule_is_answered_no(rules, answers, protocol, areas):
    verdict = evaluate(rules, answers, protocol, areas)
    applicable = _applicable(rules, protocol, areas)
    assert (verdict.status == Status.ELIGIBLE) == all(answers.get(r.question_key) == "no" for r in applicable)
    assert all(rule.key in {r.key for r in applicable} for rule in rules if rule.key in {reason.rule_key for reason in verdict.reasons})
    assert len(verdict.reasons) == sum(1 for r in applicable if answers.get(r.question_key) != "no")
