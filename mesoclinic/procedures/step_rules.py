"""The catalog's procedure steps as the chart's rules: their order, what each must follow, and the
early-start permission — read from the catalog version the record is pinned to (decision 0022).

Pure: no database, no clock. The services ask `step_problem(...)` before charting a step and
`early_start_problem(...)` before an early start, and raise with the sentence they return.
A snapshot from before these rules existed has no timing fields: then nothing extra is enforced.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, TypeVar

from mesoclinic.catalog.models import Protocol, may_start_early

from .models import ProcedureRecord, Step

# The catalog's chart_step values and the chart's steps they stand for.
CHART_STEPS = {"numbing": Step.NUMBING, "antisepsis": Step.ANTISEPSIS, "injections": Step.TREATMENT}
EARLY_START_WHO = {
    Protocol.EarlyStart.DOCTOR: "Only a doctor may",
    Protocol.EarlyStart.CLINICIAN: "Only a doctor or a nurse may",
    Protocol.EarlyStart.NOBODY: "Nobody may",
}


@dataclass(frozen=True)
class StepRule:
    key: str
    name: str
    position: int
    step: Step | None  # the chart step this catalog step is, if any
    after_numbing_wait: bool
    after: Step | None  # the chart step it must follow
    after_name: str
    min_minutes_after: int


def step_rules(snapshot: Mapping[str, Any]) -> list[StepRule]:
    """The active procedure steps of a catalog snapshot, in the catalog's order."""
    items = [item for item in snapshot.get("procedure_steps", []) if item.get("is_active", True)]
    by_key = {item["key"]: item for item in snapshot.get("procedure_steps", [])}
    rules = []
    for item in sorted(items, key=lambda item: (item.get("position", 0), item["key"])):
        before = by_key.get(item.get("after_step") or "", {})
        rules.append(
            StepRule(
                key=item["key"],
                name=str(item.get("name", item["key"])),
                position=int(item.get("position", 0)),
                step=CHART_STEPS.get(item.get("chart_step") or ""),
                after_numbing_wait=bool(item.get("after_numbing_wait", False)),
                after=CHART_STEPS.get(before.get("chart_step") or ""),
                after_name=str(before.get("name", "")),
                min_minutes_after=int(item.get("min_minutes_after") or 0),
            )
        )
    return rules


def checklist_order(snapshot: Mapping[str, Any]) -> list[Step]:
    """The chart steps in the catalog's order (steps the catalog does not place keep the chart's own order)."""
    placed = [rule.step for rule in step_rules(snapshot) if rule.step is not None]
    return [*placed, *(step for step in Step if step not in placed)]


S = TypeVar("S")


def in_catalog_order(states: list[S], snapshot: Mapping[str, Any]) -> list[S]:
    """The chart's checklist entries (dataclasses with `key` and `number`) with the steps the catalog
    places (numbing, swab, injections) in the catalog's order, numbered again from 1."""
    rank = {str(step): index for index, step in enumerate(checklist_order(snapshot))}
    placed = {str(step) for step in CHART_STEPS.values()}
    slots = [index for index, state in enumerate(states) if getattr(state, "key", "") in placed]
    ordered = sorted((states[index] for index in slots), key=lambda state: rank[getattr(state, "key", "")])
    result = list(states)
    for index, state in zip(slots, ordered, strict=True):
        result[index] = state
    return [replace(state, number=number) for number, state in enumerate(result, start=1)]  # type: ignore[type-var]


def done_at(record: ProcedureRecord, step: Step) -> datetime | None:
    return {
        Step.NUMBING: record.numbing_applied_at,
        Step.ANTISEPSIS: record.antisepsis_at,
        Step.TREATMENT: record.injections_started_at,
    }.get(step)


def wait_lifted(record: ProcedureRecord, now: datetime) -> bool:
    """The numbing wait is over, or a permitted person ended it early (with a written reason)."""
    return record.numbing_wait_over(now) or bool(record.early_start_reason)


def step_problem(record: ProcedureRecord, step: Step, now: datetime, snapshot: Mapping[str, Any]) -> str | None:
    """Why the catalog's rules refuse charting `step` now (None when they allow it)."""
    for rule in step_rules(snapshot):
        if rule.step != step:
            continue
        if rule.after_numbing_wait and record.numbing_applied_at is not None and not wait_lifted(record, now):
            unlock = record.injections_unlock_at
            assert unlock is not None
            return (
                f"{rule.name} comes after the numbing wait: not before {record.location.local(unlock):%H:%M} "
                f"(the protocol's {record.numbing_minutes}-minute wait)."
            )
        if rule.after is not None:
            before = done_at(record, rule.after)
            if before is None:
                return f"{rule.name} comes after {rule.after_name}: chart that first."
            earliest = before + timedelta(minutes=rule.min_minutes_after)
            if rule.min_minutes_after and now < earliest:
                return (
                    f"{rule.name} comes at least {rule.min_minutes_after} minute{'s' if rule.min_minutes_after != 1 else ''} "
                    f"after {rule.after_name} (not before {record.location.local(earliest):%H:%M})."
                )
    return None


def early_start_problem(setting: str, role: str, protocol_name: str) -> str | None:
    """Why a user of `role` may not start before the numbing wait is over, per the protocol's catalog setting."""
    if may_start_early(setting, role):
        return None
    who = EARLY_START_WHO.get(setting, "Nobody may")  # type: ignore[call-overload]
    tail = ", or ask a doctor" if setting == Protocol.EarlyStart.DOCTOR else ""
    return (
        f"{who} start the injections before the numbing wait is over for “{protocol_name}” "
        f"(the catalog's rule for this protocol). Wait until the numbing wait is over{tail}."
    )
