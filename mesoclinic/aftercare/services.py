"""Every write of the aftercare app. Each runs in one transaction with its audit row(s).

issue_aftercare(ctx=..., record=signed_record)      # the sign-off hook calls this
answer_checkin(ctx=..., checkin_id=..., answer=..., text=...)
open_follow_up_for_unanswered(ctx=..., checkin=...)
close_follow_up(ctx=..., follow_up=..., note=...)
convert_follow_up(ctx=..., follow_up=...)           # called by safety.record_adverse_event
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.procedures import selectors as procedures_selectors
from mesoclinic.procedures.models import ProcedureRecord

from . import messages
from .composition import AreaData, ProtocolData, RuleData, as_text, compose_aftercare
from .models import MAX_ANSWER_TEXT, MAX_NOTE, AftercareHandout, CheckIn, FollowUp


class NotSigned(Exception):
    """Aftercare is issued for signed sessions only."""


class AlreadyAnswered(Exception):
    """The check-in has its answer: the link is single-use."""


class LinkExpired(Exception):
    """The check-in link is past its expiry."""


class FollowUpNotOpen(Exception):
    """The follow-up was closed or converted already."""


class FollowUpExists(Exception):
    """The check-in already has a follow-up."""


def link_hours() -> timedelta:
    return timedelta(hours=settings.MESOCLINIC_CHECKIN_LINK_HOURS)


def _snapshot_rules(record: ProcedureRecord) -> tuple[list[RuleData], ProtocolData]:
    """The aftercare rules and the protocol's check-in time from the catalog version the session was charted under."""
    snapshot: dict[str, Any] = record.catalog_version.snapshot or {}
    rules = [RuleData.from_snapshot(item) for item in snapshot.get("aftercare_rules", [])]
    hours = record.protocol.checkin_after_hours
    for item in snapshot.get("protocols", []):
        if item.get("key") == record.protocol.key and item.get("checkin_after_hours") is not None:
            hours = int(item["checkin_after_hours"])
    return rules, ProtocolData(name=record.protocol.name, checkin_after_hours=hours)


def _treated_areas(record: ProcedureRecord) -> list[AreaData]:
    """The session's treated areas (from the procedures app's signed-record reader), in catalog order."""
    treatments = procedures_selectors.signed_record_detail(record, with_course=False).treatments
    areas: dict[str, AreaData] = {}
    for treatment in sorted(treatments, key=lambda t: (t.area.position, t.area.name, t.pk)):
        areas.setdefault(treatment.area.key, AreaData(key=treatment.area.key, name=treatment.area.name, kind=treatment.area.kind))
    return list(areas.values())


def on_sign_off(*, ctx: audit.AuditContext, record: ProcedureRecord) -> None:
    """The procedures app's sign-off hook (registered in AftercareConfig.ready): runs inside the sign-off."""
    issue_aftercare(ctx=ctx, record=record)


def issue_aftercare(*, ctx: audit.AuditContext, record: ProcedureRecord, now: datetime | None = None) -> AftercareHandout:
    """Compose and store the handout of a signed session, create its check-in, queue both messages.

    Idempotent: a record that has its handout gets it back unchanged. Runs inside the caller's
    transaction when there is one (the sign-off), so the handout exists exactly when the signature does.
    """
    signed_at = record.signed_at
    if record.status != ProcedureRecord.Status.SIGNED or signed_at is None:
        raise NotSigned(f"record {record.pk} is not signed")
    now = now or timezone.now()
    with transaction.atomic():
        existing = AftercareHandout.objects.filter(record=record).first()
        if existing is not None:
            return existing
        record = ProcedureRecord.objects.select_related("patient", "location", "protocol", "catalog_version").get(pk=record.pk)
        rules, protocol = _snapshot_rules(record)
        areas = _treated_areas(record)
        location = record.location
        aftercare = compose_aftercare(
            rules=rules, areas=areas, protocol=protocol, ended_at=signed_at, zone=location.zone, clinic_phone=location.phone
        )
        patient = record.patient
        handout = AftercareHandout.objects.create(
            record=record,
            patient=patient,
            location=location,
            catalog_version=record.catalog_version.number,
            ended_at=signed_at,
            issued_at=now,
            content=aftercare.as_json(),
            text=as_text(aftercare, patient_name=patient.full_name, clinic_name=location.name),
        )
        target = messages.channel_for(patient)
        checkin = CheckIn.objects.create(
            handout=handout,
            record=record,
            patient=patient,
            location=location,
            due_at=aftercare.checkin_at,
            expires_at=aftercare.checkin_at + link_hours(),
            channel=target[0] if target else CheckIn.Channel.NONE,
        )
        messages.queue_handout(handout=handout, patient=patient, clinic_name=location.name)
        messages.queue_checkin(checkin=checkin, patient=patient, clinic_name=location.name)
        audit.record(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="aftercare-handout",
            object_id=handout.pk,
            patient_id=patient.pk,
            location_id=location.pk,
            detail={"record": record.pk, "rules": [item.rule_key for item in aftercare.instructions], "checkin": checkin.pk},
        )
    return handout


