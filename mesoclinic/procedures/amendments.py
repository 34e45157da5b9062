"""What of a signed record may be amended, its value as signed, its value now, and how a new value is checked.

Every charted fact can be amended: the numbing cream (and its lot), per treated area the technique,
depth, passes, Dermapen speed, device and notes; per product of the solution its product and lot
(one choice: the lot names its product) and volume; per needle or cartridge line its lot and count;
per reaction its severity and description; the session notes.

A field's current value is the signed value overlaid by the newest amendment of that field; the
signed row itself never changes (the database refuses it). `procedures.amended` applies the same
amendments to the chart's rows for every reader (stock, recall, safety). Each field checks a new
value with the rule the chart applied when it was first charted. See docs/decisions/0016 and 0021.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from mesoclinic.catalog.models import Technique
from mesoclinic.core.models import Device
from mesoclinic.inventory.models import Lot

from .models import (
    MAX_DERMAPEN_SPEED,
    MAX_PASSES,
    MAX_VOLUME_ML,
    Amendment,
    AreaTreatment,
    ConsumableUsage,
    ProcedureRecord,
    ProductUsage,
    Reaction,
    Step,
)
from .terms import ProtocolTerms

# (new value as text, problem or None, id of the row the value names or None)
Cleaned = tuple[str, str | None, int | None]
Cleaner = Callable[[str, ProtocolTerms], Cleaned]

# Which chart row an amended field belongs to, by (section, field). Field names are unique per row kind.
ROW_KINDS: dict[tuple[str, str], str] = {
    (Step.NUMBING, "numbing_product"): "record",
    (Step.NUMBING, "numbing_lot"): "record",
    (Step.SIGN_OFF, "notes"): "record",
    **{(Step.TREATMENT, name): "treatment" for name in ("technique", "depth_mm", "passes", "dermapen_speed", "device", "notes")},
    (Step.TREATMENT, "lot"): "product",
    (Step.TREATMENT, "volume_ml"): "product",
    (Step.TREATMENT, "consumable_lot"): "consumable",
    (Step.TREATMENT, "quantity"): "consumable",
    (Step.REACTIONS, "severity"): "reaction",
    (Step.REACTIONS, "description"): "reaction",
}
REF_FIELDS = {"technique": Technique, "device": Device, "lot": Lot, "consumable_lot": Lot, "numbing_lot": Lot}
STOCK_FIELDS = ("lot", "volume_ml", "consumable_lot", "quantity")  # an amendment of these moves stock


def show(value: object) -> str:
    """A stored value as text: decimals without trailing zeros, None as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def lot_text(lot: Lot | None) -> str:
    if lot is None:
        return ""
    return f"{lot.item_name}, lot {lot.lot_number} (expires {lot.expires_on:%d %b %Y})"


def device_text(device: Device | None) -> str:
    return f"{device.model} #{device.serial_number}" if device is not None else ""


def _text(limit: int, *, required: bool) -> Cleaner:
    def clean(raw: str, terms: ProtocolTerms) -> Cleaned:
        value = (raw or "").strip()
        if required and not value:
            return value, "Enter the new value.", None
        if len(value) > limit:
            return value, f"Keep it under {limit} characters.", None
        return value, None, None

    return clean


def _whole(low: int, high: int, what: str) -> Cleaner:
    def clean(raw: str, terms: ProtocolTerms) -> Cleaned:
        value = (raw or "").strip()
        if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
            return value, f"{what} is a whole number from {low} to {high}.", None
        return str(int(value)), None, None

    return clean


def _number(raw: str) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _depth(treatment: AreaTreatment) -> Cleaner:
    def clean(raw: str, terms: ProtocolTerms) -> Cleaned:
        value = _number(raw)
        if value is None or value != value.quantize(Decimal("0.01")):
            return (raw or "").strip(), "Give the depth in mm, e.g. 0.75.", None
        area = terms.area(treatment.area.key)
        problem = area.depth_problem(value) if area is not None else "The area is no longer part of the protocol's version."
        return show(value), problem, None

    return clean


def _volume(raw: str, terms: ProtocolTerms) -> Cleaned:
    value = _number(raw)
    if value is None or value != value.quantize(Decimal("0.01")):
        return (raw or "").strip(), "Give the volume in ml, e.g. 2.5.", None
    if not Decimal(0) < value <= MAX_VOLUME_ML:
        return show(value), "The volume must be more than 0 ml.", None
    return show(value), None, None


