"""compose_aftercare: the instructions per area and protocol, with real local clock times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from mesoclinic.aftercare.composition import (
    DEFAULT_EXPECTED_EFFECTS,
    Aftercare,
    AreaData,
    ProtocolData,
    RuleData,
    as_text,
    compose_aftercare,
)

LONDON = ZoneInfo("Europe/London")
SCALP_TEXT = "Do not wash your hair, and do not put any medicine or oil on your scalp, for 24 hours after the session."
FACE_TEXT = "Keep out of direct sun, and do not put any other active ingredients on your face, for 72 hours after the session."
EFFECTS = (
    "Mild redness over the treated area is normal and usually settles within 4–6 hours. "
    "Small, local, short-lived bruising, swelling, redness or pain can occur."
)

SCALP_RULE = RuleData("scalp_aftercare", "Scalp (hair meso)", None, "scalp", SCALP_TEXT, 24, EFFECTS)
FACE_RULE = RuleData("face_aftercare", "Face", None, "face", FACE_TEXT, 72, EFFECTS)
RULES = [SCALP_RULE, FACE_RULE]
SCALP = AreaData("scalp", "Scalp", "scalp")
CHEEKS = AreaData("cheeks", "Cheeks", "face")
FOREHEAD = AreaData("forehead", "Forehead", "face")
BODY = AreaData("body", "Body", "body")
HAIR = ProtocolData("Hair revitalising cocktail", 6)
REJUVENATION = ProtocolData("Rejuvenation (bio-revitalisation)", 6)

# Tuesday 28 November 2023, 11:05 in London (GMT).
ENDED = datetime(2023, 11, 28, 11, 5, tzinfo=LONDON)


def compose(areas, protocol=HAIR, ended_at=ENDED, rules=RULES, zone="Europe/London", phone="+44 20 7946 0000"):
    return compose_aftercare(rules=rules, areas=areas, protocol=protocol, ended_at=ended_at, zone=zone, clinic_phone=phone)


def test_a_scalp_session_gets_the_hair_washing_rule_until_the_next_day_at_the_same_time():
    aftercare = compose([SCALP])
    [item] = aftercare.instructions
    assert item.rule_key == "scalp_aftercare"
    assert item.areas == ("Scalp",)
    assert item.until_label == "Wednesday 29 November, 11:05"
    assert item.sentence == f"Until Wednesday 29 November, 11:05: {SCALP_TEXT}"


def test_a_face_session_gets_the_sun_rule_for_72_hours():
    aftercare = compose([CHEEKS, FOREHEAD], protocol=REJUVENATION)
    [item] = aftercare.instructions
    assert item.rule_key == "face_aftercare"
    assert item.areas == ("Cheeks", "Forehead")  # areas sharing a rule are listed together
    assert item.until_label == "Friday 1 December, 11:05"
    assert "direct sun" in item.text


def test_scalp_and_face_together_get_both_rules_soonest_first():
    aftercare = compose([CHEEKS, SCALP])
    assert [item.rule_key for item in aftercare.instructions] == ["scalp_aftercare", "face_aftercare"]
    assert [item.until_label for item in aftercare.instructions] == ["Wednesday 29 November, 11:05", "Friday 1 December, 11:05"]


def test_the_protocol_sets_the_check_in_time():
    assert compose([SCALP]).checkin_label == "Tuesday 28 November, 17:05"
    assert compose([SCALP], protocol=ProtocolData("Slow check", 24)).checkin_label == "Wednesday 29 November, 11:05"
    assert compose([SCALP]).protocol_name == HAIR.name


def test_what_is_normal_and_when_to_call_come_with_the_clinic_phone():
    aftercare = compose([SCALP, CHEEKS])
    assert aftercare.expected_effects == (EFFECTS,)  # the same text from both rules appears once
    assert "4–6 hours" in aftercare.expected_effects[0]
    assert aftercare.call_line == "Call us on +44 20 7946 0000 if:"
    text = as_text(aftercare, patient_name="Zoë Ölçer", clinic_name="London Harley Street")
    assert "Until Wednesday 29 November, 11:05: Do not wash your hair" in text
    assert "Call us on +44 20 7946 0000 if:" in text
    assert "For Zoë Ölçer" in text


def test_a_rule_for_the_area_itself_wins_over_the_rule_for_its_kind():
    eyes = AreaData("periorbital", "Around the eyes", "face")
    own = RuleData("eyes_aftercare", "Eyes", "periorbital", "", "No eye make-up for 12 hours.", 12, "Puffiness is normal.")
    aftercare = compose([eyes, CHEEKS], rules=[*RULES, own])
    assert {item.rule_key: item.areas for item in aftercare.instructions} == {
        "eyes_aftercare": ("Around the eyes",),
        "face_aftercare": ("Cheeks",),
    }
    assert aftercare.expected_effects == ("Puffiness is normal.", EFFECTS)


def test_inactive_rules_are_ignored_and_uncovered_areas_are_named():
    inactive_scalp = RuleData(**{**SCALP_RULE.__dict__, "is_active": False})
    aftercare = compose([SCALP, BODY], rules=[inactive_scalp, FACE_RULE])
    assert aftercare.instructions == ()
    assert aftercare.uncovered_areas == ("Scalp", "Body")
    assert aftercare.expected_effects == (DEFAULT_EXPECTED_EFFECTS,)
    assert "No special restrictions" in as_text(aftercare)


def test_rules_read_from_a_catalog_snapshot_name_areas_by_key():
    item = {
        "key": "eyes",
        "name": "Eyes",
        "area": "periorbital",
        "area_kind": "",
        "instruction": "x",
        "duration_hours": 12,
        "expected_effects": "y",
        "is_active": True,
    }
    rule = RuleData.from_snapshot(item)
    assert (rule.area_key, rule.area_kind, rule.duration_hours) == ("periorbital", "", 12)
    assert RuleData.from_snapshot({**item, "area": None, "area_kind": "face"}).area_key is None


def test_it_refuses_a_naive_end_time_and_an_empty_session():
    with pytest.raises(ValueError, match="aware"):
        compose([SCALP], ended_at=datetime(2023, 11, 28, 11, 5))
    with pytest.raises(ValueError, match="at least one area"):
        compose([])


def test_the_composition_survives_its_json_round_trip():
    aftercare = compose([SCALP, CHEEKS])
    again = Aftercare.from_json(aftercare.as_json())
    assert again == aftercare
    assert again.instructions[0].until_at.tzinfo is not None


def test_times_are_shown_in_the_clinics_zone_whatever_zone_the_end_time_came_in():
    ended_utc = datetime(2023, 11, 28, 11, 5, tzinfo=UTC)
    madrid = compose([SCALP], ended_at=ended_utc, zone="Europe/Madrid")
    assert madrid.ended_label == "Tuesday 28 November, 12:05"
    assert madrid.instructions[0].until_label == "Wednesday 29 November, 12:05"
