"""Recording an adverse event: tied to the session, its areas and the lots used; from a follow-up or directly."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from mesoclinic.aftercare import services as aftercare_services
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.safety import services
from mesoclinic.safety.models import AdverseEvent

from .factories import doctor_at, event_data, issued, lot_of, nurse, record_event, signed_session

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_worker")]


def mixture_session(location):
    return signed_session(
        location,
        protocol_key="hair_cocktail",
        areas={
            "scalp": [
                lot_of(location, "hair_cocktail", lot_number="HC-2401"),
                lot_of(location, "hair_loss_medicine_solution", lot_number="HM-77"),
            ]
        },
    )


def test_an_event_links_to_the_session_its_areas_and_every_lot_of_the_mixture(location):
    session = mixture_session(location)
    event = record_event(session)
    assert event.record == session.record and event.patient == session.patient and event.location == location
    assert [link.area.key for link in event.area_links.all()] == ["scalp"]
    assert [link.treatment for link in event.area_links.all()] == [session.treatments["scalp"]]
    assert sorted(link.lot.lot_number for link in event.product_links.all()) == ["HC-2401", "HM-77"]
    assert sorted(link.usage_id for link in event.product_links.all()) == sorted(u.pk for u in session.usages)
    row = AuditEvent.objects.get(object_type="adverse-event", action="create")
    assert row.patient_id == session.patient.pk and sorted(row.detail["lots"]) == sorted(u.lot_id for u in session.usages)


def test_an_event_can_name_one_product_of_a_mixture(location):
    session = mixture_session(location)
    event = record_event(session, usages=session.usages[1:])
    assert [link.lot.lot_number for link in event.product_links.all()] == ["HM-77"]


def test_an_event_from_a_follow_up_closes_the_follow_up_as_converted(location):
    session = signed_session(location)
    checkin = issued(session).checkin
    _, follow_up = aftercare_services.answer_checkin(ctx=audit.SYSTEM, checkin_id=checkin.pk, answer="worse", now=checkin.due_at)
    event = record_event(session, follow_up=follow_up)
    follow_up.refresh_from_db()
    assert follow_up.status == FollowUp.Status.CONVERTED and event.follow_up == follow_up
    assert str(event.pk) in follow_up.close_note
    with pytest.raises(aftercare_services.FollowUpNotOpen):
        record_event(session, follow_up=follow_up)
    assert AdverseEvent.objects.count() == 1  # the refused second event left nothing behind


def test_it_refuses_areas_and_lots_of_another_session(location):
    session, other = signed_session(location), signed_session(location)
    with pytest.raises(services.EventRefused, match="areas"):
        record_event(session, treatments=list(other.treatments.values()))
    with pytest.raises(services.EventRefused, match="lots"):
        record_event(session, usages=other.usages)
    assert AdverseEvent.objects.count() == 0


def test_it_refuses_an_onset_before_the_session_or_in_the_future(location):
    session = signed_session(location)
    with pytest.raises(services.EventRefused, match="before the session"):
        record_event(session, onset_at=session.record.started_at - timedelta(minutes=1))
    with pytest.raises(services.EventRefused, match="future"):
        record_event(session, onset_at=session.record.signed_at + timedelta(days=3))


def test_a_follow_up_of_another_session_is_refused(location):
    session, other = signed_session(location), signed_session(location)
    checkin = issued(other).checkin
    _, follow_up = aftercare_services.answer_checkin(ctx=audit.SYSTEM, checkin_id=checkin.pk, answer="worse", now=checkin.due_at)
    with pytest.raises(services.EventRefused, match="another session"):
        record_event(session, follow_up=follow_up)


def test_only_a_doctor_closes_an_event_and_only_with_causality_note_and_outcome(location):
    session = signed_session(location)
    event = record_event(session)
    with pytest.raises(PermissionDenied):
        services.close_adverse_event(
            ctx=audit.AuditContext(actor=nurse(location)), event=event, causality="possible", outcome="resolved", note="x"
        )
    doctor = doctor_at(location)
    ctx = audit.AuditContext(actor=doctor)
    with pytest.raises(ValidationError):
        services.close_adverse_event(ctx=ctx, event=event, causality="possible", outcome="ongoing", note="Settled.")
    closed = services.close_adverse_event(ctx=ctx, event=event, causality="possible", outcome="resolved", note="Settled in 2 days.")
    assert (closed.status, closed.reviewed_by, closed.causality) == (AdverseEvent.Status.CLOSED, doctor, "possible")
    with pytest.raises(services.EventClosed):
        services.close_adverse_event(ctx=ctx, event=event, causality="related", outcome="resolved", note="again")


def test_bad_values_are_refused_by_validation_not_stored(location):
    session = signed_session(location)
    for override in ({"severity": "catastrophic"}, {"event_type": "unknown"}, {"description": ""}):
        with pytest.raises(ValidationError):
            record_event(session, **override)
    assert AdverseEvent.objects.count() == 0
    assert event_data(session)["severity"] == "mild"
