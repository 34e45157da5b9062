"""Composing a patient's aftercare from the catalog's rules: a pure function, no database.

    aftercare = compose_aftercare(rules=..., areas=..., protocol=..., ended_at=..., zone=..., clinic_phone=...)

The clock starts at the end of the session. A rule's `duration_hours` is elapsed time, so the
"until" instant is `ended_at + duration` on the absolute time line, then shown as the wall-clock
time of the clinic's zone: 24 hours after 11:05 on the Saturday before the clocks go back is 10:05
on Sunday (see docs/decisions/0017). Rules are chosen per treated area: a rule for the area itself
wins over a rule for its kind of area (scalp, face, body), as in `catalog.selectors.aftercare_rule_for`.

The result is plain data (`Aftercare.as_json()`), stored on the handout once it is issued, so the
handout reads the same for ever even when the catalog changes later.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

# What to do when something is not normal. The catalog has no field for this yet (reported to the
# catalog's owner): until it has, this is the clinic-wide default, printed with the clinic's number.
CALL_THE_CLINIC = (
    "the redness has not settled after 6 hours, or it spreads or gets worse;",
    "swelling, bruising or pain grows instead of fading;",
    "the treated skin becomes hot, weeps, or shows pus or blisters, or you have a fever;",
    "you notice lumps, a rash or itching, or any symptom that worries you.",
)
EMERGENCY = "If your face, lips or tongue swell or you find it hard to breathe, call your local emergency number at once."
# Used only when no treated area has an aftercare rule (e.g. a body area the catalog does not cover).
DEFAULT_EXPECTED_EFFECTS = (
    "Mild redness over the treated area is normal and usually settles within 4–6 hours. "
    "Small, local, short-lived bruising, swelling, redness or pain can occur."
)


class RuleLike(Protocol):
    """What compose_aftercare reads from a rule (a `RuleData`, or anything with these attributes)."""

    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def area_key(self) -> str | None: ...  # the one area the rule is for, or None for every area of `area_kind`
    @property
    def area_kind(self) -> str: ...
    @property
    def instruction(self) -> str: ...
    @property
    def duration_hours(self) -> int: ...
    @property
    def expected_effects(self) -> str: ...
    @property
    def is_active(self) -> bool: ...


class AreaLike(Protocol):
    @property
    def key(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def kind(self) -> str: ...


class ProtocolLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def checkin_after_hours(self) -> int: ...


@dataclass(frozen=True)
class RuleData:
    """An aftercare rule as plain data: from a catalog snapshot (`from_snapshot`) or built in tests."""

    key: str
    name: str
    area_key: str | None
    area_kind: str
    instruction: str
    duration_hours: int
    expected_effects: str
    is_active: bool = True

    @classmethod
    def from_snapshot(cls, item: dict[str, Any]) -> RuleData:
        """One item of a catalog version's `aftercare_rules` section (areas are named by key)."""
        return cls(
            key=str(item["key"]),
            name=str(item.get("name", item["key"])),
            area_key=item.get("area") or None,
            area_kind=str(item.get("area_kind") or ""),
            instruction=str(item["instruction"]),
            duration_hours=int(item["duration_hours"]),
            expected_effects=str(item.get("expected_effects") or ""),
            is_active=bool(item.get("is_active", True)),
        )


@dataclass(frozen=True)
class AreaData:
    key: str
    name: str
    kind: str


@dataclass(frozen=True)
class ProtocolData:
    name: str
    checkin_after_hours: int


def clock_label(moment: datetime) -> str:
    """'Wednesday 29 November, 11:05' — the moment's own wall-clock time, no year."""
    return f"{moment:%A} {moment.day} {moment:%B}, {moment:%H:%M}"


@dataclass(frozen=True)
class Instruction:
    rule_key: str
    rule_name: str
    areas: tuple[str, ...]
    text: str
    duration_hours: int
    until_at: datetime  # aware, in the clinic's zone

    @property
    def until_label(self) -> str:
        return clock_label(self.until_at)

    @property
    def sentence(self) -> str:
        """'Until Wednesday 29 November, 11:05: Do not wash your hair, …'."""
        return f"Until {self.until_label}: {self.text}"


