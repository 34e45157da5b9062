"""Reads of screenings, and `eligibility()`: the one question every booking and prescription asks.

`eligibility(patient=…, protocol=…, area_keys=[…])` evaluates the patient's current screening
(the newest full screening or re-screen) against the catalog snapshot it was made under, so the
answer for a given screening never changes when the catalog is edited. Nothing downstream may
prescribe or book a protocol except through it (or `services.ensure_eligible`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import lru_cache
from typing import Any

from django.db.models import Q, QuerySet

from mesoclinic.catalog.models import CatalogVersion, Protocol
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.times import local_date
from mesoclinic.patients.models import Patient

from . import engine
from .models import Override, Screening, Verdict

STAFF_KINDS = (Screening.Kind.FULL, Screening.Kind.RESCREEN)


class EligibilityStatus:
    ELIGIBLE = "eligible"
    CAUTION = "caution"
    NOT_ELIGIBLE = "not_eligible"
    INCOMPLETE = "incomplete"
    EXPIRED = "expired"
    UNSCREENED = "unscreened"

    LABELS = {
        ELIGIBLE: "Eligible",
        CAUTION: "Caution",
        NOT_ELIGIBLE: "Not eligible",
        INCOMPLETE: "Incomplete",
        EXPIRED: "Screening expired",
        UNSCREENED: "Not screened",
    }


@dataclass(frozen=True)
class Eligibility:
    """Whether `protocol` may be prescribed or booked at `area_keys` for the patient, and why."""

    status: str  # one of EligibilityStatus
    reasons: tuple[engine.Reason, ...] = ()
    override: Override | None = None
    screening: Screening | None = None
    protocol_key: str = ""
    area_keys: tuple[str, ...] = field(default_factory=tuple)

    @property
    def allows_booking(self) -> bool:
        """Eligible, caution (a doctor has the reasons in front of them), or a not-eligible verdict a doctor overrode."""
        if self.status in (EligibilityStatus.ELIGIBLE, EligibilityStatus.CAUTION):
            return True
        return self.status == EligibilityStatus.NOT_ELIGIBLE and self.override is not None

    @property
    def label(self) -> str:
        label = EligibilityStatus.LABELS[self.status]
        return f"{label} (overridden by a doctor)" if self.override is not None else label

    @property
    def expires_on(self) -> date | None:
        return self.screening.expires_on if self.screening is not None else None

    @property
    def explanation(self) -> str:
        """One sentence for an error message or a booking screen."""
        if self.status in (EligibilityStatus.UNSCREENED, EligibilityStatus.EXPIRED):
            return self.detail
        detail = self.detail
        return f"{EligibilityStatus.LABELS[self.status]}{' — ' + detail if detail else '.'}"

    @property
    def detail(self) -> str:
        """What lies behind the label (the deciding conditions, an override), for beside a status badge."""
        if self.status == EligibilityStatus.UNSCREENED:
            return "The patient has not been screened: a doctor must screen them first."
        if self.status == EligibilityStatus.EXPIRED:
            return "The patient's screening has expired: a doctor must screen them again."
        text = ", ".join(reason.condition for reason in self.reasons if reason.effect == self.status)
        if self.override is not None:
            at = self.override.overridden_at
            on = local_date(at, self.screening.location) if self.screening is not None else at.date()
            text += f" (overridden by a doctor on {on:%d %b %Y})"
        return f"{text.strip()}." if text else ""


@dataclass(frozen=True)
class Knowledge:
    """What one catalog version knows: its rules, protocols and areas (cached by fingerprint)."""

    rules: tuple[engine.Rule, ...]
    protocol_areas: dict[str, tuple[str, ...]]
    area_names: dict[str, str]
    area_kinds: dict[str, str]


@lru_cache(maxsize=32)
def _knowledge(version_id: int, fingerprint: str) -> Knowledge:
    snapshot = CatalogVersion.objects.values_list("snapshot", flat=True).get(pk=version_id)
    return knowledge_from_snapshot(snapshot)


def knowledge_from_snapshot(snapshot: dict[str, Any]) -> Knowledge:
    return Knowledge(
        rules=engine.rules_from_snapshot(snapshot),
        protocol_areas={
            item["key"]: tuple(row["area"] for row in item.get("areas", []))
            for item in snapshot.get("protocols", [])
            if item.get("is_active", True)
        },
        area_names={item["key"]: item["name"] for item in snapshot.get("areas", [])},
        area_kinds={item["key"]: item["kind"] for item in snapshot.get("areas", [])},
    )


def knowledge_for(version: CatalogVersion) -> Knowledge:
    """The version's rules etc., parsed once per process (versions never change after they are written)."""
    return _knowledge(version.pk, version.fingerprint)


