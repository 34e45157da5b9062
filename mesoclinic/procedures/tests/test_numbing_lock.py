"""Step 4–6: injections stay locked until the protocol's numbing wait has passed (time-machine clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesoclinic.catalog.models import Protocol
from mesoclinic.core.models import AuditEvent
from mesoclinic.procedures import services
from mesoclinic.procedures.models import AreaTreatment, ProductUsage

from .conftest import NOW
from .factories import prepare, treat

pytestmark = pytest.mark.django_db


def test_injections_are_refused_until_thirty_minutes_after_numbing_then_allowed(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())  # numbing at 09:55
    assert record.injections_unlock_at == NOW + timedelta(minutes=30)

    clock.shift(timedelta(minutes=29, seconds=59))
    with pytest.raises(services.NumbingWaitNotOver, match="locked until 10:25") as locked:
        treat(clinic.nurse_ctx, record, lot=clinic.lot)
    assert locked.value.unlock_at == NOW + timedelta(minutes=30)
    assert not AreaTreatment.objects.exists()
    assert not ProductUsage.objects.exists()

    clock.shift(timedelta(seconds=1))
    treat(clinic.nurse_ctx, record, lot=clinic.lot)
    record.refresh_from_db()
    assert record.injections_started_at == NOW + timedelta(minutes=30)
    assert record.early_start_reason == ""


def test_an_early_start_needs_a_written_reason_and_is_audited(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=20))
    with pytest.raises(services.ChartRefused, match="reason"):
        services.start_injections_early(ctx=clinic.nurse_ctx, record=record, reason="   ")

    services.start_injections_early(ctx=clinic.nurse_ctx, record=record, reason="Patient has a train to catch; low pain expected.")
    treat(clinic.nurse_ctx, record, lot=clinic.lot)

    record.refresh_from_db()
    assert record.injections_started_at == NOW + timedelta(minutes=20)
    assert record.early_start_reason.startswith("Patient has a train")
    event = AuditEvent.objects.get(object_type="procedure-record", action=AuditEvent.Action.OVERRIDE)
    assert event.detail == {"step": "treatment", "numbing_wait": "started early", "minutes_early": 10}


def test_an_early_start_is_refused_once_the_wait_is_over(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=31))
    with pytest.raises(services.StepOutOfOrder, match="wait is over"):
        services.start_injections_early(ctx=clinic.nurse_ctx, record=record, reason="No reason needed any more, really.")


def test_a_numbing_time_in_the_waiting_area_counts_from_when_it_went_on(clinic, clock):
    record = clinic.record()
    prepare(clinic.nurse_ctx, record)
    services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA", applied_at=NOW - timedelta(minutes=25))
    record.refresh_from_db()
    assert record.injections_unlock_at == NOW + timedelta(minutes=5)  # 09:30 + 30 minutes, not 09:55 + 30

    clock.shift(timedelta(minutes=4, seconds=59))
    with pytest.raises(services.NumbingWaitNotOver, match="locked until 10:00"):
        treat(clinic.nurse_ctx, record, lot=clinic.lot)
    clock.shift(timedelta(seconds=1))
    treat(clinic.nurse_ctx, record, lot=clinic.lot)  # 30 minutes after it went on
    record.refresh_from_db()
    assert record.injections_started_at == NOW + timedelta(minutes=5)
    assert record.early_start_reason == ""
    assert AreaTreatment.objects.filter(record=record).count() == 1


@pytest.mark.parametrize(
    ("offset", "message"),
    [
        pytest.param(timedelta(minutes=1), "future", id="future"),
        pytest.param(timedelta(hours=-2, minutes=-1), "two hours", id="too-long-ago"),
    ],
)
def test_a_numbing_time_in_the_future_or_long_ago_is_refused(clinic, offset, message):
    record = clinic.record()
    prepare(clinic.nurse_ctx, record)
    before = record.numbing_applied_at
    with pytest.raises(services.ChartRefused, match=message):
        services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA", applied_at=NOW + offset)
    record.refresh_from_db()
    assert record.numbing_applied_at == before


def test_the_numbing_cannot_be_charted_again_once_injections_started(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=30))
    treat(clinic.nurse_ctx, record, lot=clinic.lot)
    with pytest.raises(services.StepOutOfOrder, match="Injections have started"):
        services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA")


def test_the_wait_is_the_protocols_as_pinned_when_the_chart_opened(clinic, clock):
    record = clinic.record()
    Protocol.objects.filter(key="hair_cocktail").update(numbing_minutes=45)  # a later edit (not even versioned)
    prepare(clinic.nurse_ctx, record)
    record.refresh_from_db()
    assert record.numbing_minutes == 30
    assert record.injections_unlock_at == NOW + timedelta(minutes=30)

    clock.shift(timedelta(minutes=30))
    treat(clinic.nurse_ctx, record, lot=clinic.lot)  # not refused: the 45 minutes do not apply to this chart
    record.refresh_from_db()
    assert record.injections_started_at == NOW + timedelta(minutes=30)
    assert record.early_start_reason == ""


def test_injections_need_the_preparation_steps_first(clinic, clock):
    record = clinic.record()
    from .factories import answers_for

    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record))
    services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA")
    clock.shift(timedelta(minutes=40))
    with pytest.raises(services.StepOutOfOrder, match="Consent on file, Before-photos, Antisepsis"):
        treat(clinic.nurse_ctx, record, lot=clinic.lot)
