"""Reads of stock. Every read takes the location explicitly; a lot outside the caller's scope does not exist for them."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db.models import DecimalField, F, OuterRef, Q, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Lower

from mesoclinic.catalog.models import Product
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent, Location
from mesoclinic.patients.models import Patient

from .models import Consumable, Lot, ReorderLevel, StockMovement, Unit

MAX_ID = 2**63 - 1
MAX_QUERY_LENGTH = 60
ZERO = Value(Decimal("0.00"), output_field=DecimalField(max_digits=12, decimal_places=2))


def expiry_warning_days() -> int:
    return int(settings.MESOCLINIC_EXPIRY_WARNING_DAYS)


def locations_in_scope(scope: frozenset[int]) -> list[Location]:
    return list(Location.objects.filter(pk__in=scope, is_active=True).order_by("name"))


def get_lot(*, scope: frozenset[int], pk: int) -> Lot:
    """The lot if its location is in scope; otherwise Lot.DoesNotExist (a 404)."""
    if not 0 < pk <= MAX_ID:
        raise Lot.DoesNotExist(f"no lot {pk}")
    return Lot.objects.select_related("product", "consumable", "location", "created_by").get(pk=pk, location_id__in=scope)


def _lots(location: Location) -> QuerySet[Lot]:
    return Lot.objects.filter(location=location).select_related("product", "consumable")


# --- The stock overview -------------------------------------------------------------------------


@dataclass(frozen=True)
class StockRow:
    lot: Lot
    first_of_item: bool
    item_total: Decimal | None  # usable on hand of the item at this location, on its first row
    badges: list[tuple[str, str]]


@dataclass(frozen=True)
class StockPage:
    rows: list[StockRow]
    page: int
    has_next: bool
    query: str
    include_empty: bool


def _item_key(lot: Lot) -> tuple[str, int]:
    return ("product", lot.product_id) if lot.product_id else ("consumable", lot.consumable_id or 0)


def stock_overview(
    *, location: Location, on: date, query: str = "", include_empty: bool = False, page: int = 1, page_size: int = 25
) -> StockPage:
    """One page of the location's lots, grouped by item (name), soonest expiry first within an item.

    Two queries whatever the data: the page of lots (one extra row tells whether there is a next
    page, no COUNT) and the usable totals of the items on the page.
    """
    text = query.strip()[:MAX_QUERY_LENGTH]
    lots = _lots(location).annotate(sort_name=Lower(Coalesce("product__name", "consumable__name")))
    if text:
        lots = lots.filter(Q(product__name__icontains=text) | Q(consumable__name__icontains=text) | Q(lot_number__istartswith=text))
    if not include_empty:
        lots = lots.filter(on_hand__gt=0)
    page = max(1, page)
    offset = (page - 1) * page_size
    found = list(lots.order_by("sort_name", "product_id", "consumable_id", "expires_on", "id")[offset : offset + page_size + 1])
    has_next = len(found) > page_size
    found = found[:page_size]
    totals = usable_totals(location=location, on=on, lots=found)
    rows = []
    previous = None
    warning_days = expiry_warning_days()
    for lot in found:
        key = _item_key(lot)
        first = key != previous
        total = totals.get(key, Decimal("0.00")) if first else None
        rows.append(StockRow(lot=lot, first_of_item=first, item_total=total, badges=lot.badges_on(on, warning_days)))
        previous = key
    return StockPage(rows=rows, page=page, has_next=has_next, query=text, include_empty=include_empty)


def usable_totals(*, location: Location, on: date, lots: Sequence[Lot]) -> dict[tuple[str, int], Decimal]:
    """Usable on hand (not expired on `on`, not recalled) per item of `lots`, at `location` (one query)."""
    product_ids = {lot.product_id for lot in lots if lot.product_id}
    consumable_ids = {lot.consumable_id for lot in lots if lot.consumable_id}
    if not product_ids and not consumable_ids:
        return {}
    usable = Lot.objects.filter(location=location, recalled=False, expires_on__gte=on).filter(
        Q(product_id__in=product_ids) | Q(consumable_id__in=consumable_ids)
    )
    totals: dict[tuple[str, int], Decimal] = {}
    for product_id, consumable_id, total in usable.values_list("product_id", "consumable_id").annotate(total=Sum("on_hand")).order_by():
        totals[("product", product_id) if product_id else ("consumable", consumable_id)] = total
    return totals


# --- FEFO: which lot to use ---------------------------------------------------------------------


def usable_lots(*, location: Location, on: date, product: Product | None = None, consumable: Consumable | None = None) -> list[Lot]:
    """The lots of one product (or consumable) that can be used at `location` on `on`, first-expiring first (FEFO).

    Not recalled, not expired on `on`, something on hand. The chart offers the first.
    """
    if (product is None) == (consumable is None):
        raise ValueError("give exactly one of product and consumable")
    lots = _lots(location).filter(recalled=False, expires_on__gte=on, on_hand__gt=0)
    lots = lots.filter(product=product) if product is not None else lots.filter(consumable=consumable)
    return list(lots.order_by("expires_on", "received_on", "id"))


# --- Low stock and expiring soon ----------------------------------------------------------------


@dataclass(frozen=True)
class LowStock:
    level: ReorderLevel
    usable: Decimal

    @property
    def item(self) -> Product | Consumable:
        item = self.level.product or self.level.consumable
        assert item is not None
        return item

    @property
    def unit(self) -> str:
        return str(Unit(self.item.unit).label) if self.item.unit in Unit.values else str(self.item.unit)


def low_stock(*, location: Location, on: date) -> list[LowStock]:
    """Items whose usable quantity here is at or below the manager's reorder level (one query)."""
    usable = (
        Lot.objects.filter(location_id=OuterRef("location_id"), recalled=False, expires_on__gte=on)
        .filter(Q(product_id=OuterRef("product_id")) | Q(consumable_id=OuterRef("consumable_id")))
        .order_by()
        .values("location_id")
        .annotate(total=Sum("on_hand"))
        .values("total")
    )
    levels = (
        ReorderLevel.objects.filter(location=location, level__gt=0)
        .select_related("product", "consumable")
        .annotate(usable=Coalesce(Subquery(usable), ZERO))
        .filter(usable__lte=F("level"))
        .order_by(Lower(Coalesce("product__name", "consumable__name")), "id")
    )
    return [LowStock(level=row, usable=row.usable) for row in levels]


