"""Step 4–6: injections stay locked until the protocol's numbing wait has passed (time-machine clock)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesoclinic.catalog.models import CatalogVersion, Protocol
from mesoclinic.catalog.selectors import current_version
from mesoclinic.core.models import AuditEvent
from mesoclinic.procedures import services, step_rules
from mesoclinic.procedures.models import AreaTreatment, ProductUsage, Step

from .conftest import NOW
from .factories import numb, prepare, treat

pytestmark = pytest.mark.django_db


def test_injections_are_refused_until_thirty_minutes_after_numbing_then_allowed(clinic, clock):
    record = numb(clinic.nurse_ctx, clinic.record())  # numbing at 09:55
    assert record.injections_unlock_at == NOW + timedelta(minutes=30)

    clock.shift(timedelta(minutes=29, seconds=59))
    with pytest.raises(services.StepOutOfOrder, match="comes after the numbing wait: not before 10:25"):
        services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)
    clock.shift(timedelta(seconds=1))
    services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)
    treat(clinic.nurse_ctx, record, lot=clinic.lot)
    record.refresh_from_db()
    assert record.injections_started_at == NOW + timedelta(minutes=30)
    assert record.early_start_reason == ""


def test_injections_are_locked_while_the_wait_runs_even_after_a_swab(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())  # cream on at 09:25, swab at 09:55
    services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA", applied_at=NOW - timedelta(minutes=5))
    with pytest.raises(services.NumbingWaitNotOver, match="locked until 10:20") as locked:
        treat(clinic.nurse_ctx, record, lot=clinic.lot)
    assert locked.value.unlock_at == NOW + timedelta(minutes=25)
    assert not AreaTreatment.objects.exists()
    assert not ProductUsage.objects.exists()


def test_a_doctor_ends_the_wait_early_with_a_written_reason_and_it_is_audited(clinic, clock):
    record = numb(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=20))
    with pytest.raises(services.ChartRefused, match="reason"):
        services.start_injections_early(ctx=clinic.doctor_ctx, record=record, reason="   ")

    services.start_injections_early(ctx=clinic.doctor_ctx, record=record, reason="Patient has a train to catch; low pain expected.")
    services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)  # the swab may follow at once
    treat(clinic.nurse_ctx, record, lot=clinic.lot)

    record.refresh_from_db()
    assert record.injections_started_at == NOW + timedelta(minutes=20)
    assert record.early_start_reason.startswith("Patient has a train")
    event = AuditEvent.objects.get(object_type="procedure-record", action=AuditEvent.Action.OVERRIDE)
    assert event.actor == clinic.doctor
    assert event.detail == {
        "step": "treatment",
        "numbing_wait": "started early",
        "minutes_early": 10,
        "role": "doctor",
        "allowed": "doctor",
    }


def test_a_nurse_may_not_start_early_where_the_catalog_says_a_doctor(clinic, clock):
    record = numb(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=20))
    with pytest.raises(services.EarlyStartNotAllowed, match="Only a doctor may start the injections before the numbing wait") as refused:
        services.start_injections_early(ctx=clinic.nurse_ctx, record=record, reason="Patient has a train to catch; low pain expected.")
    assert refused.value.status == 403
    record.refresh_from_db()
    assert record.early_start_reason == "" and record.injections_started_at is None
    assert not AuditEvent.objects.filter(action=AuditEvent.Action.OVERRIDE).exists()


def test_a_nurse_may_start_early_where_the_catalog_allows_clinicians(clinic, clock):
    version = current_version()
    snapshot = dict(version.snapshot)
    for protocol in snapshot["protocols"]:
        if protocol["key"] == "hair_cocktail":
            protocol["early_start_role"] = "clinician"
    CatalogVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)  # the record pins this version's rules
    record = numb(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=20))
    services.start_injections_early(ctx=clinic.nurse_ctx, record=record, reason="Patient has a train to catch; low pain expected.")
    record.refresh_from_db()
    assert record.early_start_reason.startswith("Patient has a train")


def test_an_early_start_after_the_swab_starts_the_injections_at_once(clinic, clock):
    record = prepare(clinic.nurse_ctx, clinic.record())
    services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA", applied_at=NOW - timedelta(minutes=5))
    services.start_injections_early(ctx=clinic.doctor_ctx, record=record, reason="Patient has a train to catch; low pain expected.")
    record.refresh_from_db()
    assert record.injections_started_at == NOW


def test_an_early_start_is_refused_once_the_wait_is_over(clinic, clock):
    record = numb(clinic.nurse_ctx, clinic.record())
    clock.shift(timedelta(minutes=31))
    with pytest.raises(services.StepOutOfOrder, match="wait is over"):
        services.start_injections_early(ctx=clinic.doctor_ctx, record=record, reason="No reason needed any more, really.")


def test_the_swab_is_never_in_the_same_minute_as_the_cream(clinic, clock):
    version = current_version()
    snapshot = dict(version.snapshot)
    for protocol in snapshot["protocols"]:
        protocol["numbing_minutes"] = 0
        protocol["uses_topical_anaesthetic"] = False
    CatalogVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)
    record = numb(clinic.nurse_ctx, clinic.record())
    assert record.numbing_minutes == 0
    with pytest.raises(services.StepOutOfOrder, match="at least 1 minute after Numbing cream"):
        services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)
    clock.shift(timedelta(minutes=1))
    services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)


def test_a_record_pinned_before_the_step_rules_keeps_the_old_order(clinic, clock):
    version = current_version()
    snapshot = dict(version.snapshot)
    for step in snapshot["procedure_steps"]:
        for name in ("chart_step", "after_numbing_wait", "after_step", "min_minutes_after"):
            step.pop(name, None)
    CatalogVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)
    record = numb(clinic.nurse_ctx, clinic.record())
    services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)  # as before: the swab during the wait


def test_the_checklist_follows_the_catalogs_step_order(clinic):
    snapshot = dict(current_version().snapshot)
    assert step_rules.checklist_order(snapshot)[:3] == [Step.NUMBING, Step.ANTISEPSIS, Step.TREATMENT]
    for step in snapshot["procedure_steps"]:
        step["position"] = {"numbing": 30, "alcohol_swab": 20, "micro_injections": 10}[step["key"]]
    assert step_rules.checklist_order(snapshot)[:3] == [Step.TREATMENT, Step.ANTISEPSIS, Step.NUMBING]


def test_a_numbing_time_in_the_waiting_area_counts_from_when_it_went_on(clinic, clock):
    record = numb(clinic.nurse_ctx, clinic.record(), applied_at=NOW - timedelta(minutes=25))
    record.refresh_from_db()
    assert record.injections_unlock_at == NOW + timedelta(minutes=5)  # 09:30 + 30 minutes, not 09:55 + 30

    clock.shift(timedelta(minutes=4, seconds=59))
    with pytest.raises(services.StepOutOfOrder):  # the swab waits for the end of the numbing wait too
        services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)
    clock.shift(timedelta(seconds=1))
    services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)
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
    numb(clinic.nurse_ctx, record)
    record.refresh_from_db()
    assert record.numbing_minutes == 30
    assert record.injections_unlock_at == NOW + timedelta(minutes=30)

    clock.shift(timedelta(minutes=30))
    services.record_antisepsis(ctx=clinic.nurse_ctx, record=record)
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


def test_the_chart_lists_the_steps_in_the_catalogs_order(clinic):
    from mesoclinic.procedures import selectors

    record = clinic.record()
    assert [step.key for step in selectors.chart(record, with_choices=False).steps][3:6] == ["numbing", "antisepsis", "treatment"]
    version = current_version()
    snapshot = dict(version.snapshot)
    for step in snapshot["procedure_steps"]:
        step["position"] = {"numbing": 10, "alcohol_swab": 30, "micro_injections": 20}[step["key"]]
    CatalogVersion.objects.filter(pk=version.pk).update(snapshot=snapshot)
    record.refresh_from_db()
    steps = selectors.chart(record, with_choices=False).steps
    assert [step.key for step in steps][3:6] == ["numbing", "treatment", "antisepsis"]
    assert [step.number for step in steps] == list(range(1, len(steps) + 1))


def test_every_default_step_the_chart_acts_on_is_one_it_knows(clinic):
    rules = step_rules.step_rules(current_version().snapshot)
    assert {rule.key: rule.step for rule in rules} == {
        "numbing": Step.NUMBING,
        "alcohol_swab": Step.ANTISEPSIS,
        "micro_injections": Step.TREATMENT,
    }
    swab = next(rule for rule in rules if rule.key == "alcohol_swab")
    assert (swab.after_numbing_wait, swab.after, swab.min_minutes_after) == (True, Step.NUMBING, 1)