@dataclass(frozen=True)
class Aftercare:
    protocol_name: str
    ended_at: datetime  # aware, in the clinic's zone
    zone: str
    instructions: tuple[Instruction, ...]
    expected_effects: tuple[str, ...]
    call_when: tuple[str, ...]
    emergency: str
    clinic_phone: str
    checkin_at: datetime
    uncovered_areas: tuple[str, ...] = field(default=())

    @property
    def ended_label(self) -> str:
        return clock_label(self.ended_at)

    @property
    def checkin_label(self) -> str:
        return clock_label(self.checkin_at)

    @property
    def call_line(self) -> str:
        phone = self.clinic_phone or "the clinic"
        return f"Call us on {phone} if:"

    def as_json(self) -> dict[str, Any]:
        return {
            "protocol_name": self.protocol_name,
            "ended_at": self.ended_at.isoformat(),
            "zone": self.zone,
            "instructions": [
                {
                    "rule_key": item.rule_key,
                    "rule_name": item.rule_name,
                    "areas": list(item.areas),
                    "text": item.text,
                    "duration_hours": item.duration_hours,
                    "until_at": item.until_at.isoformat(),
                }
                for item in self.instructions
            ],
            "expected_effects": list(self.expected_effects),
            "call_when": list(self.call_when),
            "emergency": self.emergency,
            "clinic_phone": self.clinic_phone,
            "checkin_at": self.checkin_at.isoformat(),
            "uncovered_areas": list(self.uncovered_areas),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Aftercare:
        zone = zoneinfo.ZoneInfo(data["zone"])

        def local(text: str) -> datetime:
            return datetime.fromisoformat(text).astimezone(zone)

        return cls(
            protocol_name=data["protocol_name"],
            ended_at=local(data["ended_at"]),
            zone=data["zone"],
            instructions=tuple(
                Instruction(
                    rule_key=item["rule_key"],
                    rule_name=item["rule_name"],
                    areas=tuple(item["areas"]),
                    text=item["text"],
                    duration_hours=item["duration_hours"],
                    until_at=local(item["until_at"]),
                )
                for item in data["instructions"]
            ),
            expected_effects=tuple(data["expected_effects"]),
            call_when=tuple(data["call_when"]),
            emergency=data["emergency"],
            clinic_phone=data["clinic_phone"],
            checkin_at=local(data["checkin_at"]),
            uncovered_areas=tuple(data.get("uncovered_areas", ())),
        )


def rule_for(area: AreaLike, rules: Sequence[RuleLike]) -> RuleLike | None:
    """The active rule for `area`: one naming the area itself, else one for its kind (by key, for a stable choice)."""
    active = [rule for rule in rules if rule.is_active]
    own = sorted((rule for rule in active if rule.area_key and rule.area_key == area.key), key=lambda rule: rule.key)
    if own:
        return own[0]
    by_kind = sorted((rule for rule in active if not rule.area_key and rule.area_kind == area.kind), key=lambda rule: rule.key)
    return by_kind[0] if by_kind else None


def _unique(texts: Iterable[str]) -> tuple[str, ...]:
    seen: dict[str, None] = {}
    for text in texts:
        cleaned = " ".join(text.split())
        if cleaned:
            seen.setdefault(cleaned, None)
    return tuple(seen)


def compose_aftercare(
    *,
    rules: Sequence[RuleLike],
    areas: Sequence[AreaLike],
    protocol: ProtocolLike,
    ended_at: datetime,
    zone: zoneinfo.ZoneInfo | str,
    clinic_phone: str,
) -> Aftercare:
    """The aftercare for a session that treated `areas` under `protocol` and ended at `ended_at`.

    One instruction per rule that applies (areas sharing a rule are listed together), soonest
    first; both the scalp and the face rule when both were treated. Raises ValueError for a naive
    `ended_at` or an empty list of areas.
    """
    if ended_at.tzinfo is None or ended_at.utcoffset() is None:
        raise ValueError("ended_at must be an aware datetime")
    if not areas:
        raise ValueError("a session treats at least one area")
    tz = zone if isinstance(zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(zone)
    ended_local = ended_at.astimezone(tz)
    # Python adds a timedelta to an aware datetime on its wall clock (same tzinfo, no DST shift);
    # elapsed hours are counted in UTC instead, then shown in the clinic's zone.
    ended_utc = ended_at.astimezone(UTC)

    chosen: dict[str, tuple[RuleLike, list[str]]] = {}
    uncovered: list[str] = []
    for area in areas:
        rule = rule_for(area, rules)
        if rule is None:
            uncovered.append(area.name)
            continue
        entry = chosen.setdefault(rule.key, (rule, []))
        if area.name not in entry[1]:
            entry[1].append(area.name)

    instructions = [
        Instruction(
            rule_key=rule.key,
            rule_name=rule.name,
            areas=tuple(names),
            text=" ".join(rule.instruction.split()),
            duration_hours=rule.duration_hours,
            # Elapsed time on the absolute time line, then shown on the clinic's wall clock.
            until_at=(ended_utc + timedelta(hours=rule.duration_hours)).astimezone(tz),
        )
        for rule, names in chosen.values()
    ]
    instructions.sort(key=lambda item: (item.until_at, item.rule_key))
    effects = _unique(rule.expected_effects for rule, _names in chosen.values()) or (DEFAULT_EXPECTED_EFFECTS,)
    return Aftercare(
        protocol_name=protocol.name,
        ended_at=ended_local,
        zone=tz.key,
        instructions=tuple(instructions),
        expected_effects=effects,
        call_when=CALL_THE_CLINIC,
        emergency=EMERGENCY,
        clinic_phone=clinic_phone.strip(),
        checkin_at=(ended_utc + timedelta(hours=protocol.checkin_after_hours)).astimezone(tz),
        uncovered_areas=tuple(uncovered),
    )


def as_text(aftercare: Aftercare, *, patient_name: str = "", clinic_name: str = "") -> str:
    """The handout as plain text: the e-mail body, and what the PDF prints."""
    lines = [f"Aftercare after your {aftercare.protocol_name} session" + (f" at {clinic_name}" if clinic_name else "")]
    if patient_name:
        lines.append(f"For {patient_name}")
    lines += [f"Your session ended on {aftercare.ended_label}.", "", "WHAT TO DO"]
    if aftercare.instructions:
        lines += [f"- {item.sentence}" for item in aftercare.instructions]
    else:
        lines.append("- No special restrictions for the areas treated today.")
    lines += ["", "WHAT IS NORMAL", *aftercare.expected_effects, "", "WHEN TO CALL US", aftercare.call_line]
    lines += [f"- {reason}" for reason in aftercare.call_when]
    lines += [aftercare.emergency, "", f"We will ask how you are on {aftercare.checkin_label}."]
    return "\n".join(lines)
