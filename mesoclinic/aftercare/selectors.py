"""Reads of aftercare. Every read takes the caller's location scope explicitly; reads that show
patient data write their audit row here."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import QuerySet

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.patients.models import Patient

from .models import AftercareHandout, CheckIn, FollowUp

MAX_ID = 2**63 - 1


def _valid_id(pk: int) -> bool:
    return 0 < pk <= MAX_ID


def unanswered_after() -> timedelta:
    return timedelta(hours=settings.MESOCLINIC_CHECKIN_UNANSWERED_HOURS)


def _handouts(scope: frozenset[int]) -> QuerySet[AftercareHandout]:
    return AftercareHandout.objects.filter(location_id__in=scope).select_related(
        "patient", "location", "record__practitioner", "record__protocol", "checkin"
    )


def get_handout(*, scope: frozenset[int], pk: int) -> AftercareHandout:
    if not _valid_id(pk):
        raise AftercareHandout.DoesNotExist(f"no handout {pk}")
    return _handouts(scope).get(pk=pk)


def view_handout(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int, screen: str) -> AftercareHandout:
    handout = get_handout(scope=scope, pk=pk)
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="aftercare-handout",
        object_id=handout.pk,
        patient_id=handout.patient_id,
        location_id=handout.location_id,
        detail={"screen": screen},
    )
    return handout


def public_checkin(checkin_id: int) -> CheckIn:
    """The check-in a valid link names, with what its public page shows (the clinic, the session day)."""
    return CheckIn.objects.select_related("location", "handout").get(pk=checkin_id)


def get_checkin(*, scope: frozenset[int], pk: int) -> CheckIn:
    if not _valid_id(pk):
        raise CheckIn.DoesNotExist(f"no check-in {pk}")
    return CheckIn.objects.select_related("patient", "location").get(pk=pk, location_id__in=scope)


def get_follow_up(*, scope: frozenset[int], pk: int) -> FollowUp:
    if not _valid_id(pk):
        raise FollowUp.DoesNotExist(f"no follow-up {pk}")
    return FollowUp.objects.select_related("patient", "location", "checkin", "record__protocol", "record__practitioner", "closed_by").get(
        pk=pk, location_id__in=scope
    )


@dataclass(frozen=True)
class Worklist:
    follow_ups: list[FollowUp]
    unanswered: list[CheckIn]
    more_follow_ups: bool
    more_unanswered: bool


def worklist(*, ctx: audit.AuditContext, scope: frozenset[int], now: datetime, limit: int = 100) -> Worklist:
    """The nurses' worklist: open follow-ups (oldest first) and check-ins nobody answered in time.

    Three queries whatever the data (two lists, one audit row naming the patients shown).
    """
    follow_ups = list(
        FollowUp.objects.filter(location_id__in=scope, status=FollowUp.Status.OPEN)
        .select_related("patient", "location", "checkin", "record__protocol")
        .order_by("opened_at", "id")[: limit + 1]
    )
    unanswered = list(
        CheckIn.objects.filter(
            location_id__in=scope, answered_at__isnull=True, due_at__lte=now - unanswered_after(), follow_up__isnull=True
        )
        .select_related("patient", "location", "record__protocol")
        .order_by("due_at", "id")[: limit + 1]
    )
    shown_patients = sorted({row.patient_id for row in follow_ups[:limit]} | {row.patient_id for row in unanswered[:limit]})
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="aftercare-worklist",
        detail={"screen": "follow-up-worklist", "patient_ids": shown_patients},
    )
    return Worklist(
        follow_ups=follow_ups[:limit],
        unanswered=unanswered[:limit],
        more_follow_ups=len(follow_ups) > limit,
        more_unanswered=len(unanswered) > limit,
    )


@dataclass(frozen=True)
class PatientAftercare:
    handouts: list[AftercareHandout]
    follow_ups: list[FollowUp]


def for_patient(*, patient: Patient, limit: int = 10) -> PatientAftercare:
    """The patient page's aftercare panel: recent handouts with their check-ins, and follow-ups (two queries)."""
    handouts = list(
        AftercareHandout.objects.filter(patient=patient)
        .select_related("checkin", "record__protocol", "location")
        .order_by("-issued_at", "-id")[:limit]
    )
    follow_ups = list(FollowUp.objects.filter(patient=patient).select_related("location").order_by("-opened_at", "-id")[:limit])
    return PatientAftercare(handouts=handouts, follow_ups=follow_ups)
