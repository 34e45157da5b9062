"""What a session's protocol allowed, read from the catalog version the record is pinned to.

A procedure record keeps the catalog version it was opened under; its depth bounds, numbing wait,
techniques, products and areas are read from that version's snapshot, so a later catalog edit
never changes what an open or signed record was checked against. Pure: no database, no clock.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

# The hard limit of any needle depth the chart accepts, whatever the protocol says (mm).
DEPTH_LIMIT_MM = Decimal("3.00")
DEFAULT_NUMBING_MINUTES = 30


def _decimal(value: Any) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        return Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None


@dataclass(frozen=True)
class AreaTerms:
    key: str
    name: str
    kind: str
    depth_min_mm: Decimal | None
    depth_max_mm: Decimal | None

    @property
    def has_depth_guidance(self) -> bool:
        return self.depth_min_mm is not None and self.depth_max_mm is not None

    @property
    def depth_label(self) -> str:
        if self.depth_min_mm is None or self.depth_max_mm is None:
            return f"no depth guidance (at most {DEPTH_LIMIT_MM.normalize():f} mm)"
        return f"{self.depth_min_mm.normalize():f}–{self.depth_max_mm.normalize():f} mm"

    def depth_problem(self, depth: Decimal | None) -> str | None:
        """Why `depth` is refused at this area, or None when it is acceptable."""
        if depth is None:
            return None
        if not (Decimal(0) < depth <= DEPTH_LIMIT_MM):
            return f"A needle depth must be more than 0 and at most {DEPTH_LIMIT_MM.normalize():f} mm."
        if self.depth_min_mm is not None and self.depth_max_mm is not None and not (self.depth_min_mm <= depth <= self.depth_max_mm):
            return f"{depth.normalize():f} mm is outside the protocol's depth for {self.name} ({self.depth_label})."
        return None


@dataclass(frozen=True)
class ProtocolTerms:
    key: str
    name: str
    numbing_minutes: int
    uses_prp: bool
    areas: dict[str, AreaTerms]
    technique_keys: tuple[str, ...]
    product_keys: tuple[str, ...]
    # Who may start before the numbing wait is over (catalog setting; a snapshot without it: a doctor).
    early_start_role: str = "doctor"

    def area(self, key: str) -> AreaTerms | None:
        return self.areas.get(key)


class ProtocolMissing(Exception):
    """The pinned catalog version does not contain the protocol."""


def protocol_terms(snapshot: Mapping[str, Any], protocol_key: str) -> ProtocolTerms:
    """The protocol `protocol_key` as the snapshot describes it. Raises ProtocolMissing."""
    protocol = next((item for item in snapshot.get("protocols", []) if item.get("key") == protocol_key), None)
    if protocol is None:
        raise ProtocolMissing(f"The catalog version has no protocol {protocol_key!r}.")
    areas_by_key = {item["key"]: item for item in snapshot.get("areas", [])}
    areas: dict[str, AreaTerms] = {}
    for row in protocol.get("areas", []):
        area = areas_by_key.get(row.get("area"), {})
        key = str(row.get("area"))
        areas[key] = AreaTerms(
            key=key,
            name=str(area.get("name", key)),
            kind=str(area.get("kind", "")),
            depth_min_mm=_decimal(row.get("depth_min_mm")),
            depth_max_mm=_decimal(row.get("depth_max_mm")),
        )
    numbing = protocol.get("numbing_minutes")
    return ProtocolTerms(
        key=protocol_key,
        name=str(protocol.get("name", protocol_key)),
        numbing_minutes=int(numbing) if isinstance(numbing, int) and numbing >= 0 else DEFAULT_NUMBING_MINUTES,
        uses_prp=bool(protocol.get("uses_prp", False)),
        areas=areas,
        technique_keys=tuple(protocol.get("techniques", [])),
        product_keys=tuple(protocol.get("products", [])),
        early_start_role=str(protocol.get("early_start_role") or "doctor"),
    )
