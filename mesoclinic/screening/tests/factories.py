"""Screening test helpers."""

from __future__ import annotations

from typing import Any

from mesoclinic.catalog.selectors import current_version
from mesoclinic.core import audit
from mesoclinic.screening import services
from mesoclinic.screening.models import Screening


def ctx(user: Any) -> audit.AuditContext:
    return audit.AuditContext(actor=user, ip_address="127.0.0.1", path="/test")


def all_no(kind: str = Screening.Kind.FULL, area_keys: list[str] | None = None) -> dict[str, str]:
    """Answer "no" to every question the current catalog asks for `kind`."""
    return {str(q["key"]): "no" for q in services.questions_to_ask(version=current_version(), kind=kind, area_keys=area_keys)}


def screen(doctor: Any, patient: Any, **answers: str) -> Screening:
    """A full screening: "no" to everything except the given answers."""
    return services.record_screening(ctx=ctx(doctor), patient=patient, answers={**all_no(), **answers}, kind=Screening.Kind.FULL)


def rescreen(user: Any, patient: Any, area_keys: list[str], **answers: str) -> Screening:
    base = all_no(Screening.Kind.RESCREEN, area_keys)
    return services.record_screening(
        ctx=ctx(user), patient=patient, answers={**base, **answers}, kind=Screening.Kind.RESCREEN, area_keys=area_keys
    )
