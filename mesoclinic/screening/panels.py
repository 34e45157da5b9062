"""The screening panel on the patient page (three queries, whatever the history)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from mesoclinic.catalog.models import Protocol
from mesoclinic.patients.models import Patient

from . import engine
from .models import Verdict
from .selectors import patient_summary

ORDER = {engine.Status.ELIGIBLE: 0, engine.Status.CAUTION: 1, engine.Status.INCOMPLETE: 2, engine.Status.NOT_ELIGIBLE: 3}


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


def screening_panel(request: HttpRequest, patient: Patient) -> dict[str, Any] | None:
    user = request.user
    if not user.can("screening.view"):  # type: ignore[union-attr]
        return None
    summary = patient_summary(patient=patient)
    return {
        "summary": summary,
        "rows": group_by_protocol(summary.verdicts),
        "can_screen": user.can("screening.screen"),  # type: ignore[union-attr]
        "can_rescreen": user.can("screening.rescreen"),  # type: ignore[union-attr]
    }
