from __future__ import annotations

import csv
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.core.exceptions import BadRequest, ValidationError
from django.db.models import Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mesoclinic.accounts.decorators import require
from mesoclinic.aftercare import selectors as aftercare_selectors
from mesoclinic.aftercare.models import FollowUp
from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import Patient
from mesoclinic.procedures.amended import amended_product_usages
from mesoclinic.procedures.models import ProcedureRecord

from . import charts, selectors, services
from .forms import AdverseEventForm, CloseEventForm, EventFilterForm, RecallContactForm, RegulatorReportForm
from .models import AdverseEvent

PAGE_SIZE = 50
MAX_ID = 2**63 - 1


def _scope(request: HttpRequest) -> frozenset[int]:
    return request.user.location_ids  # type: ignore[union-attr]


def _event_or_404(request: HttpRequest, pk: int) -> AdverseEvent:
    try:
        return selectors.get_event(scope=_scope(request), pk=pk)
    except AdverseEvent.DoesNotExist:
        raise Http404("No such adverse event at your locations") from None


def _id_param(request: HttpRequest, name: str) -> int | None:
    raw = request.GET.get(name, "").strip()
    if not raw:
        return None
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 19 and 0 < int(raw) <= MAX_ID):
        raise BadRequest(f"“{name}” must be a whole number.")
    return int(raw)


def _filters(request: HttpRequest) -> EventFilterForm:
    form = EventFilterForm(request.GET or None, scope=_scope(request))
    if request.GET and not form.is_valid():
        raise BadRequest(" ".join(str(error) for errors in form.errors.values() for error in errors))
    return form


# --- Adverse events -----------------------------------------------------------------------------


@require_safe
@require("adverse_event.view")
def event_list(request: HttpRequest) -> HttpResponse:
    form = _filters(request)
    filters = form.to_filter() if form.is_bound else selectors.EventFilter()
    rows = selectors.event_list(
        ctx=audit.context_from_request(request),
        scope=_scope(request),
        filters=filters,
        before=_id_param(request, "before"),
        limit=PAGE_SIZE,
    )
    query = request.GET.copy()
    query.pop("before", None)
    context = {
        "events": rows[:PAGE_SIZE],
        "next_before": rows[PAGE_SIZE - 1].pk if len(rows) > PAGE_SIZE else None,
        "form": form,
        "query": query.urlencode(),
        "can_report": request.user.can("safety.report"),  # type: ignore[union-attr]
    }
    return render(request, "safety/event_list.html", context)


def _event_page(
    request: HttpRequest,
    pk: int,
    *,
    form: CloseEventForm | None = None,
    regulator_form: RegulatorReportForm | None = None,
    status: int = 200,
    conflict: str = "",
) -> HttpResponse:
    try:
        event = selectors.view_event(ctx=audit.context_from_request(request), scope=_scope(request), pk=pk, screen="adverse-event")
    except AdverseEvent.DoesNotExist:
        raise Http404("No such adverse event at your locations") from None
    can_review = request.user.can("adverse_event.review") and event.is_open  # type: ignore[union-attr]
    context = {
        "event": event,
        "local_onset": event.location.local(event.onset_at),
        "form": form or (CloseEventForm(record=event) if can_review else None),
        "can_review": can_review,
        "conflict": conflict,
        "suspects": selectors.suspects_of([event]).get(event.pk, []),
        "regulator_form": regulator_form
        or (
            RegulatorReportForm(
                initial={
                    "regulator_reported_on": event.regulator_reported_on,
                    "regulator_channel": event.regulator_channel,
                    "regulator_reference": event.regulator_reference,
                }
            )
            if request.user.can("adverse_event.record")  # type: ignore[union-attr]
            else None
        ),
    }
    return render(request, "safety/event_detail.html", context, status=status)


@require_safe
@require("adverse_event.view")
def event_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _event_page(request, pk)


