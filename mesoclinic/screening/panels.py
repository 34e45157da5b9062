"""The screening panel on the patient page (three queries, whatever the history)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from mesoclinic.catalog.models import Protocol
from mesoclinic.patients.models import Patient

from . import engine
from .models import Override, Verdict
from .selectors import patient_summary

ORDER = {engine.Status.ELIGIBLE: 0, engine.Status.CAUTION: 1, engine.Status.INCOMPLETE: 2, engine.Status.NOT_ELIGIBLE: 3}


@dataclass(frozen=True)
class VerdictGroup:
    """Areas of one protocol that share the same verdict (and override state)."""

    headline: str
    status: str
    area_names: list[str]
    overridden: bool


@dataclass(frozen=True)
class ProtocolRow:
    protocol: Protocol
    verdicts: list[Verdict]

    @property
    def worst(self) -> Verdict:
        return max(self.verdicts, key=lambda verdict: ORDER[engine.Status(verdict.status)])


def group_by_protocol(verdicts: list[Verdict]) -> list[ProtocolRow]:
    rows: dict[int, ProtocolRow] = {}
    for verdict in verdicts:
        rows.setdefault(verdict.protocol_id, ProtocolRow(protocol=verdict.protocol, verdicts=[])).verdicts.append(verdict)
    return list(rows.values())


def overridden_areas(overrides: list[Override], chain_id: int | None) -> set[tuple[int, str]]:
    """(protocol id, area key) pairs a doctor overrode on the current screening chain."""
    return {
        (override.protocol_id, key)
        for override in overrides
        if chain_id is not None and (override.screening_id == chain_id or override.screening.base_id == chain_id)
        for key in override.area_keys
    }


def grouped(row: ProtocolRow, overridden: set[tuple[int, str]]) -> list[VerdictGroup]:
    groups: dict[tuple[str, bool], VerdictGroup] = {}
    for verdict in row.verdicts:
        flag = verdict.status == engine.Status.NOT_ELIGIBLE and (verdict.protocol_id, verdict.area.key) in overridden
        group = groups.setdefault(
            (verdict.headline, flag), VerdictGroup(headline=verdict.headline, status=verdict.status, area_names=[], overridden=flag)
        )
        group.area_names.append(verdict.area.name)
    return list(groups.values())


def screening_panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    user = request.user
    if not user.can("screening.view"):  # type: ignore[union-attr]
        return None
    summary = patient_summary(patient=patient)
    overridden = overridden_areas(summary.overrides, summary.chain_id)
    return {
        "summary": summary,
        "rows": [(row, grouped(row, overridden)) for row in group_by_protocol(summary.verdicts)],
        "can_screen": user.can("screening.screen"),  # type: ignore[union-attr]
        "can_rescreen": user.can("screening.rescreen"),  # type: ignore[union-attr]
    }
