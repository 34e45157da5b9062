"""What of a signed record may be amended, its value as signed, its value now, and how a new value is checked.

A field's current value is the signed value overlaid by the newest amendment of that field; the
signed row itself never changes (the database refuses it). Each field checks a new value with the
same rule the chart applied when it was first charted.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from .models import MAX_DERMAPEN_SPEED, MAX_PASSES, MAX_VOLUME_ML, Amendment, AreaTreatment, ProcedureRecord, Reaction, Step
from .terms import ProtocolTerms

Cleaner = Callable[[str, ProtocolTerms], tuple[str, str | None]]


def show(value: object) -> str:
    """A stored value as text: decimals without trailing zeros, None as empty."""
    if value is None:
        return ""
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)


def _text(limit: int, *, required: bool) -> Cleaner:
    def clean(raw: str, terms: ProtocolTerms) -> tuple[str, str | None]:
        value = (raw or "").strip()
        if required and not value:
            return value, "Enter the new value."
        if len(value) > limit:
            return value, f"Keep it under {limit} characters."
        return value, None

    return clean


def _whole(low: int, high: int, what: str) -> Cleaner:
    def clean(raw: str, terms: ProtocolTerms) -> tuple[str, str | None]:
        value = (raw or "").strip()
        if not (value.isascii() and value.isdigit() and low <= int(value) <= high):
            return value, f"{what} is a whole number from {low} to {high}."
        return str(int(value)), None

    return clean


def _number(raw: str) -> Decimal | None:
    try:
        value = Decimal((raw or "").strip())
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() else None


def _depth(treatment: AreaTreatment) -> Cleaner:
    def clean(raw: str, terms: ProtocolTerms) -> tuple[str, str | None]:
        value = _number(raw)
        if value is None or value != value.quantize(Decimal("0.01")):
            return (raw or "").strip(), "Give the depth in mm, e.g. 0.75."
        area = terms.area(treatment.area.key)
        problem = area.depth_problem(value) if area is not None else "The area is no longer part of the protocol's version."
        return show(value), problem

    return clean


def _volume(raw: str, terms: ProtocolTerms) -> tuple[str, str | None]:
    value = _number(raw)
    if value is None or value != value.quantize(Decimal("0.01")):
        return (raw or "").strip(), "Give the volume in ml, e.g. 2.5."
    if not Decimal(0) < value <= MAX_VOLUME_ML:
        return show(value), "The volume must be more than 0 ml."
    return show(value), None


def _severity(raw: str, terms: ProtocolTerms) -> tuple[str, str | None]:
    value = (raw or "").strip().lower()
    if value not in Reaction.Severity.values:
        return value, "Choose mild, moderate or severe."
    return value, None


@dataclass(frozen=True)
class AmendableField:
    section: str
    target_id: int | None  # the row within the section: a treated area, a product usage (field volume_ml), a reaction
    field: str
    label: str
    signed: str  # as signed
    current: str  # after the newest amendment
    clean: Cleaner
    amendments: tuple[Amendment, ...] = ()

    @property
    def key(self) -> str:
        return f"{self.section}:{self.target_id or 0}:{self.field}"


def _latest(amendments: list[Amendment]) -> dict[tuple[str, int | None, str], list[Amendment]]:
    found: dict[tuple[str, int | None, str], list[Amendment]] = {}
    for amendment in sorted(amendments, key=lambda a: (a.amended_at, a.pk)):
        found.setdefault((amendment.section, amendment.target_id, amendment.field), []).append(amendment)
    return found


def amendable_fields(
    record: ProcedureRecord,
    *,
    treatments: list[AreaTreatment] | None = None,
    reactions: list[Reaction] | None = None,
    amendments: list[Amendment] | None = None,
) -> list[AmendableField]:
    """Every amendable field of `record`, in chart order. Pass prefetched rows to avoid queries."""
    if treatments is None:
        treatments = list(
            AreaTreatment.objects.filter(record=record)
            .select_related("area", "technique")
            .prefetch_related("product_usages__product")
            .order_by("recorded_at", "id")
        )
    if reactions is None:
        reactions = list(Reaction.objects.filter(record=record).order_by("id"))
    if amendments is None:
        amendments = list(Amendment.objects.filter(record=record).order_by("amended_at", "id"))
    history = _latest(amendments)
    rows: list[AmendableField] = []

    def add(section: str, target_id: int | None, name: str, label: str, value: object, clean: Cleaner) -> None:
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
            )
        )

    add(Step.NUMBING, None, "numbing_product", "Numbing cream", record.numbing_product, _text(160, required=True))
    for treatment in treatments:
        where = f"{treatment.area.name} ({treatment.technique.name})"
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
        for usage in treatment.product_usages.all():
            add(Step.TREATMENT, usage.pk, "volume_ml", f"{where}: {usage.product.name} volume (ml)", usage.volume_ml, _volume)
        add(Step.TREATMENT, treatment.pk, "notes", f"{where}: notes", treatment.notes, _text(500, required=False))
    for reaction in reactions:
        if reaction.kind != Reaction.Kind.NONE:
            add(
                Step.REACTIONS, reaction.pk, "severity", f"Reaction: {reaction.get_kind_display()} — severity", reaction.severity, _severity
            )
    add(Step.SIGN_OFF, None, "notes", "Session notes", record.notes, _text(2000, required=False))
    return rows
