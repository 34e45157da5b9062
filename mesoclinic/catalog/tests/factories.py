"""Catalog test helpers: the default catalog, and a director who may edit it."""

from __future__ import annotations

import copy
from typing import Any

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.catalog import services
from mesoclinic.catalog.models import CatalogVersion
from mesoclinic.core import audit


def default_catalog() -> CatalogVersion:
    """Load the default catalog (idempotent) and return the current version. Use it in any test that needs the catalog."""
    return services.load_default_catalog()


def fixture_data() -> dict[str, Any]:
    return copy.deepcopy(services.read_fixture())


def director(location: Any) -> Any:
    return UserFactory(role=Role.MEDICAL_DIRECTOR, locations=[location])


def director_ctx(user: Any) -> audit.AuditContext:
    return audit.AuditContext(actor=user, path="/test")


def item(data: dict[str, Any], section: str, key: str) -> dict[str, Any]:
    return next(entry for entry in data[section] if entry["key"] == key)


def protocol_form_data(protocol: Any, **overrides: Any) -> dict[str, Any]:
    """POST data for the protocol edit form, as the page would send it for `protocol` unchanged."""
    from mesoclinic.catalog.models import Protocol

    data: dict[str, Any] = {
        name: getattr(protocol, name)
        for name in (
            "name",
            "family",
            "description",
            "sessions_min",
            "sessions_max",
            "interval_min_days",
            "interval_max_days",
            "numbing_minutes",
            "early_start_role",
            "procedure_minutes",
            "checkin_after_hours",
            "position",
        )
    }
    if protocol.pk is None:
        data["key"] = protocol.key
    if protocol.uses_prp:
        data["uses_prp"] = "on"
    if protocol.uses_topical_anaesthetic:
        data["uses_topical_anaesthetic"] = "on"
    if protocol.is_active:
        data["is_active"] = "on"
    data["concerns"] = [c.pk for c in protocol.concerns.all()] if protocol.pk else []
    data["techniques"] = [t.pk for t in protocol.techniques.all()] if protocol.pk else []
    data["products"] = [p.pk for p in protocol.products.all()] if protocol.pk else []
    rows = list(protocol.protocol_areas.all()) if protocol.pk else []
    data.update({"areas-TOTAL_FORMS": len(rows), "areas-INITIAL_FORMS": len(rows), "areas-MIN_NUM_FORMS": 1, "areas-MAX_NUM_FORMS": 30})
    for index, row in enumerate(rows):
        data.update(
            {
                f"areas-{index}-id": row.pk,
                f"areas-{index}-protocol": protocol.pk,
                f"areas-{index}-area": row.area_id,
                f"areas-{index}-depth_min_mm": "" if row.depth_min_mm is None else str(row.depth_min_mm),
                f"areas-{index}-depth_max_mm": "" if row.depth_max_mm is None else str(row.depth_max_mm),
            }
        )
    doses = list(protocol.protocol_ingredients.all()) if protocol.pk else []
    data.update(
        {
            "ingredients-TOTAL_FORMS": len(doses),
            "ingredients-INITIAL_FORMS": len(doses),
            "ingredients-MIN_NUM_FORMS": 0,
            "ingredients-MAX_NUM_FORMS": 40,
        }
    )
    for index, dose in enumerate(doses):
        data.update(
            {
                f"ingredients-{index}-id": dose.pk,
                f"ingredients-{index}-protocol": protocol.pk,
                f"ingredients-{index}-ingredient": dose.ingredient_id,
                f"ingredients-{index}-concentration": "" if dose.concentration is None else str(dose.concentration),
                f"ingredients-{index}-concentration_unit": dose.concentration_unit,
                f"ingredients-{index}-note": dose.note,
            }
        )
    from mesoclinic.catalog.selectors import current_version_number

    data["expected_version"] = current_version_number() or 0
    del Protocol
    data.update(overrides)
    return {key: value for key, value in data.items() if value is not None}
