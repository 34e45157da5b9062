from __future__ import annotations

from typing import Any

from django.http import HttpRequest


def staff(request: HttpRequest) -> dict[str, Any]:
    """Navigation entries the signed-in user's role allows (no queries)."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {"nav": []}
    nav = []
    if user.can("patient.view"):
        nav.append(("patients:list", "Patients"))
    if user.can("catalog.view"):
        nav.append(("catalog:overview", "Catalog"))
    if user.can("stock.view"):
        nav.append(("inventory:overview", "Stock"))
    if user.can("schedule.view"):
        nav.append(("scheduling:home", "Schedule"))
    if user.can("course.view"):
        nav.append(("courses:list", "Courses"))
    if user.can("procedure.view"):
        nav.append(("procedures:list", "Sessions"))
    if user.can("waitlist.manage"):
        nav.append(("scheduling:waitlist", "Waitlist"))
    if user.can("schedule.own_feed"):
        nav.append(("scheduling:mine", "My schedule"))
    if user.can("messaging.manage"):
        nav.append(("messaging:failed-list", "Failed messages"))
    if user.can("followup.manage"):
        nav.append(("aftercare:follow-up-list", "Follow-ups"))
    if user.can("adverse_event.view"):
        nav.append(("safety:event-list", "Safety"))
    elif user.can("safety.report"):
        nav.append(("safety:report", "Safety"))
    if user.can("recall.manage"):
        nav.append(("safety:recall-start", "Recalls"))
    if user.can("audit.view"):
        nav.append(("core:audit-list", "Audit trail"))
    if user.is_staff:
        nav.append(("admin:index", "Configuration"))
    return {"nav": nav}
