"""The record as amended: the one place every reader (the signed record page, the stock ledger's
correction, the lot recall, the adverse-event form, the safety report, later FHIR) gets a session's
facts with their amendments applied.

The signed rows never change (the database refuses it). Amendments are rows of their own; this
module overlays the newest amendment of each field on the chart's rows **in memory** and keeps the
value as signed in `row.as_signed[field]` (display text), so a page can show "originally …". Rows
returned here are for reading only: saving one is refused by the database. See decision 0021.

    apply_amendments(record, treatments=…, reactions=…, amendments=…)   # overlay on rows already loaded
    amended_product_usages(record)                                       # the solution's lines, as amended
    records_for_lot(lot=…, scope=…)                                      # the recall: every session (signed or not) that used a lot
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Model, Prefetch, Q

from mesoclinic.inventory.models import Lot
from mesoclinic.patients.models import Patient

from .amendments import REF_FIELDS, ROW_KINDS, device_text, lot_text, show
from .models import Amendment, AreaTreatment, ConsumableUsage, ProcedureRecord, ProductUsage, PrpPreparation, Reaction, Step


def newest(amendments: Iterable[Amendment]) -> dict[tuple[str, int | None, str], Amendment]:
    """The newest amendment of each (section, row, field)."""
    found: dict[tuple[str, int | None, str], Amendment] = {}
    for amendment in sorted(amendments, key=lambda a: (a.amended_at, a.pk)):
        found[(amendment.section, amendment.target_id, amendment.field)] = amendment
    return found


def _refs(latest: Iterable[Amendment]) -> dict[tuple[str, int], Model]:
    """The rows the amendments name (lots, techniques, devices): one query per kind named."""
    wanted: dict[type[Model], set[int]] = {}
    for amendment in latest:
        model = REF_FIELDS.get(amendment.field)
        if model is not None and amendment.new_ref is not None:
            wanted.setdefault(model, set()).add(amendment.new_ref)
    rows: dict[tuple[str, int], Model] = {}
    for model, ids in wanted.items():
        query = model.objects.filter(pk__in=ids)  # type: ignore[attr-defined]
        if model is Lot:
            query = query.select_related("product", "consumable", "location")
        for row in query:
            rows[(model.__name__, row.pk)] = row
    return rows


def _overlay(row: Any, name: str, value: Any, shown_before: str) -> None:
    if not hasattr(row, "as_signed"):
        row.as_signed = {}
    row.as_signed.setdefault(name, shown_before)
    setattr(row, name, value)


def _apply(row: Any, kind: str, amendment: Amendment, refs: dict[tuple[str, int], Model]) -> None:
    field, text = amendment.field, amendment.new_value
    ref = refs.get((REF_FIELDS[field].__name__, amendment.new_ref or 0)) if field in REF_FIELDS else None
    if field in ("lot", "consumable_lot", "numbing_lot"):
        if ref is None:
            return
        lot: Lot = ref  # type: ignore[assignment]
        name = "numbing_lot" if field == "numbing_lot" else "lot"
        _overlay(row, name, lot, lot_text(getattr(row, name)) if getattr(row, f"{name}_id") else "")
        if kind == "product":
            row.product = lot.product
        elif kind == "consumable":
            row.consumable = lot.consumable
    elif field == "technique" and ref is not None:
        _overlay(row, "technique", ref, row.technique.name)
    elif field == "device" and ref is not None:
        _overlay(row, "device", ref, device_text(row.device))
    elif field in ("depth_mm", "volume_ml"):
        _overlay(row, field, Decimal(text) if text else None, show(getattr(row, field)))
    elif field in ("passes", "dermapen_speed", "quantity"):
        _overlay(row, field, int(text) if text else None, show(getattr(row, field)))
    else:
        _overlay(row, field, text, show(getattr(row, field)))


def apply_amendments(
    record: ProcedureRecord,
    *,
    treatments: Iterable[AreaTreatment] = (),
    reactions: Iterable[Reaction] = (),
    amendments: Iterable[Amendment],
) -> None:
    """Overlay the newest amendment of each field on `record` and on its rows (treatments with their
    prefetched product and consumable usages, reactions), in memory. At most three queries (the lots,
    techniques and devices the amendments name), none when nothing was amended."""
    latest = newest(amendments)
    if not latest:
        return
    refs = _refs(latest.values())
    rows: dict[tuple[str, int | None], Any] = {("record", None): record}
    for treatment in treatments:
        rows[("treatment", treatment.pk)] = treatment
        for usage in treatment.product_usages.all():
            rows[("product", usage.pk)] = usage
        for item in treatment.consumable_usages.all():
            rows[("consumable", item.pk)] = item
    for reaction in reactions:
        rows[("reaction", reaction.pk)] = reaction
    for (section, target_id, field), amendment in latest.items():
        kind = ROW_KINDS.get((section, field))
        row = rows.get((kind, None if kind == "record" else target_id)) if kind else None
        if row is not None:
            _apply(row, kind, amendment, refs)  # type: ignore[arg-type]


def as_amended_treatments(record: ProcedureRecord) -> list[AreaTreatment]:
    """The record's treated areas with their products and consumables, as amended (constant queries)."""
    treatments = list(
        AreaTreatment.objects.filter(record=record)
        .select_related("area", "technique", "device")
        .prefetch_related(
            Prefetch("product_usages", queryset=ProductUsage.objects.select_related("product", "lot__product", "treatment__area")),
            Prefetch("consumable_usages", queryset=ConsumableUsage.objects.select_related("consumable", "lot__consumable")),
        )
        .order_by("recorded_at", "id")
    )
    if record.is_signed:
        apply_amendments(record, treatments=treatments, amendments=Amendment.objects.filter(record=record))
    return treatments