def _severity(raw: str, terms: ProtocolTerms) -> Cleaned:
    value = (raw or "").strip().lower()
    if value not in Reaction.Severity.values:
        return value, "Choose mild, moderate or severe.", None
    return value, None, None


def _one_of(options: list[tuple[str, str, int]], what: str) -> Cleaner:
    """A choice typed by its name (a lot number, a technique, a device serial): (match, shown, id) options."""

    def clean(raw: str, terms: ProtocolTerms) -> Cleaned:
        typed = (raw or "").strip().casefold()
        found = [(shown, pk) for match, shown, pk in options if typed and typed in (match.casefold(), shown.casefold())]
        if len(found) == 1:
            return found[0][0], None, found[0][1]
        names = ", ".join(sorted({match for match, _shown, _pk in options})[:20]) or "none here"
        if found:
            return (raw or "").strip(), f"More than one {what} matches; type it as listed: {names}.", None
        return (raw or "").strip(), f"Type one of the {what}s: {names}.", None

    return clean


@dataclass(frozen=True)
class AmendableField:
    section: str
    target_id: int | None  # the row within the section: a treated area, a product or consumable usage, a reaction
    field: str
    label: str
    signed: str  # as signed
    current: str  # after the newest amendment
    clean: Cleaner
    amendments: tuple[Amendment, ...] = ()
    signed_ref: int | None = None  # for a field naming a row (a lot, …): its id as signed
    current_ref: int | None = None  # … and after the newest amendment

    @property
    def key(self) -> str:
        return f"{self.section}:{self.target_id or 0}:{self.field}"

    @property
    def moves_stock(self) -> bool:
        return self.field in STOCK_FIELDS


def _history(amendments: list[Amendment]) -> dict[tuple[str, int | None, str], list[Amendment]]:
    found: dict[tuple[str, int | None, str], list[Amendment]] = {}
    for amendment in sorted(amendments, key=lambda a: (a.amended_at, a.pk)):
        found.setdefault((amendment.section, amendment.target_id, amendment.field), []).append(amendment)
    return found


@dataclass(frozen=True)
class Options:
    """What a choice field may be amended to, loaded once per record (four queries)."""

    techniques: list[Technique]
    devices: list[Device]
    product_lots: list[Lot]
    consumable_lots: list[Lot]
    numbing_lots: list[Lot]


def options_for(record: ProcedureRecord, terms: ProtocolTerms) -> Options:
    from .consumables import AREA_KINDS, NUMBING_KIND

    lots = Lot.objects.filter(location_id=record.location_id).select_related("product", "consumable").order_by("lot_number", "id")
    return Options(
        techniques=list(Technique.objects.filter(key__in=terms.technique_keys).order_by("name")),
        devices=list(Device.objects.filter(location_id=record.location_id, kind=Device.Kind.DERMAPEN).order_by("model", "serial_number")),
        product_lots=list(lots.filter(product__key__in=terms.product_keys)),
        consumable_lots=list(lots.filter(consumable__kind__in=AREA_KINDS)),
        numbing_lots=list(lots.filter(consumable__kind=NUMBING_KIND)),
    )


def _lot_options(lots: list[Lot]) -> list[tuple[str, str, int]]:
    return [(lot.lot_number, lot_text(lot), lot.pk) for lot in lots]


