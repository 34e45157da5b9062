"""Reads owned by core: the audit trail."""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from django.http import QueryDict
from django.utils import timezone

from .models import AuditEvent


def _int_or_none(raw: str | None) -> int | None:
    return int(raw) if raw and raw.isdigit() and len(raw) < 19 else None


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
        action = query.get("action", "")
        return cls(
            actor=query.get("actor", "")[:150],
            action=action if action in AuditEvent.Action.values else "",
            object_type=query.get("object_type", "")[:60],
            patient_id=_int_or_none(query.get("patient_id")),
            since=_date_or_none(query.get("since")),
            until=_date_or_none(query.get("until")),
            before=_int_or_none(query.get("before")),
        )

    def as_query(self) -> str:
        pairs = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "before"}
        return urlencode({k: v for k, v in pairs.items() if v not in ("", None)})


def audit_events(*, scope: frozenset[int] | None, filters: AuditFilter, limit: int) -> list[AuditEvent]:
    """Audit rows in `scope` (None = every location), newest first, starting below `filters.before`."""
    rows = AuditEvent.objects.all()
    if scope is not None:
        rows = rows.filter(location_id__in=scope)
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
