"""Forms of the chart's steps and of an amendment. They check types and sizes; the services check
the clinical rules (depth bounds, lots, the numbing wait) and their errors come back onto these forms."""

from __future__ import annotations

from datetime import datetime, time
from typing import Any, cast

from django import forms
from django.utils import timezone

from mesoclinic.catalog.models import Product
from mesoclinic.core.models import Device
from mesoclinic.inventory.models import Lot

from .amendments import AmendableField
from .consumables import numbing_lots
from .models import MAX_DERMAPEN_SPEED, MAX_PASSES, ProcedureRecord, Reaction
from .selectors import Chart
from .services import MAX_REASON, MIN_REASON, ConsumableLine, ProductLine, ReactionLine

CONSUMABLE_ROWS = 2


def _reason_field(label: str, help_text: str) -> forms.CharField:
    return forms.CharField(
        label=label,
        min_length=MIN_REASON,
        max_length=MAX_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=help_text,
        error_messages={"required": "Write the reason.", "min_length": f"Write the reason (at least {MIN_REASON} characters)."},
    )


class OverrideForm(forms.Form):
    reason = _reason_field("Clinical reason for treating today", "Only a doctor may override. Kept in the record and the audit trail.")


class ConfirmForm(forms.Form):
    confirmed = forms.BooleanField(error_messages={"required": "Tick the box to confirm."})

    def __init__(self, *args: Any, label: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["confirmed"].label = label


class NumbingForm(forms.Form):
    numbing_lot = forms.TypedChoiceField(
        label="Numbing cream and lot",
        coerce=int,
        required=False,
        empty_value=None,
        help_text="The tube used, from stock (the recall and adverse events trace its lot).",
    )
    product_name = forms.CharField(
        label="Numbing cream (if not in stock)",
        max_length=160,
        required=False,
        help_text="As on the tube, e.g. the brand and strength — only for a cream without a lot in stock.",
    )
    applied_at = forms.TimeField(
        label="Applied at",
        required=False,
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        help_text="Leave empty for now. Up to two hours earlier if it went on in the waiting area.",
        error_messages={"invalid": "Enter a time such as 10:00."},
    )

    def __init__(self, *args: Any, record: ProcedureRecord | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.lots: dict[int, Lot] = {}
        if record is not None:
            self.lots = {lot.pk: lot for lot in numbing_lots(location=record.location, on=record.location.local(timezone.now()).date())}
        choices = [(lot.pk, f"{lot.item_name} — lot {lot.lot_number}, expires {lot.expires_on:%d %b %Y}") for lot in self.lots.values()]
        cast(forms.ChoiceField, self.fields["numbing_lot"]).choices = [("", "—"), *choices]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("numbing_lot") is None and not data.get("product_name"):
            raise forms.ValidationError("Name the numbing cream: choose its lot from stock, or type the name of a cream not in stock.")
        return data

    @property
    def lot(self) -> Lot | None:
        return self.lots.get(self.cleaned_data.get("numbing_lot") or 0)

    def applied_moment(self, chart: Chart) -> datetime | None:
        value: time | None = self.cleaned_data.get("applied_at")
        if value is None:
            return None
        today = chart.record.location.local(chart.now).date()
        return datetime.combine(today, value, tzinfo=chart.record.location.zone)


class EarlyStartForm(forms.Form):
    reason = _reason_field("Reason for starting before the numbing wait is over", "Audited. Without a reason the injections stay locked.")


def _decimal_field(label: str, *, digits: int, places: int, required: bool = False, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=digits,
        decimal_places=places,
        required=required,
        help_text=help_text,
        widget=forms.NumberInput(attrs={"step": "0." + "0" * (places - 1) + "1", "inputmode": "decimal"}),
        error_messages={
            "invalid": "Enter a number.",
            "max_digits": "That number is too large.",
            "max_decimal_places": f"At most {places} decimals.",
        },
    )


class LotField(forms.ModelChoiceField):
    """Any lot of this location: the chart offers the usable ones (soonest expiry first); the service
    refuses an expired, recalled or wrong-product lot with its own message."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(
            queryset=Lot.objects.none(),
            required=False,
            error_messages={"invalid_choice": "That lot is not held at this location."},
            **kwargs,
        )


class TreatmentForm(forms.Form):
    area = forms.ChoiceField(
        label="Area", error_messages={"required": "Choose the area.", "invalid_choice": "Choose one of the session's areas."}
    )
    technique = forms.ChoiceField(
        label="Technique",
        error_messages={"required": "Choose the technique.", "invalid_choice": "Choose one of the protocol's techniques."},
    )
    depth_mm = _decimal_field("Needle depth (mm)", digits=3, places=2)
    passes = forms.IntegerField(
        label="Passes", required=False, min_value=1, max_value=MAX_PASSES, error_messages={"invalid": "Enter a whole number."}
    )
    dermapen_speed = forms.IntegerField(
        label="Dermapen speed",
        required=False,
        min_value=1,
        max_value=MAX_DERMAPEN_SPEED,
        error_messages={"invalid": "Enter a whole number."},
    )
    device: forms.ModelChoiceField[Any] = forms.ModelChoiceField(
        label="Dermapen used",
        queryset=Device.objects.none(),
        required=False,
        error_messages={"invalid_choice": "Choose a Dermapen of this location."},
    )
    notes = forms.CharField(label="Notes", max_length=500, required=False)

    def __init__(self, *args: Any, chart: Chart, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chart = chart
        record = chart.record
        self.fields["area"].choices = chart.area_names  # type: ignore[attr-defined]
        self.fields["technique"].choices = [(t.key, t.name) for t in chart.techniques]  # type: ignore[attr-defined]
        self.fields["device"].queryset = chart.record.location.devices.filter(kind="dermapen")  # type: ignore[attr-defined]
        self.fields["device"].label_from_instance = lambda device: f"{device.model} #{device.serial_number}"  # type: ignore[attr-defined]
        if record.appointment.device_id:
            self.fields["device"].initial = record.appointment.device_id
        lots = Lot.objects.filter(location=record.location).select_related("product", "consumable")
        # One row per product of the protocol: its lot picker lists that product's lots only.
        self.product_choices = chart.product_lots
        products = {product.pk: product for product, _choices in chart.product_lots}
        self.product_rows = max(1, len(products))
        self.has_vials = any(product.unit != Product.Unit.ML for product in products.values())
        for n in range(1, self.product_rows + 1):
            own = chart.product_lots[n - 1] if n <= len(chart.product_lots) else None
            name = own[0].name if own else ""
            self.fields[f"product_{n}"] = forms.TypedChoiceField(
                label=f"Product {n}",
                required=False,
                coerce=lambda value: products[int(value)],
                choices=[("", "—")] + [(product.pk, product.name) for product in products.values()],
                error_messages={"invalid_choice": "Choose one of the protocol's products."},
                widget=forms.HiddenInput,
            )
            self.fields[f"lot_{n}"] = LotField(label=f"Lot of product {n} ({name})" if name else f"Lot of product {n}")
            self.fields[f"lot_{n}"].queryset = lots  # type: ignore[attr-defined]
            self.fields[f"volume_{n}"] = _decimal_field(
                f"Volume of product {n} (ml)", digits=5, places=2, help_text="Leave empty if this product was not used."
            )
            if self.has_vials:
                self.fields[f"vials_{n}"] = forms.IntegerField(label=f"Vials of product {n}", required=False, min_value=1, max_value=50)
            if own is not None:  # the soonest-expiring usable lot is offered first
                self.fields[f"product_{n}"].initial = own[0].pk
                self.fields[f"lot_{n}"].initial = own[1][0].lot.pk if own[1] else None
        if len(chart.course_techniques) >= 1:  # the course's technique (the first, when the doctor chose several)
            self.fields["technique"].initial = chart.course_techniques[0].key
        for n in range(1, CONSUMABLE_ROWS + 1):
            self.fields[f"consumable_lot_{n}"] = LotField(label=f"Needles or cartridges {n}")
            self.fields[f"consumable_lot_{n}"].queryset = lots  # type: ignore[attr-defined]
            self.fields[f"consumable_quantity_{n}"] = forms.IntegerField(
                label=f"How many ({n})", required=False, min_value=1, max_value=100, error_messages={"invalid": "Enter a whole number."}
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        for n in range(1, self.product_rows + 1):  # a row is used when its volume is given
            if data.get(f"volume_{n}") is not None and not (data.get(f"product_{n}") and data.get(f"lot_{n}")):
                self.add_error(f"lot_{n}", "Give the product, its lot and the volume.")
        for n in range(1, CONSUMABLE_ROWS + 1):
            lot, count = data.get(f"consumable_lot_{n}"), data.get(f"consumable_quantity_{n}")
            if (lot is None) != (count is None):
                self.add_error(f"consumable_quantity_{n}" if lot else f"consumable_lot_{n}", "Give the lot and how many were used.")
        return data

    def product_lines(self) -> list[ProductLine]:
        data = self.cleaned_data
        return [
            ProductLine(product=data[f"product_{n}"], lot=data[f"lot_{n}"], volume_ml=data[f"volume_{n}"], vials=data.get(f"vials_{n}"))
            for n in range(1, self.product_rows + 1)
            if data.get(f"product_{n}") and data.get(f"lot_{n}") and data.get(f"volume_{n}") is not None
        ]

    def consumable_lines(self) -> list[ConsumableLine]:
        data = self.cleaned_data
        return [
            ConsumableLine(lot=data[f"consumable_lot_{n}"], quantity=data[f"consumable_quantity_{n}"])
            for n in range(1, CONSUMABLE_ROWS + 1)
            if data.get(f"consumable_lot_{n}") and data.get(f"consumable_quantity_{n}")
        ]

    def rows(self) -> list[dict[str, Any]]:
        """The product rows for the template: bound fields, the row's product and its usable lots only."""
        return [
            {
                "n": n,
                "name": self.product_choices[n - 1][0].name if n <= len(self.product_choices) else "",
                "product": self[f"product_{n}"],
                "lot": self[f"lot_{n}"],
                "volume": self[f"volume_{n}"],
                "vials": self[f"vials_{n}"] if self.has_vials else None,
                "offered": self.product_choices[n - 1][1] if n <= len(self.product_choices) else [],
            }
            for n in range(1, self.product_rows + 1)
        ]

    def same_as(self, treatment: Any, *, device_id: int | None) -> None:
        """Pre-fill from a treated area of last time: area, technique, depth, passes, speed, each
        product's volume (today's soonest-expiring lot of the same product) and the consumables (today's
        soonest lot of the same kind). Nothing is saved until the practitioner saves the card."""
        initial = {
            "area": treatment.area.key,
            "technique": treatment.technique.key,
            "depth_mm": treatment.depth_mm,
            "passes": treatment.passes,
            "dermapen_speed": treatment.dermapen_speed,
            "notes": "",
        }
        if treatment.device_id:
            initial["device"] = device_id or treatment.device_id
        used = {usage.product_id: usage for usage in treatment.product_usages.all()}
        for n, (product, _choices) in enumerate(self.product_choices, start=1):
            usage = used.get(product.pk)
            initial[f"volume_{n}"] = usage.volume_ml if usage is not None else None
        consumables = {choice.lot.consumable_id: choice.lot for choice in reversed(self.chart.consumable_lots)}
        for n, item in enumerate(list(treatment.consumable_usages.all())[:CONSUMABLE_ROWS], start=1):
            lot = consumables.get(item.consumable_id)
            if lot is not None:
                initial[f"consumable_lot_{n}"], initial[f"consumable_quantity_{n}"] = lot.pk, item.quantity
        for name, value in initial.items():
            if name in self.fields:
                self.fields[name].initial = value

    def consumable_rows(self) -> list[dict[str, Any]]:
        return [
            {
                "n": n,
                "lot": self[f"consumable_lot_{n}"],
                "quantity": self[f"consumable_quantity_{n}"],
                "offered": self.chart.consumable_lots,
            }
            for n in range(1, CONSUMABLE_ROWS + 1)
        ]


class PrpForm(forms.Form):
    blood_drawn_ml = _decimal_field("Blood drawn (ml)", digits=4, places=1, required=True)
    drawn_at = forms.TimeField(
        label="Drawn at",
        widget=forms.TimeInput(attrs={"type": "time"}, format="%H:%M"),
        error_messages={"invalid": "Enter a time such as 10:05."},
    )
    kit_lot = LotField(label="Preparation kit lot")
    centrifuge_programme = forms.CharField(
        label="Centrifuge programme", max_length=120, help_text="As set on the centrifuge, e.g. 1500 g for 5 minutes."
    )
    prepared_ml = _decimal_field("Plasma prepared (ml)", digits=4, places=1, required=True)
    injected_ml = _decimal_field("Plasma injected (ml)", digits=4, places=1, required=True)

    def __init__(self, *args: Any, chart: Chart, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.chart = chart
        self.fields["kit_lot"].required = True
        self.fields["kit_lot"].queryset = Lot.objects.filter(location=chart.record.location).select_related("consumable")  # type: ignore[attr-defined]

    def drawn_moment(self) -> datetime:
        location = self.chart.record.location
        return datetime.combine(location.local(self.chart.now).date(), self.cleaned_data["drawn_at"], tzinfo=location.zone)


REACTION_KINDS = [(kind.value, kind.label) for kind in Reaction.Kind]
SEVERITIES = [("", "—")] + [(s.value, s.label) for s in Reaction.Severity]


class ReactionsForm(forms.Form):
    kinds = forms.MultipleChoiceField(
        label="Reactions seen",
        choices=REACTION_KINDS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "Choose “None” or the reactions seen.", "invalid_choice": "“%(value)s” is not a reaction."},
    )
    description = forms.CharField(label="Describe the other reaction", max_length=300, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind, label in REACTION_KINDS[1:]:
            self.fields[f"severity_{kind}"] = forms.ChoiceField(
                label=f"{label}: severity",
                choices=SEVERITIES,
                required=False,
                error_messages={"invalid_choice": "Choose mild, moderate or severe."},
            )

    def lines(self) -> list[ReactionLine]:
        data = self.cleaned_data
        return [
            ReactionLine(
                kind=kind,
                severity=data.get(f"severity_{kind}", "") or "",
                description=data.get("description", "") if kind == "other" else "",
            )
            for kind in data["kinds"]
        ]

    def severity_fields(self) -> list[forms.BoundField]:
        return [self[f"severity_{kind}"] for kind, _label in REACTION_KINDS[1:]]


class AmendForm(forms.Form):
    target = forms.ChoiceField(
        label="What to amend", error_messages={"required": "Choose what to amend.", "invalid_choice": "Choose what to amend from the list."}
    )
    new_value = forms.CharField(
        label="Corrected value",
        max_length=2000,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="For a lot type its lot number (the product follows the lot); for a technique its name; for a device its serial number. "
        "A lot, volume or count amendment also corrects the stock.",
    )
    reason = _reason_field("Why", "Who, when and why are kept with the amendment; the signed value stays visible beside it.")

    def __init__(self, *args: Any, fields: list[AmendableField], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["target"].choices = [("", "—")] + [(f.key, f"{f.label} (now: {f.current or '—'})") for f in fields]  # type: ignore[attr-defined]