@require_safe
@require("adverse_event.view")
def event_print(request: HttpRequest, pk: int) -> HttpResponse:
    """The one-event report for the regulator: a page made for printing (print CSS)."""
    try:
        event = selectors.view_event(ctx=audit.context_from_request(request), scope=_scope(request), pk=pk, screen="adverse-event-print")
    except AdverseEvent.DoesNotExist:
        raise Http404("No such adverse event at your locations") from None
    patient = event.patient
    context = {
        "event": event,
        "local_onset": event.location.local(event.onset_at),
        "initials": f"{patient.given_name[:1]}{patient.family_name[:1]}".upper(),
        "age": patient.age_on(event.location.local(event.onset_at).date()),
        "now": timezone.now(),
        "suspects": selectors.suspects_of([event]).get(event.pk, []),
    }
    return render(request, "safety/event_print.html", context)


@require_POST
@require("adverse_event.review")
def event_close(request: HttpRequest, pk: int) -> HttpResponse:
    event = _event_or_404(request, pk)
    form = CloseEventForm(request.POST, record=event)
    if not form.is_valid():
        return _event_page(request, pk, form=form, status=400)
    try:
        services.close_adverse_event(
            ctx=audit.context_from_request(request),
            event=event,
            causality=form.cleaned_data["causality"],
            outcome=form.cleaned_data["outcome"],
            note=form.cleaned_data["review_note"],
            expected_version=form.expected_version,
        )
    except services.EventClosed as refused:
        return _event_page(request, pk, status=409, conflict=str(refused))
    except StaleEdit as stale:
        form.refuse_stale(stale)
        return _event_page(request, pk, form=form, status=409)
    messages.success(request, "Adverse event reviewed and closed.")
    return redirect("safety:event-detail", pk=pk)


@require_POST
@require("adverse_event.record")
def event_regulator(request: HttpRequest, pk: int) -> HttpResponse:
    """Note when and how the event was reported to the regulator, and its reference number."""
    event = _event_or_404(request, pk)
    form = RegulatorReportForm(request.POST)
    if not form.is_valid():
        return _event_page(request, pk, regulator_form=form, status=400)
    try:
        services.record_regulator_report(
            ctx=audit.context_from_request(request),
            event=event,
            reported_on=form.cleaned_data["regulator_reported_on"],
            channel=form.cleaned_data["regulator_channel"],
            reference=form.cleaned_data["regulator_reference"],
        )
    except ValidationError as refused:
        for field, errors in refused.message_dict.items():
            for error in errors:
                form.add_error(field if field in form.fields else None, error)
        return _event_page(request, pk, regulator_form=form, status=400)
    messages.success(request, "Report to the regulator noted.")
    return redirect("safety:event-detail", pk=pk)


def _whole_number(raw: str, label: str) -> int | None:
    if raw and not (raw.isascii() and raw.isdigit() and len(raw) <= 19):
        raise BadRequest(f"“{label}” must be a whole number.")
    return int(raw) if raw else None


def _subject(request: HttpRequest) -> tuple[ProcedureRecord | None, FollowUp | None, Patient]:
    """What the event is about: a follow-up (and its session), a session (signed or not), or a patient alone."""
    scope = _scope(request)
    source = request.POST if request.method == "POST" else request.GET
    follow_up_id = _whole_number(source.get("follow_up", "").strip(), "follow_up")
    record_id = _whole_number(source.get("record", "").strip(), "record")
    patient_id = _whole_number(source.get("patient", "").strip(), "patient")
    follow_up = None
    if follow_up_id is not None:
        try:
            follow_up = aftercare_selectors.get_follow_up(scope=scope, pk=follow_up_id)
        except FollowUp.DoesNotExist:
            raise Http404("No such follow-up at your locations") from None
        record_id = follow_up.record_id
    if record_id is not None:
        try:
            record = selectors.session_record(scope=scope, pk=record_id)
        except ProcedureRecord.DoesNotExist:
            raise Http404("No such session at your locations") from None
        return record, follow_up, record.patient
    if patient_id is None:
        raise BadRequest("Open this form from a session, a follow-up or a patient (give “record”, “follow_up” or “patient”).")
    try:
        patient = selectors.patient_in_scope(scope=scope, pk=patient_id)
    except Patient.DoesNotExist:
        raise Http404("No such patient at your locations") from None
    return None, None, patient


