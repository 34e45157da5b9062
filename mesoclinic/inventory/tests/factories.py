"""Stock test helpers: products, consumables and lots with a consistent ledger."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import factory
from django.utils import timezone

from mesoclinic.catalog.models import Product
from mesoclinic.core import audit
from mesoclinic.inventory.models import Consumable, Lot, StockMovement, Unit, unit_for_product


class ProductFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Product

    key = factory.Sequence(lambda n: f"product-{n}")
    name = factory.Sequence(lambda n: f"Meso solution {n}")
    manufacturer = "Test Pharma"
    description = "A water-soluble test solution."
    unit = Product.Unit.ML


class ConsumableFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Consumable

    key = factory.Sequence(lambda n: f"needle-{n}")
    name = factory.Sequence(lambda n: f"Needle 30G × 4 mm ({n})")
    kind = Consumable.Kind.NEEDLE


_numbers = iter(range(1, 10**9))


def make_lot(
    location,
    *,
    product: Product | None = None,
    consumable: Consumable | None = None,
    quantity: str | Decimal = "10",
    expires_on: date | None = None,
    received_on: date | None = None,
    lot_number: str | None = None,
    recalled: bool = False,
) -> Lot:
    """A lot on the shelf with its "received" ledger line (written directly, so expired lots can be made too)."""
    if product is None and consumable is None:
        product = ProductFactory()
    today = timezone.localdate()
    amount = Decimal(str(quantity))
    lot = Lot.objects.create(
        product=product,
        consumable=consumable,
        location=location,
        lot_number=lot_number or f"L{next(_numbers):06d}",
        expires_on=expires_on or today + timedelta(days=365),
        supplier="Test Supplies Ltd",
        received_on=received_on or today - timedelta(days=30),
        quantity_received=amount,
        unit=unit_for_product(product) if product is not None else Unit.PIECE,
        on_hand=amount,
        recalled=recalled,
        recalled_at=timezone.now() if recalled else None,
        recall_reason="Supplier notice 42" if recalled else "",
    )
    StockMovement.objects.create(lot=lot, kind=StockMovement.Kind.RECEIVED, quantity=amount, on_hand_after=amount)
    return lot


def ctx_for(user) -> audit.AuditContext:
    return audit.AuditContext(actor=user, path="/test")
