"""Which catalog changes weaken a safety rule (decision 0022). Pure: two snapshots in, sentences out.

A change that weakens a safety rule needs a second person's approval before it takes effect
(`catalog.approvals`). Compared item by item (by key) between the current version's snapshot and
the catalog as it would be; a field an older snapshot lacks is not compared (it cannot have been
loosened from a value that did not exist). Adding items, or tightening rules, never needs approval.
"""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from .models import EARLY_START_STRICTNESS

Snapshot = Mapping[str, Any]


def _items(snapshot: Snapshot, section: str) -> dict[str, dict[str, Any]]:
    return {item["key"]: item for item in snapshot.get(section, []) if isinstance(item, dict) and "key" in item}


def _active(item: Mapping[str, Any] | None) -> bool:
    return item is not None and bool(item.get("is_active", True))


def _number(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _both(old: Mapping[str, Any], new: Mapping[str, Any], field: str) -> bool:
    return field in old and field in new


def weakenings(old: Snapshot | None, new: Snapshot) -> list[str]:
    """Every way `new` weakens a safety rule of `old`, one plain sentence each (empty: nothing weakened)."""
    if old is None:
        return []
    found: list[str] = []
    found += _protocols(old, new)
    found += _contraindications(old, new)
    found += _questions(old, new)
    found += _aftercare(old, new)
    found += _steps(old, new)
    return found


def _protocols(old: Snapshot, new: Snapshot) -> list[str]:
    found = []
    after = _items(new, "protocols")
    for key, before in _items(old, "protocols").items():
        now = after.get(key)
        if not _active(before) or not _active(now):
            continue  # a protocol taken out of use weakens nothing
        assert now is not None
        name = now.get("name", key)
        if _both(before, now, "numbing_minutes") and now["numbing_minutes"] < before["numbing_minutes"]:
            found.append(
                f"Protocol “{name}”: the numbing wait is shortened from {before['numbing_minutes']} to {now['numbing_minutes']} minutes."
            )
        if _both(before, now, "uses_topical_anaesthetic") and before["uses_topical_anaesthetic"] and not now["uses_topical_anaesthetic"]:
            found.append(f"Protocol “{name}”: it no longer numbs the skin with a cream, so no minimum numbing wait applies.")
        if _both(before, now, "early_start_role"):
            was = EARLY_START_STRICTNESS.get(before["early_start_role"], 0)
            if EARLY_START_STRICTNESS.get(now["early_start_role"], 0) < was:
                found.append(
                    f"Protocol “{name}”: more people may start injecting before the numbing wait is over "
                    f"({before['early_start_role']} → {now['early_start_role']})."
                )
        depths = {row["area"]: row for row in now.get("areas", []) if isinstance(row, dict)}
        for row in before.get("areas", []):
            if not isinstance(row, dict) or row.get("area") not in depths:
                continue
            low, high = _number(row.get("depth_min_mm")), _number(row.get("depth_max_mm"))
            new_low, new_high = _number(depths[row["area"]].get("depth_min_mm")), _number(depths[row["area"]].get("depth_max_mm"))
            if low is None or high is None:
                continue
            if new_low is None or new_high is None or new_low < low or new_high > high:
                shown = "none" if new_low is None or new_high is None else f"{new_low.normalize():f}–{new_high.normalize():f} mm"
                found.append(
                    f"Protocol “{name}” at {row['area']}: the depth range is widened from "
                    f"{low.normalize():f}–{high.normalize():f} mm to {shown}."
                )
    return found


def _scope_narrowed(before: Mapping[str, Any], now: Mapping[str, Any]) -> bool:
    """A rule applies at fewer protocols or areas than before (an empty list means everywhere)."""
    old_protocols, new_protocols = set(before.get("protocols", [])), set(now.get("protocols", []))
    if new_protocols and (not old_protocols or not new_protocols >= old_protocols):
        return True
    old_areas, new_areas = set(before.get("areas", [])), set(now.get("areas", []))
    old_kinds, new_kinds = set(before.get("area_kinds", [])), set(now.get("area_kinds", []))
    everywhere_before, everywhere_now = not (old_areas or old_kinds), not (new_areas or new_kinds)
    if everywhere_now:
        return False
    return everywhere_before or not (new_areas >= old_areas and new_kinds >= old_kinds)


def _contraindications(old: Snapshot, new: Snapshot) -> list[str]:
    found = []
    after = _items(new, "contraindication_rules")
    for key, before in _items(old, "contraindication_rules").items():
        if not _active(before):
            continue
        now = after.get(key)
        condition = before.get("condition", key)
        if not _active(now):
            found.append(f"Contraindication “{condition}” is switched off.")
            continue
        assert now is not None
        if before.get("severity") == "absolute" and now.get("severity") != "absolute":
            found.append(f"Contraindication “{condition}” is made relative (it no longer rules the treatment out).")
        if now.get("question") != before.get("question"):
            found.append(
                f"Contraindication “{condition}” now reads a different question ({before.get('question')} → {now.get('question')})."
            )
        if _scope_narrowed(before, now):
            found.append(f"Contraindication “{condition}” now applies to fewer protocols or areas.")
    return found


def _questions(old: Snapshot, new: Snapshot) -> list[str]:
    found = []
    after = _items(new, "questions")
    for key, before in _items(old, "questions").items():
        if not _active(before):
            continue
        now = after.get(key)
        text = before.get("text", key)
        if before.get("rescreen") and (not _active(now) or not (now or {}).get("rescreen")):
            found.append(f"The question “{text}” is no longer asked at every session.")
        elif not _active(now):
            found.append(f"The question “{text}” is no longer asked.")
        elif now is not None and _both(before, now, "session_only") and not before["session_only"] and now["session_only"]:
            found.append(f"The question “{text}” is no longer asked in the full screening.")
    return found


def _aftercare(old: Snapshot, new: Snapshot) -> list[str]:
    found = []
    after = _items(new, "aftercare_rules")
    for key, before in _items(old, "aftercare_rules").items():
        if not _active(before):
            continue
        now = after.get(key)
        name = before.get("name", key)
        if not _active(now):
            found.append(f"Aftercare rule “{name}” is switched off.")
        elif now is not None and now.get("duration_hours", 0) < before.get("duration_hours", 0):
            found.append(f"Aftercare rule “{name}”: {now.get('duration_hours')} hours instead of {before.get('duration_hours')}.")
        elif now is not None and (now.get("area"), now.get("area_kind")) != (before.get("area"), before.get("area_kind")):
            found.append(f"Aftercare rule “{name}” now covers a different area.")
    return found


def _steps(old: Snapshot, new: Snapshot) -> list[str]:
    found = []
    after = _items(new, "procedure_steps")
    for key, before in _items(old, "procedure_steps").items():
        if not _active(before):
            continue
        now = after.get(key)
        name = before.get("name", key)
        if not _active(now):
            found.append(f"Procedure step “{name}” is switched off.")
            continue
        assert now is not None
        if _both(before, now, "after_numbing_wait") and before["after_numbing_wait"] and not now["after_numbing_wait"]:
            found.append(f"Procedure step “{name}” may now come before the numbing wait is over.")
        if _both(before, now, "chart_step") and before["chart_step"] and now["chart_step"] != before["chart_step"]:
            found.append(f"Procedure step “{name}” no longer stands for the chart's {before['chart_step']} step.")
        if _both(before, now, "after_step") and before["after_step"] and now["after_step"] != before["after_step"]:
            found.append(f"Procedure step “{name}” no longer has to follow “{before['after_step']}”.")
        elif _both(before, now, "min_minutes_after") and now["min_minutes_after"] < before["min_minutes_after"]:
            found.append(
                f"Procedure step “{name}”: {now['min_minutes_after']} minutes after “{before['after_step']}” "
                f"(was {before['min_minutes_after']})."
            )
    return found
