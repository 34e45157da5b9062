"""The session chart (tablet-first, one card per step, htmx saves), the signed record with its
amendments, the amend form, and the day's sessions. Views are thin: permission, form, one service."""

from __future__ import annotations

from datetime import date
from typing import Any

from django import forms as django_forms
from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mesoclinic.accounts.decorators import require
from mesoclinic.catalog.models import Product
from mesoclinic.core import audit
from mesoclinic.core.models import Location
from mesoclinic.scheduling import selectors as scheduling_selectors
from mesoclinic.scheduling.models import Appointment
from mesoclinic.screening.forms import QuestionnaireForm

from . import checks, selectors, services
from .error_summary import error_summary
from .forms import AmendForm, ConfirmForm, EarlyStartForm, NumbingForm, OverrideForm, PrpForm, ReactionsForm, TreatmentForm
from .models import ProcedureRecord
from .session_context import session_context

MAX_ID = 2**63 - 1
CONSENT_LABEL = "A signed consent form is on file (placeholder: checked on paper until Mesoclinic's consent part is built)"
PHOTOS_LABEL = "Before-photos were taken (placeholder: stored outside Mesoclinic until its photos part is built)"
ANTISEPSIS_LABEL = "The area was cleaned with an alcohol swab"
STEPS = ("rescreen", "override", "consent", "photos", "numbing", "antisepsis", "early-start", "treatment", "prp", "reactions")


def _scope(request: HttpRequest) -> frozenset[int]:
    return request.user.location_ids  # type: ignore[union-attr]


def _record_or_404(request: HttpRequest, pk: int) -> ProcedureRecord:
    try:
        return selectors.get_record(scope=_scope(request), pk=pk)
    except ProcedureRecord.DoesNotExist:
        raise Http404("No such session in your locations") from None


# --- the day's sessions --------------------------------------------------------------------------


def _day(request: HttpRequest, location: Location) -> date:
    raw = request.GET.get("on", "").strip()
    if not raw:
        return location.local(timezone.now()).date()
    try:
        if len(raw) != 10:
            raise ValueError(raw)
        return date.fromisoformat(raw)
    except ValueError:
        raise BadRequest("The date must look like 2026-03-10.") from None


def _location(request: HttpRequest) -> Location:
    locations = list(Location.objects.filter(pk__in=_scope(request), is_active=True).order_by("name"))
    if not locations:
        raise Http404("You work at no location")
    raw = request.GET.get("location", "").strip()
    if not raw:
        return locations[0]
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        raise BadRequest("Choose a location from the list.")
    for location in locations:
        if location.pk == int(raw):
            return location
    raise Http404("No such location in your list")


@require_safe
@require("procedure.view")
def session_list(request: HttpRequest) -> HttpResponse:
    location = _location(request)
    on = _day(request, location)
    rows = selectors.sessions_for_day(ctx=audit.context_from_request(request), scope=_scope(request), location=location, on=on)
    locations = Location.objects.filter(pk__in=_scope(request), is_active=True).order_by("name")
    context = {"rows": rows, "location": location, "on": on, "locations": locations, "can_chart": request.user.can("procedure.chart")}  # type: ignore[union-attr]
    return render(request, "procedures/session_list.html", context)


# --- opening the chart from an appointment --------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@require("procedure.chart")
def session_open(request: HttpRequest, appointment_id: int) -> HttpResponse:
    if not 0 < appointment_id <= MAX_ID:
        raise Http404("No such appointment")
    existing = selectors.record_for_appointment(scope=_scope(request), appointment_id=appointment_id)
    if existing is not None:
        return redirect("procedures:detail", pk=existing.pk)
    ctx = audit.context_from_request(request)
    try:
        appointment = scheduling_selectors.view_appointment(ctx=ctx, scope=_scope(request), pk=appointment_id)
    except Appointment.DoesNotExist:
        raise Http404("No such appointment in your locations") from None
    status, error = 200, ""
    if request.method == "POST":
        try:
            record = services.open_procedure(ctx=ctx, appointment=appointment)
        except services.ProcedureError as refused:
            status, error = refused.status, refused.message
        else:
            return redirect("procedures:detail", pk=record.pk)
    return render(request, "procedures/session_open.html", {"appointment": appointment, "error": error}, status=status)


# --- the chart -----------------------------------------------------------------------------------