def amended_product_usages(record: ProcedureRecord) -> list[ProductUsage]:
    """Every product line of the session (one per product of a mixture, each with its lot), as amended."""
    return [usage for treatment in as_amended_treatments(record) for usage in treatment.product_usages.all()]


# --- the recall ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class LotUse:
    """One use of a lot in a session (signed or not): a product of a mixture, a consumable, a PRP kit,
    or the numbing cream — as the record reads after its amendments."""

    record: ProcedureRecord
    kind: str  # "product", "consumable", "prp-kit" or "numbing"
    item_name: str
    quantity: Decimal | None
    unit: str
    area_name: str = ""
    amended: bool = False  # the lot (or quantity) here comes from an amendment

    @property
    def patient(self) -> Patient:
        return self.record.patient

    @property
    def signed(self) -> bool:
        return self.record.is_signed


def _named_by_amendment(field: str, lot: Lot) -> Any:
    return Amendment.objects.filter(field=field, new_ref=lot.pk).values("target_id")


def _amendments_of(fields: tuple[str, ...], target_ids: list[int]) -> dict[tuple[int | None, str], Amendment]:
    if not target_ids:
        return {}
    found = Amendment.objects.filter(section=Step.TREATMENT, field__in=fields, target_id__in=target_ids)
    return {(target, name): amendment for (_section, target, name), amendment in newest(found).items()}