def amendable_fields(
    record: ProcedureRecord,
    *,
    treatments: list[AreaTreatment] | None = None,
    reactions: list[Reaction] | None = None,
    amendments: list[Amendment] | None = None,
    terms: ProtocolTerms | None = None,
    options: Options | None = None,
) -> list[AmendableField]:
    """Every amendable field of `record`, in chart order, with its signed and current value. Pass
    prefetched rows (treatments with product_usages and consumable_usages) to avoid queries; the choice
    fields' options are loaded only when `terms` is given (what the amend form and service need)."""
    if treatments is None:
        treatments = list(
            AreaTreatment.objects.filter(record=record)
            .select_related("area", "technique", "device")
            .prefetch_related("product_usages__product", "product_usages__lot__product", "consumable_usages__lot__consumable")
            .order_by("recorded_at", "id")
        )
    if reactions is None:
        reactions = list(Reaction.objects.filter(record=record).order_by("id"))
    if amendments is None:
        amendments = list(Amendment.objects.filter(record=record).order_by("amended_at", "id"))
    history = _history(amendments)
    if options is None and terms is not None:
        options = options_for(record, terms)
    rows: list[AmendableField] = []
    unchecked: Cleaner = _text(0, required=True)  # display only: the amend service always passes the terms

    def add(section: str, target_id: int | None, name: str, label: str, value: object, clean: Cleaner, ref: int | None = None) -> None:
        changes = tuple(history.get((section, target_id, name), []))
        signed = show(value)
        rows.append(
            AmendableField(
                section=section,
                target_id=target_id,
                field=name,
                label=label,
                signed=signed,
                current=changes[-1].new_value if changes else signed,
                clean=clean,
                amendments=changes,
                signed_ref=ref,
                current_ref=changes[-1].new_ref if changes else ref,
            )
        )

    def choose(items: list[tuple[str, str, int]], what: str) -> Cleaner:
        return _one_of(items, what) if options is not None else unchecked

    add(Step.NUMBING, None, "numbing_product", "Numbing cream", record.numbing_product, _text(160, required=True))
    numbing_lot = record.numbing_lot if record.numbing_lot_id else None
    add(
        Step.NUMBING,
        None,
        "numbing_lot",
        "Numbing cream: lot",
        lot_text(numbing_lot),
        choose(_lot_options(options.numbing_lots) if options else [], "numbing cream lot"),
        record.numbing_lot_id,
    )
    for treatment in treatments:
        where = f"{treatment.area.name} ({treatment.technique.name})"
        same_method = [t for t in options.techniques if t.method == treatment.method] if options else []
        add(
            Step.TREATMENT,
            treatment.pk,
            "technique",
            f"{where}: technique",
            treatment.technique.name,
            choose([(t.name, t.name, t.pk) for t in same_method], "technique"),
            treatment.technique_id,
        )
        add(Step.TREATMENT, treatment.pk, "depth_mm", f"{where}: needle depth (mm)", treatment.depth_mm, _depth(treatment))
        add(Step.TREATMENT, treatment.pk, "passes", f"{where}: passes", treatment.passes, _whole(1, MAX_PASSES, "Passes"))
        if treatment.method == "dermapen":
            add(
                Step.TREATMENT,
                treatment.pk,
                "dermapen_speed",
                f"{where}: Dermapen speed",
                treatment.dermapen_speed,
                _whole(1, MAX_DERMAPEN_SPEED, "The speed"),
            )
            devices = [(d.serial_number, device_text(d), d.pk) for d in options.devices] if options else []
            add(
                Step.TREATMENT,
                treatment.pk,
                "device",
                f"{where}: Dermapen device",
                device_text(treatment.device),
                choose(devices, "device serial number"),
                treatment.device_id,
            )
        usage: ProductUsage
        for usage in treatment.product_usages.all():
            name = f"{where}: {usage.product.name}"
            lots = _lot_options(options.product_lots) if options else []
            add(Step.TREATMENT, usage.pk, "lot", f"{name} — product and lot", lot_text(usage.lot), choose(lots, "lot number"), usage.lot_id)
            add(Step.TREATMENT, usage.pk, "volume_ml", f"{name} volume (ml)", usage.volume_ml, _volume)
        item: ConsumableUsage
        for item in treatment.consumable_usages.all():
            name = f"{where}: {item.lot.item_name}"
            lots = _lot_options(options.consumable_lots) if options else []
            add(
                Step.TREATMENT,
                item.pk,
                "consumable_lot",
                f"{name} — item and lot",
                lot_text(item.lot),
                choose(lots, "lot number"),
                item.lot_id,
            )
            add(Step.TREATMENT, item.pk, "quantity", f"{name} — count", item.quantity, _whole(1, 100, "The count"))
        add(Step.TREATMENT, treatment.pk, "notes", f"{where}: notes", treatment.notes, _text(500, required=False))
    for reaction in reactions:
        if reaction.kind != Reaction.Kind.NONE:
            what = f"Reaction: {reaction.get_kind_display()}"
            add(Step.REACTIONS, reaction.pk, "severity", f"{what} — severity", reaction.severity, _severity)
            add(Step.REACTIONS, reaction.pk, "description", f"{what} — description", reaction.description, _text(300, required=False))
    add(Step.SIGN_OFF, None, "notes", "Session notes", record.notes, _text(2000, required=False))
    return rows