def _blank_forms(chart: selectors.Chart) -> dict[str, Any]:
    return {
        "rescreen": QuestionnaireForm(questions=chart.rescreen_questions),
        "override": OverrideForm(),
        "consent": ConfirmForm(label=CONSENT_LABEL, prefix="consent"),
        "photos": ConfirmForm(label=PHOTOS_LABEL, prefix="photos"),
        "numbing": NumbingForm(record=chart.record),
        "antisepsis": ConfirmForm(label=ANTISEPSIS_LABEL, prefix="antisepsis"),
        "early_start": EarlyStartForm(prefix="early"),
        "treatment": TreatmentForm(chart=chart),
        "prp": PrpForm(chart=chart),
        "reactions": ReactionsForm(),
    }


def _same_as_last_time(request: HttpRequest, forms: dict[str, Any], record: ProcedureRecord, last: Any) -> str:
    """`?same=<area>` (or `?same=1`, the first area not charted yet) pre-fills the area card from last time."""
    wanted = request.GET.get("same", "").strip()[:60]
    if not wanted or last is None or forms["treatment"].is_bound or not record.is_open:
        return ""
    charted = {treatment.area.key for treatment in forms["treatment"].chart.treatments}
    choices = [t for t in last.treatments if t.area.key in record.area_keys]
    treatment = next((t for t in choices if t.area.key == wanted), None) or next((t for t in choices if t.area.key not in charted), None)
    if treatment is None:
        return ""
    forms["treatment"].same_as(treatment, device_id=record.appointment.device_id)
    return treatment.area.name


