from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.validators import MaxValueValidator, MinValueValidator

from mesoclinic.catalog.models import Product
from mesoclinic.core.concurrency import VersionedForm
from mesoclinic.core.models import Location

from .models import MAX_QUANTITY, Consumable, StockMovement
from .selectors import MAX_ID

Item = Product | Consumable


def _items_choices() -> list[tuple[str, Any]]:
    products = [(f"product:{p.pk}", f"{p.name} ({p.get_unit_display()})") for p in Product.objects.filter(is_active=True).order_by("name")]
    consumables = [(f"consumable:{c.pk}", c.name) for c in Consumable.objects.filter(is_active=True).order_by("kind", "name")]
    return [("", "Choose a product, needle or cartridge"), ("Products", products), ("Needles, cartridges and kits", consumables)]


class ItemField(forms.Field):
    """A product or a consumable, posted as "product:<id>" or "consumable:<id>"; only active items are accepted."""

    widget = forms.Select
    default_error_messages = {
        "invalid": "Choose a product or consumable from the list.",
        "inactive": "%(name)s is no longer active: it cannot be stocked.",
    }

    def load_choices(self) -> None:
        """Fill the list from the database (per form instance, so new products show at once)."""
        self.widget.choices = _items_choices()

    def to_python(self, value: Any) -> Item | None:
        if value in self.empty_values:
            return None
        kind, _, raw = str(value).partition(":")
        if kind not in ("product", "consumable") or not (raw.isascii() and raw.isdigit() and 0 < int(raw) <= MAX_ID):
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        model = Product if kind == "product" else Consumable
        item = model.objects.filter(pk=int(raw)).first()
        if item is None:
            raise forms.ValidationError(self.error_messages["invalid"], code="invalid")
        if not item.is_active:
            raise forms.ValidationError(self.error_messages["inactive"], code="inactive", params={"name": item.name})
        return item

    def prepare_value(self, value: Any) -> Any:
        if isinstance(value, Product):
            return f"product:{value.pk}"
        if isinstance(value, Consumable):
            return f"consumable:{value.pk}"
        return value


def _quantity_field(label: str, help_text: str = "") -> forms.DecimalField:
    return forms.DecimalField(
        label=label,
        max_digits=10,
        decimal_places=2,
        help_text=help_text,
        validators=[MinValueValidator(Decimal("0.01"), message="The quantity must be more than 0."), MaxValueValidator(MAX_QUANTITY)],
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0.01", "inputmode": "decimal"}),
    )


class ReceiveLotForm(forms.Form):
    location = forms.TypedChoiceField(label="Clinic", coerce=int, empty_value=None)
    item = ItemField(label="Product or consumable")
    lot_number = forms.CharField(max_length=60, label="Lot number", help_text="As printed on the box or vial.")
    expires_on = forms.DateField(label="Expires on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))
    quantity = _quantity_field("Quantity received", "Millilitres for solutions (two decimals); whole vials or pieces otherwise.")
    supplier = forms.CharField(max_length=160)
    received_on = forms.DateField(label="Received on", widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"))

    def __init__(self, *args: Any, locations: list[Location], today: date, **kwargs: Any) -> None:
        """`locations`: the caller's own (already scoped) locations; no other id is accepted."""
        super().__init__(*args, **kwargs)
        self.today = today
        self.locations = {location.pk: location for location in locations}
        self.fields["location"].choices = [(location.pk, location.name) for location in locations]  # type: ignore[attr-defined]
        self.fields["received_on"].initial = today
        self.fields["item"].load_choices()  # type: ignore[attr-defined]

    def clean_location(self) -> Location:
        return self.locations[self.cleaned_data["location"]]

    def clean_lot_number(self) -> str:
        number: str = self.cleaned_data["lot_number"].strip()
        if not number:
            raise forms.ValidationError("Enter the lot number.")
        return number

    def clean_received_on(self) -> date:
        received: date = self.cleaned_data["received_on"]
        if received > self.today:
            raise forms.ValidationError("A delivery cannot be received in the future.")
        if received.year < 2000:
            raise forms.ValidationError("Enter the day the delivery arrived.")
        return received

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        expires, received = data.get("expires_on"), data.get("received_on")
        if expires is not None and expires < (received or self.today):
            self.add_error("expires_on", f"This lot expired on {expires:%d %b %Y}: an expired lot cannot be received.")
        item, quantity = data.get("item"), data.get("quantity")
        whole = isinstance(item, Consumable) or (isinstance(item, Product) and item.unit != Product.Unit.ML)
        if whole and quantity is not None and quantity != quantity.to_integral_value():
            self.add_error("quantity", "Vials and pieces are counted in whole numbers.")
        return data


class AdjustForm(VersionedForm, forms.Form):
    """Given `record=` the lot: a change decided on a count that moved meanwhile is refused (StaleEdit)."""

    shown_fields = ("on_hand",)
    CHOICES = [
        ("add", "Count correction: add to the count"),
        ("remove", "Count correction: take off the count"),
        (StockMovement.Kind.WASTED.value, "Wasted (broken, contaminated, opened and discarded, expired)"),
        (StockMovement.Kind.RETURNED.value, "Returned to the supplier"),
    ]
    change = forms.ChoiceField(choices=CHOICES, label="What happened", widget=forms.RadioSelect)
    quantity = _quantity_field("Quantity")
    reason = forms.CharField(
        max_length=300, widget=forms.Textarea(attrs={"rows": 2}), help_text="Required: what was counted, broken or sent back."
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give the reason for the change.")
        return reason

    def kind_and_signed_quantity(self) -> tuple[str, Decimal]:
        change, quantity = self.cleaned_data["change"], self.cleaned_data["quantity"]
        if change == "add":
            return StockMovement.Kind.ADJUSTED, quantity
        if change == "remove":
            return StockMovement.Kind.ADJUSTED, -quantity
        return change, -quantity


class RecallForm(forms.Form):
    reason = forms.CharField(
        max_length=500,
        label="Reason for the recall",
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="Required: the supplier's or regulator's notice, with its reference.",
    )

    def clean_reason(self) -> str:
        reason: str = self.cleaned_data["reason"].strip()
        if not reason:
            raise forms.ValidationError("Give the reason for the recall.")
        return reason


class ReorderLevelForm(forms.Form):
    item = ItemField(label="Product or consumable")
    level = forms.DecimalField(
        label="Reorder at or below",
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"), message="The level cannot be negative."), MaxValueValidator(MAX_QUANTITY)],
        help_text="Usable quantity (not expired, not recalled) at which the item is listed as low. 0 turns the warning off.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "inputmode": "decimal"}),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["item"].load_choices()  # type: ignore[attr-defined]


class ConsumableForm(forms.ModelForm):
    class Meta:
        model = Consumable
        fields = ("name", "kind", "manufacturer", "key")
        help_texts = {"key": "A short, permanent identifier, e.g. needle-30g-4mm."}
