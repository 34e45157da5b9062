"""Sections that other apps add to the patient page, without the patients app importing them.

An app registers a panel in its `AppConfig.ready()`:

    register_patient_panel(PatientPanel(order=20, key="screening", title="Screening",
                                        template="screening/panel.html", context=screening_panel))

`context(request, patient)` returns the template context (or None to hide the panel). It must
run a constant number of queries, whatever the size of the patient's history.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class PatientPanel:
    order: int
    key: str
    title: str
    template: str
    context: Callable[[HttpRequest, Any], dict[str, Any] | None]


_panels: dict[str, PatientPanel] = {}


def register_patient_panel(panel: PatientPanel) -> None:
    _panels[panel.key] = panel


def patient_panels() -> list[PatientPanel]:
    return sorted(_panels.values(), key=lambda panel: (panel.order, panel.key))


@dataclass(frozen=True)
class RenderedPanel:
    panel: PatientPanel
    context: dict[str, Any]


def panels_for(request: HttpRequest, patient: Any) -> list[RenderedPanel]:
    rendered = []
    for panel in patient_panels():
        context = panel.context(request, patient)
        if context is not None:
            rendered.append(RenderedPanel(panel=panel, context={**context, "patient": patient}))
    return rendered
