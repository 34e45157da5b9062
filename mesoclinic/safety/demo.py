"""Demo safety data: an adverse event recorded from a check-in follow-up (open for the doctor's
review), one reviewed and closed, and a patient marked contacted about a lot."""

from __future__ import annotations

from datetime import timedelta

from mesoclinic.accounts.models import User
from mesoclinic.accounts.roles import Role
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.core import audit
from mesoclinic.core.seeding import SeedRun
from mesoclinic.procedures.models import ProcedureRecord

from . import services
from .models import AdverseEvent, RecallContact


def _staff(role: Role, location_id: int) -> User | None:
    return User.objects.filter(role=role, memberships__location_id=location_id, is_active=True).order_by("id").first()


def seed(run: SeedRun) -> None:
    made = 0
    follow_ups = list(FollowUp.objects.filter(status=FollowUp.Status.OPEN).select_related("record").order_by("opened_at", "id")[:2])
    for index, follow_up in enumerate(follow_ups):
        record = ProcedureRecord.objects.prefetch_related("treatments", "product_usages").get(pk=follow_up.record_id)
        nurse, doctor = _staff(Role.NURSE, record.location_id), _staff(Role.DOCTOR, record.location_id)
        if nurse is None or doctor is None or record.signed_at is None:
            continue
        onset = follow_up.opened_at - timedelta(hours=1)
        event = services.record_adverse_event(
            ctx=audit.AuditContext(actor=nurse),
            record=record,
            data={
                "event_type": AdverseEvent.Type.PERSISTENT_REDNESS if index == 0 else AdverseEvent.Type.SWELLING,
                "description": "Redness had not settled by the evening check-in; patient called back by the nurse.",
                "onset_at": max(onset, record.signed_at),
                "severity": AdverseEvent.Severity.MILD,
                "treatment": "Cool compresses; advised to avoid heat and sun.",
                "outcome": AdverseEvent.Outcome.RECOVERING,
            },
            treatment_ids=[t.pk for t in record.treatments.all()],
            usage_ids=[u.pk for u in record.product_usages.all()],
            follow_up=follow_up,
            now=follow_up.opened_at + timedelta(hours=1),
        )
        made += 1
        if index == 1:
            services.close_adverse_event(
                ctx=audit.AuditContext(actor=doctor),
                event=event,
                causality=AdverseEvent.Causality.POSSIBLE,
                outcome=AdverseEvent.Outcome.RESOLVED,
                note="Settled within two days without treatment; a known, short-lived effect.",
                now=follow_up.opened_at + timedelta(days=2),
            )
    contacted = 0
    usage_record = ProcedureRecord.objects.filter(status=ProcedureRecord.Status.SIGNED, product_usages__isnull=False).order_by("id").first()
    if usage_record is not None:
        manager = _staff(Role.MANAGER, usage_record.location_id)
        usage = usage_record.product_usages.select_related("lot").first()
        if (
            manager is not None
            and usage is not None
            and not RecallContact.objects.filter(lot=usage.lot, patient_id=usage_record.patient_id).exists()
        ):
            services.mark_recall_contacted(
                ctx=audit.AuditContext(actor=manager),
                lot=usage.lot,
                patient=usage_record.patient,
                method="phone",
                note="Demo: told about a supplier notice.",
            )
            contacted = 1
    if not made and not contacted:
        run.say("Safety: no signed sessions to report on (demo session records are seeded in the small scale only).")
        return
    closed = AdverseEvent.objects.filter(status=AdverseEvent.Status.CLOSED).count()
    run.say(f"Safety: {made} adverse event(s) from follow-ups ({closed} reviewed and closed), {contacted} recall contact(s).")
