from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods, require_POST, require_safe

from mesoclinic.accounts.decorators import require
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from . import pdf, selectors, services
from .forms import CheckInAnswerForm, CloseFollowUpForm
from .models import AftercareHandout, CheckIn, FollowUp
from .tokens import BadToken, read_token


def _scope(request: HttpRequest) -> frozenset[int]:
    return request.user.location_ids  # type: ignore[union-attr]


# --- Staff: handouts -----------------------------------------------------------------------------


def _handout_or_404(request: HttpRequest, pk: int, screen: str) -> AftercareHandout:
    try:
        return selectors.view_handout(ctx=audit.context_from_request(request), scope=_scope(request), pk=pk, screen=screen)
    except AftercareHandout.DoesNotExist:
        raise Http404("No such aftercare handout at your locations") from None


@require_safe
@require("aftercare.view")
def handout_detail(request: HttpRequest, pk: int) -> HttpResponse:
    handout = _handout_or_404(request, pk, screen="handout")
    context = {"handout": handout, "aftercare": handout.aftercare, "now": timezone.now()}
    return render(request, "aftercare/handout_detail.html", context)


@require_safe
@require("aftercare.view")
def handout_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    handout = _handout_or_404(request, pk, screen="handout-pdf")
    response = HttpResponse(pdf.handout_pdf(handout), content_type="application/pdf")
    response["Content-Disposition"] = f'inline; filename="{pdf.handout_filename(handout)}"'
    response["Cache-Control"] = "private, no-store"
    return response


# --- Staff: the nurses' worklist -----------------------------------------------------------------


@require_safe
@require("followup.manage")
def follow_up_list(request: HttpRequest) -> HttpResponse:
    now = timezone.now()
    result = selectors.worklist(ctx=audit.context_from_request(request), scope=_scope(request), now=now)
    return render(request, "aftercare/follow_up_list.html", {"worklist": result, "now": now})


def _follow_up_or_404(request: HttpRequest, pk: int) -> FollowUp:
    try:
        return selectors.get_follow_up(scope=_scope(request), pk=pk)
    except FollowUp.DoesNotExist:
        raise Http404("No such follow-up at your locations") from None


def _follow_up_page(
    request: HttpRequest, follow_up: FollowUp, form: CloseFollowUpForm, *, status: int = 200, conflict: str = ""
) -> HttpResponse:
    audit.record(
        audit.context_from_request(request),
        action=AuditEvent.Action.VIEW,
        object_type="aftercare-follow-up",
        object_id=follow_up.pk,
        patient_id=follow_up.patient_id,
        location_id=follow_up.location_id,
        detail={"screen": "follow-up"},
    )
    context = {
        "follow_up": follow_up,
        "form": form,
        "conflict": conflict,
        "can_record_event": request.user.can("adverse_event.record"),  # type: ignore[union-attr]
    }
    return render(request, "aftercare/follow_up_detail.html", context, status=status)


@require_safe
@require("followup.manage")
def follow_up_detail(request: HttpRequest, pk: int) -> HttpResponse:
    return _follow_up_page(request, _follow_up_or_404(request, pk), CloseFollowUpForm())


@require_POST
@require("followup.manage")
def follow_up_close(request: HttpRequest, pk: int) -> HttpResponse:
    follow_up = _follow_up_or_404(request, pk)
    form = CloseFollowUpForm(request.POST)
    if not form.is_valid():
        return _follow_up_page(request, follow_up, form, status=400)
    try:
        services.close_follow_up(ctx=audit.context_from_request(request), follow_up=follow_up, note=form.cleaned_data["note"])
    except services.FollowUpNotOpen as refused:
        return _follow_up_page(request, selectors.get_follow_up(scope=_scope(request), pk=pk), form, status=409, conflict=str(refused))
    messages.success(request, f"Follow-up for {follow_up.patient.full_name} closed.")
    return redirect("aftercare:follow-up-list")


@require_POST
@require("followup.manage")
def checkin_follow_up(request: HttpRequest, pk: int) -> HttpResponse:
    """Take on an unanswered check-in: it becomes an open follow-up."""
    try:
        checkin = selectors.get_checkin(scope=_scope(request), pk=pk)
    except CheckIn.DoesNotExist:
        raise Http404("No such check-in at your locations") from None
    try:
        follow_up = services.open_follow_up_for_unanswered(ctx=audit.context_from_request(request), checkin=checkin)
    except (services.FollowUpExists, services.AlreadyAnswered) as refused:
        messages.error(request, str(refused).capitalize() + ".")
        return redirect("aftercare:follow-up-list")
    return redirect("aftercare:follow-up-detail", pk=follow_up.pk)


# --- Public: the patient's one-tap check-in ------------------------------------------------------


def _public(request: HttpRequest, template: str, context: dict[str, object], status: int = 200) -> HttpResponse:
    response = render(request, template, context, status=status)
    # The link is the key: the site-wide Referrer-Policy "same-origin" never passes it to another site.
    # ("no-referrer" would make browsers send "Origin: null" with the answer, which CSRF checking refuses.)
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _refused(request: HttpRequest, reason: str, status: int, checkin: CheckIn | None = None) -> HttpResponse:
    phone = checkin.location.phone if checkin is not None else ""
    return _public(request, "aftercare/checkin_refused.html", {"reason": reason, "phone": phone}, status=status)


@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def checkin_answer(request: HttpRequest, token: str) -> HttpResponse:
    """The public page a patient reaches from the message. The token is the only key; it opens this one check-in."""
    try:
        checkin = selectors.public_checkin(read_token(token))
    except (BadToken, CheckIn.DoesNotExist):
        return _refused(request, "invalid", status=404)
    now = timezone.now()
    if checkin.is_answered:
        return _refused(request, "answered", status=410, checkin=checkin)
    if checkin.is_expired_at(now):
        return _refused(request, "expired", status=410, checkin=checkin)
    ctx = audit.context_from_request(request)
    form = CheckInAnswerForm(request.POST if request.method == "POST" else None)
    if request.method == "POST" and form.is_valid():
        try:
            answered, follow_up = services.answer_checkin(
                ctx=ctx, checkin_id=checkin.pk, answer=form.cleaned_data["answer"], text=form.cleaned_data["text"], now=now
            )
        except services.AlreadyAnswered:
            return _refused(request, "answered", status=410, checkin=checkin)
        except services.LinkExpired:
            return _refused(request, "expired", status=410, checkin=checkin)
        return _public(request, "aftercare/checkin_thanks.html", {"checkin": answered, "escalated": follow_up is not None})
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="aftercare-checkin",
        object_id=checkin.pk,
        patient_id=checkin.patient_id,
        location_id=checkin.location_id,
        detail={"screen": "public-checkin"},
    )
    context = {"checkin": checkin, "form": form, "session_day": checkin.location.local(checkin.handout.ended_at)}
    return _public(request, "aftercare/checkin_form.html", context, status=400 if request.method == "POST" else 200)
