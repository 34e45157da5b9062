"""Reads of the catalog. The catalog is organisation-wide (not location data) and holds no patient data."""

from __future__ import annotations

from django.db.models import QuerySet

from .models import AftercareRule, Area, CatalogVersion, Protocol


class CatalogNotLoaded(Exception):
    """No catalog version exists yet: run `manage.py load_default_catalog`."""

    def __init__(self) -> None:
        super().__init__("The clinical catalog is empty: run `manage.py load_default_catalog` (or import a catalog).")


def current_version() -> CatalogVersion:
    """The newest catalog version; records made now point at it. Raises CatalogNotLoaded on an empty catalog."""
    version = CatalogVersion.objects.order_by("-number").first()
    if version is None:
        raise CatalogNotLoaded()
    return version


def current_version_number() -> int | None:
    return CatalogVersion.objects.order_by("-number").values_list("number", flat=True).first()


def versions(*, before: int | None = None, limit: int = 50) -> list[CatalogVersion]:
    """Version history, newest first, without the (large) snapshots; paged by number."""
    queryset = CatalogVersion.objects.defer("snapshot").select_related("created_by").order_by("-number")
    if before is not None:
        queryset = queryset.filter(number__lt=before)
    return list(queryset[:limit])


def version_by_number(number: int) -> CatalogVersion:
    return CatalogVersion.objects.select_related("created_by", "approved_by").get(number=number)


def active_protocols() -> QuerySet[Protocol]:
    """Protocols a doctor may prescribe now, with what a course or chart needs, in display order."""
    return (
        Protocol.objects.filter(is_active=True)
        .prefetch_related("concerns", "techniques", "products", "protocol_areas__area", "protocol_ingredients__ingredient")
        .order_by("position", "name")
    )


def protocol_by_key(key: str) -> Protocol:
    return Protocol.objects.get(key=key)


def protocol_names(keys: set[str]) -> dict[str, str]:
    """Display names for these protocol keys (one query); keys the catalog lacks are left out."""
    keys = {key for key in keys if key}
    return dict(Protocol.objects.filter(key__in=keys).values_list("key", "name")) if keys else {}


def protocol_name(key: str) -> str:
    """The protocol's name for display (one query), or the key itself when the catalog lacks it."""
    return protocol_names({key}).get(key, key)


def aftercare_rule_for(area: Area) -> AftercareRule | None:
    """The active aftercare rule for `area`: a rule for the area itself wins over one for its kind of area."""
    rules = list(AftercareRule.objects.filter(is_active=True, area=area)[:1]) or list(
        AftercareRule.objects.filter(is_active=True, area__isnull=True, area_kind=area.kind).order_by("key")[:1]
    )
    return rules[0] if rules else None


def areas_without_aftercare() -> list[Area]:
    """Active areas no active aftercare rule covers (shown to the medical director as a gap)."""
    covered_kinds = set(AftercareRule.objects.filter(is_active=True, area__isnull=True).values_list("area_kind", flat=True))
    covered_areas = set(AftercareRule.objects.filter(is_active=True, area__isnull=False).values_list("area_id", flat=True))
    return [area for area in Area.objects.filter(is_active=True) if area.kind not in covered_kinds and area.pk not in covered_areas]
