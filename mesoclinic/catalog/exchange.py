"""The catalog's JSON format: export (also the snapshot of every version), import, and the diff between two.

One format serves four purposes: the default fixture, the snapshot stored on each CatalogVersion,
the file the medical director downloads, and the file they upload. Items are matched by `key`;
an import updates items in place (ids stay stable, so stock lots and records keep pointing at
them), creates new ones, and deactivates items the file leaves out — nothing is ever deleted.

`apply_catalog` must run inside `services.catalog_edit()` so the whole import is one transaction
that ends with the catalog-wide invariant check and a new version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import ValidationError
from django.db import models

from .models import (
    AftercareRule,
    Area,
    Concern,
    ContraindicationRule,
    Ingredient,
    ProcedureStep,
    Product,
    Protocol,
    ProtocolArea,
    ProtocolIngredient,
    Question,
    Technique,
)

FORMAT = "mesoclinic-catalog"
FORMAT_VERSION = 2
# Version 1 files (before the safety-rule fields of decision 0022) still import: a field a file leaves
# out keeps its current value, or the default for a new item.
READABLE_VERSIONS = (1, 2)
MAX_ITEMS_PER_SECTION = 1000


class CatalogInvalid(Exception):
    """The catalog (or a file to import) breaks a rule; `errors` says which, one plain sentence each."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Section:
    name: str  # the JSON key
    model: type[models.Model]
    fields: tuple[str, ...]  # scalar, foreign-key (by key) and many-to-many (by keys) fields, in JSON order
    label: str
    deferred: tuple[str, ...] = ()  # fields referring within the section, applied after all its items


SECTIONS: tuple[Section, ...] = (
    Section("concerns", Concern, ("key", "name", "description", "position", "is_active"), "concern"),
    Section("ingredients", Ingredient, ("key", "name", "kind", "description", "is_active"), "ingredient"),
    Section("areas", Area, ("key", "name", "kind", "description", "position", "is_active"), "area"),
    Section("techniques", Technique, ("key", "name", "method", "mode", "description", "is_active"), "technique"),
    Section(
        "products",
        Product,
        (
            "key",
            "name",
            "manufacturer",
            "description",
            "ingredients",
            "approved_concerns",
            "water_soluble",
            "allergen_notes",
            "unit",
            "is_active",
        ),
        "product",
    ),
    Section(
        "protocols",
        Protocol,
        (
            "key",
            "name",
            "family",
            "description",
            "concerns",
            "products",
            "techniques",
            "sessions_min",
            "sessions_max",
            "interval_min_days",
            "interval_max_days",
            "uses_topical_anaesthetic",
            "numbing_minutes",
            "early_start_role",
            "procedure_minutes",
            "uses_prp",
            "checkin_after_hours",
            "position",
            "is_active",
        ),
        "protocol",
    ),
    Section(
        "aftercare_rules",
        AftercareRule,
        ("key", "name", "area", "area_kind", "instruction", "duration_hours", "expected_effects", "is_active"),
        "aftercare rule",
    ),
    Section(
        "questions", Question, ("key", "text", "help_text", "answer_type", "rescreen", "session_only", "position", "is_active"), "question"
    ),
    Section(
        "contraindication_rules",
        ContraindicationRule,
        (
            "key",
            "condition",
            "severity",
            "question",
            "protocols",
            "areas",
            "area_kinds",
            "description",
            "coding_system",
            "coding_code",
            "coding_display",
            "origin",
            "position",
            "is_active",
        ),
        "contraindication rule",
    ),
    Section(
        "procedure_steps",
        ProcedureStep,
        ("key", "position", "name", "description", "chart_step", "after_numbing_wait", "after_step", "min_minutes_after", "is_active"),
        "procedure step",
        deferred=("after_step", "min_minutes_after"),
    ),
)
SECTION_BY_NAME = {section.name: section for section in SECTIONS}
MODEL_SECTION = {section.model: section for section in SECTIONS}


# --- export ---------------------------------------------------------------------------------


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