def records_for_lot(*, lot: Lot, scope: frozenset[int] | None) -> list[LotUse]:
    """Every session — signed or still open — that used `lot`, as amended: as a product (each product
    of a mixture has its own lot), a needle or cartridge, a PRP kit or the numbing cream. A use whose
    lot was amended away is left out; a use amended to this lot is in. `scope` limits to the caller's
    locations (None: every location). Eight queries whatever the data; no audit row (the calling
    screen audits its own search)."""
    related = ("record__patient__location", "record__location", "record__protocol", "record__practitioner")
    where = Q(record__location_id__in=scope) if scope is not None else Q()
    uses: list[LotUse] = []

    usages = list(
        ProductUsage.objects.filter(where, Q(lot=lot) | Q(pk__in=_named_by_amendment("lot", lot)))
        .select_related(*related, "product", "treatment__area")
        .order_by("id")
    )
    changes = _amendments_of(("lot", "volume_ml"), [usage.pk for usage in usages])
    for usage in usages:
        moved, volume = changes.get((usage.pk, "lot")), changes.get((usage.pk, "volume_ml"))
        if (moved.new_ref if moved else usage.lot_id) != lot.pk:
            continue
        quantity = Decimal(volume.new_value) if volume else usage.volume_ml
        name = lot.item_name if moved else usage.product.name
        uses.append(LotUse(usage.record, "product", name, quantity, "ml", usage.treatment.area.name, amended=bool(moved or volume)))

    items = list(
        ConsumableUsage.objects.filter(where, Q(lot=lot) | Q(pk__in=_named_by_amendment("consumable_lot", lot)))
        .select_related(*related, "consumable", "treatment__area")
        .order_by("id")
    )
    changes = _amendments_of(("consumable_lot", "quantity"), [item.pk for item in items])
    for item in items:
        moved, count = changes.get((item.pk, "consumable_lot")), changes.get((item.pk, "quantity"))
        if (moved.new_ref if moved else item.lot_id) != lot.pk:
            continue
        quantity = Decimal(count.new_value) if count else Decimal(item.quantity)
        name = lot.item_name if moved else item.consumable.name
        uses.append(LotUse(item.record, "consumable", name, quantity, "pieces", item.treatment.area.name, amended=bool(moved or count)))

    for prp in PrpPreparation.objects.filter(where, kit_lot=lot).select_related(*related):
        uses.append(LotUse(prp.record, "prp-kit", lot.item_name, Decimal(1), "pieces"))

    own = {key.removeprefix("record__") for key in related}
    numbed = list(
        ProcedureRecord.objects.filter(
            Q(location_id__in=scope) if scope is not None else Q(),
            Q(numbing_lot=lot) | Q(pk__in=Amendment.objects.filter(field="numbing_lot", new_ref=lot.pk).values("record_id")),
        ).select_related(*own)
    )
    moved_records = {
        amendment.record_id: amendment
        for amendment in newest(Amendment.objects.filter(record_id__in=[r.pk for r in numbed], field="numbing_lot")).values()
    }
    for record in numbed:
        moved = moved_records.get(record.pk)
        if (moved.new_ref if moved else record.numbing_lot_id) != lot.pk:
            continue
        uses.append(LotUse(record, "numbing", lot.item_name, None, "", amended=moved is not None))

    uses.sort(key=lambda use: (use.record.signed_at or use.record.started_at, use.record.pk))
    return uses


def amended_usages_of_records(record_ids: list[int]) -> list[ProductUsage]:
    """Every product line of these sessions, as amended (three queries whatever the data)."""
    usages = list(
        ProductUsage.objects.filter(record_id__in=record_ids)
        .select_related("product", "lot", "treatment__area")
        .order_by("record_id", "id")
    )
    latest = newest(Amendment.objects.filter(record_id__in=record_ids, section=Step.TREATMENT, field__in=("lot", "volume_ml")))
    refs = _refs(latest.values())
    by_id = {usage.pk: usage for usage in usages}
    for (_section, target_id, _field), amendment in latest.items():
        usage = by_id.get(target_id or 0)
        if usage is not None:
            _apply(usage, "product", amendment, refs)
    return usages


def amended_numbing_lot(record: ProcedureRecord) -> Lot | None:
    """The numbing cream's lot as the record reads now (an amendment may have named another)."""
    change = Amendment.objects.filter(record=record, field="numbing_lot").order_by("-amended_at", "-id").first()
    lot_id = change.new_ref if change is not None else record.numbing_lot_id
    return Lot.objects.select_related("product", "consumable").filter(pk=lot_id).first() if lot_id else None


def amended_usages_by_id(usage_ids: Iterable[int]) -> dict[int, ProductUsage]:
    """These product lines as amended, by id (three queries whatever the data)."""
    ids = sorted(set(usage_ids))
    if not ids:
        return {}
    usages = {
        usage.pk: usage
        for usage in ProductUsage.objects.filter(pk__in=ids).select_related("product", "lot__product", "lot__location", "treatment__area")
    }
    latest = newest(Amendment.objects.filter(section=Step.TREATMENT, field__in=("lot", "volume_ml"), target_id__in=ids))
    refs = _refs(latest.values())
    for (_section, target_id, _field), amendment in latest.items():
        usage = usages.get(target_id or 0)
        if usage is not None:
            _apply(usage, "product", amendment, refs)
    return usages