@require_http_methods(["GET", "HEAD", "POST"])
@require("adverse_event.record")
def event_new(request: HttpRequest) -> HttpResponse:
    record, follow_up, patient = _subject(request)
    ctx = audit.context_from_request(request)
    status, conflict = 200, ""
    location = record.location if record is not None else patient.location
    usages = amended_product_usages(record) if record is not None else []
    lots = services.suspect_lots(record=record, location_id=location.pk)
    with timezone.override(location.zone):  # the onset is typed in the clinic's local time
        initial: dict[str, Any] = {"onset_at": timezone.localtime().replace(second=0, microsecond=0)}
        if follow_up is not None and record is not None:
            initial["event_type"] = AdverseEvent.Type.PERSISTENT_REDNESS if follow_up.reason == FollowUp.Reason.NOT_SETTLED else ""
            initial["description"] = f"Check-in answer: {follow_up.get_reason_display()}." + (
                f" The patient wrote: “{follow_up.patient_text}”" if follow_up.patient_text else ""
            )
            initial["areas"] = [t.pk for t in record.treatments.all()]
            initial["usages"] = [u.pk for u in usages]
        posted = request.POST if request.method == "POST" else None
        form = AdverseEventForm(posted, record=record, usages=usages, lots=lots, initial=initial)
        if request.method == "POST":
            if form.is_valid():
                data = form.cleaned_data
                try:
                    event = services.record_adverse_event(
                        ctx=ctx,
                        record=record,
                        patient=patient,
                        data=data,
                        treatment_ids=data.get("areas", []),
                        usage_ids=data.get("usages", []),
                        lot_ids=data.get("lots", []),
                        follow_up=follow_up,
                    )
                except services.EventRefused as refused:
                    form.add_error(None, str(refused))
                    status = 400
                except services.aftercare_services.FollowUpNotOpen as refused:
                    status, conflict = 409, str(refused)
                else:
                    messages.success(request, f"Adverse event recorded for {patient.full_name}.")
                    return redirect("safety:event-detail", pk=event.pk)
            else:
                status = 400
        audit.record(
            ctx,
            action=AuditEvent.Action.VIEW,
            object_type="procedure-record" if record is not None else "patient",
            object_id=record.pk if record is not None else patient.pk,
            patient_id=patient.pk,
            location_id=location.pk,
            detail={"screen": "adverse-event-form"},
        )
        context = {"form": form, "record": record, "patient": patient, "follow_up": follow_up, "conflict": conflict}
        return render(request, "safety/event_form.html", context, status=status)