def current_screening(patient: Patient | int) -> Screening | None:
    """The newest full screening or re-screen of the patient (self-screenings do not count)."""
    patient_id = patient if isinstance(patient, int) else patient.pk
    return (
        Screening.objects.filter(patient_id=patient_id, kind__in=STAFF_KINDS)
        .select_related("catalog_version", "screened_by", "location")
        .defer("catalog_version__snapshot", "catalog_version__changes")
        .order_by("-screened_at", "-id")
        .first()
    )


def today_for(patient: Patient) -> date:
    from django.utils import timezone

    return patient.location.local(timezone.now()).date()


def _covering_override(
    screening: Screening, protocol: Protocol, area_keys: Sequence[str], rule_keys: set[str], *, this_session_only: bool = False
) -> Override | None:
    """A doctor's override on this screening chain that covers every area and every deciding rule.

    With `this_session_only` (a deciding rule is asked only at sessions, e.g. a new diagnosis since the
    last visit), only an override of this very re-screen counts: every new "yes" needs its own review.
    """
    chain = screening.chain_id
    where = Q(screening_id=screening.pk) if this_session_only else Q(screening_id=chain) | Q(screening__base_id=chain)
    overrides = list(Override.objects.filter(where, protocol=protocol).select_related("overridden_by").order_by("-overridden_at", "-id"))
    usable = [override for override in overrides if rule_keys <= set(override.rule_keys)]
    covered = set().union(*(set(override.area_keys) for override in usable)) if usable else set()
    if not usable or not set(area_keys) <= covered:
        return None
    return usable[0]


def eligibility(*, patient: Patient, protocol: Protocol, area_keys: Iterable[str], on: date | None = None) -> Eligibility:
    """Whether `protocol` may be given at `area_keys` to `patient` on the day `on` (today at the patient's clinic).

    Status: eligible / caution / not_eligible / incomplete (from the engine), expired (the
    screening's validity has passed), or unscreened (no full screening or re-screen yet).
    Runs two or three queries; no audit row (the calling service audits its own action).
    """
    areas = tuple(dict.fromkeys(area_keys))
    if not areas or not all(isinstance(key, str) and key for key in areas):
        raise ValueError("eligibility needs at least one area key")
    screening = current_screening(patient)
    if screening is None:
        return Eligibility(status=EligibilityStatus.UNSCREENED, protocol_key=protocol.key, area_keys=areas)
    day = on if on is not None else today_for(patient)
    if screening.is_expired_on(day):
        return Eligibility(status=EligibilityStatus.EXPIRED, screening=screening, protocol_key=protocol.key, area_keys=areas)
    known = knowledge_for(screening.catalog_version)
    unknown_to_version = [key for key in areas if key not in known.area_names]
    if protocol.key not in known.protocol_areas or unknown_to_version:
        what = (
            f"the protocol “{protocol.name}”"
            if protocol.key not in known.protocol_areas
            else f"the area(s) {', '.join(unknown_to_version)}"
        )
        reason = engine.Reason(
            rule_key="",
            condition="Not covered by the screening",
            severity="",
            question_key="",
            question_text="",
            answer=None,
            effect=engine.Status.INCOMPLETE,
            explanation=(
                f"This screening was made under catalog version {screening.catalog_version.number}, which did not include {what}. "
                "Screen again."
            ),
        )
        return Eligibility(
            status=EligibilityStatus.INCOMPLETE, reasons=(reason,), screening=screening, protocol_key=protocol.key, area_keys=areas
        )
    at_session = screening.kind == Screening.Kind.RESCREEN
    verdict = engine.evaluate(known.rules, screening.answers_used, protocol.key, areas, at_session=at_session)
    override = None
    if verdict.status == engine.Status.NOT_ELIGIBLE:
        deciding = {reason.rule_key for reason in verdict.reasons if reason.effect == engine.Status.NOT_ELIGIBLE}
        session_rules = {rule.key for rule in known.rules if rule.session_only}
        override = _covering_override(screening, protocol, areas, deciding, this_session_only=bool(deciding & session_rules))
    return Eligibility(
        status=str(verdict.status),
        reasons=verdict.reasons,
        override=override,
        screening=screening,
        protocol_key=protocol.key,
        area_keys=areas,
    )


