"""The contraindication engine: rules and answers in, a verdict with its reasons out.

Pure Python — no database, no clock, no Django — so the staff screen, the per-session re-screen
and the public self-screening all give the same answer for the same input, and a verdict can be
recomputed from a stored catalog snapshot at any time.

Outcome of one applicable rule, by its severity and the answer to its question:

    answer        absolute rule        relative rule
    yes           not eligible         caution
    unknown       incomplete           caution
    (missing)     incomplete           caution
    no            —                    —

The verdict is the worst outcome: not eligible > incomplete > caution > eligible. A missing or
unsure answer to an applicable absolute rule therefore never gives "eligible".

A rule whose question is asked only at sessions (the catalog's `session_only`, e.g. "Any new
diagnosis or medicine since your last visit?") is evaluated only for a re-screen before a session
(`at_session=True`); a full screening does not ask it.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass
from enum import StrEnum
from typing import Any


class Status(StrEnum):
    ELIGIBLE = "eligible"
    CAUTION = "caution"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"


class Severity(StrEnum):
    ABSOLUTE = "absolute"
    RELATIVE = "relative"


class AnswerValue(StrEnum):
    YES = "yes"
    NO = "no"
    UNKNOWN = "unknown"


RANK = {Status.ELIGIBLE: 0, Status.CAUTION: 1, Status.INCOMPLETE: 2, Status.NOT_ELIGIBLE: 3}
STATUS_LABELS = {
    Status.ELIGIBLE: "Eligible",
    Status.CAUTION: "Caution",
    Status.NOT_ELIGIBLE: "Not eligible",
    Status.INCOMPLETE: "Incomplete",
}
ANSWER_LABELS = {AnswerValue.YES: "Yes", AnswerValue.NO: "No", AnswerValue.UNKNOWN: "Not sure"}


@dataclass(frozen=True)
class Rule:
    """One contraindication rule, as the engine needs it.

    `protocol_keys` and `area_keys` limit where the rule applies; empty means everywhere. Kinds of
    area are already expanded into `area_keys` (see `rules_from_snapshot`).
    """

    key: str
    condition: str
    severity: Severity
    question_key: str
    question_text: str
    explanation: str
    protocol_keys: frozenset[str] = frozenset()
    area_keys: frozenset[str] = frozenset()
    session_only: bool = False

    def applies_to(self, protocol_key: str, area_keys: Iterable[str]) -> bool:
        if self.protocol_keys and protocol_key not in self.protocol_keys:
            return False
        return not self.area_keys or not self.area_keys.isdisjoint(area_keys)


@dataclass(frozen=True)
class Reason:
    """Why a verdict is not plain "eligible": the rule, the question, the answer and what it means."""

    rule_key: str
    condition: str
    severity: str
    question_key: str
    question_text: str
    answer: str | None  # "yes", "unknown", or None when not answered
    effect: str  # the Status this reason leads to
    explanation: str

    @property
    def answer_label(self) -> str:
        return ANSWER_LABELS[AnswerValue(self.answer)] if self.answer else "Not answered"

    @property
    def effect_label(self) -> str:
        return STATUS_LABELS[Status(self.effect)]

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Reason:
        return cls(**{name: data.get(name) for name in cls.__dataclass_fields__})  # type: ignore[arg-type]


@dataclass(frozen=True)
class Verdict:
    status: Status
    reasons: tuple[Reason, ...]

    @property
    def label(self) -> str:
        return STATUS_LABELS[self.status]

    @property
    def conditions(self) -> list[str]:
        return [reason.condition for reason in self.reasons if reason.effect == self.status]

    def reasons_as_json(self) -> list[dict[str, Any]]:
        return [reason.as_dict() for reason in self.reasons]


def _outcome(rule: Rule, answer: str | None) -> Status | None:
    if answer == AnswerValue.NO:
        return None
    if rule.severity == Severity.ABSOLUTE:
        return Status.NOT_ELIGIBLE if answer == AnswerValue.YES else Status.INCOMPLETE
    return Status.CAUTION


def evaluate(
    rules: Sequence[Rule], answers: Mapping[str, str], protocol_key: str, area_keys: Iterable[str], *, at_session: bool = False
) -> Verdict:
    """The verdict for treating `area_keys` with the protocol `protocol_key`, given the patient's answers.

    `answers` maps question keys to "yes", "no" or "unknown"; anything else counts as not answered.
    Every applicable rule that is not cleared by a "no" becomes a reason. Rules asked only at
    sessions count only when `at_session` (the answers come from a re-screen before a session).
    """
    areas = frozenset(area_keys)
    reasons: list[Reason] = []
    status = Status.ELIGIBLE
    for rule in rules:
        if rule.session_only and not at_session:
            continue
        if not rule.applies_to(protocol_key, areas):
            continue
        raw = answers.get(rule.question_key)
        answer = raw if raw in AnswerValue._value2member_map_ else None
        outcome = _outcome(rule, answer)
        if outcome is None:
            continue
        reasons.append(
            Reason(
                rule_key=rule.key,
                condition=rule.condition,
                severity=str(rule.severity),
                question_key=rule.question_key,
                question_text=rule.question_text,
                answer=answer,
                effect=str(outcome),
                explanation=rule.explanation,
            )
        )
        if RANK[outcome] > RANK[status]:
            status = outcome
    reasons.sort(key=lambda reason: (-RANK[Status(reason.effect)], reason.rule_key))
    return Verdict(status=status, reasons=tuple(reasons))


def rules_from_snapshot(snapshot: Mapping[str, Any]) -> tuple[Rule, ...]:
    """The active rules of a catalog snapshot (the export format), with kinds of area expanded to area keys."""
    areas_by_kind: dict[str, set[str]] = {}
    for area in snapshot.get("areas", []):
        areas_by_kind.setdefault(area["kind"], set()).add(area["key"])
    questions = {question["key"]: question for question in snapshot.get("questions", [])}
    rules = []
    for item in sorted(snapshot.get("contraindication_rules", []), key=lambda item: (item.get("position", 0), item["key"])):
        if not item.get("is_active", True):
            continue
        area_keys = set(item.get("areas", []))
        for kind in item.get("area_kinds", []):
            area_keys |= areas_by_kind.get(kind, set())
        if (item.get("areas") or item.get("area_kinds")) and not area_keys:
            continue  # limited to kinds of area that have no area: applies nowhere
        question = questions.get(item["question"], {})
        rules.append(
            Rule(
                key=item["key"],
                condition=item["condition"],
                severity=Severity(item["severity"]),
                question_key=item["question"],
                question_text=question.get("text", item["question"]),
                explanation=item.get("description", ""),
                protocol_keys=frozenset(item.get("protocols", [])),
                area_keys=frozenset(area_keys),
                session_only=bool(question.get("session_only", False)),
            )
        )
    return tuple(rules)


def questions_for(rules: Sequence[Rule], area_keys: Iterable[str] | None) -> set[str]:
    """Question keys that feed a rule applying at any of `area_keys` (every rule's question when None)."""
    if area_keys is None:
        return {rule.question_key for rule in rules}
    areas = frozenset(area_keys)
    return {rule.question_key for rule in rules if not rule.area_keys or not rule.area_keys.isdisjoint(areas)}