def _csv_response(filename: str, header: list[str], rows: Iterable[list[Any]]) -> HttpResponse:
    response = HttpResponse(content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "private, no-store"
    response.write("\ufeff")  # so spreadsheet programs read the file as UTF-8
    writer = csv.writer(response)
    writer.writerow(header)
    for row in rows:
        writer.writerow([_cell(value) for value in row])
    return response


def _cell(value: Any) -> Any:
    """Neutralise spreadsheet formulas in text cells (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


@require_safe
@require("adverse_event.view")
def event_export(request: HttpRequest) -> HttpResponse:
    """Every adverse event of the filter as CSV, for the regulator and the clinic's own analysis."""
    form = _filters(request)
    filters = form.to_filter() if form.is_bound else selectors.EventFilter()
    scope = _scope(request)
    events = selectors.events_for_export(scope=scope, filters=filters)
    audit.record(
        audit.context_from_request(request),
        action=AuditEvent.Action.EXPORT,
        object_type="adverse-event",
        detail={"format": "csv", "count": len(events), "patient_ids": sorted({event.patient_id for event in events})},
    )
    header = [
        "event_id", "reported_at", "onset_at", "type", "severity", "serious", "outcome", "causality", "status",
        "treatment_given", "description", "protocol", "areas", "products", "lots", "practitioner", "location",
        "patient_record_number", "patient_sex", "patient_age_at_onset",
        "reaction_code", "reaction_term", "seriousness_criteria", "record_status", "lots_originally",
        "reporter_name", "reporter_role", "regulator_reported_on", "regulator_channel", "regulator_reference",
    ]  # fmt: skip
    suspects = selectors.suspects_of(events)
    rows = (
        [
            event.pk,
            event.location.local(event.reported_at).isoformat(),
            event.location.local(event.onset_at).isoformat(),
            event.get_event_type_display(),
            event.get_severity_display(),
            "yes" if event.is_serious else "no",
            event.get_outcome_display(),
            event.get_causality_display() if event.causality else "",
            event.get_status_display(),
            event.treatment,
            event.description,
            event.record.protocol.name if event.record else "",
            "; ".join(link.area.name for link in event.area_links.all()),
            "; ".join(item.name for item in suspects.get(event.pk, [])),
            "; ".join(item.lot.lot_number for item in suspects.get(event.pk, [])),
            event.record.practitioner.get_full_name() if event.record else "",
            event.location.name,
            event.patient.record_number,
            event.patient.get_sex_display(),
            event.patient.age_on(event.onset_at.date()),
            event.reaction_code,
            event.get_reaction_code_display() if event.reaction_code else "",
            "; ".join(event.seriousness_criteria),
            event.record.get_status_display() if event.record else "no session",
            "; ".join(item.originally for item in suspects.get(event.pk, []) if item.originally),
            event.reporter_name,
            event.reporter_role,
            event.regulator_reported_on.isoformat() if event.regulator_reported_on else "",
            event.get_regulator_channel_display() if event.regulator_channel else "",
            event.regulator_reference,
        ]
        for event in events
    )
    return _csv_response("adverse-events.csv", header, rows)


# --- The safety report --------------------------------------------------------------------------


@require_safe
@require("safety.report")
def report(request: HttpRequest) -> HttpResponse:
    form = _filters(request)
    filters = form.to_filter() if form.is_bound else selectors.EventFilter()
    result = selectors.safety_report(scope=_scope(request), filters=filters)
    chart = charts.bar_chart([(row.label, row.count) for row in result.by_month])
    audit.record(
        audit.context_from_request(request),
        action=AuditEvent.Action.VIEW,
        object_type="safety-report",
        detail={"since": str(filters.since or ""), "until": str(filters.until or ""), "location": filters.location_id},
    )
    query = request.GET.urlencode()
    return render(request, "safety/report.html", {"report": result, "chart": chart, "form": form, "query": query})


# --- Lot recall ---------------------------------------------------------------------------------


@require_safe
@require("recall.manage")
def recall_start(request: HttpRequest) -> HttpResponse:
    """Find the lot named in a recall notice by its number."""
    number = request.GET.get("lot_number", "")
    if len(number) > 60 or "\x00" in number:
        raise BadRequest("A lot number has at most 60 characters.")
    lots = selectors.find_lots(scope=_scope(request), lot_number=number)
    return render(request, "safety/recall_start.html", {"lots": lots, "lot_number": number.strip()})


def _lot_or_404(request: HttpRequest, lot_id: int) -> Lot:
    try:
        return selectors.get_lot(scope=_scope(request), pk=lot_id)
    except Lot.DoesNotExist:
        raise Http404("No such lot at your locations") from None


def _recall_page(
    request: HttpRequest, lot: Lot, *, status: int = 200, conflict: str = "", form: RecallContactForm | None = None
) -> HttpResponse:
    recall = selectors.recall_search(ctx=audit.context_from_request(request), scope=_scope(request), lot=lot)
    context = {"recall": recall, "conflict": conflict, "form": form or RecallContactForm()}
    return render(request, "safety/recall_detail.html", context, status=status)


@require_safe
@require("recall.manage")
def recall_detail(request: HttpRequest, lot_id: int) -> HttpResponse:
    return _recall_page(request, _lot_or_404(request, lot_id))


@require_safe
@require("recall.manage")
def recall_export(request: HttpRequest, lot_id: int) -> HttpResponse:
    lot = _lot_or_404(request, lot_id)
    ctx = audit.context_from_request(request)
    recall = selectors.recall_search(ctx=ctx, scope=_scope(request), lot=lot)
    audit.record(
        ctx,
        action=AuditEvent.Action.EXPORT,
        object_type="lot",
        object_id=lot.pk,
        location_id=lot.location_id,
        detail={"format": "csv", "screen": "lot-recall", "patient_ids": sorted({s.record.patient_id for s in recall.sessions})},
    )
    header = [
        "session_signed_at", "record_status", "session_started_at",
        "location", "practitioner", "protocol", "patient_record_number", "patient_name", "phone", "email",
        "preferred_channel", "item", "kind", "area", "amount", "lot_number", "mixed_with", "contacted_at", "contacted_by", "contact_method",
    ]  # fmt: skip
    rows = []
    for session in recall.sessions:
        patient, contact = session.record.patient, session.contact
        for line in session.lines:
            rows.append(
                [
                    session.local_signed_at.isoformat() if session.local_signed_at else "",
                    "signed" if session.signed else "not signed",
                    session.local_started_at.isoformat(),
                    session.record.location.name,
                    session.record.practitioner.get_full_name(),
                    session.record.protocol.name,
                    patient.record_number,
                    patient.full_name,
                    patient.phone,
                    patient.email,
                    patient.get_preferred_channel_display(),
                    line.label,
                    line.kind,
                    line.area,
                    line.amount,
                    line.lot.lot_number,
                    "; ".join(line.mixed_with),
                    session.record.location.local(contact.contacted_at).isoformat() if contact else "",
                    contact.contacted_by.get_username() if contact else "",
                    contact.get_method_display() if contact else "",
                ]
            )
    return _csv_response(f"recall-lot-{lot.lot_number}.csv", header, rows)


@require_POST
@require("recall.manage")
def recall_contacted(request: HttpRequest, lot_id: int, patient_id: int) -> HttpResponse:
    lot = _lot_or_404(request, lot_id)
    scope = _scope(request)
    form = RecallContactForm(request.POST)
    if not form.is_valid():
        return _recall_page(request, lot, status=400, form=form)
    # The patient must have received this lot (the same lot number) at one of the caller's locations.
    lots = selectors.same_lot(lot, scope)
    received = (
        0 < patient_id <= MAX_ID
        and ProcedureRecord.objects.filter(patient_id=patient_id, location_id__in=scope, status=ProcedureRecord.Status.SIGNED)
        .filter(Q(product_usages__lot__in=lots) | Q(consumable_usages__lot__in=lots) | Q(prp_preparations__kit_lot__in=lots))
        .exists()
    )
    if not received:
        raise Http404("This patient did not receive this lot at your locations")
    patient = Patient.objects.get(pk=patient_id)
    try:
        services.mark_recall_contacted(
            ctx=audit.context_from_request(request),
            lot=lot,
            patient=patient,
            method=form.cleaned_data["method"],
            note=form.cleaned_data["note"],
        )
    except services.AlreadyContacted as refused:
        return _recall_page(request, lot, status=409, conflict=str(refused))
    messages.success(request, f"{patient.full_name} marked as contacted.")
    return redirect("safety:recall-detail", lot_id=lot.pk)
