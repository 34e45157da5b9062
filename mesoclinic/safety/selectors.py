"""Reads of the safety app: adverse events, the lot recall search, and the safety report.

Every read takes the caller's location scope; reads that show patient data write their audit rows
here. The recall search and the report run a fixed number of queries whatever the data.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.db.models.functions import TruncMonth

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent, Location
from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import Patient
from mesoclinic.procedures import selectors as procedures_selectors
from mesoclinic.procedures.amended import amended_usages_by_id, amended_usages_of_records
from mesoclinic.procedures.models import ProcedureRecord

from .models import AdverseEvent, AdverseEventProduct, RecallContact

MAX_ID = 2**63 - 1
RECALL_LIMIT = 5000


def _valid_id(pk: int) -> bool:
    return 0 < pk <= MAX_ID


def audit_views(
    ctx: audit.AuditContext, *, patients: Iterable[tuple[int, int | None]], object_type: str, object_id: object, detail: dict[str, Any]
) -> None:
    """One view row per patient shown (patient id, location id), written in one INSERT.

    `core.audit.record` writes one row per call; a list that names hundreds of patients (a recall)
    would cost hundreds of queries, so the same rows are built here and inserted together.
    """
    rows = [
        AuditEvent(
            actor=ctx.actor,
            actor_label=ctx.actor_label[:150],
            action=AuditEvent.Action.VIEW,
            object_type=object_type,
            object_id=str(object_id),
            patient_id=patient_id,
            location_id=location_id,
            ip_address=ctx.ip_address,
            path=ctx.path,
            detail=detail,
        )
        for patient_id, location_id in patients
    ]
    if rows:
        AuditEvent.objects.bulk_create(rows)


# --- Adverse events -----------------------------------------------------------------------------


def _events(scope: frozenset[int]) -> QuerySet[AdverseEvent]:
    return AdverseEvent.objects.filter(location_id__in=scope).select_related(
        "patient", "location", "record__protocol", "record__practitioner", "reported_by", "reviewed_by", "follow_up"
    )


def get_event(*, scope: frozenset[int], pk: int) -> AdverseEvent:
    if not _valid_id(pk):
        raise AdverseEvent.DoesNotExist(f"no adverse event {pk}")
    return (
        _events(scope)
        .prefetch_related("area_links__area", "product_links__product", "product_links__lot__product", "product_links__lot__consumable")
        .get(pk=pk)
    )


def view_event(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int, screen: str) -> AdverseEvent:
    event = get_event(scope=scope, pk=pk)
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="adverse-event",
        object_id=event.pk,
        patient_id=event.patient_id,
        location_id=event.location_id,
        detail={"screen": screen},
    )
    return event


@dataclass(frozen=True)
class EventFilter:
    since: date | None = None
    until: date | None = None
    location_id: int | None = None
    status: str = ""

    def locations(self, scope: frozenset[int]) -> frozenset[int]:
        return scope & {self.location_id} if self.location_id is not None else scope


def _zone_for(scope: frozenset[int], filters: EventFilter) -> zoneinfo.ZoneInfo:
    """Day and month boundaries: the chosen location's zone, else the first location of the caller's (by name)."""
    location = Location.objects.filter(pk__in=filters.locations(scope) or scope).order_by("name").first()
    return location.zone if location is not None else zoneinfo.ZoneInfo("UTC")


def _filtered(
    events: QuerySet[AdverseEvent], scope: frozenset[int], filters: EventFilter, zone: zoneinfo.ZoneInfo
) -> QuerySet[AdverseEvent]:
    events = events.filter(location_id__in=filters.locations(scope))
    if filters.since:
        events = events.filter(onset_at__gte=datetime.combine(filters.since, time.min, tzinfo=zone))
    if filters.until:
        events = events.filter(onset_at__lt=datetime.combine(filters.until + timedelta(days=1), time.min, tzinfo=zone))
    if filters.status:
        events = events.filter(status=filters.status)
    return events


def event_list(
    *, ctx: audit.AuditContext, scope: frozenset[int], filters: EventFilter, before: int | None = None, limit: int = 50
) -> list[AdverseEvent]:
    """Adverse events in scope, newest first, paged by id; one audit row naming the patients shown."""
    zone = _zone_for(scope, filters)
    rows = _filtered(_events(scope), scope, filters, zone)
    if before is not None:
        rows = rows.filter(id__lt=before)
    found = list(rows.order_by("-id")[: limit + 1])
    audit.record(
        ctx,
        action=AuditEvent.Action.SEARCH,
        object_type="adverse-event",
        detail={"screen": "adverse-event-list", "patient_ids": sorted({event.patient_id for event in found[:limit]})},
    )
    return found


def events_for_export(*, scope: frozenset[int], filters: EventFilter, limit: int = 50_000) -> list[AdverseEvent]:
    zone = _zone_for(scope, filters)
    return list(
        _filtered(_events(scope), scope, filters, zone)
        .prefetch_related("area_links__area", "product_links__product", "product_links__lot__product", "product_links__lot__consumable")
        .order_by("onset_at", "id")[:limit]
    )


def events_for_patient(*, patient: Patient, limit: int = 10) -> list[AdverseEvent]:
    return list(
        AdverseEvent.objects.filter(patient=patient).select_related("record__protocol", "location").order_by("-onset_at", "-id")[:limit]
    )


def sessions_for_patient(*, patient: Patient, scope: frozenset[int], limit: int = 5) -> list[ProcedureRecord]:
    """The patient's latest sessions at the caller's locations, signed or not (an event may follow any)."""
    return list(
        ProcedureRecord.objects.filter(patient=patient, location_id__in=scope)
        .select_related("protocol", "location")
        .order_by("-started_at", "-id")[:limit]
    )


def session_record(*, scope: frozenset[int], pk: int) -> ProcedureRecord:
    """A session in scope — signed, open or stopped — with its treated areas (the form's choices)."""
    if not _valid_id(pk):
        raise ProcedureRecord.DoesNotExist(f"no record {pk}")
    return (
        ProcedureRecord.objects.select_related("patient__location", "location", "protocol", "practitioner")
        .prefetch_related("treatments__area")
        .get(pk=pk, location_id__in=scope)
    )


def patient_in_scope(*, scope: frozenset[int], pk: int) -> Patient:
    if not _valid_id(pk):
        raise Patient.DoesNotExist(f"no patient {pk}")
    return Patient.objects.select_related("location").get(pk=pk, location_id__in=scope)


@dataclass(frozen=True)
class Suspect:
    """A suspected product with its lot, as the session's record reads now (amendments applied)."""

    name: str
    manufacturer: str
    lot: Lot
    volume: str  # "2.5 ml", or empty for a lot named directly
    originally: str  # what the signed record said before an amendment, or empty


def suspects_of(events: Iterable[AdverseEvent]) -> dict[int, list[Suspect]]:
    """Each event's suspected products and lots, as amended. Needs `product_links` prefetched with their
    lots; three more queries whatever the number of events."""
    links = [link for event in events for link in event.product_links.all()]
    usages = amended_usages_by_id(link.usage_id for link in links if link.usage_id)
    found: dict[int, list[Suspect]] = {}
    for link in links:
        usage = usages.get(link.usage_id or 0)
        if usage is not None:
            before = getattr(usage, "as_signed", {})
            originally = "; ".join(f"{value}" + (" ml" if name == "volume_ml" else "") for name, value in before.items())
            item = Suspect(usage.product.name, usage.product.manufacturer, usage.lot, f"{usage.volume_ml.normalize():f} ml", originally)
        else:
            item = Suspect(link.lot.item_name, link.lot.item.manufacturer, link.lot, "", "")
        found.setdefault(link.adverse_event_id, []).append(item)
    return found


# --- Lot recall ---------------------------------------------------------------------------------


@dataclass
class RecallLine:
    """What one session got from the recalled lot: a product (maybe in a mixture), a consumable, or a PRP kit."""

    kind: str  # "product", "consumable", "prp-kit"
    label: str
    area: str
    amount: str
    lot: Lot
    mixed_with: list[str] = field(default_factory=list)


@dataclass
class RecallSession:
    record: ProcedureRecord
    lines: list[RecallLine] = field(default_factory=list)
    contact: RecallContact | None = None
    adverse_events: list[AdverseEvent] = field(default_factory=list)

    @property
    def patient(self) -> Patient:
        return self.record.patient

    @property
    def signed(self) -> bool:
        """A lot charted on a record not yet signed is in the patient's skin all the same."""
        return self.record.is_signed

    @property
    def local_started_at(self) -> datetime:
        return self.record.location.local(self.record.started_at)

    @property
    def local_signed_at(self) -> datetime | None:
        return self.record.location.local(self.record.signed_at) if self.record.signed_at else None


@dataclass
class Recall:
    lot: Lot
    lots: list[Lot]
    sessions: list[RecallSession]
    truncated: bool

    @property
    def patient_count(self) -> int:
        return len({session.record.patient_id for session in self.sessions})

    @property
    def contacted_count(self) -> int:
        return len({session.record.patient_id for session in self.sessions if session.contact is not None})


def same_lot(lot: Lot, scope: frozenset[int]) -> QuerySet[Lot]:
    """Every stock lot in scope with the same item and lot number: the manufacturer's lot, at each location that received it."""
    item = Q(product_id=lot.product_id) if lot.product_id is not None else Q(consumable_id=lot.consumable_id)
    return Lot.objects.filter(item, location_id__in=scope, lot_number=lot.lot_number)


def recall_search(*, ctx: audit.AuditContext, scope: frozenset[int], lot: Lot, limit: int = RECALL_LIMIT) -> Recall:
    """Every session in scope — signed, or charted and not yet signed — that received `lot` — the same lot number of the same item at any
    of the caller's locations — as a product on its own or in a mixture, as a consumable, or as a PRP
    kit, with the patient's contact details and whether they were contacted.

    The uses come from `procedures.selectors.records_for_lot`, as amended (eight queries per stock lot
    row; one row per location that received the lot number). Then one query for the other products
    of each mixture, one for the contacts, one INSERT of an audit row per patient listed: the count
    does not grow with the number of sessions or patients.
    """
    lots = list(same_lot(lot, scope).select_related("location", "product", "consumable").order_by("location__name", "id"))
    lot_ids = [item.pk for item in lots]
    sessions: dict[int, RecallSession] = {}
    for lot_row in lots:
        for use in procedures_selectors.records_for_lot(lot=lot_row, scope=scope):
            session = sessions.setdefault(use.record.pk, RecallSession(record=use.record))
            amount = f"{use.quantity.normalize():f} {use.unit}" if use.quantity is not None else ""
            session.lines.append(RecallLine(kind=use.kind, label=use.item_name, area=use.area_name, amount=amount, lot=lot_row))
    ordered = sorted(sessions.values(), key=lambda s: (s.record.signed_at or s.record.started_at, s.record.pk), reverse=True)
    truncated = len(ordered) > limit
    ordered = ordered[:limit]
    record_ids = [session.record.pk for session in ordered]

    # Mixtures: the other products of the same area's solution, each with its own lot.
    partners: dict[tuple[int, str], list[str]] = {}
    if record_ids:
        for other in amended_usages_of_records(record_ids):  # as amended: each product with the lot it has now
            if other.lot_id in lot_ids:
                continue
            partners.setdefault((other.record_id, other.treatment.area.name), []).append(
                f"{other.product.name} (lot {other.lot.lot_number})"
            )
    for session in ordered:
        for line in session.lines:
            if line.kind == "product":
                line.mixed_with = partners.get((session.record.pk, line.area), [])

    patient_ids = {session.record.patient_id for session in ordered}
    contacts: dict[int, RecallContact] = {}
    if patient_ids:
        found = (
            RecallContact.objects.filter(lot_id__in=lot_ids, patient_id__in=patient_ids)
            .select_related("contacted_by")
            .order_by("contacted_at")
        )
        for contact in found:
            contacts.setdefault(contact.patient_id, contact)
    for session in ordered:
        session.contact = contacts.get(session.record.patient_id)

    # Adverse events already recorded against these sessions (one query): the recall starts with them.
    events: dict[int, list[AdverseEvent]] = {}
    if record_ids:
        for event in AdverseEvent.objects.filter(record_id__in=record_ids).order_by("onset_at", "id"):
            events.setdefault(event.record_id or 0, []).append(event)
    for session in ordered:
        session.adverse_events = events.get(session.record.pk, [])
    shown = {(session.record.patient_id, session.record.location_id) for session in ordered}
    detail = {"screen": "lot-recall", "lot": lot.pk, "lot_number": lot.lot_number, "sessions": len(ordered)}
    audit_views(ctx, patients=sorted(shown), object_type="lot", object_id=lot.pk, detail=detail)
    return Recall(lot=lot, lots=lots, sessions=ordered, truncated=truncated)


def find_lots(*, scope: frozenset[int], lot_number: str, limit: int = 50) -> list[Lot]:
    """Lots in scope whose lot number starts with what the manager typed (the recall notice's number)."""
    text = lot_number.strip()[:60]
    if not text:
        return []
    return list(
        Lot.objects.filter(location_id__in=scope, lot_number__istartswith=text)
        .select_related("product", "consumable", "location")
        .order_by("lot_number", "location__name", "id")[:limit]
    )


def get_lot(*, scope: frozenset[int], pk: int) -> Lot:
    if not _valid_id(pk):
        raise Lot.DoesNotExist(f"no lot {pk}")
    return Lot.objects.select_related("product", "consumable", "location").get(pk=pk, location_id__in=scope)


# --- The safety report --------------------------------------------------------------------------


@dataclass(frozen=True)
class Count_:
    label: str
    count: int
    detail: str = ""


@dataclass(frozen=True)
class Report:
    total: int
    serious: int
    zone: str
    by_month: list[Count_]
    by_protocol: list[Count_]
    by_product: list[Count_]
    by_lot: list[Count_]
    by_practitioner: list[Count_]
    by_type: list[Count_]


def _months(first: date, last: date) -> list[date]:
    months: list[date] = []
    day = first.replace(day=1)
    while day <= last and len(months) < 120:
        months.append(day)
        day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
    return months


def safety_report(*, scope: frozenset[int], filters: EventFilter) -> Report:
    """Adverse events counted per month, protocol, product, lot, practitioner and type (eight queries).

    An event that involved two products counts once for each product (and each lot); the totals
    count events.
    """
    zone = _zone_for(scope, filters)
    events = _filtered(AdverseEvent.objects.all(), scope, filters, zone)
    totals = events.aggregate(total=Count("id"), serious=Count("id", filter=Q(severity=AdverseEvent.Severity.SERIOUS)))
    monthly = {
        row["month"].date() if isinstance(row["month"], datetime) else row["month"]: row["n"]
        for row in events.annotate(month=TruncMonth("onset_at", tzinfo=zone)).values("month").annotate(n=Count("id")).order_by("month")
    }
    by_month: list[Count_] = []
    if monthly:
        first = filters.since or min(monthly)
        last = filters.until or max(monthly)
        by_month = [
            Count_(label=f"{month:%b %Y}", count=monthly.get(month, 0))
            for month in _months(min(first, min(monthly)), max(last, max(monthly)))
        ]
    by_protocol = [
        Count_(label=row["record__protocol__name"] or "No session", count=row["n"])
        for row in events.values("record__protocol__name").annotate(n=Count("id")).order_by("-n", "record__protocol__name")
    ]
    by_practitioner = [
        Count_(
            label=f"{row['record__practitioner__first_name'] or ''} {row['record__practitioner__last_name'] or ''}".strip() or "No session",
            count=row["n"],
        )
        for row in events.values("record__practitioner_id", "record__practitioner__first_name", "record__practitioner__last_name")
        .annotate(n=Count("id"))
        .order_by("-n", "record__practitioner__last_name")
    ]
    # Products and lots as the records read now: a lot amended after the event counts under the new lot.
    links = list(
        AdverseEventProduct.objects.filter(adverse_event__in=events).select_related("lot__product", "lot__consumable", "lot__location")
    )
    usages = amended_usages_by_id(link.usage_id for link in links if link.usage_id)
    products: dict[str, set[int]] = {}
    lots: dict[int, tuple[Lot, set[int]]] = {}
    for link in links:
        usage = usages.get(link.usage_id or 0)
        lot = usage.lot if usage is not None else link.lot
        event_id = link.adverse_event_id or 0
        products.setdefault(usage.product.name if usage is not None else lot.item_name, set()).add(event_id)
        lots.setdefault(lot.pk, (lot, set()))[1].add(event_id)
    by_product = [Count_(label=name, count=len(ids)) for name, ids in sorted(products.items(), key=lambda row: (-len(row[1]), row[0]))]
    by_lot = [
        Count_(label=lot.lot_number, count=len(ids), detail=f"{lot.item_name} · {lot.location.name}")
        for lot, ids in sorted(lots.values(), key=lambda row: (-len(row[1]), row[0].lot_number))[:50]
    ]
    labels = dict(AdverseEvent.Type.choices)
    by_type = [
        Count_(label=labels.get(row["event_type"], row["event_type"]), count=row["n"])
        for row in events.values("event_type").annotate(n=Count("id")).order_by("-n", "event_type")
    ]
    return Report(
        total=totals["total"],
        serious=totals["serious"],
        zone=zone.key,
        by_month=by_month,
        by_protocol=by_protocol,
        by_product=by_product,
        by_lot=by_lot,
        by_practitioner=by_practitioner,
        by_type=by_type,
    )
