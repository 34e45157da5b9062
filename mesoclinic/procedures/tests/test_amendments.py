"""Corrections to a signed record are amendments: who, when, why, what, the new value — the signed value kept beside it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from mesoclinic.core.models import AuditEvent
from mesoclinic.procedures import services
from mesoclinic.procedures.amendments import amendable_fields
from mesoclinic.procedures.models import Amendment, AreaTreatment
from mesoclinic.procedures.selectors import signed_record_detail

from .factories import chart_fully, ctx_of, prepare

pytestmark = pytest.mark.django_db


@pytest.fixture
def signed(clinic, clock):
    record = chart_fully(clinic.nurse_ctx, clinic.record(), clock, lot=clinic.lot)
    services.sign_procedure(ctx=clinic.nurse_ctx, record=record)
    return record


def key(record, field: str) -> str:
    return next(item.key for item in amendable_fields(record) if item.field == field)


def test_an_amendment_keeps_the_signed_value_and_records_who_when_why(signed, clinic, clock):
    clock.shift(timedelta(hours=3))
    amendment = services.amend_record(
        ctx=clinic.doctor_ctx, record=signed, target=key(signed, "depth_mm"), new_value="1.25", reason="Depth misread from the pen display."
    )
    assert (amendment.original_value, amendment.new_value, amendment.amended_by) == ("1", "1.25", clinic.doctor)
    assert amendment.section == "treatment" and amendment.field == "depth_mm"
    assert "Scalp" in amendment.label
    assert str(AreaTreatment.objects.get(record=signed).depth_mm) == "1.00"  # the signed row is untouched
    detail = signed_record_detail(signed)
    fact = next(f for _t, facts in detail.treatment_facts for f in facts if f.label == "Needle depth (mm)")
    assert (fact.signed, fact.current, fact.amended) == ("1", "1.25", True)
    event = AuditEvent.objects.get(object_type="procedure-record", detail__amendment=amendment.pk)
    assert event.detail == {"amendment": amendment.pk, "section": "treatment", "field": "depth_mm"}


def test_a_second_amendment_starts_from_the_first(signed, clinic):
    target = key(signed, "volume_ml")
    services.amend_record(ctx=clinic.nurse_ctx, record=signed, target=target, new_value="2.0", reason="Half a millilitre was spilt.")
    second = services.amend_record(
        ctx=clinic.doctor_ctx, record=signed, target=target, new_value="2.25", reason="Recounted against the vial."
    )
    assert (second.original_value, second.new_value) == ("2", "2.25")
    assert [a.new_value for a in Amendment.objects.filter(record=signed)] == ["2", "2.25"]


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("depth_mm", "1.6", "outside the protocol's depth"),
        ("depth_mm", "4", "at most 3 mm"),
        ("depth_mm", "deep", "Give the depth"),
        ("volume_ml", "0", "more than 0"),
        ("passes", "0", "whole number from 1"),
        ("dermapen_speed", "fast", "whole number"),
        ("numbing_product", "", "Enter the new value"),
        ("numbing_product", "EMLA 5% cream", "same as the current"),
    ],
)
def test_a_bad_new_value_is_refused_like_the_original_was(signed, clinic, field, value, message):
    with pytest.raises(services.ChartRefused, match=message):
        services.amend_record(
            ctx=clinic.nurse_ctx, record=signed, target=key(signed, field), new_value=value, reason="Correcting the record."
        )
    assert not Amendment.objects.exists()


def test_an_amendment_needs_a_reason_and_a_known_target(signed, clinic):
    with pytest.raises(services.ChartRefused, match="reason"):
        services.amend_record(ctx=clinic.nurse_ctx, record=signed, target=key(signed, "passes"), new_value="4", reason="typo")
    with pytest.raises(services.ChartRefused, match="from the list"):
        services.amend_record(
            ctx=clinic.nurse_ctx, record=signed, target="treatment:999:depth_mm", new_value="1", reason="Correcting the record."
        )


def test_only_a_signed_record_is_amended(clinic):
    record = prepare(clinic.nurse_ctx, clinic.record())
    with pytest.raises(services.StepOutOfOrder):
        services.amend_record(
            ctx=clinic.nurse_ctx, record=record, target="numbing:0:numbing_product", new_value="x", reason="Correcting the record."
        )


def test_a_receptionist_cannot_amend(signed, clinic):
    with pytest.raises(services.NotAllowed):
        services.amend_record(
            ctx=ctx_of(clinic.receptionist), record=signed, target=key(signed, "passes"), new_value="4", reason="Correcting it."
        )
