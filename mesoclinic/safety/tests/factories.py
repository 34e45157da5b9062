"""Safety test helpers, on top of the aftercare ones (a signed session with lots)."""

from __future__ import annotations

from datetime import timedelta

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.aftercare.tests.factories import Session, issued, lot_of, nurse, signed_session
from mesoclinic.core import audit
from mesoclinic.safety import services
from mesoclinic.safety.models import AdverseEvent


def doctor_at(location):
    return UserFactory(role=Role.DOCTOR, locations=[location])


def event_data(session: Session, **overrides):
    data = {
        "event_type": AdverseEvent.Type.PERSISTENT_REDNESS,
        "description": "Redness over the scalp still there the next morning.",
        "onset_at": (session.record.signed_at or session.record.started_at) + timedelta(hours=6),
        "severity": AdverseEvent.Severity.MILD,
        "treatment": "Cold compress; reassurance.",
        "outcome": AdverseEvent.Outcome.RECOVERING,
    }
    data.update(overrides)
    return data


def record_event(session: Session, *, by=None, treatments=None, usages=None, follow_up=None, lot_ids=(), **overrides) -> AdverseEvent:
    by = by or nurse(session.record.location)
    return services.record_adverse_event(
        ctx=audit.AuditContext(actor=by),
        record=session.record,
        data=event_data(session, **overrides),
        treatment_ids=[t.pk for t in (treatments if treatments is not None else session.treatments.values())],
        usage_ids=[u.pk for u in (usages if usages is not None else session.usages)],
        lot_ids=list(lot_ids),
        follow_up=follow_up,
        now=(session.record.signed_at or session.record.started_at) + timedelta(days=1),
    )


__all__ = ["doctor_at", "event_data", "issued", "lot_of", "nurse", "record_event", "signed_session"]
