from __future__ import annotations

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from mesoclinic.accounts.decorators import require
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent

from . import selectors, services
from .models import OutboundMessage

PAGE_SIZE = 50


def _before(request: HttpRequest) -> int | None:
    raw = request.GET.get("before", "")
    return int(raw) if raw.isdigit() and len(raw) < 19 else None


def _worklist(request: HttpRequest, *, conflict: str = "", status: int = 200) -> HttpResponse:
    rows = selectors.failed_messages(scope=request.user.location_ids, before=_before(request), limit=PAGE_SIZE + 1)  # type: ignore[union-attr]
    has_next = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    # The worklist shows patients' addresses and messages: one audit row per page.
    audit.record(
        audit.context_from_request(request),
        action=AuditEvent.Action.VIEW,
        object_type="message",
        detail={"screen": "failed-deliveries", "messages": len(rows), "patients": sorted({m.patient_id for m in rows if m.patient_id})},
    )
    context = {"failed": rows, "next_before": rows[-1].pk if has_next else None, "conflict": conflict}
    return render(request, "messaging/failed_list.html", context, status=status)


@require("messaging.manage")
def failed_list(request: HttpRequest) -> HttpResponse:
    """The failed-deliveries worklist: what could not be sent, why, and a retry button."""
    return _worklist(request)


@require_POST
@require("messaging.manage")
def retry(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        message = selectors.get_message(scope=request.user.location_ids, pk=pk)  # type: ignore[union-attr]
    except OutboundMessage.DoesNotExist:
        raise Http404("No such message at your locations") from None
    try:
        services.retry_message(ctx=audit.context_from_request(request), message=message)
    except services.NotRetryable as refused:
        return _worklist(request, conflict=str(refused), status=409)
    messages.success(request, f"The {message.get_channel_display()} to {message.recipient} will be sent again now.")
    return redirect("messaging:failed-list")
