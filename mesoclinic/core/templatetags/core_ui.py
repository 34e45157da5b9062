"""Small template helpers for the staff UI shared by every app."""

from __future__ import annotations

from typing import Any

from django import template

register = template.Library()


@register.filter
def in_section(path: str, href: str) -> bool:
    """True when `path` is the page at `href` or below it (the main navigation marks that entry current)."""
    return href != "/" and path.startswith(href)


@register.filter
def audit_detail(detail: Any) -> str:
    """An audit row's detail as plain text: "fields: family_name, notes · screen: chart"."""
    if not isinstance(detail, dict):
        return str(detail or "")
    parts = []
    for key, value in detail.items():
        shown = ", ".join(str(item) for item in value) if isinstance(value, list | tuple) else str(value)
        parts.append(f"{key.replace('_', ' ')}: {shown}")
    return " · ".join(parts)


@register.filter
def national_phone(stored: str, location: Any) -> str:
    """A stored (E.164) phone number as dialled in `location`'s country: {{ patient.phone|national_phone:record.location }}."""
    if not stored:
        return ""
    from mesoclinic.core.phones import national

    region = getattr(location, "phone_region", None)
    return national(stored, region) if region else stored