# --- screens ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientScreeningSummary:
    """What the patient page shows: the current screening, its verdicts and the patient's overrides."""

    screening: Screening | None
    verdicts: list[Verdict]
    overrides: list[Override]
    expired: bool
    chain_id: int | None


def patient_summary(*, patient: Patient, on: date | None = None, override_limit: int = 10) -> PatientScreeningSummary:
    """Three queries whatever the patient's history."""
    screening = current_screening(patient)
    verdicts: list[Verdict] = []
    if screening is not None:
        verdicts = list(Verdict.objects.filter(screening=screening).select_related("protocol", "area"))
    overrides = list(Override.objects.filter(patient=patient).select_related("protocol", "overridden_by", "screening")[:override_limit])
    day = on if on is not None else today_for(patient)
    return PatientScreeningSummary(
        screening=screening,
        verdicts=verdicts,
        overrides=overrides,
        expired=screening.is_expired_on(day) if screening else False,
        chain_id=screening.chain_id if screening else None,
    )


def screenings_in_scope(scope: frozenset[int]) -> QuerySet[Screening]:
    return Screening.objects.filter(patient__location_id__in=scope)


def view_screening(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int) -> Screening:
    """A screening of a patient in the caller's locations (else Screening.DoesNotExist), and its audit row."""
    screening = (
        screenings_in_scope(scope)
        .select_related("patient__location", "catalog_version", "questionnaire", "screened_by", "base")
        .defer("catalog_version__snapshot", "catalog_version__changes")
        .get(pk=pk)
    )
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="screening",
        object_id=screening.pk,
        patient_id=screening.patient_id,
        location_id=screening.patient.location_id,
        detail={"kind": screening.kind},
    )
    return screening


def screening_details(screening: Screening) -> tuple[list[Any], list[Verdict], list[Override]]:
    answers = list(screening.answers.select_related("question").order_by("question__position", "question_key"))
    verdicts = list(screening.verdicts.select_related("protocol", "area"))
    overrides = list(
        Override.objects.filter(Q(screening_id=screening.chain_id) | Q(screening__base_id=screening.chain_id))
        .select_related("protocol", "overridden_by")
        .order_by("-overridden_at")
    )
    return answers, verdicts, overrides


def patient_screenings(*, ctx: audit.AuditContext, patient: Patient, limit: int = 50) -> list[Screening]:
    """The patient's screenings, newest first; writes one audit row."""
    rows = list(
        Screening.objects.filter(patient=patient)
        .select_related("screened_by", "catalog_version", "questionnaire")
        .defer("catalog_version__snapshot", "catalog_version__changes")
        .order_by("-screened_at", "-id")[:limit]
    )
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="screening-history",
        object_id=patient.pk,
        patient_id=patient.pk,
        location_id=patient.location_id,
        detail={"count": len(rows)},
    )
    return rows
