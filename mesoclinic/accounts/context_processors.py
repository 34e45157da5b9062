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
    if user.can("audit.view"):
        nav.append(("core:audit-list", "Audit trail"))
    if user.is_staff:
        nav.append(("admin:index", "Configuration"))
    return {"nav": nav}