def _render_chart(
    request: HttpRequest,
    record: ProcedureRecord,
    *,
    bound: dict[str, Any] | None = None,
    errors: dict[str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    chart = selectors.chart(record)
    forms = _blank_forms(chart)
    forms.update(bound or {})
    user = request.user
    can_chart = user.can("procedure.chart")  # type: ignore[union-attr]
    about = session_context(record, products=[product for product, _lots in chart.product_lots] or list(chart_products(chart)))
    context = {
        "chart": chart,
        "record": record,
        "forms": forms,
        "errors": errors or {},
        "summary": error_summary(bound or {}, errors or {}),
        "about": about,
        "same_area": _same_as_last_time(request, forms, record, about.last),
        "not_qualified": checks.qualification_problem(actor=user, record=record) if can_chart and record.is_open else "",  # type: ignore[arg-type]
        "can_chart": can_chart,
        "can_sign": user.can("procedure.sign"),  # type: ignore[union-attr]
        "can_override": user.can("screening.override"),  # type: ignore[union-attr]
    }
    template = "procedures/chart.html#chart" if request.htmx else "procedures/chart.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=status)


def chart_products(chart: selectors.Chart) -> list[Any]:
    """The protocol's products when the chart read no lots (a closed record): for the allergy warning."""
    return list(Product.objects.filter(key__in=chart.terms.product_keys).order_by("name")) if chart.terms.product_keys else []


def _refuse_unqualified(request: HttpRequest, record: ProcedureRecord) -> HttpResponse | None:
    """The chart's writes are for a practitioner qualified for the protocol: others get the chart back with why (403)."""
    problem = checks.qualification_problem(actor=request.user, record=record)  # type: ignore[arg-type]
    if not problem:
        return None
    selectors.record_view(ctx=audit.context_from_request(request), record=record, screen="chart")
    return _render_chart(request, record, errors={"qualification": problem}, status=403)


@require_safe
@require("procedure.view")
def session_detail(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record_or_404(request, pk)
    ctx = audit.context_from_request(request)
    if record.is_signed:
        selectors.record_view(ctx=ctx, record=record, screen="signed-record")
        detail = selectors.signed_record_detail(record)
        can_amend = request.user.can("procedure.amend")  # type: ignore[union-attr]
        return render(request, "procedures/signed_record.html", {"detail": detail, "record": record, "can_amend": can_amend})
    selectors.record_view(ctx=ctx, record=record, screen="chart")
    return _render_chart(request, record)


def _apply_errors(form: django_forms.Form, refused: services.ProcedureError) -> None:
    placed = False
    for name, message in refused.errors.items():
        if name in form.fields:
            form.add_error(name, message)
            placed = True
    if not placed:
        form.add_error(None, refused.message)


def _step(step: str, request: HttpRequest, ctx: audit.AuditContext, record: ProcedureRecord) -> django_forms.Form:
    """Validate the step's form and call its service. Returns the (bound) form; raises ProcedureError."""
    post = request.POST
    chart = selectors.chart(record) if step in ("rescreen", "treatment", "prp", "numbing") else None
    form: django_forms.Form
    if step == "rescreen":
        assert chart is not None
        form = QuestionnaireForm(post, questions=chart.rescreen_questions)
        if form.is_valid():
            services.record_rescreen(ctx=ctx, record=record, answers=form.answers())
    elif step == "override":
        form = OverrideForm(post)
        if form.is_valid():
            services.override_rescreen(ctx=ctx, record=record, reason=form.cleaned_data["reason"])
    elif step in ("consent", "photos", "antisepsis"):
        label = {"consent": CONSENT_LABEL, "photos": PHOTOS_LABEL, "antisepsis": ANTISEPSIS_LABEL}[step]
        form = ConfirmForm(post, label=label, prefix=step)
        if form.is_valid():
            confirm = {"consent": services.confirm_consent, "photos": services.confirm_photos, "antisepsis": services.record_antisepsis}[
                step
            ]
            confirm(ctx=ctx, record=record)
    elif step == "numbing":
        assert chart is not None
        form = NumbingForm(post, record=record)
        if form.is_valid():
            services.record_numbing(
                ctx=ctx,
                record=record,
                product_name=form.cleaned_data["product_name"],
                applied_at=form.applied_moment(chart),
                lot=form.lot,
            )
    elif step == "early-start":
        form = EarlyStartForm(post, prefix="early")
        if form.is_valid():
            services.start_injections_early(ctx=ctx, record=record, reason=form.cleaned_data["reason"])
    elif step == "treatment":
        assert chart is not None
        form = TreatmentForm(post, chart=chart)
        if form.is_valid():
            data = form.cleaned_data
            services.record_area_treatment(
                ctx=ctx,
                record=record,
                area_key=data["area"],
                technique_key=data["technique"],
                depth_mm=data.get("depth_mm"),
                passes=data.get("passes"),
                dermapen_speed=data.get("dermapen_speed"),
                device=data.get("device"),
                products=form.product_lines(),
                consumables=form.consumable_lines(),
                notes=data.get("notes", ""),
            )
    elif step == "prp":
        assert chart is not None
        form = PrpForm(post, chart=chart)
        if form.is_valid():
            data = form.cleaned_data
            services.record_prp(
                ctx=ctx,
                record=record,
                blood_drawn_ml=data["blood_drawn_ml"],
                drawn_at=form.drawn_moment(),
                kit_lot=data["kit_lot"],
                centrifuge_programme=data["centrifuge_programme"],
                prepared_ml=data["prepared_ml"],
                injected_ml=data["injected_ml"],
            )
    elif step == "reactions":
        form = ReactionsForm(post)
        if form.is_valid():
            services.record_reactions(ctx=ctx, record=record, reactions=form.lines())
    else:  # pragma: no cover — the URL only routes known steps
        raise Http404("No such step")
    return form


def _after_write(request: HttpRequest, record: ProcedureRecord, anchor: str) -> HttpResponse:
    if request.htmx:  # type: ignore[attr-defined]
        selectors.record_view(ctx=audit.context_from_request(request), record=record, screen="chart")
        return _render_chart(request, record)
    return redirect(reverse("procedures:detail", args=[record.pk]) + f"#{anchor}")


@require_POST
@require("procedure.chart")
def session_step(request: HttpRequest, pk: int, step: str) -> HttpResponse:
    if step not in STEPS:
        raise Http404("No such step")
    record = _record_or_404(request, pk)
    if unqualified := _refuse_unqualified(request, record):
        return unqualified
    ctx = audit.context_from_request(request)
    status = 400
    try:
        form = _step(step, request, ctx, record)
    except services.ProcedureError as refused:
        form = _refused_form(step, request, record)
        _apply_errors(form, refused)
        status = refused.status
    else:
        if form.is_valid():
            return _after_write(request, record, f"step-{step}")
    record = _record_or_404(request, pk)
    selectors.record_view(ctx=ctx, record=record, screen="chart")
    return _render_chart(request, record, bound={step.replace("-", "_"): form}, status=status)


def _refused_form(step: str, request: HttpRequest, record: ProcedureRecord) -> django_forms.Form:
    """The step's form bound to what was posted, validated again (the service refused it)."""
    fresh = _record_or_404(request, record.pk)
    chart = selectors.chart(fresh)
    post = request.POST
    form: django_forms.Form = {
        "rescreen": lambda: QuestionnaireForm(post, questions=chart.rescreen_questions),
        "override": lambda: OverrideForm(post),
        "consent": lambda: ConfirmForm(post, label=CONSENT_LABEL, prefix="consent"),
        "photos": lambda: ConfirmForm(post, label=PHOTOS_LABEL, prefix="photos"),
        "antisepsis": lambda: ConfirmForm(post, label=ANTISEPSIS_LABEL, prefix="antisepsis"),
        "numbing": lambda: NumbingForm(post, record=fresh),
        "early-start": lambda: EarlyStartForm(post, prefix="early"),
        "treatment": lambda: TreatmentForm(post, chart=chart),
        "prp": lambda: PrpForm(post, chart=chart),
        "reactions": lambda: ReactionsForm(post),
    }[step]()
    form.is_valid()
    return form


@require_POST
@require("procedure.chart")
def treatment_delete(request: HttpRequest, pk: int, treatment_id: int) -> HttpResponse:
    record = _record_or_404(request, pk)
    if unqualified := _refuse_unqualified(request, record):
        return unqualified
    ctx = audit.context_from_request(request)
    try:
        services.remove_area_treatment(ctx=ctx, record=record, treatment_id=treatment_id)
    except services.ProcedureError as refused:
        selectors.record_view(ctx=ctx, record=record, screen="chart")
        return _render_chart(request, record, errors={"treatment": refused.message}, status=refused.status)
    return _after_write(request, record, "step-treatment")


@require_http_methods(["GET", "HEAD", "POST"])
@require("procedure.sign")
def session_sign(request: HttpRequest, pk: int) -> HttpResponse:
    """Signing locks the record, so it is confirmed on a page of its own that sums up what is signed;
    a POST without the confirmation shows that page again and signs nothing."""
    record = _record_or_404(request, pk)
    ctx = audit.context_from_request(request)
    if not record.is_open:
        return redirect("procedures:detail", pk=record.pk)
    if request.method == "POST" and request.POST.get("confirmed") == "yes":
        try:
            services.sign_procedure(ctx=ctx, record=record)
        except services.ProcedureError as refused:
            record = _record_or_404(request, pk)
            selectors.record_view(ctx=ctx, record=record, screen="chart")
            return _render_chart(request, record, errors={"sign_off": refused.message}, status=refused.status)
        messages.success(request, "Signed. The record is locked; stock was taken out and the course updated.")
        url = reverse("procedures:detail", args=[record.pk])
        if request.htmx:  # type: ignore[attr-defined]
            response = HttpResponse(status=204)
            response["HX-Redirect"] = url
            return response
        return redirect(url)
    selectors.record_view(ctx=ctx, record=record, screen="sign-confirm")
    chart = selectors.chart(record, with_choices=False)
    context = {
        "record": record,
        "chart": chart,
        "not_qualified": checks.qualification_problem(actor=request.user, record=record),  # type: ignore[arg-type]
    }
    return render(request, "procedures/sign_confirm.html", context)


# --- amendments ----------------------------------------------------------------------------------


@require_http_methods(["GET", "HEAD", "POST"])
@require("procedure.amend")
def session_amend(request: HttpRequest, pk: int) -> HttpResponse:
    record = _record_or_404(request, pk)
    ctx = audit.context_from_request(request)
    if not record.is_signed:
        return redirect("procedures:detail", pk=record.pk)
    detail = selectors.signed_record_detail(record, with_course=False)
    posted = request.method == "POST"
    form = AmendForm(request.POST if posted else None, fields=detail.fields)
    status = 400 if posted else 200
    if posted and form.is_valid():
        data = form.cleaned_data
        try:
            services.amend_record(ctx=ctx, record=record, target=data["target"], new_value=data["new_value"], reason=data["reason"])
        except services.ProcedureError as refused:
            _apply_errors(form, refused)
            status = refused.status
        else:
            messages.success(request, "Amendment added. The signed value stays visible beside it.")
            return redirect(reverse("procedures:detail", args=[record.pk]) + "#amendments")
    selectors.record_view(ctx=ctx, record=record, screen="amend")
    return render(request, "procedures/amend.html", {"detail": detail, "record": record, "form": form}, status=status)