def answer_checkin(
    *, ctx: audit.AuditContext, checkin_id: int, answer: str, text: str = "", now: datetime | None = None
) -> tuple[CheckIn, FollowUp | None]:
    """Record the patient's answer (once). "Not settled", "worse" or "other symptoms" open a follow-up."""
    if answer not in CheckIn.Answer.values:
        raise ValueError(f"unknown answer {answer!r}")
    text = text.strip()[:MAX_ANSWER_TEXT]
    now = now or timezone.now()
    follow_up = None
    with transaction.atomic():
        checkin = CheckIn.objects.select_for_update().get(pk=checkin_id)
        if checkin.is_answered:
            raise AlreadyAnswered("this check-in has been answered")
        if checkin.is_expired_at(now):
            raise LinkExpired("this check-in link has expired")
        checkin.answer, checkin.answer_text, checkin.answered_at = answer, text, now
        checkin.save(update_fields=["answer", "answer_text", "answered_at"])
        if checkin.escalates:
            follow_up = FollowUp.objects.filter(checkin=checkin).select_for_update().first()
            if follow_up is None:
                follow_up = FollowUp.objects.create(
                    checkin=checkin,
                    record_id=checkin.record_id,
                    patient_id=checkin.patient_id,
                    location_id=checkin.location_id,
                    reason=answer,
                    patient_text=text,
                    opened_at=now,
                )
            elif follow_up.is_open:  # a nurse opened it for "no answer"; the answer that came later says more
                follow_up.reason, follow_up.patient_text = answer, text
                follow_up.save(update_fields=["reason", "patient_text"])
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="aftercare-checkin",
            object_id=checkin.pk,
            patient_id=checkin.patient_id,
            location_id=checkin.location_id,
            detail={"fields": ["answer", "answer_text"], "answer": answer, "follow_up": follow_up.pk if follow_up else None},
        )
    return checkin, follow_up


def open_follow_up_for_unanswered(*, ctx: audit.AuditContext, checkin: CheckIn, now: datetime | None = None) -> FollowUp:
    """A nurse takes on an unanswered check-in (usually to call the patient)."""
    now = now or timezone.now()
    with transaction.atomic():
        locked = CheckIn.objects.select_for_update().get(pk=checkin.pk)
        if FollowUp.objects.filter(checkin=locked).exists():
            raise FollowUpExists("this check-in already has a follow-up")
        if locked.is_answered:
            raise AlreadyAnswered("the patient has answered this check-in")
        follow_up = FollowUp.objects.create(
            checkin=locked,
            record_id=locked.record_id,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            reason=FollowUp.Reason.UNANSWERED,
            opened_at=now,
        )
        audit.record(
            ctx,
            action=AuditEvent.Action.CREATE,
            object_type="aftercare-follow-up",
            object_id=follow_up.pk,
            patient_id=follow_up.patient_id,
            location_id=follow_up.location_id,
            detail={"checkin": locked.pk, "reason": follow_up.reason},
        )
    return follow_up


def lock_open_follow_up(follow_up: FollowUp) -> FollowUp:
    """The follow-up, locked for the rest of the caller's transaction; FollowUpNotOpen unless it is open."""
    locked = FollowUp.objects.select_for_update().get(pk=follow_up.pk)
    if not locked.is_open:
        raise FollowUpNotOpen(f"This follow-up is already {locked.get_status_display().lower()}.")
    return locked


def close_follow_up(*, ctx: audit.AuditContext, follow_up: FollowUp, note: str, now: datetime | None = None) -> FollowUp:
    note = note.strip()
    if not note:
        raise ValueError("a closing note is required")
    with transaction.atomic():
        locked = lock_open_follow_up(follow_up)
        locked.status, locked.closed_at, locked.closed_by, locked.close_note = (
            FollowUp.Status.CLOSED,
            now or timezone.now(),
            ctx.actor,
            note[:MAX_NOTE],
        )
        locked.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="aftercare-follow-up",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"fields": ["status", "close_note"], "status": locked.status},
        )
    return locked


def convert_follow_up(*, ctx: audit.AuditContext, follow_up: FollowUp, adverse_event_id: int, now: datetime | None = None) -> FollowUp:
    """Mark the follow-up as recorded as an adverse event. Call inside the transaction that records the event."""
    with transaction.atomic():
        locked = lock_open_follow_up(follow_up)
        locked.status, locked.closed_at, locked.closed_by = FollowUp.Status.CONVERTED, now or timezone.now(), ctx.actor
        locked.close_note = f"Recorded as adverse event {adverse_event_id}."
        locked.save(update_fields=["status", "closed_at", "closed_by", "close_note"])
        audit.record(
            ctx,
            action=AuditEvent.Action.UPDATE,
            object_type="aftercare-follow-up",
            object_id=locked.pk,
            patient_id=locked.patient_id,
            location_id=locked.location_id,
            detail={"fields": ["status"], "status": locked.status, "adverse_event": adverse_event_id},
        )
    return locked
