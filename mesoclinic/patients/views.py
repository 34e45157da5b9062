from __future__ import annotations

import copy

from django.contrib import messages
from django.core.exceptions import BadRequest
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_safe

from mesoclinic.accounts.decorators import require
from mesoclinic.core import audit
from mesoclinic.core.concurrency import StaleEdit
from mesoclinic.core.panels import panels_for

from . import selectors, services
from .forms import EditPatientForm, RegisterPatientForm
from .models import Patient

MAX_PAGE = 40  # 1,000 rows: past that, a narrower search is the answer


def _page_number(request: HttpRequest) -> int:
    raw = request.GET.get("page", "1").strip() or "1"
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 4 and 1 <= int(raw) <= MAX_PAGE):
        raise BadRequest(f"The page must be a whole number from 1 to {MAX_PAGE}. To go further, narrow the search.")
    return int(raw)


def _search_text(request: HttpRequest) -> str:
    query = request.GET.get("q", "")
    if len(query) > selectors.MAX_QUERY_LENGTH:
        raise BadRequest(f"Search for at most {selectors.MAX_QUERY_LENGTH} characters: the start of a name is enough.")
    if "\x00" in query:
        raise BadRequest("The search text contains a character that cannot be searched for.")
    return query


def _patient_or_404(request: HttpRequest, pk: int, screen: str) -> Patient:
    try:
        return selectors.view_patient(ctx=audit.context_from_request(request), scope=request.user.location_ids, pk=pk, screen=screen)  # type: ignore[union-attr]
    except Patient.DoesNotExist:
        raise Http404("No such patient in your locations") from None


@require_safe
@require("patient.view")
def patient_list(request: HttpRequest) -> HttpResponse:
    query = _search_text(request)
    result = selectors.search_patients(
        ctx=audit.context_from_request(request),
        scope=request.user.location_ids,  # type: ignore[union-attr]
        query=query,
        page=_page_number(request),
    )
    template = "patients/patient_list.html#results" if request.htmx else "patients/patient_list.html"  # type: ignore[attr-defined]
    can_register = request.user.can("patient.register")  # type: ignore[union-attr]
    return render(request, template, {"result": result, "query": query, "can_register": can_register})


@require_http_methods(["GET", "HEAD", "POST"])
@require("patient.register")
def patient_new(request: HttpRequest) -> HttpResponse:
    scope = request.user.location_ids  # type: ignore[union-attr]
    form = RegisterPatientForm(request.POST if request.method == "POST" else None, scope=scope)
    candidates: list[Patient] = []
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                patient = services.register_patient(
                    ctx=audit.context_from_request(request),
                    location=form.cleaned_data["location"],
                    data=form.cleaned_data,
                    scope=scope,
                    confirm_not_duplicate=form.cleaned_data["confirm_not_duplicate"],
                )
            except services.LikelyDuplicate as duplicate:
                candidates = duplicate.candidates
                status = 409
            else:
                messages.success(request, f"Registered {patient.full_name} as {patient.record_number}.")
                return redirect("patients:detail", pk=patient.pk)
        else:
            status = 400
    if not candidates:
        form.hide_duplicate_confirmation()
    return render(request, "patients/patient_form.html", {"form": form, "candidates": candidates, "creating": True}, status=status)


@require_safe
@require("patient.view")
def patient_detail(request: HttpRequest, pk: int) -> HttpResponse:
    patient = _patient_or_404(request, pk, screen="chart")
    context: dict[str, object] = {
        "patient": patient,
        "age": patient.age_on(timezone.localdate()),
        "can_edit": request.user.can("patient.edit"),  # type: ignore[union-attr]
        "panels": panels_for(request, patient),
    }
    if request.user.can("audit.view"):  # type: ignore[union-attr]
        context["access_log"] = selectors.audit_for_patient(patient=patient)
    return render(request, "patients/patient_detail.html", context)


@require_http_methods(["GET", "HEAD", "POST"])
@require("patient.edit")
def patient_edit(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        patient = selectors.get_patient(scope=request.user.location_ids, pk=pk)  # type: ignore[union-attr]
    except Patient.DoesNotExist:
        raise Http404("No such patient in your locations") from None
    posted = request.method == "POST"
    form = EditPatientForm(request.POST if posted else None, instance=copy.copy(patient))
    status = 400 if posted else 200
    if posted and form.is_valid():
        try:
            services.update_patient(
                ctx=audit.context_from_request(request), patient=patient, data=form.cleaned_data, expected_version=form.expected_version
            )
        except StaleEdit as stale:
            form.refuse_stale(stale)  # the form now shows what changed meanwhile; nothing was saved
            status = 409
        else:
            messages.success(request, "Changes saved.")
            return redirect("patients:detail", pk=patient.pk)
    # The form shows the patient's record (or, after a refused change, their name and number).
    selectors.record_view(ctx=audit.context_from_request(request), patient=patient, screen="edit")
    return render(request, "patients/patient_form.html", {"form": form, "patient": patient, "stale": status == 409}, status=status)
