"""Demo stock: needles, cartridges and kits, and lots of every product and consumable at every location.

Each product has, at each location, a lot that expires soon, one already expired (still on the
shelf, to be wasted) and one or two good lots; consumables have two lots. Each lot has its
"received" ledger line. One lot at the first location is recalled. Reorder levels are set so the
low-stock list has something in it. Bulk inserts, so the chain scale (50 locations) stays quick.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from mesoclinic.catalog.models import Product
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.seeding import SeedRun

from .models import Consumable, Lot, ReorderLevel, StockMovement, Unit, unit_for_product

CONSUMABLES = [
    ("needle-30g-4mm", "Needle 30G × 4 mm", Consumable.Kind.NEEDLE, "Meso-relle"),
    ("needle-32g-4mm", "Needle 32G × 4 mm", Consumable.Kind.NEEDLE, "Meso-relle"),
    ("needle-27g-13mm", "Needle 27G × 13 mm (lipolysis)", Consumable.Kind.NEEDLE, "Meso-relle"),
    ("dermapen-cartridge-16", "Dermapen 4 cartridge, 16 needles", Consumable.Kind.CARTRIDGE, "Dermapen"),
    ("dermapen-cartridge-36", "Dermapen 4 cartridge, 36 needles (nano)", Consumable.Kind.CARTRIDGE, "Dermapen"),
    ("syringe-5ml", "Luer-lock syringe 5 ml", Consumable.Kind.SYRINGE, "Clinic Consumables Co."),
    ("prp-kit", "PRP preparation kit (tube, separator gel)", Consumable.Kind.PRP_KIT, "Regen Lab"),
    ("numbing-lidocaine-prilocaine-5", "Lidocaine/prilocaine 5% cream, 30 g tube", Consumable.Kind.NUMBING, "Aspen"),
]
SUPPLIERS = ["Meso Supplies Ltd", "DermaTrade Europe", "Clinic Consumables Co."]
BATCH = 5_000


def seed(run: SeedRun) -> None:
    locations = run.shared["locations"]
    consumables = []
    for key, name, kind, manufacturer in CONSUMABLES:
        consumable, _ = Consumable.objects.get_or_create(key=key, defaults={"name": name, "kind": kind, "manufacturer": manufacturer})
        consumables.append(consumable)
    run.shared["consumables"] = {consumable.key: consumable for consumable in consumables}
    products = list(Product.objects.filter(is_active=True).order_by("key"))
    today = timezone.localdate()
    rng = run.rng
    lots: list[Lot] = []
    levels: list[ReorderLevel] = []

    def lot(location, *, product=None, consumable=None, number: str, expires_in: int, quantity: int, received_ago: int) -> Lot:
        unit = unit_for_product(product) if product is not None else Unit.PIECE
        amount = Decimal(quantity).quantize(Decimal("0.01"))
        return Lot(
            product=product,
            consumable=consumable,
            location=location,
            lot_number=number,
            expires_on=today + timedelta(days=expires_in),
            supplier=rng.choice(SUPPLIERS),
            received_on=today - timedelta(days=received_ago),
            quantity_received=amount,
            unit=unit,
            on_hand=amount,
        )

    for place, location in enumerate(locations):
        for index, product in enumerate(products):
            prefix = product.key.replace("_", "")[:4].upper()
            whole = unit_for_product(product) != Unit.ML
            size = (lambda: rng.choice([5, 10, 20])) if whole else (lambda: rng.choice([10, 20, 50]))
            lots += [
                lot(
                    location,
                    product=product,
                    number=f"{prefix}-24{place:02d}{index}1",
                    expires_in=-rng.randint(3, 40),
                    quantity=size(),
                    received_ago=400,
                ),
                lot(
                    location,
                    product=product,
                    number=f"{prefix}-25{place:02d}{index}2",
                    expires_in=rng.randint(7, 45),
                    quantity=size(),
                    received_ago=200,
                ),
                lot(
                    location,
                    product=product,
                    number=f"{prefix}-26{place:02d}{index}3",
                    expires_in=rng.randint(200, 500),
                    quantity=size(),
                    received_ago=20,
                ),
            ]
            if index % 3 == 0:  # some products have a second good lot (FEFO then has a choice)
                lots.append(
                    lot(
                        location,
                        product=product,
                        number=f"{prefix}-26{place:02d}{index}4",
                        expires_in=rng.randint(501, 700),
                        quantity=size(),
                        received_ago=5,
                    )
                )
            levels.append(ReorderLevel(location=location, product=product, level=Decimal(rng.choice([10, 30, 80]))))
        for index, consumable in enumerate(consumables):
            prefix = consumable.key.replace("-", "")[:4].upper()
            lots += [
                lot(
                    location,
                    consumable=consumable,
                    number=f"{prefix}-25{place:02d}{index}1",
                    expires_in=rng.randint(20, 300),
                    quantity=100,
                    received_ago=120,
                ),
                lot(
                    location,
                    consumable=consumable,
                    number=f"{prefix}-26{place:02d}{index}2",
                    expires_in=rng.randint(400, 900),
                    quantity=200,
                    received_ago=10,
                ),
            ]
            levels.append(ReorderLevel(location=location, consumable=consumable, level=Decimal(rng.choice([50, 150, 400]))))
    if lots and products:  # one recalled lot at the first location, to show the recall on the lot page
        recalled = next(item for item in lots if item.location == locations[0] and item.product_id and item.expires_on > today)
        recalled.recalled = True
        recalled.recalled_at = timezone.now()
        recalled.recall_reason = "Supplier notice SN-2026-014: particles seen in vials of this lot"
    bar = run.progress("stock lots", len(lots))
    for start in range(0, len(lots), BATCH):
        batch = Lot.objects.bulk_create(lots[start : start + BATCH])
        StockMovement.objects.bulk_create(
            StockMovement(lot=item, kind=StockMovement.Kind.RECEIVED, quantity=item.quantity_received, on_hand_after=item.quantity_received)
            for item in batch
        )
        bar.advance(len(batch))
    bar.finish()
    ReorderLevel.objects.bulk_create(levels, batch_size=BATCH)
    audit.record(
        audit.SYSTEM, action=AuditEvent.Action.CREATE, object_type="lot-batch", detail={"seed": run.scale.name, "count": len(lots)}
    )
    run.say(f"{len(consumables)} kinds of needles, cartridges and kits; {len(lots):,} stock lots at {len(locations)} locations.")
