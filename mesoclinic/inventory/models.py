"""Stock on hand: lots of catalog products and of consumables (needles, cartridges, kits) per location,
and the append-only ledger of every movement in or out of a lot.

A lot's `on_hand` always equals the sum of its movements (the "received" movement included). It is
moved only by `inventory.services`, with `F()` under a row lock, and the database refuses a negative
value (`inventory_lot_on_hand_not_negative`). The ledger (`StockMovement`) cannot be changed or
deleted: migration 0002 installs triggers that refuse UPDATE and DELETE (docs/decisions/0011).
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Cast

from mesoclinic.catalog.models import Product
from mesoclinic.core.concurrency import version_at_least_one, version_field
from mesoclinic.core.models import Location

QUANTITY_DIGITS = 10
QUANTITY_PLACES = 2
MAX_QUANTITY = Decimal("99999999.99")
KEY_HELP = "A short, permanent identifier (lower case, digits, dashes or underscores)."


class Unit(models.TextChoices):
    """What a lot is counted in. Millilitres take two decimals; vials and pieces are whole numbers."""

    ML = "ml", "ml"
    VIAL = "vial", "vials"
    PIECE = "piece", "pieces"


WHOLE_UNITS = (Unit.VIAL, Unit.PIECE)


def unit_for_product(product: Product) -> Unit:
    return Unit(product.unit) if product.unit in Unit.values else Unit.PIECE


class Consumable(models.Model):
    """Something used in a session that is not a meso solution: a needle, a Dermapen cartridge, a PRP kit.

    The clinic's manager keeps this list (it is not clinical catalog data). Lots of consumables are
    traced to the session exactly like product lots.
    """

    class Kind(models.TextChoices):
        NEEDLE = "needle", "Needle"
        CARTRIDGE = "cartridge", "Dermapen cartridge"
        SYRINGE = "syringe", "Syringe"
        PRP_KIT = "prp_kit", "PRP preparation kit"
        NUMBING = "numbing", "Topical anaesthetic (numbing cream)"
        OTHER = "other", "Other"

    key = models.SlugField(max_length=60, help_text=KEY_HELP)
    name = models.CharField(max_length=160, help_text="As on the box, e.g. “Needle 30G × 4 mm”.")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    manufacturer = models.CharField(max_length=160, blank=True)
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["kind", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["key"], name="inventory_consumable_key_unique", violation_error_message="That key is already used."
            ),
            models.CheckConstraint(condition=~Q(name=""), name="inventory_consumable_name_present"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def unit(self) -> str:
        return Unit.PIECE


def _one_item(model: str) -> models.CheckConstraint:
    return models.CheckConstraint(
        condition=Q(product__isnull=False, consumable__isnull=True) | Q(product__isnull=True, consumable__isnull=False),
        name=f"inventory_{model}_one_item",
        violation_error_message="Choose either a product or a consumable.",
    )


class Lot(models.Model):
    """One delivery of one product (or consumable) with one lot number, at one location."""

    product = models.ForeignKey(Product, on_delete=models.PROTECT, null=True, blank=True, related_name="lots")
    consumable = models.ForeignKey(Consumable, on_delete=models.PROTECT, null=True, blank=True, related_name="lots")
    location = models.ForeignKey(Location, on_delete=models.PROTECT, related_name="lots")
    lot_number = models.CharField(max_length=60, help_text="As printed on the box or vial.")
    expires_on = models.DateField(help_text="Usable up to and including this day.")
    supplier = models.CharField(max_length=160)
    received_on = models.DateField()
    quantity_received = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    unit = models.CharField(max_length=10, choices=Unit.choices)
    on_hand = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    recalled = models.BooleanField(default=False)
    recalled_at = models.DateTimeField(null=True, blank=True)
    recall_reason = models.CharField(max_length=500, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    version = version_field()

    class Meta:
        ordering = ["expires_on", "id"]
        constraints = [
            models.UniqueConstraint(
                fields=["product", "location", "lot_number"],
                name="inventory_lot_number_unique",
                violation_error_message="This lot number is already in stock here for that product.",
            ),
            models.UniqueConstraint(
                fields=["consumable", "location", "lot_number"],
                name="inventory_lot_consumable_number_unique",
                violation_error_message="This lot number is already in stock here for that consumable.",
            ),
            _one_item("lot"),
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="inventory_lot_on_hand_not_negative"),
            models.CheckConstraint(condition=Q(quantity_received__gt=0), name="inventory_lot_quantity_received_positive"),
            models.CheckConstraint(
                # Whole vials and pieces: x = CAST(x AS INTEGER) holds only for whole numbers on both engines.
                condition=Q(unit=Unit.ML)
                | Q(
                    on_hand=Cast(F("on_hand"), models.IntegerField()), quantity_received=Cast(F("quantity_received"), models.IntegerField())
                ),
                name="inventory_lot_whole_units",
            ),
            models.CheckConstraint(condition=~Q(lot_number=""), name="inventory_lot_number_present"),
            models.CheckConstraint(
                condition=Q(recalled=False, recalled_at__isnull=True, recall_reason="")
                | Q(recalled=True, recalled_at__isnull=False) & ~Q(recall_reason=""),
                name="inventory_lot_recall_complete",
            ),
            version_at_least_one("inventory_lot"),
        ]
        indexes = [
            models.Index(fields=["location", "product", "expires_on", "id"], name="inventory_lot_product_fefo"),
            models.Index(fields=["location", "consumable", "expires_on", "id"], name="inventory_lot_consumable_fefo"),
            models.Index(fields=["location", "expires_on"], name="inventory_lot_location_expiry"),
        ]

    def __str__(self) -> str:
        return f"{self.item_name} lot {self.lot_number}"

    @property
    def item(self) -> Product | Consumable:
        item = self.product if self.product_id else self.consumable
        assert item is not None
        return item

    @property
    def item_name(self) -> str:
        return self.item.name

    @property
    def is_whole_units(self) -> bool:
        return self.unit in WHOLE_UNITS

    def is_expired_on(self, day: date) -> bool:
        """A lot is usable up to and including its expiry day."""
        return self.expires_on < day

    def expires_within(self, day: date, days: int) -> bool:
        return not self.is_expired_on(day) and (self.expires_on - day).days <= days

    def is_usable_on(self, day: date) -> bool:
        return not self.recalled and not self.is_expired_on(day) and self.on_hand > 0

    def badges_on(self, day: date, warning_days: int) -> list[tuple[str, str]]:
        """(label, tone) pairs describing the lot on `day`: recalled, expired, expires soon, empty."""
        badges = []
        if self.recalled:
            badges.append(("Recalled", "bad"))
        if self.is_expired_on(day):
            badges.append(("Expired", "bad"))
        elif self.expires_within(day, warning_days):
            badges.append(("Expires soon", "warn"))
        if self.on_hand <= 0:
            badges.append(("Empty", "plain"))
        return badges


class StockMovement(models.Model):
    """One line of a lot's ledger. Append-only: the database refuses UPDATE and DELETE (migration 0002).

    `quantity` is signed (+ in, − out); `on_hand_after` is the lot's on hand once it was applied. A
    use points at the session that used it by (reference_type, reference_id) and the patient id —
    plain values, not foreign keys, so the ledger outlives and does not depend on the chart's tables.
    """

    class Kind(models.TextChoices):
        RECEIVED = "received", "Received"
        USED = "used", "Used in a session"
        ADJUSTED = "adjusted", "Count correction"
        WASTED = "wasted", "Wasted"
        RETURNED = "returned", "Returned to the supplier"

    lot = models.ForeignKey(Lot, on_delete=models.PROTECT, related_name="movements")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    quantity = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    on_hand_after = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)
    reason = models.CharField(max_length=300, blank=True)
    reference_type = models.CharField(max_length=60, blank=True, help_text="What used the stock, e.g. “procedure”.")
    reference_id = models.CharField(max_length=64, blank=True)
    patient_id = models.BigIntegerField(null=True, blank=True)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="received", quantity__gt=0)
                | Q(kind__in=["used", "wasted", "returned"], quantity__lt=0)
                | Q(kind="adjusted") & ~Q(quantity=0),
                name="inventory_stockmovement_sign_fits_kind",
            ),
            models.CheckConstraint(condition=Q(on_hand_after__gte=0), name="inventory_stockmovement_on_hand_after_not_negative"),
            models.CheckConstraint(
                condition=~Q(kind="used") | ~Q(reference_type="") & ~Q(reference_id="") & Q(patient_id__isnull=False),
                name="inventory_stockmovement_use_traceable",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["received", "used"]) | ~Q(reason=""),
                name="inventory_stockmovement_reason_present",
            ),
        ]
        indexes = [
            models.Index(fields=["lot", "at", "id"], name="inventory_movement_lot_at"),
            models.Index(fields=["reference_type", "reference_id"], name="inventory_movement_reference"),
            models.Index(fields=["patient_id"], name="inventory_movement_patient"),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.quantity} of lot {self.lot_id}"


class ReorderLevel(models.Model):
    """The manager's threshold: at or below this usable quantity an item is listed as low on stock."""

    location = models.ForeignKey(Location, on_delete=models.CASCADE, related_name="reorder_levels")
    product = models.ForeignKey(Product, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    consumable = models.ForeignKey(Consumable, on_delete=models.CASCADE, null=True, blank=True, related_name="+")
    level = models.DecimalField(max_digits=QUANTITY_DIGITS, decimal_places=QUANTITY_PLACES)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["location", "product"], name="inventory_reorderlevel_product_unique"),
            models.UniqueConstraint(fields=["location", "consumable"], name="inventory_reorderlevel_consumable_unique"),
            _one_item("reorderlevel"),
            models.CheckConstraint(condition=Q(level__gte=0), name="inventory_reorderlevel_not_negative"),
        ]

    def __str__(self) -> str:
        return f"{self.product or self.consumable} at {self.location}: {self.level}"
