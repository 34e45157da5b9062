from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme

from mesoclinic.accounts.decorators import require
from mesoclinic.catalog.models import Protocol
from mesoclinic.catalog.selectors import CatalogNotLoaded, current_version
from mesoclinic.core import audit
from mesoclinic.patients import selectors as patient_selectors
from mesoclinic.patients.models import Patient

from . import engine, selectors, services
from .forms import AreasForm, OverrideForm, QuestionnaireForm, parse_area_keys
from .models import Screening, Verdict
from .panels import group_by_protocol


def _scope(request: HttpRequest) -> frozenset[int]:
    return request.user.location_ids  # type: ignore[union-attr]


def _patient(request: HttpRequest, patient_id: int, screen: str) -> Patient:
    """The patient in the user's locations (else 404); a GET also writes the view's audit row."""
    try:
        if request.method == "GET":
            return patient_selectors.view_patient(
                ctx=audit.context_from_request(request), scope=_scope(request), pk=patient_id, screen=screen
            )
        return patient_selectors.get_patient(scope=_scope(request), pk=patient_id)
    except Patient.DoesNotExist:
        raise Http404("No such patient in your locations") from None


def _catalog_missing(request: HttpRequest) -> HttpResponse:
    return render(
        request,
        "core/error.html",
        {"title": "The clinical catalog is empty", "message": "Ask the medical director to load or import the catalog before screening."},
        status=409,
    )


def _apply_answer_errors(form: QuestionnaireForm, error: services.InvalidAnswers) -> None:
    for key, message in error.errors.items():
        form.add_error(key if key in form.fields else None, message)


