"""Every write of the safety app. Each runs in one transaction with its audit row.

record_adverse_event(ctx=..., record=... or None, data=..., treatment_ids=..., usage_ids=..., lot_ids=..., patient=..., follow_up=None)
record_regulator_report(ctx=..., event=..., reported_on=..., channel=..., reference=...)
close_adverse_event(ctx=..., event=..., causality=..., outcome=..., note=...)
mark_recall_contacted(ctx=..., lot=..., patient=..., method=..., note=...)
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from datetime import date, datetime, timedelta
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from mesoclinic.aftercare import services as aftercare_services
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.core import audit
from mesoclinic.core.concurrency import bump, check_version
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Consumable, Lot
from mesoclinic.patients.models import Patient
from mesoclinic.procedures.amended import amended_numbing_lot, amended_product_usages
from mesoclinic.procedures.models import AreaTreatment, ProcedureRecord, ProductUsage

from .models import MAX_TEXT, SERIOUSNESS_FIELDS, AdverseEvent, AdverseEventArea, AdverseEventProduct, RecallContact

EVENT_FIELDS = ("event_type", "description", "onset_at", "severity", "treatment", "outcome", "reaction_code", *SERIOUSNESS_FIELDS)
# A little slack for clocks: an onset "now" typed on a tablet may be a minute ahead of the server.
ONSET_SLACK = timedelta(minutes=5)


class EventRefused(ValueError):
    """The event does not fit its session or patient (wrong areas or lots, onset before the session, seriousness)."""


class EventClosed(Exception):
    """The event has been reviewed and closed already."""


class AlreadyContacted(Exception):
    """The patient is marked contacted about this lot already."""


def _suspects(
    record: ProcedureRecord | None, location_id: int, usage_ids: Collection[int], lot_ids: Collection[int]
) -> tuple[list[ProductUsage], list[Lot]]:
    """The suspected products and lots, as the record reads after its amendments: product lines of the
    session, and lots named directly (the session's numbing cream; any lot of the location when the
    event has no session)."""
    usages: list[ProductUsage] = []
    if usage_ids:
        if record is None:
            raise EventRefused("Products of a session can only be named for an event of that session.")
        usages = [usage for usage in amended_product_usages(record) if usage.pk in set(usage_ids)]
        if len(usages) != len(set(usage_ids)):
            raise EventRefused("Choose products (lots) used in this session only.")
    lots: list[Lot] = []
    if lot_ids:
        allowed = suspect_lots(record=record, location_id=location_id)
        lots = [lot for lot in allowed if lot.pk in set(lot_ids)]
        if len(lots) != len(set(lot_ids)):
            raise EventRefused("Choose the numbing cream of this session, or lots of this location.")
    return usages, lots


def suspect_lots(*, record: ProcedureRecord | None, location_id: int) -> list[Lot]:
    """Lots an event may name directly: the session's numbing cream (as amended), or — without a
    session — every product and numbing-cream lot of the location."""
    if record is not None:
        numbing = amended_numbing_lot(record)
        return [numbing] if numbing is not None else []
    return list(
        Lot.objects.filter(Q(product__isnull=False) | Q(consumable__kind=Consumable.Kind.NUMBING), location_id=location_id)
        .select_related("product", "consumable")
        .order_by("lot_number", "id")[:500]
    )


def _check_seriousness(data: Mapping[str, Any]) -> None:
    criteria = [name for name in SERIOUSNESS_FIELDS if data.get(name)]
    serious = data.get("severity") == AdverseEvent.Severity.SERIOUS
    if serious and not criteria:
        raise EventRefused("A serious event needs at least one seriousness criterion (death, life-threatening, hospitalisation, …).")
    if criteria and not serious:
        raise EventRefused("An event that meets a seriousness criterion is “serious”: choose that severity.")


def record_adverse_event(
    *,
    ctx: audit.AuditContext,
    record: ProcedureRecord | None,
    data: Mapping[str, Any],
    treatment_ids: Collection[int] = (),
    usage_ids: Collection[int] = (),
    lot_ids: Collection[int] = (),
    patient: Patient | None = None,
    follow_up: FollowUp | None = None,
    now: datetime | None = None,
) -> AdverseEvent:
    """Record an adverse event of a session — signed, still open or stopped — or of the patient alone
    (`record=None`, `patient=…`), with the areas involved and the suspected products and lots (product
    lines of the session as amended, the numbing cream's lot, or lots of the location).

    From a follow-up, the follow-up is marked converted in the same transaction (and must be open).
    """
    now = now or timezone.now()
    if record is None and patient is None:
        raise EventRefused("Name the session or, for an event outside a session, the patient.")
    if record is not None and patient is not None and patient.pk != record.patient_id:
        raise EventRefused("The session belongs to another patient.")
    if follow_up is not None and (record is None or follow_up.record_id != record.pk):
        raise EventRefused("The follow-up belongs to another session.")
    patient_id = record.patient_id if record is not None else patient.pk  # type: ignore[union-attr]
    location_id = record.location_id if record is not None else patient.location_id  # type: ignore[union-attr]
    onset_at: datetime = data["onset_at"]
    if record is not None and onset_at < record.started_at:
        raise EventRefused("The onset cannot be before the session started.")
    if onset_at > now + ONSET_SLACK:
        raise EventRefused("The onset cannot be in the future.")
    _check_seriousness(data)
    actor = ctx.actor
    with transaction.atomic():
        if follow_up is not None:
            aftercare_services.lock_open_follow_up(follow_up)  # refuses a follow-up converted or closed meanwhile
        treatments = list(AreaTreatment.objects.filter(record=record, pk__in=list(treatment_ids))) if record is not None else []
        if len(treatments) != len(set(treatment_ids)):
            raise EventRefused("Choose areas treated in this session only.")
        usages, lots = _suspects(record, location_id, usage_ids, lot_ids)
        event = AdverseEvent(
            record=record,
            patient_id=patient_id,
            location_id=location_id,
            follow_up=follow_up,
            reported_by=actor,
            reported_at=now,
            reporter_name=(data.get("reporter_name") or (actor.get_full_name() if actor else ""))[:160],
            reporter_role=(data.get("reporter_role") or "")[:80],
            **{name: data[name] for name in EVENT_FIELDS if name in data},
        )
        event.full_clean(exclude=["record", "patient", "location", "follow_up", "reported_by"])
        event.save()
        AdverseEventArea.objects.bulk_create([AdverseEventArea(adverse_event=event, treatment=t, area_id=t.area_id) for t in treatments])
        AdverseEventProduct.objects.bulk_create(
            [AdverseEventProduct(adverse_event=event, usage=u, product_id=u.product.pk, lot_id=u.lot.pk) for u in usages]
            + [AdverseEventProduct(adverse_event=event, product_id=lot.product_id, lot=lot) for lot in lots]
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
                "record": record.pk if record is not None else None,
                "type": event.event_type,
                "severity": event.severity,
                "areas": [t.pk for t in treatments],
                "lots": sorted({u.lot.pk for u in usages} | {lot.pk for lot in lots}),
                "follow_up": follow_up.pk if follow_up else None,
            },
        )
    return event


def _audit_update(ctx: audit.AuditContext, event: AdverseEvent, detail: dict[str, Any]) -> None:
    audit.record(
        ctx,
        action=AuditEvent.Action.UPDATE,
        object_type="adverse-event",
        object_id=event.pk,
        patient_id=event.patient_id,
        location_id=event.location_id,
        detail=detail,
    )


def record_regulator_report(
    *, ctx: audit.AuditContext, event: AdverseEvent, reported_on: date, channel: str, reference: str = ""
) -> AdverseEvent:
    """Note when and how the event was reported to the regulator (Yellow Card), with its reference number."""
    reference = (reference or "").strip()[:60]
    problems = {}
    if channel not in AdverseEvent.RegulatorChannel.values:
        problems["regulator_channel"] = "Choose how it was reported."
    if reported_on is None or reported_on > timezone.localdate(timezone=event.location.zone):
        problems["regulator_reported_on"] = "Give the day it was reported (not in the future)."
    if problems:
        raise ValidationError(problems)
    with transaction.atomic():
        locked = AdverseEvent.objects.select_for_update().get(pk=event.pk)
        locked.regulator_reported_on, locked.regulator_channel, locked.regulator_reference = reported_on, channel, reference
        locked.save(update_fields=["regulator_reported_on", "regulator_channel", "regulator_reference"])
        _audit_update(ctx, locked, {"fields": ["regulator_reported_on", "regulator_channel", "regulator_reference"], "channel": channel})
    return locked


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
        _audit_update(ctx, locked, {"fields": ["status", "causality", "outcome", "review_note"], "status": locked.status})
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
