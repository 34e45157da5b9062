"""`/safety/`: the safety section's front door sends each role to the first safety page it may open."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_safe

# In order: a clinician lands on the adverse events, a manager on the safety report, then recalls.
PAGES = (("adverse_event.view", "safety:event-list"), ("safety.report", "safety:report"), ("recall.manage", "safety:recall-start"))


@require_safe
@login_required
def safety_index(request: HttpRequest) -> HttpResponse:
    for permission, page in PAGES:
        if request.user.can(permission):  # type: ignore[union-attr]
            return redirect(page)
    raise PermissionDenied("safety")