def export_catalog() -> dict[str, Any]:
    """The whole catalog (active and inactive items) as a JSON-ready dict, every list sorted by key."""
    data: dict[str, Any] = {"format": FORMAT, "format_version": FORMAT_VERSION}
    for section in SECTIONS:
        model = section.model
        relations = [f for f in section.fields if isinstance(model._meta.get_field(f), models.ManyToManyField)]
        foreign = [f for f in section.fields if isinstance(model._meta.get_field(f), models.ForeignKey)]
        queryset = model._default_manager.order_by("key").select_related(*foreign).prefetch_related(*relations)
        if model is Protocol:
            queryset = queryset.prefetch_related("protocol_areas__area", "protocol_ingredients__ingredient")
        items = []
        obj: Any
        for obj in queryset:
            item: dict[str, Any] = {}
            for name in section.fields:
                field = model._meta.get_field(name)
                if isinstance(field, models.ManyToManyField):
                    item[name] = sorted(related.key for related in getattr(obj, name).all())
                elif isinstance(field, models.ForeignKey):
                    target = getattr(obj, name)
                    item[name] = target.key if target is not None else None
                else:
                    item[name] = _plain(getattr(obj, name))
            if model is Protocol:
                item["areas"] = [
                    {"area": row.area.key, "depth_min_mm": _plain(row.depth_min_mm), "depth_max_mm": _plain(row.depth_max_mm)}
                    for row in sorted(obj.protocol_areas.all(), key=lambda row: row.area.key)
                ]
                item["ingredients"] = [
                    {
                        "ingredient": row.ingredient.key,
                        "concentration": _plain(row.concentration),
                        "concentration_unit": row.concentration_unit,
                        "note": row.note,
                    }
                    for row in sorted(obj.protocol_ingredients.all(), key=lambda row: row.ingredient.key)
                ]
            items.append(item)
        data[section.name] = items
    return data


