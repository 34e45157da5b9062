"""Amending a signed record (the write; `amendments` says what may be amended, `amended` reads it back).

An amendment of a product's lot or volume, or of a needle/cartridge lot or count, also corrects the
stock in the same transaction: the quantity goes back to the lot the record named and is taken from
the lot it names now (`inventory.services.correct_use`, lots locked in primary-key order). A new lot
that is recalled, expired on the session's day, of another location, counted in another unit or
short of the quantity refuses the amendment, with nothing written. See docs/decisions/0021.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.inventory import services as inventory
from mesoclinic.inventory.models import Lot, StockMovement, Unit

from .amendments import AmendableField, amendable_fields
from .models import Amendment, ConsumableUsage, ProcedureRecord, ProductUsage
from .services import STOCK_REFERENCE, ChartRefused, StepOutOfOrder, _audit, _locked, _reason, _require_at, terms_of

Status = ProcedureRecord.Status


def _quantity(lot: Lot, usage: ProductUsage, volume: str) -> Decimal:
    """What a product line takes from `lot`: its volume for a lot counted in ml, else the vials opened."""
    return Decimal(volume) if lot.unit == Unit.ML else usage.stock_quantity


def _correct_stock(
    ctx: audit.AuditContext, record: ProcedureRecord, field: AmendableField, fields: dict[str, AmendableField], value: str, ref: int | None
) -> list[StockMovement]:
    prefix = f"{field.section}:{field.target_id}:"
    row_id = field.target_id or 0
    usage: ProductUsage | ConsumableUsage
    if field.field in ("lot", "volume_ml"):
        usage = ProductUsage.objects.select_related("lot").get(pk=row_id, record=record)
        lot_field, amount_field = fields[prefix + "lot"], fields[prefix + "volume_ml"]
    else:
        usage = ConsumableUsage.objects.select_related("lot").get(pk=row_id, record=record)
        lot_field, amount_field = fields[prefix + "consumable_lot"], fields[prefix + "quantity"]
    old_id = lot_field.current_ref or usage.lot_id
    new_id = ref if field is lot_field else old_id
    lots = {lot.pk: lot for lot in Lot.objects.filter(pk__in={old_id, new_id or old_id})}
    old_lot, new_lot = lots[old_id], lots[new_id or old_id]
    if old_lot.unit != new_lot.unit:
        message = (
            f"{new_lot} is counted in {new_lot.get_unit_display()}, the charted lot in {old_lot.get_unit_display()}: "
            "choose a lot counted the same way."
        )
        raise ChartRefused(message, errors={"new_value": message})
    old_amount = amount_field.current
    new_amount = value if field is amount_field else old_amount
    if isinstance(usage, ProductUsage):
        before, after = _quantity(old_lot, usage, old_amount), _quantity(new_lot, usage, new_amount)
    else:
        before, after = Decimal(old_amount), Decimal(new_amount)
    if old_lot.pk == new_lot.pk:
        changes = [(old_lot, before - after)] if before != after else []
    else:
        changes = [(old_lot, before), (new_lot, -after)]
    if not changes:
        return []
    try:
        return inventory.correct_use(
            ctx=ctx,
            location=record.location,
            changes=changes,
            new_lots={new_lot.pk} if new_lot.pk != old_lot.pk else set(),
            reference_type=STOCK_REFERENCE,
            reference_id=str(record.pk),
            patient_id=record.patient_id,
            on=record.location.local(record.started_at).date(),
            reason=f"Amendment of the signed session: {field.label}"[:300],
        )
    except inventory.StockError as error:
        message = f"Not amended: {error}"
        raise ChartRefused(message, errors={"new_value": str(error)}) from None


def amend_record(*, ctx: audit.AuditContext, record: ProcedureRecord, target: str, new_value: str, reason: str) -> Amendment:
    """Correct a signed record: an Amendment row with who, when, why, what and the new value. The
    signed values are never changed; every reader applies the amendments (`procedures.amended`).

    `target` is one of `amendable_fields(record)` keys (e.g. "treatment:12:depth_mm"). The new value
    is checked like the original was (a depth within the bounds, a volume above 0, a lot of this
    location's stock, …). A lot, volume or count amendment corrects the stock in the same transaction.
    """
    actor = _require_at(ctx, "procedure.amend", "amend session records", record.location_id)
    text = _reason(reason, "for the amendment")
    with transaction.atomic():
        current = _locked(record)
        if current.status != Status.SIGNED:
            raise StepOutOfOrder("Only a signed record is amended; an open record is simply charted again.")
        terms = terms_of(current)
        fields = {field.key: field for field in amendable_fields(current, terms=terms)}
        field = fields.get(target)
        if field is None:
            raise ChartRefused("Choose what to amend from the list.", errors={"target": "Choose what to amend."})
        value, problem, ref = field.clean(new_value, terms)
        if problem:
            raise ChartRefused(problem, errors={"new_value": problem})
        if value == field.current and ref == field.current_ref:
            raise ChartRefused("The new value is the same as the current one.", errors={"new_value": "Nothing would change."})
        movements = _correct_stock(ctx, current, field, fields, value, ref) if field.moves_stock else []
        amendment = Amendment.objects.create(
            record=current,
            section=field.section,
            target_id=field.target_id,
            field=field.field,
            label=field.label[:200],
            original_value=field.current[:2000],
            new_value=value[:2000],
            original_ref=field.current_ref,
            new_ref=ref,
            reason=text,
            amended_by=actor,
            amended_at=timezone.now(),
        )
        detail = {"amendment": amendment.pk, "section": field.section, "field": field.field}
        if movements:
            detail["movements"] = [movement.pk for movement in movements]
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail=detail)
    return amendment
