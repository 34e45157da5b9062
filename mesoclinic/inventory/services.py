"""Every write to stock. Each runs in one transaction, with its audit rows, under row locks taken in
primary-key order; `on_hand` moves only with F() and every move appends one ledger row.

The session chart calls `check_usable` while charting and `take_stock` at sign-off, inside its own
sign-off transaction (the atomic block here then becomes a savepoint): either every usage is taken
or none is, and the caller's transaction is rolled back with it when a `StockError` escapes.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from mesoclinic.catalog.models import Product
from mesoclinic.core import audit
from mesoclinic.core.concurrency import bump, check_version
from mesoclinic.core.models import AuditEvent, Location
from mesoclinic.core.times import local_date

from .models import MAX_QUANTITY, QUANTITY_PLACES, Consumable, Lot, ReorderLevel, StockMovement, Unit, unit_for_product

Item = Product | Consumable
CENT = Decimal(1).scaleb(-QUANTITY_PLACES)


class StockError(Exception):
    """A stock rule refused the change. `str(error)` is a message for the user."""

    def __init__(self, message: str, *, lot: Lot | None = None) -> None:
        super().__init__(message)
        self.lot = lot


class LotExpired(StockError):
    pass


class LotRecalled(StockError):
    pass


class InsufficientStock(StockError):
    def __init__(self, message: str, *, lot: Lot, available: Decimal, requested: Decimal) -> None:
        super().__init__(message, lot=lot)
        self.available = available
        self.requested = requested


class WrongLocation(StockError):
    pass


class WrongItem(StockError):
    """The lot is of another product or consumable than the one being charted."""


class InvalidInput(StockError):
    """A missing reason or lot number, or a value that cannot be used."""


class InvalidQuantity(InvalidInput):
    pass


class DuplicateLot(StockError):
    pass


class DuplicateConsumable(StockError):
    pass


class ItemInactive(StockError):
    pass


class AlreadyRecalled(StockError):
    pass


@dataclass(frozen=True)
class StockUsage:
    """`quantity` of `lot` used in one session (ml for solutions, whole pieces or vials otherwise)."""

    lot: Lot
    quantity: Decimal


def _label(lot: Lot) -> str:
    return f"{lot.item_name} lot {lot.lot_number}"


def _decimal(value: object) -> Decimal:
    try:
        quantity = Decimal(str(value))
    except (InvalidOperation, ValueError):
        raise InvalidQuantity(f"“{str(value)[:20]}” is not a quantity.") from None
    if not quantity.is_finite():
        raise InvalidQuantity(f"“{str(value)[:20]}” is not a quantity.")
    return quantity


def _quantity_in(value: object, unit: str) -> Decimal:
    """`value` as a positive quantity of `unit`: 2 decimals for ml, whole numbers for vials and pieces."""
    quantity = _decimal(value)
    if quantity <= 0:
        raise InvalidQuantity("The quantity must be more than 0.")
    if quantity > MAX_QUANTITY:
        raise InvalidQuantity("That quantity is too large.")
    if unit == Unit.ML:
        if quantity != quantity.quantize(CENT):
            raise InvalidQuantity("Millilitres are recorded to two decimals, e.g. 2.25 ml.")
        return quantity.quantize(CENT)
    if quantity != quantity.to_integral_value():
        raise InvalidQuantity(f"{Unit(unit).label.capitalize()} are counted in whole numbers.")
    return quantity.quantize(CENT)


def _one_item(product: Product | None, consumable: Consumable | None) -> Item:
    if (product is None) == (consumable is None):
        raise ValueError("give exactly one of product and consumable")
    item: Item = product if product is not None else consumable  # type: ignore[assignment]
    return item


def _audit_lot(ctx: audit.AuditContext, lot: Lot, *, action: str, detail: dict[str, object], patient_id: int | None = None) -> None:
    audit.record(ctx, action=action, object_type="lot", object_id=lot.pk, patient_id=patient_id, location_id=lot.location_id, detail=detail)


def _append(
    ctx: audit.AuditContext,
    lot: Lot,
    *,
    kind: str,
    quantity: Decimal,
    on_hand_after: Decimal,
    reason: str = "",
    reference_type: str = "",
    reference_id: str = "",
    patient_id: int | None = None,
) -> StockMovement:
    return StockMovement.objects.create(
        lot=lot,
        kind=kind,
        quantity=quantity,
        on_hand_after=on_hand_after,
        reason=reason,
        reference_type=reference_type,
        reference_id=reference_id,
        patient_id=patient_id,
        by=ctx.actor,
    )


def _move_for_a_session(
    ctx: audit.AuditContext,
    lot: Lot,
    change: Decimal,
    *,
    kind: str,
    reference: tuple[str, str],
    patient_id: int | None,
    reason: str = "",
) -> StockMovement:
    """Move a locked lot's count by `change` for a session (taken at sign-off, or corrected by an
    amendment): the count and the version move together, so a count correction decided on the old
    count is refused as stale; one ledger line and one audit row."""
    lot.on_hand += change
    Lot.objects.filter(pk=lot.pk).update(on_hand=F("on_hand") + change, version=F("version") + 1)
    reference_type, reference_id = reference
    movement = _append(
        ctx,
        lot,
        kind=kind,
        quantity=change,
        on_hand_after=lot.on_hand,
        reason=reason,
        reference_type=reference_type,
        reference_id=reference_id,
        patient_id=patient_id,
    )
    _audit_lot(
        ctx,
        lot,
        action=AuditEvent.Action.UPDATE,
        patient_id=patient_id,
        detail={"movement": movement.pk, "kind": movement.kind, "reference": f"{reference_type}:{reference_id}"},
    )
    return movement


def receive_lot(
    *,
    ctx: audit.AuditContext,
    location: Location,
    product: Product | None = None,
    consumable: Consumable | None = None,
    lot_number: str,
    expires_on: date,
    quantity: Decimal,
    supplier: str,
    received_on: date | None = None,
) -> Lot:
    """Put a delivery on the shelf: a new lot with its "received" ledger line.

    Refuses an inactive item, a lot that expires before the day it is received, a quantity that is
    not positive (or not whole for vials and pieces) and a lot number already held here for the item.
    """
    item = _one_item(product, consumable)
    if not item.is_active:
        raise ItemInactive(f"{item.name} is no longer active in the catalog: it cannot be received.")
    received_on = received_on or timezone.localdate(timezone=location.zone)
    if expires_on < received_on:
        raise LotExpired(f"This lot expired on {expires_on:%d %b %Y}: an expired lot cannot be received.")
    lot_number = lot_number.strip()
    supplier = supplier.strip()
    if not lot_number:
        raise InvalidInput("Enter the lot number.")
    unit = unit_for_product(product) if product is not None else Unit.PIECE
    amount = _quantity_in(quantity, unit)
    duplicate = Lot.objects.filter(location=location, lot_number=lot_number, product=product, consumable=consumable)
    if duplicate.exists():
        raise DuplicateLot(f"Lot {lot_number} of {item.name} has already been received at {location.name}.")
    try:
        with transaction.atomic():
            lot = Lot.objects.create(
                product=product,
                consumable=consumable,
                location=location,
                lot_number=lot_number,
                expires_on=expires_on,
                supplier=supplier,
                received_on=received_on,
                quantity_received=amount,
                unit=unit,
                on_hand=amount,
                created_by=ctx.actor,
            )
            movement = _append(ctx, lot, kind=StockMovement.Kind.RECEIVED, quantity=amount, on_hand_after=amount)
            _audit_lot(ctx, lot, action=AuditEvent.Action.CREATE, detail={"movement": movement.pk, "kind": movement.kind})
    except IntegrityError:
        if duplicate.exists():  # received by someone else since the check above
            raise DuplicateLot(f"Lot {lot_number} of {item.name} has already been received at {location.name}.") from None
        raise
    return lot


def _locked(lots: Sequence[Lot]) -> dict[int, Lot]:
    """The current rows of `lots`, locked FOR UPDATE in primary-key order (so two callers never deadlock)."""
    ids = sorted({lot.pk for lot in lots})
    rows = Lot.objects.select_for_update(of=("self",)).select_related("product", "consumable").filter(pk__in=ids).order_by("pk")
    return {lot.pk: lot for lot in rows}


def _check(lot: Lot, *, location: Location, on: date, item: Item | None = None) -> None:
    if lot.location_id != location.pk:
        raise WrongLocation(f"{_label(lot)} belongs to another location.", lot=lot)
    if item is not None:
        wanted = ("product", item.pk) if isinstance(item, Product) else ("consumable", item.pk)
        if (lot.product_id if wanted[0] == "product" else lot.consumable_id) != wanted[1]:
            raise WrongItem(f"{_label(lot)} is not {item.name}.", lot=lot)
    if lot.recalled:
        raise LotRecalled(f"{_label(lot)} has been recalled ({lot.recall_reason}) and cannot be used.", lot=lot)
    if lot.is_expired_on(on):
        raise LotExpired(f"{_label(lot)} expired on {lot.expires_on:%d %b %Y} and cannot be used.", lot=lot)


def _refuse_short(lot: Lot, requested: Decimal) -> None:
    if requested > lot.on_hand:
        unit = Unit(lot.unit).label
        raise InsufficientStock(
            f"{_label(lot)} holds {lot.on_hand.normalize():f} {unit}; {requested.normalize():f} {unit} were asked for.",
            lot=lot,
            available=lot.on_hand,
            requested=requested,
        )


def check_usable(
    *,
    lot: Lot,
    location: Location,
    on: date,
    quantity: Decimal | None = None,
    product: Product | None = None,
    consumable: Consumable | None = None,
) -> None:
    """Raise the `StockError` that `take_stock` would raise for this lot today, or return None.

    For the chart to validate while charting (no lock: `take_stock` checks again at sign-off).
    Give `product` or `consumable` to also refuse a lot of another item (`WrongItem`), and
    `quantity` to also refuse more than the lot holds now (`InsufficientStock`).
    """
    item = None if product is None and consumable is None else _one_item(product, consumable)
    _check(lot, location=location, on=on, item=item)
    if quantity is not None:
        _refuse_short(lot, _quantity_in(quantity, lot.unit))


def take_stock(
    *,
    ctx: audit.AuditContext,
    location: Location,
    usages: Sequence[StockUsage],
    reference_type: str,
    reference_id: str,
    patient_id: int,
    on: date,
) -> list[StockMovement]:
    """Take every usage out of stock for one session, or nothing at all.

    Locks the lots in primary-key order, then refuses (raising a `StockError` subclass, nothing
    written) if any lot is of another location, recalled, expired on `on`, or holds less than the
    session's total use of it. Otherwise appends one "used" movement per usage, in the order given,
    moves `on_hand` with F(), and writes one audit row per movement.
    """
    if not reference_type or not str(reference_id):
        raise ValueError("a use of stock needs the session it belongs to (reference_type and reference_id)")
    if not usages:
        return []
    movements: list[StockMovement] = []
    with transaction.atomic():
        current = _locked([usage.lot for usage in usages])
        amounts = [(current[usage.lot.pk], _quantity_in(usage.quantity, current[usage.lot.pk].unit)) for usage in usages]
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for lot, amount in amounts:
            _check(lot, location=location, on=on)
            totals[lot.pk] += amount
        for lot_id, total in totals.items():
            _refuse_short(current[lot_id], total)
        for lot, amount in amounts:
            movements.append(
                _move_for_a_session(
                    ctx, lot, -amount, kind=StockMovement.Kind.USED, reference=(reference_type, str(reference_id)), patient_id=patient_id
                )
            )
    return movements


def correct_use(
    *,
    ctx: audit.AuditContext,
    location: Location,
    changes: Sequence[tuple[Lot, Decimal]],
    new_lots: Collection[int],
    reference_type: str,
    reference_id: str,
    patient_id: int,
    on: date,
    reason: str,
) -> list[StockMovement]:
    """Correct a session's use of stock after its record was amended: each (lot, signed quantity) is
    given back (+) or taken (−) as a "count correction" movement pointing at the session, with the
    amendment as its reason — all of them or none.

    Locks the lots in primary-key order. A lot in `new_lots` (one the amendment names instead of the
    charted one) must be of this location, not recalled and not expired on `on` (the session's day);
    a lot taken from must hold the quantity.
    """
    if not reason.strip():
        raise InvalidInput("Give the reason for the change.")
    movements: list[StockMovement] = []
    with transaction.atomic():
        current = _locked([lot for lot, _quantity in changes])
        amounts = [(current[lot.pk], _quantity_in(abs(quantity), current[lot.pk].unit).copy_sign(quantity)) for lot, quantity in changes]
        totals: dict[int, Decimal] = defaultdict(Decimal)
        for lot, amount in amounts:
            if lot.location_id != location.pk:
                raise WrongLocation(f"{_label(lot)} belongs to another location.", lot=lot)
            if lot.pk in new_lots:
                _check(lot, location=location, on=on)
            totals[lot.pk] += amount
        for lot_id, total in totals.items():
            if total < 0:
                _refuse_short(current[lot_id], -total)
        for lot, amount in amounts:
            movements.append(
                _move_for_a_session(
                    ctx,
                    lot,
                    amount,
                    kind=StockMovement.Kind.ADJUSTED,
                    reference=(reference_type, str(reference_id)),
                    patient_id=patient_id,
                    reason=reason.strip()[:300],
                )
            )
    return movements


ADJUSTMENT_KINDS = (StockMovement.Kind.ADJUSTED, StockMovement.Kind.WASTED, StockMovement.Kind.RETURNED)


def adjust_stock(
    *,
    ctx: audit.AuditContext,
    lot: Lot,
    quantity: Decimal,
    reason: str,
    kind: str = StockMovement.Kind.ADJUSTED,
    expected_version: int | None = None,
) -> StockMovement:
    """Correct a lot's count (`quantity` signed), or take out what was wasted or returned to the supplier (negative).

    A reason is required. Refuses a change that would leave less than nothing on hand, and (with
    `expected_version`, the version the form was loaded at) one decided on a count that has changed
    since: StaleEdit.
    """
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give the reason for the change.")
    if kind not in ADJUSTMENT_KINDS:
        raise ValueError(f"not an adjustment kind: {kind!r}")
    signed = _decimal(quantity)
    if signed == 0:
        raise InvalidQuantity("The change cannot be 0.")
    with transaction.atomic():
        current = _locked([lot])[lot.pk]
        check_version(current, expected_version)
        change = _quantity_in(abs(signed), current.unit).copy_sign(signed)
        if kind != StockMovement.Kind.ADJUSTED and change > 0:
            raise InvalidQuantity(f"{StockMovement.Kind(kind).label} stock is taken out: the change must be negative.")
        if change < 0:
            _refuse_short(current, -change)
        after = current.on_hand + change
        Lot.objects.filter(pk=current.pk).update(on_hand=F("on_hand") + change, version=F("version") + 1)
        movement = _append(ctx, current, kind=kind, quantity=change, on_hand_after=after, reason=reason[:300])
        _audit_lot(ctx, current, action=AuditEvent.Action.UPDATE, detail={"movement": movement.pk, "kind": kind, "fields": ["on_hand"]})
    lot.on_hand = after
    return movement


def recall_lot(*, ctx: audit.AuditContext, lot: Lot, reason: str) -> Lot:
    """Flag a lot as recalled: from now on it cannot be charted. The stock stays on the ledger until returned or wasted."""
    reason = reason.strip()
    if not reason:
        raise InvalidInput("Give the reason for the recall (e.g. the supplier's notice).")
    with transaction.atomic():
        current = _locked([lot])[lot.pk]
        if current.recalled:
            on = f" on {local_date(current.recalled_at, current.location):%d %b %Y}" if current.recalled_at else ""
            raise AlreadyRecalled(f"{_label(current)} was already recalled{on}.", lot=current)
        current.recalled = True
        current.recalled_at = timezone.now()
        current.recall_reason = reason[:500]
        bump(current)
        current.save(update_fields=["recalled", "recalled_at", "recall_reason", "version"])
        _audit_lot(ctx, current, action=AuditEvent.Action.UPDATE, detail={"fields": ["recalled", "recalled_at", "recall_reason"]})
    return current


def set_reorder_level(
    *,
    ctx: audit.AuditContext,
    location: Location,
    product: Product | None = None,
    consumable: Consumable | None = None,
    level: Decimal,
) -> ReorderLevel:
    """Set (or change) the usable quantity at or below which the item is listed as low on stock; 0 turns the warning off."""
    item = _one_item(product, consumable)
    unit = unit_for_product(product) if product is not None else Unit.PIECE
    threshold = Decimal("0.00") if _decimal(level) == 0 else _quantity_in(level, unit)
    with transaction.atomic():
        row, created = ReorderLevel.objects.select_for_update().update_or_create(
            location=location, product=product, consumable=consumable, defaults={"level": threshold}
        )
        audit.record(
            ctx,
            action=AuditEvent.Action.CREATE if created else AuditEvent.Action.UPDATE,
            object_type="reorder-level",
            object_id=row.pk,
            location_id=location.pk,
            detail={"item": f"{'product' if product is not None else 'consumable'}:{item.pk}", "fields": ["level"]},
        )
    return row


def add_consumable(*, ctx: audit.AuditContext, key: str, name: str, kind: str, manufacturer: str = "") -> Consumable:
    """A new kind of needle, cartridge or kit that lots can then be received for."""
    if Consumable.objects.filter(key=key).exists():
        raise DuplicateConsumable(f"The key “{key}” is already used.")
    with transaction.atomic():
        consumable = Consumable(key=key, name=name.strip(), kind=kind, manufacturer=manufacturer.strip())
        consumable.full_clean()
        consumable.save()
        audit.record(ctx, action=AuditEvent.Action.CREATE, object_type="consumable", object_id=consumable.pk, detail={"kind": kind})
    return consumable