@require("screening.screen")
def screening_new(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The full questionnaire: every contraindication question, asked by a doctor."""
    patient = _patient(request, patient_id, screen="screening")
    try:
        version = current_version()
    except CatalogNotLoaded:
        return _catalog_missing(request)
    questions = services.questions_to_ask(version=version, kind=Screening.Kind.FULL)
    form = QuestionnaireForm(request.POST if request.method == "POST" else None, questions=questions)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                screening = services.record_screening(
                    ctx=audit.context_from_request(request), patient=patient, answers=form.answers(), kind=Screening.Kind.FULL
                )
            except services.InvalidAnswers as error:
                _apply_answer_errors(form, error)
            else:
                messages.success(request, "Screening recorded. The verdict for each protocol and area is below.")
                return redirect("screening:detail", pk=screening.pk)
        status = 400
    context = {"patient": patient, "form": form, "version": version, "kind": "full"}
    return render(request, "screening/questionnaire.html", context, status=status)


def _safe_next(request: HttpRequest) -> str | None:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}, require_https=request.is_secure()):
        return target
    return None


def _area_keys_in(data: Any) -> list[str] | None:
    """Today's areas from repeated `areas` values or one comma-separated value; None when absent."""
    if "areas" not in data:
        return None
    return [part.strip() for value in data.getlist("areas") for part in value.split(",") if part.strip()]


@require("screening.rescreen")
def rescreen(request: HttpRequest, patient_id: int) -> HttpResponse:
    """The short re-screen before a session: choose today's areas, then answer the re-screen questions.

    The session chart links here with ?areas=scalp,face&next=<chart URL>.
    """
    patient = _patient(request, patient_id, screen="rescreen")
    try:
        version = current_version()
    except CatalogNotLoaded:
        return _catalog_missing(request)
    areas = sorted(version.snapshot.get("areas", []), key=lambda item: (item.get("position", 0), item["name"]))
    area_choices = [(item["key"], item["name"]) for item in areas if item.get("is_active", True)]
    keys = _area_keys_in(request.POST if request.method == "POST" else request.GET)
    areas_form = AreasForm({"areas": keys} if keys is not None else None, area_choices=area_choices)
    current = selectors.current_screening(patient)
    context: dict[str, Any] = {
        "patient": patient,
        "areas_form": areas_form,
        "version": version,
        "kind": "rescreen",
        "next": _safe_next(request),
        "current": current,
        "can_screen": request.user.can("screening.screen"),  # type: ignore[union-attr]
    }
    if current is None or current.is_expired_on(selectors.today_for(patient)):
        context["needs_full"] = True
        return render(request, "screening/questionnaire.html", context, status=409 if request.method == "POST" else 200)
    if not areas_form.is_bound or not areas_form.is_valid():
        return render(request, "screening/questionnaire.html", context, status=400 if areas_form.is_bound else 200)
    area_keys = areas_form.cleaned_data["areas"]
    context["area_keys"] = area_keys
    context["area_names"] = [name for key, name in area_choices if key in area_keys]
    questions = services.questions_to_ask(version=version, kind=Screening.Kind.RESCREEN, area_keys=area_keys)
    form = QuestionnaireForm(request.POST if request.method == "POST" else None, questions=questions)
    context["form"] = form
    if request.method != "POST":
        return render(request, "screening/questionnaire.html", context)
    if form.is_valid():
        try:
            screening = services.record_screening(
                ctx=audit.context_from_request(request),
                patient=patient,
                answers=form.answers(),
                kind=Screening.Kind.RESCREEN,
                area_keys=area_keys,
            )
        except services.InvalidAnswers as error:
            _apply_answer_errors(form, error)
        except services.NeedsFullScreening as error:
            form.add_error(None, str(error))
            return render(request, "screening/questionnaire.html", {**context, "needs_full": True}, status=409)
        else:
            messages.success(request, "Re-screen recorded.")
            if context["next"]:
                return redirect(context["next"])
            return redirect("screening:detail", pk=screening.pk)
    return render(request, "screening/questionnaire.html", context, status=400)


def _screening_or_404(request: HttpRequest, pk: int) -> Screening:
    try:
        return selectors.view_screening(ctx=audit.context_from_request(request), scope=_scope(request), pk=pk)
    except Screening.DoesNotExist:
        raise Http404("No such screening in your locations") from None


@require("screening.view")
def screening_detail(request: HttpRequest, pk: int) -> HttpResponse:
    screening = _screening_or_404(request, pk)
    answers, verdicts, overrides = selectors.screening_details(screening)
    current = selectors.current_screening(screening.patient_id)
    distinct: dict[str, dict[str, Any]] = {}
    for verdict in verdicts:
        for reason in verdict.reason_objects:
            entry = distinct.setdefault(reason.rule_key or reason.condition, {"reason": reason, "protocols": set()})
            entry["protocols"].add(verdict.protocol.name)
    covered = {(override.protocol_id, key) for override in overrides for key in override.area_keys}
    overridable: dict[int, Any] = {}
    for verdict in verdicts:
        verdict.overridden = verdict.status == Verdict.Status.NOT_ELIGIBLE and (verdict.protocol_id, verdict.area.key) in covered  # type: ignore[attr-defined]
        if verdict.status == Verdict.Status.NOT_ELIGIBLE and not verdict.overridden:  # type: ignore[attr-defined]
            overridable.setdefault(verdict.protocol_id, (verdict.protocol, []))[1].append(verdict.area)
    context = {
        "screening": screening,
        "patient": screening.patient,
        "answers": answers,
        "overridable": list(overridable.values()),
        "rows": group_by_protocol(verdicts),
        "reasons": sorted(
            distinct.values(), key=lambda entry: (-engine.RANK[engine.Status(entry["reason"].effect)], entry["reason"].condition)
        ),
        "overrides": overrides,
        "is_current": current is not None and current.pk == screening.pk,
        "is_expired": screening.is_expired_on(selectors.today_for(screening.patient)),
        "can_override": request.user.can("screening.override"),  # type: ignore[union-attr]
    }
    return render(request, "screening/screening_detail.html", context)


def _override_target(data: Any, screening: Screening) -> tuple[Protocol, list[str]] | None:
    """The protocol and areas to override. Without `areas` (the screening page's one override action):
    every area where the screening found the protocol "not eligible"."""
    raw = data.get("protocol", "")
    if not (raw.isascii() and raw.isdigit() and len(raw) <= 18):
        return None
    protocol = Protocol.objects.filter(pk=int(raw)).first()
    if protocol is None:
        return None
    keys: list[str] | None
    if not data.get("areas", "").strip():
        keys = list(
            screening.verdicts.filter(protocol=protocol, status=Verdict.Status.NOT_ELIGIBLE)
            .order_by("area__position", "area__name")
            .values_list("area__key", flat=True)
        )
    else:
        keys = parse_area_keys(data.get("areas", ""))
    return (protocol, keys) if keys else None


@require("screening.override")
def screening_override(request: HttpRequest, pk: int) -> HttpResponse:
    """A doctor overrides one "not eligible" verdict (a protocol at some areas) with a written reason."""
    if request.method == "POST":
        try:
            screening = selectors.screenings_in_scope(_scope(request)).select_related("patient__location").get(pk=pk)
        except Screening.DoesNotExist:
            raise Http404("No such screening in your locations") from None
    else:
        screening = _screening_or_404(request, pk)
    target = _override_target(request.POST if request.method == "POST" else request.GET, screening)
    if target is None:
        message = "Open the override from a “not eligible” verdict on the screening page (the protocol or areas were missing or unknown)."
        return render(request, "core/error.html", {"title": "Which verdict?", "message": message}, status=400)
    protocol, area_keys = target
    result = selectors.eligibility(patient=screening.patient, protocol=protocol, area_keys=area_keys)
    form = OverrideForm(request.POST if request.method == "POST" else None)
    context: dict[str, Any] = {
        "screening": screening,
        "patient": screening.patient,
        "protocol": protocol,
        "area_keys": area_keys,
        "areas_value": ",".join(area_keys),
        "eligibility": result,
        "form": form,
    }
    if request.method != "POST":
        return render(request, "screening/override.html", context)
    if not form.is_valid():
        return render(request, "screening/override.html", context, status=400)
    try:
        services.override_verdict(
            ctx=audit.context_from_request(request),
            screening=screening,
            protocol=protocol,
            area_keys=area_keys,
            reason=form.cleaned_data["reason"],
        )
    except services.OverrideRefused as error:
        form.add_error(None, str(error))
        return render(request, "screening/override.html", context, status=409)
    messages.success(request, f"Override recorded for {protocol.name}. It shows on the patient's page.")
    return redirect("screening:detail", pk=screening.pk)


@require("screening.view")
def patient_history(request: HttpRequest, patient_id: int) -> HttpResponse:
    try:
        patient = patient_selectors.get_patient(scope=_scope(request), pk=patient_id)
    except Patient.DoesNotExist:
        raise Http404("No such patient in your locations") from None
    rows = selectors.patient_screenings(ctx=audit.context_from_request(request), patient=patient)
    return render(request, "screening/history.html", {"patient": patient, "screenings": rows})
