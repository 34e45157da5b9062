"""The patient page's "Sessions" panel (registered in ProceduresConfig.ready())."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from . import selectors

PANEL_LIMIT = 10


def sessions_panel(request: HttpRequest, patient: Any) -> dict[str, Any] | None:
    """The patient's sessions at the user's locations, newest first. One query; hidden without procedure.view."""
    user = request.user
    if not user.can("procedure.view"):  # type: ignore[union-attr]
        return None
    records = selectors.patient_sessions(patient=patient, scope=user.location_ids, limit=PANEL_LIMIT + 1)  # type: ignore[union-attr]
    return {"records": records[:PANEL_LIMIT], "more": len(records) > PANEL_LIMIT}
