"""Every write of the safety app. Each runs in one transaction with its audit row.

record_adverse_event(ctx=..., record=..., data=..., treatment_ids=..., usage_ids=..., follow_up=None)
close_adverse_event(ctx=..., event=..., causality=..., outcome=..., note=...)
mark_recall_contacted(ctx=..., lot=..., patient=..., method=..., note=...)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from mesoclinic.aftercare import services as aftercare_services
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.core import audit
from mesoclinic.core.concurrency import bump, check_version
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import Patient
from mesoclinic.procedures.models import AreaTreatment, ProcedureRecord, ProductUsage

from .models import MAX_TEXT, AdverseEvent, AdverseEventArea, AdverseEventProduct, RecallContact

EVENT_FIELDS = ("event_type", "description", "onset_at", "severity", "treatment", "outcome")
# A little slack for clocks: an onset "now" typed on a tablet may be a minute ahead of the server.
ONSET_SLACK = timedelta(minutes=5)


class EventRefused(ValueError):
    """The event does not fit its session (wrong areas or lots, onset before the session, unsigned session)."""


class EventClosed(Exception):
    """The event has been reviewed and closed already."""


class AlreadyContacted(Exception):
    """The patient is marked contacted about this lot already."""


def record_adverse_event(
    *,
    ctx: audit.AuditContext,
    record: ProcedureRecord,
    data: Mapping[str, Any],
    treatment_ids: Collection[int],
    usage_ids: Collection[int],
    follow_up: FollowUp | None = None,
    now: datetime | None = None,
) -> AdverseEvent:
    """Record an adverse event of a signed session, linked to the areas and product usages (lots) involved.

    From a follow-up, the follow-up is marked converted in the same transaction (and must be open).
    """
    now = now or timezone.now()
    if record.status != ProcedureRecord.Status.SIGNED:
        raise EventRefused("Adverse events are recorded against a signed session.")
    if follow_up is not None and follow_up.record_id != record.pk:
        raise EventRefused("The follow-up belongs to another session.")
    onset_at: datetime = data["onset_at"]
    if onset_at < record.started_at:
        raise EventRefused("The onset cannot be before the session started.")
    if onset_at > now + ONSET_SLACK:
        raise EventRefused("The onset cannot be in the future.")
    with transaction.atomic():
        if follow_up is not None:
            aftercare_services.lock_open_follow_up(follow_up)  # refuses a follow-up converted or closed meanwhile
        treatments = list(AreaTreatment.objects.filter(record=record, pk__in=list(treatment_ids)))
        usages = list(ProductUsage.objects.filter(record=record, pk__in=list(usage_ids)))
        if len(treatments) != len(set(treatment_ids)) or not treatments:
            raise EventRefused("Choose at least one area, from the areas treated in this session.")
        if len(usages) != len(set(usage_ids)):
            raise EventRefused("Choose products (lots) used in this session only.")
        event = AdverseEvent(
            record=record,
            patient_id=record.patient_id,
            location_id=record.location_id,
            follow_up=follow_up,
            reported_by=ctx.actor,
            reported_at=now,
            **{name: data[name] for name in EVENT_FIELDS if name in data},
        )
        event.full_clean(exclude=["record", "patient", "location", "follow_up", "reported_by"])
        event.save()
        AdverseEventArea.objects.bulk_create([AdverseEventArea(adverse_event=event, treatment=t, area_id=t.area_id) for t in treatments])
        AdverseEventProduct.objects.bulk_create(
            [AdverseEventProduct(adverse_event=event, usage=u, product_id=u.product_id, lot_id=u.lot_id) for u in usages]
        )
        if follow_up is not None:
            aftercare_services.convert_follow_up(ctx=ctx, follow_up=follow_up, adverse_event_id=event.pk, now=now)
        audit.record(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="adverse-event",
            object_id=event.pk,
            patient_id=event.patient_id,
            location_id=event.location_id,
            detail={
                "record": record.pk,
                "type": event.event_type,
                "severity": event.severity,
                "areas": [t.pk for t in treatments],
                "lots": sorted({u.lot_id for u in usages}),
                "follow_up": follow_up.pk if follow_up else None,
            },
        )
    return event


def close_adverse_event(
    *,
    ctx: audit.AuditContext,
    event: AdverseEvent,
    causality: str,
    outcome: str,
    note: str,
    now: datetime | None = None,
    expected_version: int | None = None,
) -> AdverseEvent:
    """A doctor's review: causality, final outcome and a note; the event is closed.

    With `expected_version` (the version the doctor's page was loaded at), a review of an event
    changed since is refused with StaleEdit."""
    actor = ctx.actor
    if actor is None or not actor.can("adverse_event.review"):
        raise PermissionDenied("Only a doctor reviews and closes adverse events.")
    note = note.strip()[:MAX_TEXT]
    problems = {}
    if causality not in AdverseEvent.Causality.values:
        problems["causality"] = "Choose the causality."
    if outcome not in AdverseEvent.Outcome.values or outcome == AdverseEvent.Outcome.ONGOING:
        problems["outcome"] = "Choose the outcome at review (not “not yet recovered”: review when it is known)."
    if not note:
        problems["review_note"] = "Write the review note."
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        locked = AdverseEvent.objects.select_for_update().get(pk=event.pk)
        if not locked.is_open:
            raise EventClosed("This adverse event has been reviewed and closed already.")
        check_version(locked, expected_version)
        bump(locked)
        locked.status, locked.causality, locked.outcome, locked.review_note = AdverseEvent.Status.CLOSED, causality, outcome, note
        locked.reviewed_by, locked.reviewed_at = actor, now or timezone.now()
        locked.full_clean(exclude=["record", "patient", "location", "follow_up", "reported_by", "reviewed_by", "version"])
        locked.save()
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="adverse-event",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"fields": ["status", "causality", "outcome", "review_note"], "status": locked.status},
        )
    return locked


def mark_recall_contacted(
    *, ctx: audit.AuditContext, lot: Lot, patient: Patient, method: str, note: str = "", now: datetime | None = None
) -> RecallContact:
    """Record that `patient`, who received `lot`, has been told about its recall (once per lot and patient)."""
    contact = RecallContact(
        lot=lot, patient=patient, method=method, note=note.strip()[:500], contacted_at=now or timezone.now(), contacted_by=ctx.actor
    )
    contact.full_clean(exclude=["lot", "patient", "contacted_by"], validate_constraints=False)
    try:
        with transaction.atomic():
            contact.save()
            audit.record(
                ctx,
                action=AuditEvent.Action.CREATE,
                object_type="recall-contact",
                object_id=contact.pk,
                patient_id=patient.pk,
                location_id=lot.location_id,
                detail={"lot": lot.pk, "method": method},
            )
    except IntegrityError:
        raise AlreadyContacted("This patient is already marked contacted about this lot.") from None
    return contact