@dataclass(frozen=True)
class Expiring:
    soon: list[Lot]
    expired: list[Lot]
    days: int


def expiring_lots(*, location: Location, on: date, days: int | None = None, limit: int = 200) -> Expiring:
    """Lots with stock that expire within `days` of `on` (default MESOCLINIC_EXPIRY_WARNING_DAYS), and expired lots still on the shelf."""
    days = expiry_warning_days() if days is None else days
    shelf = _lots(location).filter(on_hand__gt=0, recalled=False)
    soon = shelf.filter(expires_on__gte=on, expires_on__lte=on + timedelta(days=days)).order_by("expires_on", "id")[:limit]
    expired = shelf.filter(expires_on__lt=on).order_by("expires_on", "id")[:limit]
    return Expiring(soon=list(soon), expired=list(expired), days=days)


def reorder_levels(*, location: Location) -> list[ReorderLevel]:
    return list(
        ReorderLevel.objects.filter(location=location)
        .select_related("product", "consumable")
        .order_by(Lower(Coalesce("product__name", "consumable__name")), "id")
    )


# --- A lot and its ledger -----------------------------------------------------------------------


def movements_for_lot(lot: Lot) -> QuerySet[StockMovement]:
    """Every ledger line of `lot`, oldest first. For the recall search: the "used" lines name the
    session (reference_type, reference_id) and the patient (patient_id) that received the lot."""
    return StockMovement.objects.filter(lot=lot).select_related("by").order_by("at", "id")


def uses_of_lot(lot: Lot) -> QuerySet[StockMovement]:
    """The "used" lines of `lot`: one per session usage (a mixture's products each have their own lot and line)."""
    return movements_for_lot(lot).filter(kind=StockMovement.Kind.USED)


@dataclass(frozen=True)
class LedgerPage:
    lot: Lot
    movements: list[StockMovement]
    page: int
    has_next: bool


def view_lot(*, ctx: audit.AuditContext, scope: frozenset[int], pk: int, page: int = 1, page_size: int = 100) -> LedgerPage:
    """A lot and one page of its ledger, oldest first. The ledger names sessions and patients, so the view is audited."""
    lot = get_lot(scope=scope, pk=pk)
    page = max(1, page)
    offset = (page - 1) * page_size
    movements = list(movements_for_lot(lot)[offset : offset + page_size + 1])
    shown = movements[:page_size]
    patient_ids = {m.patient_id for m in shown if m.patient_id}
    names = {
        pk: f"{given} {family.upper()} ({number})"
        for pk, given, family, number in Patient.objects.filter(pk__in=patient_ids, location_id__in=scope).values_list(
            "pk", "given_name", "family_name", "record_number"
        )
    }  # one query for the page; a patient of another location stays a number
    for movement in shown:
        movement.patient_label = names.get(movement.patient_id, f"patient {movement.patient_id}") if movement.patient_id else ""  # type: ignore[attr-defined]
    audit.record(
        ctx,
        action=AuditEvent.Action.VIEW,
        object_type="lot",
        object_id=lot.pk,
        location_id=lot.location_id,
        detail={"screen": "lot-detail", "page": page, "patient_ids": sorted(patient_ids)},
    )
    return LedgerPage(lot=lot, movements=shown, page=page, has_next=len(movements) > page_size)


def active_products() -> list[Product]:
    return list(Product.objects.filter(is_active=True).order_by("name"))


def active_consumables() -> list[Consumable]:
    return list(Consumable.objects.filter(is_active=True).order_by("kind", "name"))


def all_consumables() -> list[Consumable]:
    return list(Consumable.objects.order_by("kind", "name"))
