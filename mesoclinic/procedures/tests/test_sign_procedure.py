"""Step 8: sign-off takes stock, completes the appointment, updates the course and locks the record — all or nothing."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.courses import selectors as courses_selectors
from mesoclinic.courses.models import Course
from mesoclinic.inventory.models import Lot, StockMovement
from mesoclinic.inventory.services import recall_lot
from mesoclinic.procedures import hooks, services
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.scheduling.models import Appointment

from .factories import book_hair_course, chart_fully, ctx_of, kit_lot, needles_for, no_reactions, prepare, treat

pytestmark = pytest.mark.django_db


def test_signing_takes_stock_completes_the_appointment_and_locks_the_record(clinic, clock):
    record = chart_fully(
        clinic.nurse_ctx,
        clinic.record(),
        clock,
        lot=clinic.lot,
        volume="2.50",
        consumables=[services.ConsumableLine(lot=clinic.cartridge_lot, quantity=1)],
    )

    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)

    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.SIGNED
    assert (record.signed_by, record.signed_at) == (clinic.nurse, record.injections_started_at)
    assert Lot.objects.get(pk=clinic.lot.pk).on_hand == Decimal("7.50")
    assert Lot.objects.get(pk=clinic.cartridge_lot.pk).on_hand == Decimal("19")
    used = StockMovement.objects.filter(kind=StockMovement.Kind.USED)
    assert {(m.lot_id, m.quantity, m.reference_type, m.reference_id, m.patient_id) for m in used} == {
        (clinic.lot.pk, Decimal("-2.50"), "procedure", str(record.pk), clinic.patient.pk),
        (clinic.cartridge_lot.pk, Decimal("-1.00"), "procedure", str(record.pk), clinic.patient.pk),
    }
    assert Appointment.objects.get(pk=record.appointment_id).status == Appointment.Status.COMPLETED
    event = AuditEvent.objects.filter(object_type="procedure-record", detail__step="sign_off").get()
    assert event.detail["status"] == "signed" and len(event.detail["movements"]) == 2
    with pytest.raises(services.RecordClosed, match="only be amended"):
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    with pytest.raises(services.RecordClosed):
        no_reactions(clinic.nurse_ctx, record)


def test_sign_off_with_a_step_missing_is_refused_and_names_the_steps(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    with pytest.raises(services.StepsMissing) as refused:
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    assert refused.value.missing == ["Treated areas", "Immediate reactions"]
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.OPEN
    assert not StockMovement.objects.filter(kind=StockMovement.Kind.USED).exists()


def test_sign_off_of_a_fresh_record_lists_every_step(clinic):
    with pytest.raises(services.StepsMissing) as refused:
        services.sign_procedure(ctx=clinic.nurse_ctx, record=clinic.record())
    assert refused.value.missing == [
        "Re-screen",
        "Consent on file",
        "Before-photos",
        "Numbing cream",
        "Antisepsis (alcohol swab)",
        "Treated areas",
        "Immediate reactions",
    ]


def test_a_lot_recalled_after_charting_stops_the_sign_off_and_nothing_moves(clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    recall_lot(ctx=ctx_of(clinic.receptionist), lot=clinic.lot, reason="Supplier notice 7")

    with pytest.raises(services.StockRefused, match="recalled"):
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)

    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.OPEN
    assert Lot.objects.get(pk=clinic.lot.pk).on_hand == Decimal("10")
    assert Appointment.objects.get(pk=record.appointment_id).status == Appointment.Status.IN_PROGRESS
    assert not AuditEvent.objects.filter(detail__step="sign_off").exists()


def test_a_lot_that_expired_since_charting_stops_the_sign_off(clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    Lot.objects.filter(pk=clinic.lot.pk).update(expires_on=date(2026, 3, 9))
    with pytest.raises(services.StockRefused, match="expired"):
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)


def test_two_areas_from_one_lot_that_together_exceed_it_are_refused(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    treat(clinic.nurse_ctx, record, lot=clinic.lot, volume="6")
    treat(clinic.nurse_ctx, record, lot=clinic.lot, volume="6", technique_key="direct_papule", dermapen_speed=None)
    no_reactions(clinic.nurse_ctx, record)
    with pytest.raises(services.StockRefused, match="holds 10 ml; 12 ml"):
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    assert Lot.objects.get(pk=clinic.lot.pk).on_hand == Decimal("10")


def test_a_receptionist_cannot_sign(clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    with pytest.raises(services.NotAllowed):
        services.sign_procedure(ctx=ctx_of(clinic.receptionist), record=record)


def test_signing_a_course_session_updates_progress_and_recomputes_the_next_window(clinic, clock):
    course, appointments = book_hair_course(clinic, start_on=date(2026, 3, 10))
    first = appointments[0]
    clock.move_to(first.starts_at - timedelta(minutes=5))
    record = services.open_procedure(ctx=clinic.nurse_ctx, appointment=first)
    chart_fully(clinic.nurse_ctx, record, clock, lot=clinic.lot)

    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)

    progress = courses_selectors.progress_of(courses_selectors.get_course(scope=frozenset({clinic.location.pk}), pk=course.pk))
    assert progress.label == "1 of 6"
    second = course.sessions.get(number=2)
    assert (second.window_opens_on, second.window_closes_on) == (date(2026, 4, 7), date(2026, 4, 7))
    assert Course.objects.get(pk=course.pk).status == Course.Status.ACTIVE
    assert AuditEvent.objects.filter(object_type="course", action=AuditEvent.Action.UPDATE, object_id=str(course.pk)).exists()


def test_sign_off_hooks_run_inside_the_transaction_and_can_stop_it(clinic, clock):
    seen = []

    def remember(*, ctx, record):
        seen.append((record.pk, record.status))

    def refuse(*, ctx, record):
        raise RuntimeError("aftercare could not be composed")

    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    hooks.register_sign_off_hook("test-1-remember", remember)
    hooks.register_sign_off_hook("test-2-refuse", refuse)
    try:
        with pytest.raises(RuntimeError, match="aftercare"):
            services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
        record.refresh_from_db()
        assert record.status == ProcedureRecord.Status.OPEN
        assert Lot.objects.get(pk=clinic.lot.pk).on_hand == Decimal("10")
        assert seen == [(record.pk, "signed")]
        hooks.unregister_sign_off_hook("test-2-refuse")
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
        assert seen[-1] == (record.pk, "signed")
    finally:
        hooks.unregister_sign_off_hook("test-1-remember")
        hooks.unregister_sign_off_hook("test-2-refuse")


def test_a_prp_session_takes_the_kit_from_stock_but_never_the_plasma(clinic, clock):
    record = clinic.record(protocol_key="hair_prp")
    kit = kit_lot(clinic.location, lot_number="KIT-9")
    prepare(clinic.nurse_ctx, record)
    with pytest.raises(services.ChartRefused, match="plasma injected"):
        services.record_prp(
            ctx=clinic.nurse_ctx,
            record=record,
            blood_drawn_ml=Decimal("20"),
            drawn_at=record.started_at,
            kit_lot=kit,
            centrifuge_programme="1500 g, 5 min",
            prepared_ml=Decimal("4"),
            injected_ml=Decimal("5"),
        )
    with pytest.raises(services.ChartRefused, match="PRP preparation kits"):
        services.record_prp(
            ctx=clinic.nurse_ctx,
            record=record,
            blood_drawn_ml=Decimal("20"),
            drawn_at=record.started_at,
            kit_lot=clinic.cartridge_lot,
            centrifuge_programme="1500 g, 5 min",
            prepared_ml=Decimal("4"),
            injected_ml=Decimal("3.5"),
        )
    services.record_prp(
        ctx=clinic.nurse_ctx,
        record=record,
        blood_drawn_ml=Decimal("20"),
        drawn_at=record.started_at,
        kit_lot=kit,
        centrifuge_programme="1500 g, 5 min",
        prepared_ml=Decimal("4"),
        injected_ml=Decimal("3.5"),
    )
    clock.shift(timedelta(minutes=30))
    services.record_area_treatment(
        ctx=clinic.nurse_ctx,
        record=record,
        area_key="scalp",
        technique_key="direct_nappage",
        depth_mm=Decimal("1.0"),
        products=[],
        consumables=needles_for(record),
    )
    no_reactions(clinic.nurse_ctx, record)

    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)

    assert Lot.objects.get(pk=kit.pk).on_hand == Decimal("4")
    assert StockMovement.objects.filter(kind=StockMovement.Kind.USED).count() == 2  # the kit and the cartridge; never the plasma


def test_a_prp_protocol_cannot_be_signed_without_the_prp(clinic, clock):
    record = clinic.record(protocol_key="hair_prp")
    prepare(clinic.nurse_ctx, record)
    clock.shift(timedelta(minutes=30))
    services.record_area_treatment(
        ctx=clinic.nurse_ctx,
        record=record,
        area_key="scalp",
        technique_key="direct_nappage",
        depth_mm=Decimal("1.0"),
        products=[],
        consumables=needles_for(record),
    )
    no_reactions(clinic.nurse_ctx, record)
    with pytest.raises(services.StepsMissing, match="Platelet-rich plasma"):
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)


def test_reactions_are_validated(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    treat(clinic.nurse_ctx, record, lot=clinic.lot)
    line = services.ReactionLine
    for bad, message in [
        ([], "None"),
        ([line("none"), line("redness", "mild")], "cannot be chosen together"),
        ([line("redness")], "severity"),
        ([line("other", "mild")], "Describe"),
        ([line("itching", "mild")], "once"),
    ]:
        with pytest.raises(services.ChartRefused, match=message):
            services.record_reactions(ctx=clinic.nurse_ctx, record=record, reactions=bad)
    services.record_reactions(ctx=clinic.nurse_ctx, record=record, reactions=[line("redness", "mild"), line("bleeding", "mild")])
    assert sorted(record.reactions.values_list("kind", flat=True)) == ["bleeding", "redness"]


def test_the_database_refuses_a_signed_record_without_its_steps(clinic):
    from django.db import IntegrityError, transaction

    record = clinic.record()
    with pytest.raises(IntegrityError), transaction.atomic():
        ProcedureRecord.objects.filter(pk=record.pk).update(status="signed", signed_at=record.started_at, signed_by=clinic.nurse)
