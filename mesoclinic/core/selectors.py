"""Reads owned by core: the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.db.models import Q
from django.http import QueryDict
from django.utils import timezone

from .models import AuditEvent

MAX_ID = 2**63 - 1


def _int_or_none(raw: str | None) -> int | None:
    """A positive 64-bit id, or None when `raw` is not one."""
    return int(raw) if raw and raw.isascii() and raw.isdigit() and len(raw) <= 19 and int(raw) <= MAX_ID else None


def _date_or_none(raw: str | None) -> date | None:
    try:
        return date.fromisoformat(raw) if raw else None
    except ValueError:
        return None


@dataclass(frozen=True)
class AuditFilter:
    actor: str = ""
    action: str = ""
    object_type: str = ""
    patient_id: int | None = None
    since: date | None = None
    until: date | None = None
    before: int | None = None

    @classmethod
    def from_query(cls, query: QueryDict) -> AuditFilter:
        """The filter in `query`, ignoring values that do not parse (see `parse` for the errors)."""
        return cls.parse(query)[0]

    @classmethod
    def parse(cls, query: QueryDict) -> tuple[AuditFilter, list[str]]:
        """The filter in `query` and a clear message for each value that does not parse."""
        errors: list[str] = []
        action = query.get("action", "")
        if action and action not in AuditEvent.Action.values:
            errors.append(f"“{action[:40]}” is not an audit action; choose one from the list.")
        for name, label in (("patient_id", "Patient id"), ("before", "The page cursor (before)")):
            raw = query.get(name, "").strip()
            if raw and _int_or_none(raw) is None:
                errors.append(f"{label} must be a whole number.")
        for name, label in (("since", "From"), ("until", "To")):
            raw = query.get(name, "").strip()
            if raw and _date_or_none(raw) is None:
                errors.append(f"“{label}” must be a date such as 2026-03-31.")
        for name, label in (("actor", "User name"), ("object_type", "Record type")):
            if "\x00" in query.get(name, ""):
                errors.append(f"{label} contains a character that cannot be searched for.")
        filters = cls(
            actor=query.get("actor", "").strip().replace("\x00", "")[:150],
            action=action if action in AuditEvent.Action.values else "",
            object_type=query.get("object_type", "").strip().replace("\x00", "")[:60],
            patient_id=_int_or_none(query.get("patient_id", "").strip()),
            since=_date_or_none(query.get("since", "").strip()),
            until=_date_or_none(query.get("until", "").strip()),
            before=_int_or_none(query.get("before", "").strip()),
        )
        if filters.since and filters.until and filters.since > filters.until:
            errors.append("“From” must not be after “To”.")
        return filters, errors

    def as_query(self) -> str:
        pairs = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "before"}
        return urlencode({k: v for k, v in pairs.items() if v not in ("", None)})


def audit_events(*, scope: frozenset[int] | None, filters: AuditFilter, limit: int) -> list[AuditEvent]:
    """Audit rows in `scope` (None = every location), newest first, starting below `filters.before`."""
    rows = AuditEvent.objects.all()
    if scope is not None:
        # Rows filed under one of the locations, and location-less rows (sign-ins, searches across
        # several locations) by staff who work at one of them.
        by_staff_here = Q(location_id__isnull=True, actor__memberships__location_id__in=scope)
        rows = rows.filter(Q(location_id__in=scope) | Q(pk__in=AuditEvent.objects.filter(by_staff_here).values("pk")))
    if filters.actor:
        rows = rows.filter(actor_label__iexact=filters.actor)
    if filters.action:
        rows = rows.filter(action=filters.action)
    if filters.object_type:
        rows = rows.filter(object_type=filters.object_type)
    if filters.patient_id is not None:
        rows = rows.filter(patient_id=filters.patient_id)
    zone = timezone.get_current_timezone()
    if filters.since:
        rows = rows.filter(at__gte=datetime.combine(filters.since, time.min, tzinfo=zone))
    if filters.until:
        rows = rows.filter(at__lt=datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=zone))
    if filters.before:
        rows = rows.filter(id__lt=filters.before)
    return list(rows.order_by("-id")[:limit])