def canonical_json(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def fingerprint(data: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(data).encode()).hexdigest()


# --- import ---------------------------------------------------------------------------------


class _Errors:
    def __init__(self) -> None:
        self.items: list[str] = []

    def add(self, where: str, message: str) -> None:
        if len(self.items) < 200:
            self.items.append(f"{where}: {message}")


def _coerce(field: models.Field, value: Any, where: str, errors: _Errors) -> tuple[bool, Any]:
    """Turn a JSON value into the Python value for `field`; (False, None) and an error when it cannot."""
    if isinstance(field, models.BooleanField):
        if isinstance(value, bool):
            return True, value
        errors.add(where, "must be true or false.")
    elif isinstance(field, models.DecimalField):
        if value is None and field.null:
            return True, None
        if isinstance(value, bool) or not isinstance(value, int | float | str):
            errors.add(where, "must be a number.")
            return False, None
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            errors.add(where, "must be a number.")
            return False, None
        if not number.is_finite():
            errors.add(where, "must be a finite number.")
            return False, None
        return True, number
    elif isinstance(field, models.IntegerField):
        if isinstance(value, int) and not isinstance(value, bool):
            if not 0 <= value <= 32767:
                errors.add(where, "must be a whole number from 0 to 32767.")
                return False, None
            return True, value
        errors.add(where, "must be a whole number.")
    elif isinstance(field, models.JSONField):
        if isinstance(value, list) and all(isinstance(entry, str) for entry in value):
            return True, value
        errors.add(where, "must be a list of words.")
    elif isinstance(field, models.CharField | models.TextField):
        if isinstance(value, str):
            return True, value.strip()
        errors.add(where, "must be text.")
    else:  # pragma: no cover - every field in SECTIONS is one of the above
        errors.add(where, "cannot be imported.")
    return False, None


def _keys(value: Any, where: str, errors: _Errors) -> list[str] | None:
    if not isinstance(value, list) or not all(isinstance(entry, str) for entry in value):
        errors.add(where, "must be a list of keys.")
        return None
    if len(set(value)) != len(value):
        errors.add(where, "lists a key twice.")
        return None
    return value


def _validation_messages(error: ValidationError) -> list[str]:
    if hasattr(error, "error_dict"):
        return [
            f"{'' if name == '__all__' else name + ': '}{message}" for name, messages in error.message_dict.items() for message in messages
        ]
    return list(error.messages)


def apply_catalog(data: Any) -> None:
    """Make the database catalog match `data` (the export format). Raises CatalogInvalid listing every problem.

    Call inside `services.catalog_edit()`; on an error the caller's transaction rolls everything back.
    """
    errors = _Errors()
    if not isinstance(data, dict):
        raise CatalogInvalid(["The file must hold one JSON object (a catalog export)."])
    if data.get("format") != FORMAT:
        raise CatalogInvalid([f"This is not a Mesoclinic catalog file (its “format” must be “{FORMAT}”)."])
    if data.get("format_version") not in READABLE_VERSIONS:
        raise CatalogInvalid(
            [
                f"This file uses catalog format version {data.get('format_version')!r}; "
                f"this Mesoclinic reads versions {', '.join(map(str, READABLE_VERSIONS))}."
            ]
        )
    unknown = sorted(set(data) - set(SECTION_BY_NAME) - {"format", "format_version", "fixture_version", "catalog_version", "exported_at"})
    if unknown:
        raise CatalogInvalid([f"Unknown section(s) in the file: {', '.join(unknown)}."])

    by_key: dict[type[models.Model], dict[str, Any]] = {}
    broken: dict[type[models.Model], set[str]] = {}
    for section in SECTIONS:
        items = data.get(section.name, [])
        if not isinstance(items, list):
            errors.add(section.name, "must be a list.")
            continue
        if len(items) > MAX_ITEMS_PER_SECTION:
            errors.add(section.name, f"has more than {MAX_ITEMS_PER_SECTION} items.")
            continue
        existing: dict[str, Any] = {obj.key: obj for obj in section.model._default_manager.all()}  # type: ignore[attr-defined]
        seen: dict[str, Any] = {}
        failed: set[str] = set()
        later: list[tuple[Any, dict[str, Any], str]] = []  # references within the section (a step after a step): set once all exist
        for index, item in enumerate(items):
            where = f"{section.name}[{index}]"
            if not isinstance(item, dict):
                errors.add(where, "must be an object.")
                continue
            key = item.get("key")
            if not isinstance(key, str) or not key:
                errors.add(where, "needs a “key”.")
                continue
            where = f"{section.name} › {key[:60]}"
            if key in seen:
                errors.add(where, "appears twice.")
                continue
            allowed = set(section.fields) | ({"areas", "ingredients"} if section.model is Protocol else set())
            extra = sorted(set(item) - allowed)
            if extra:
                errors.add(where, f"unknown field(s): {', '.join(extra)}.")
                continue
            obj = existing.get(key) or section.model(key=key)
            deferred = {name: item[name] for name in section.deferred if name in item}
            if deferred:
                item = {name: value for name, value in item.items() if name not in deferred}
                later.append((obj, deferred, where))
            if _apply_item(section, obj, item, by_key, broken, where, errors):
                seen[key] = obj
            else:
                failed.add(key)
        # Items the file leaves out are deactivated, never deleted (records point at them).
        for key, obj in existing.items():
            if key not in seen and obj.is_active:
                obj.is_active = False
                obj.save(update_fields=["is_active"])
        by_key[section.model] = seen  # only items in the file can be referred to
        broken[section.model] = failed
        for obj, deferred, where in later:
            if obj.key in seen:
                _apply_deferred(section, obj, deferred, seen, where, errors)
    if errors.items:
        raise CatalogInvalid(errors.items)


def _apply_deferred(section: Section, obj: Any, deferred: dict[str, Any], seen: dict[str, Any], where: str, errors: _Errors) -> None:
    """Fields that refer to another item of the same section (a step after a step), set once every item exists."""
    before = len(errors.items)
    for name, value in deferred.items():
        field = section.model._meta.get_field(name)
        if isinstance(field, models.ForeignKey):
            target = seen.get(value) if isinstance(value, str) else None
            if value is not None and target is None:
                errors.add(f"{where} › {name}", f"unknown key {str(value)[:60]!r}.")
            elif target is not None and target.key == obj.key:
                errors.add(f"{where} › {name}", "cannot refer to itself.")
            else:
                setattr(obj, name, target)
        else:
            ok, coerced = _coerce(field, value, f"{where} › {name}", errors)  # type: ignore[arg-type]
            if ok:
                setattr(obj, name, coerced)
    if len(errors.items) > before:
        return
    try:
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for message in _validation_messages(error):
            errors.add(where, message)
        return
    obj.save()


def _apply_item(
    section: Section,
    obj: Any,
    item: dict[str, Any],
    by_key: dict[type[models.Model], dict[str, Any]],
    broken: dict[type[models.Model], set[str]],
    where: str,
    errors: _Errors,
) -> bool:
    model = section.model
    relations: dict[str, list[Any]] = {}
    before = len(errors.items)
    for name in section.fields:
        if name == "key" or name not in item:
            continue  # missing fields keep their current (or default) value
        field = model._meta.get_field(name)
        value = item[name]
        if isinstance(field, models.ManyToManyField):
            keys = _keys(value, f"{where} › {name}", errors)
            if keys is None:
                continue
            known = by_key.get(field.related_model, {})  # type: ignore[arg-type]
            skipped = broken.get(field.related_model, set())  # type: ignore[arg-type]
            missing = [k for k in keys if k not in known and k not in skipped]
            if missing:
                errors.add(f"{where} › {name}", f"unknown key(s): {', '.join(missing[:10])}.")
                continue
            relations[name] = [known[k] for k in keys if k in known]
        elif isinstance(field, models.ForeignKey):
            if value is None and field.null:
                setattr(obj, name, None)
                continue
            known = by_key.get(field.related_model, {})  # type: ignore[arg-type]
            if not isinstance(value, str) or value not in known:
                if value not in broken.get(field.related_model, set()):  # type: ignore[arg-type]
                    errors.add(f"{where} › {name}", f"unknown key {str(value)[:60]!r}.")
                else:
                    errors.add(f"{where} › {name}", f"refers to {value!r}, which has errors of its own.")
                continue
            setattr(obj, name, known[value])
        else:
            ok, coerced = _coerce(field, value, f"{where} › {name}", errors)  # type: ignore[arg-type]
            if ok:
                setattr(obj, name, coerced)
    if len(errors.items) > before:
        return False
    try:
        # Keys are matched and de-duplicated above, and each model's clean() mirrors its check
        # constraints in Python, so no query is needed here; the database enforces them again on save.
        obj.full_clean(validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        for message in _validation_messages(error):
            errors.add(where, message)
        return False
    is_new = obj.pk is None
    obj.save()
    for name, targets in relations.items():
        if is_new:
            getattr(obj, name).add(*targets)
        else:
            getattr(obj, name).set(targets)
    if model is Protocol:
        _apply_protocol_rows(obj, item, by_key, where, errors)
    return len(errors.items) == before


def _apply_protocol_rows(
    protocol: Protocol, item: dict[str, Any], by_key: dict[type[models.Model], dict[str, Any]], where: str, errors: _Errors
) -> None:
    if "areas" in item:
        rows = item["areas"]
        if not isinstance(rows, list):
            errors.add(f"{where} › areas", "must be a list.")
        else:
            guidance = []
            for index, row in enumerate(rows):
                at = f"{where} › areas[{index}]"
                if not isinstance(row, dict) or set(row) - {"area", "depth_min_mm", "depth_max_mm"}:
                    errors.add(at, "must be an object with area, depth_min_mm and depth_max_mm.")
                    continue
                area = by_key.get(Area, {}).get(row.get("area"))  # type: ignore[arg-type]
                if area is None:
                    errors.add(at, f"unknown area {str(row.get('area'))[:60]!r}.")
                    continue
                depths = []
                for name in ("depth_min_mm", "depth_max_mm"):
                    ok, value = _coerce(ProtocolArea._meta.get_field(name), row.get(name), f"{at} › {name}", errors)  # type: ignore[arg-type]
                    depths.append(value if ok else None)
                guidance.append(AreaGuidance(area=area, depth_min_mm=depths[0], depth_max_mm=depths[1]))
            set_protocol_areas(protocol, guidance, where=where, errors=errors.items)
    if "ingredients" in item:
        rows = item["ingredients"]
        if not isinstance(rows, list):
            errors.add(f"{where} › ingredients", "must be a list.")
            return
        doses = []
        for index, row in enumerate(rows):
            at = f"{where} › ingredients[{index}]"
            if not isinstance(row, dict) or set(row) - {"ingredient", "concentration", "concentration_unit", "note"}:
                errors.add(at, "must be an object with ingredient, concentration, concentration_unit and note.")
                continue
            ingredient = by_key.get(Ingredient, {}).get(row.get("ingredient"))  # type: ignore[arg-type]
            if ingredient is None:
                errors.add(at, f"unknown ingredient {str(row.get('ingredient'))[:60]!r}.")
                continue
            concentration_field: Any = ProtocolIngredient._meta.get_field("concentration")
            ok, concentration = _coerce(concentration_field, row.get("concentration"), f"{at} › concentration", errors)
            unit, note = row.get("concentration_unit", ""), row.get("note", "")
            if not isinstance(unit, str) or not isinstance(note, str):
                errors.add(at, "concentration_unit and note must be text.")
                continue
            if ok:
                doses.append(IngredientDose(ingredient=ingredient, concentration=concentration, concentration_unit=unit, note=note))
        set_protocol_ingredients(protocol, doses, where=where, errors=errors.items)


@dataclass(frozen=True)
class AreaGuidance:
    area: Area
    depth_min_mm: Decimal | None
    depth_max_mm: Decimal | None


@dataclass(frozen=True)
class IngredientDose:
    ingredient: Ingredient
    concentration: Decimal | None
    concentration_unit: str = ""
    note: str = ""


def set_protocol_areas(protocol: Protocol, guidance: list[AreaGuidance], *, where: str, errors: list[str]) -> None:
    """Replace the protocol's area rows with `guidance`, updating rows in place where the area stays."""
    current = {row.area_id: row for row in protocol.protocol_areas.all()}
    keep = set()
    for entry in guidance:
        if entry.area.pk in keep:
            errors.append(f"{where}: the area {entry.area.name} is listed twice.")
            continue
        keep.add(entry.area.pk)
        row = current.get(entry.area.pk) or ProtocolArea(protocol=protocol, area=entry.area)
        row.depth_min_mm, row.depth_max_mm = entry.depth_min_mm, entry.depth_max_mm
        try:
            row.full_clean(exclude=["protocol", "area"], validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors.extend(f"{where} › {entry.area.name}: {message}" for message in _validation_messages(error))
            continue
        row.save()
    protocol.protocol_areas.exclude(area_id__in=keep).delete()


def set_protocol_ingredients(protocol: Protocol, doses: list[IngredientDose], *, where: str, errors: list[str]) -> None:
    current = {row.ingredient_id: row for row in protocol.protocol_ingredients.all()}
    keep = set()
    for dose in doses:
        if dose.ingredient.pk in keep:
            errors.append(f"{where}: the ingredient {dose.ingredient.name} is listed twice.")
            continue
        keep.add(dose.ingredient.pk)
        row = current.get(dose.ingredient.pk) or ProtocolIngredient(protocol=protocol, ingredient=dose.ingredient)
        row.concentration, row.concentration_unit, row.note = dose.concentration, dose.concentration_unit.strip(), dose.note.strip()
        try:
            row.full_clean(exclude=["protocol", "ingredient"], validate_unique=False, validate_constraints=False)
        except ValidationError as error:
            errors.extend(f"{where} › {dose.ingredient.name}: {message}" for message in _validation_messages(error))
            continue
        row.save()
    protocol.protocol_ingredients.exclude(ingredient_id__in=keep).delete()


# --- diff -----------------------------------------------------------------------------------

MAX_SHOWN = 160


def _shown(value: Any) -> Any:
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= MAX_SHOWN else text[: MAX_SHOWN - 1] + "…"


def diff_snapshots(old: dict[str, Any] | None, new: dict[str, Any]) -> list[dict[str, Any]]:
    """What changed from `old` to `new`: one entry per added, removed or changed item, naming the fields."""
    changes: list[dict[str, Any]] = []
    for section in SECTIONS:
        before = {item["key"]: item for item in (old or {}).get(section.name, [])}
        after = {item["key"]: item for item in new.get(section.name, [])}
        for key in sorted(set(before) | set(after)):
            item = after.get(key) or before.get(key) or {}
            label = item.get("name") or item.get("condition") or item.get("text") or key
            if key not in before:
                changes.append({"section": section.name, "key": key, "label": str(label), "action": "added", "fields": []})
            elif key not in after:
                changes.append({"section": section.name, "key": key, "label": str(label), "action": "removed", "fields": []})
            else:
                fields = [
                    {"field": name, "old": _shown(before[key].get(name)), "new": _shown(after[key].get(name))}
                    for name in sorted(set(before[key]) | set(after[key]))
                    if before[key].get(name) != after[key].get(name)
                ]
                if fields:
                    changes.append({"section": section.name, "key": key, "label": str(label), "action": "changed", "fields": fields})
    return changes
