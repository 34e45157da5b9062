"""What the chart records besides the solution: needles, cartridges and syringes at an area, and the
numbing cream (a topical anaesthetic kept in stock as a consumable with lots).

Whether a treated area must name its needle or cartridge lot is the clinic's setting
`MESOCLINIC_REQUIRE_CONSUMABLE_LOTS` (default: required; docs/configuration.md, decision 0021).
"""

from __future__ import annotations

from datetime import date

from django.conf import settings

from mesoclinic.core.models import Location
from mesoclinic.inventory.models import Consumable, Lot

AREA_KINDS = (Consumable.Kind.NEEDLE, Consumable.Kind.CARTRIDGE, Consumable.Kind.SYRINGE, Consumable.Kind.OTHER)
NUMBING_KIND = Consumable.Kind.NUMBING


def consumable_lots_required() -> bool:
    """A treated area must record at least one needle or cartridge lot (the clinic's setting)."""
    return bool(getattr(settings, "MESOCLINIC_REQUIRE_CONSUMABLE_LOTS", True))


def numbing_lots(*, location: Location, on: date) -> list[Lot]:
    """Usable numbing-cream lots of the location, soonest expiry first (one query)."""
    return list(
        Lot.objects.filter(location=location, consumable__kind=NUMBING_KIND, recalled=False, expires_on__gte=on, on_hand__gt=0)
        .select_related("consumable")
        .order_by("expires_on", "id")
    )
