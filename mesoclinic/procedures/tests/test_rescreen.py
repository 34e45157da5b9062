"""Step 1: the re-screen uses the screening engine; a "not eligible" answer stops the session unless a doctor overrides."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core.exceptions import PermissionDenied

from mesoclinic.core.models import AuditEvent
from mesoclinic.procedures import services
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.screening.models import Screening

from .factories import answers_for

pytestmark = pytest.mark.django_db


def test_a_clear_re_screen_lets_the_session_go_on(clinic):
    record = clinic.record()
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record))
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.OPEN
    assert record.rescreen_status == "eligible"
    assert record.rescreen.kind == Screening.Kind.RESCREEN
    assert record.rescreen.area_keys == ["scalp"]
    assert record.rescreened_at is not None


def test_a_pregnancy_stops_the_session_with_the_reason(clinic):
    record = clinic.record()
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record, pregnancy=True))
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.STOPPED
    assert "Pregnancy" in record.stop_reason
    with pytest.raises(services.RecordClosed, match="stopped at the re-screen"):
        services.confirm_consent(ctx=clinic.nurse_ctx, record=record)
    with pytest.raises(services.RecordClosed):
        services.sign_procedure(ctx=clinic.nurse_ctx, record=record)


def test_an_infection_at_the_site_today_stops_the_session(clinic):
    record = clinic.record()
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record, infection_scalp=True))
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.STOPPED


def test_a_nurse_cannot_override_but_a_doctor_can_with_a_reason(clinic):
    record = clinic.record()
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record, breastfeeding=True))
    with pytest.raises(services.NotAllowed):
        services.override_rescreen(ctx=clinic.nurse_ctx, record=record, reason="The patient stopped breastfeeding last week.")
    with pytest.raises(services.ChartRefused):
        services.override_rescreen(ctx=clinic.doctor_ctx, record=record, reason="short")

    services.override_rescreen(ctx=clinic.doctor_ctx, record=record, reason="Weaned last week; confirmed with the patient and the GP.")

    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.OPEN
    assert record.rescreen_overridden is True
    assert AuditEvent.objects.filter(object_type="procedure-record", action=AuditEvent.Action.OVERRIDE).exists()
    assert AuditEvent.objects.filter(object_type="screening-verdict", action=AuditEvent.Action.OVERRIDE).exists()


def test_a_corrected_re_screen_resumes_a_stopped_session(clinic):
    record = clinic.record()
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record, pregnancy=True))
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record))
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.OPEN


def test_unanswered_questions_are_refused_and_nothing_is_saved(clinic):
    record = clinic.record()
    answers = answers_for(record)
    answers.pop("pregnancy")
    with pytest.raises(services.ChartRefused) as refused:
        services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers)
    assert "pregnancy" in refused.value.errors
    record.refresh_from_db()
    assert record.rescreened_at is None
    assert not Screening.objects.filter(kind=Screening.Kind.RESCREEN).exists()


def test_without_a_valid_full_screening_the_re_screen_is_refused(clinic):
    record = clinic.record()
    Screening.objects.filter(patient=clinic.patient).update(expires_on=record.started_at.date() - timedelta(days=1))
    with pytest.raises(services.StepOutOfOrder, match="full screening"):
        services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers_for(record))


def test_later_steps_wait_for_the_re_screen(clinic):
    record = clinic.record()
    with pytest.raises(services.StepOutOfOrder, match="Re-screen"):
        services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA")


def test_a_new_diagnosis_since_the_last_visit_stops_the_injections_until_a_doctor_reviews_it(clinic):
    record = clinic.record()
    answers = {**answers_for(record), "new_diagnosis_or_medicine": "yes"}
    services.record_rescreen(ctx=clinic.nurse_ctx, record=record, answers=answers)
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.STOPPED
    assert "New diagnosis or medicine since the last visit" in record.stop_reason
    with pytest.raises(services.RecordClosed):
        services.record_numbing(ctx=clinic.nurse_ctx, record=record, product_name="EMLA")
    with pytest.raises(PermissionDenied):
        services.override_rescreen(ctx=clinic.nurse_ctx, record=record, reason="New vitamin D only, no interaction with treatment.")
    services.override_rescreen(ctx=clinic.doctor_ctx, record=record, reason="New vitamin D only, no interaction with treatment.")
    record.refresh_from_db()
    assert record.status == ProcedureRecord.Status.OPEN and record.rescreen_overridden
    assert AuditEvent.objects.filter(object_type="screening-verdict", action="override", actor=clinic.doctor).exists()
