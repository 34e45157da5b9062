from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import BadRequest, PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_safe

from .models import AuditEvent
from .selectors import AuditFilter, audit_events


@require_safe
@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "core/home.html")


def _error(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    return render(request, "core/error.html", {"title": title, "message": message}, status=status)


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """400. A `BadRequest("…")` raised by a view carries a message for the user; other causes stay generic."""
    message = "Check the address or the form and try again."
    if isinstance(exception, BadRequest) and str(exception):
        message = str(exception)
    return _error(request, 400, "That request could not be understood", message)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 403, "Not allowed", "Your role does not allow this. Ask a clinic manager if you need it.")


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return _error(request, 404, "Not found", "There is nothing here, or it belongs to a location you do not work at.")


def server_error(request: HttpRequest) -> HttpResponse:
    return _error(request, 500, "Something went wrong on our side", "The error was logged. Nothing you entered was half-saved.")


AUDIT_PAGE_SIZE = 50


@require_safe
@login_required
def audit_list(request: HttpRequest) -> HttpResponse:
    """The audit trail for a manager's locations, newest first, filtered, paged by id (no COUNT)."""
    user = request.user
    if not user.can("audit.view"):  # type: ignore[union-attr]
        raise PermissionDenied("audit.view")
    filters, errors = AuditFilter.parse(request.GET)
    scope = None if user.role == "admin" else user.location_ids  # type: ignore[union-attr]
    events = [] if errors else audit_events(scope=scope, filters=filters, limit=AUDIT_PAGE_SIZE + 1)
    has_next = len(events) > AUDIT_PAGE_SIZE
    events = events[:AUDIT_PAGE_SIZE]
    context = {
        "events": events,
        "filters": filters,
        "actions": AuditEvent.Action.choices,
        "next_before": events[-1].pk if has_next else None,
        "query_without_cursor": filters.as_query(),
        "errors": errors,
    }
    template = "core/audit_list.html#rows" if request.htmx else "core/audit_list.html"  # type: ignore[attr-defined]
    return render(request, template, context, status=400 if errors else 200)
