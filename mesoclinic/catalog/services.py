"""Every write to the catalog. Each edit runs in `catalog_edit()`: one transaction that makes the change,
checks the catalog-wide invariants, writes a new CatalogVersion with the snapshot and what changed,
and writes its audit row. An edit that breaks an invariant leaves nothing behind.

An edit that weakens a safety rule (`weakening.weakenings`) does not take effect: its change is
rolled back and held as a pending CatalogProposal until a second person approves it
(`catalog.approvals`, decision 0022).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from django.core.exceptions import ValidationError
from django.db import IntegrityError, models, transaction
from django.utils import timezone

from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.models import Sequence as CoreSequence
from mesoclinic.core.services import take_numbers

from . import exchange, weakening
from .exchange import AreaGuidance, CatalogInvalid, IngredientDose
from .models import (
    AftercareRule,
    Area,
    CatalogProposal,
    CatalogVersion,
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

__all__ = [
    "AreaGuidance",
    "CatalogConflict",
    "CatalogInvalid",
    "IngredientDose",
    "Saved",
    "catalog_edit",
    "import_catalog",
    "import_or_propose",
    "load_default_catalog",
    "save_item",
    "save_protocol",
]

DEFAULT_FIXTURE = Path(__file__).resolve().parent / "fixtures" / "default_catalog.json"
VERSION_SEQUENCE = "catalog-version"
EDITABLE_MODELS = (Concern, Ingredient, Area, Technique, Product, Protocol, AftercareRule, Question, ContraindicationRule, ProcedureStep)

M = TypeVar("M", bound=models.Model)


class CatalogConflict(Exception):
    """Someone else changed the catalog since this edit started (optimistic check on the version number)."""

    def __init__(self, expected: int, current: int) -> None:
        super().__init__(
            f"The catalog changed while you were editing: you started from version {expected}, it is now version {current}. "
            "Open the page again to see the latest version, then make your change again."
        )
        self.expected = expected
        self.current = current


@dataclass
class Edit:
    """What `catalog_edit` yields; after the block, `version` is the new version (None when nothing changed)."""

    note: str
    version: CatalogVersion | None = None
    proposal: CatalogProposal | None = None  # the change weakened a safety rule: held for a second approval


@dataclass(frozen=True)
class Saved:
    item: Any
    version: CatalogVersion | None
    proposal: CatalogProposal | None = None


def _latest_version() -> CatalogVersion | None:
    return CatalogVersion.objects.order_by("-number").first()


def validate_catalog() -> list[str]:
    """The catalog-wide invariants that a single row's constraints cannot express. Empty when all hold."""
    errors: list[str] = []
    protocols = list(
        Protocol.objects.prefetch_related("concerns", "techniques", "products__approved_concerns", "protocol_areas__area").order_by("key")
    )
    for protocol in protocols:
        rows = list(protocol.protocol_areas.all())
        if not rows:
            errors.append(f"Protocol “{protocol.name}” has no area: add at least one treatment area.")
        if not protocol.is_active:
            continue
        concerns = list(protocol.concerns.all())
        techniques = list(protocol.techniques.all())
        if not concerns:
            errors.append(f"Protocol “{protocol.name}” treats no concern: choose at least one.")
        if not techniques:
            errors.append(f"Protocol “{protocol.name}” has no technique: choose at least one.")
        for technique in techniques:
            if not technique.is_active:
                errors.append(f"Protocol “{protocol.name}” uses the inactive technique “{technique.name}”.")
        for row in rows:
            if not row.area.is_active:
                errors.append(f"Protocol “{protocol.name}” treats the inactive area “{row.area.name}”.")
        if any(technique.needs_device for technique in techniques):
            for row in rows:
                if row.depth_min_mm is None:
                    errors.append(
                        f"Protocol “{protocol.name}” uses a Dermapen, so the area “{row.area.name}” needs a depth range "
                        "(between 0 and 3 mm)."
                    )
        for product in protocol.products.all():
            if not product.is_active:
                errors.append(f"Protocol “{protocol.name}” uses the inactive product “{product.name}”.")
            if not product.water_soluble:
                errors.append(f"Product “{product.name}” is not water-soluble; the clinic uses only water-soluble products in mesotherapy.")
            approved = {concern.pk for concern in product.approved_concerns.all()}
            for concern in concerns:
                if concern.pk not in approved:
                    errors.append(
                        f"Product “{product.name}” is not approved for “{concern.name}”, which protocol “{protocol.name}” treats: "
                        "approve the product for it, or take the product or the concern out of the protocol."
                    )
    for rule in ContraindicationRule.objects.filter(is_active=True).select_related("question"):
        if not rule.question.is_active:
            errors.append(f"Contraindication “{rule.condition}” reads the inactive question “{rule.question.text}”.")
    for aftercare in AftercareRule.objects.filter(is_active=True, area__isnull=False).select_related("area"):
        if aftercare.area is not None and not aftercare.area.is_active:
            errors.append(f"Aftercare rule “{aftercare.name}” is for the inactive area “{aftercare.area.name}”.")
    return errors


class _HeldForApproval(Exception):
    def __init__(self, snapshot: dict[str, Any], changes: list[dict[str, Any]], weakened: list[str]) -> None:
        super().__init__("held for approval")
        self.snapshot, self.changes, self.weakened = snapshot, changes, weakened


@contextmanager
def catalog_edit(
    *,
    ctx: audit.AuditContext,
    note: str = "",
    expected_version: int | None = None,
    source: str = "edit",
    approval: CatalogProposal | None = None,
) -> Iterator[Edit]:
    """Run a catalog change as one transaction ending in a new CatalogVersion (and its audit row).

    Edits are serialised by a row lock; with `expected_version`, an edit started from an older
    version is refused with CatalogConflict instead of silently overwriting someone else's change.
    Raises CatalogInvalid (and rolls back) when the result breaks an invariant. A change that
    weakens a safety rule is rolled back and held as `edit.proposal` (pending), unless it is the
    application of an `approval` (then the version names its author and its approver).
    """
    edit = Edit(note=note.strip()[:300])
    with transaction.atomic():
        CoreSequence.objects.get_or_create(name=VERSION_SEQUENCE)
        CoreSequence.objects.select_for_update().get(name=VERSION_SEQUENCE)
        previous = _latest_version()
        if expected_version is not None and previous is not None and previous.number != expected_version:
            raise CatalogConflict(expected_version, previous.number)
        try:
            with transaction.atomic():  # a savepoint: a weakening change is undone here and held instead
                try:
                    yield edit
                except IntegrityError as error:  # the database's constraints are the last guard; name what broke
                    raise CatalogInvalid([integrity_message(error)]) from error
                errors = validate_catalog()
                if errors:
                    raise CatalogInvalid(errors)
                snapshot = exchange.export_catalog()
                digest = exchange.fingerprint(snapshot)
                if previous is not None and previous.fingerprint == digest:
                    return  # nothing changed: no new version
                changes = exchange.diff_snapshots(previous.snapshot if previous else None, snapshot)
                weakened = weakening.weakenings(previous.snapshot if previous else None, snapshot)
                if weakened and approval is None:
                    raise _HeldForApproval(snapshot, changes, weakened)
                _write_version(ctx, edit, previous, snapshot, digest, changes, source, approval)
        except _HeldForApproval as held:
            assert previous is not None  # the first version weakens nothing
            edit.proposal = _hold(ctx, edit, previous, held, source)


def _write_version(
    ctx: audit.AuditContext,
    edit: Edit,
    previous: CatalogVersion | None,
    snapshot: dict[str, Any],
    digest: str,
    changes: list[dict[str, Any]],
    source: str,
    approval: CatalogProposal | None,
) -> None:
    number = take_numbers(VERSION_SEQUENCE, 1)[0]
    if previous is not None and number <= previous.number:  # the sequence was reset: follow the table
        number = previous.number + 1
    edit.version = CatalogVersion.objects.create(
        number=number,
        created_by=approval.proposed_by if approval is not None else ctx.actor,
        approved_by=ctx.actor if approval is not None else None,
        approved_at=timezone.now() if approval is not None else None,
        note=edit.note or _describe(changes),
        snapshot=snapshot,
        fingerprint=digest,
        changes=changes,
    )
    detail: dict[str, Any] = {
        "version": number,
        "previous": previous.number if previous else None,
        "source": source,
        "changes": len(changes),
        "items": [f"{change['section']}:{change['key']}" for change in changes[:50]],
    }
    if approval is not None:
        detail["proposal"] = approval.pk
    audit.record(
        ctx,
        action=AuditEvent.Action.CREATE if previous is None else AuditEvent.Action.UPDATE,
        object_type="catalog-version",
        object_id=number,
        detail=detail,
    )


def _hold(ctx: audit.AuditContext, edit: Edit, previous: CatalogVersion, held: _HeldForApproval, source: str) -> CatalogProposal:
    if ctx.actor is None:
        raise CatalogInvalid(
            [
                "This change weakens a safety rule, so it needs a named author and a second person's approval: "
                "make it in the catalog pages (Catalog → Import for a file) signed in as a medical director.",
                *held.weakened,
            ]
        )
    proposal = CatalogProposal.objects.create(
        base_version=previous,
        snapshot=held.snapshot,
        changes=held.changes,
        weakenings=held.weakened,
        note=edit.note or _describe(held.changes),
        source=source,
        proposed_by=ctx.actor,
        proposed_at=timezone.now(),
    )
    audit.record(
        ctx,
        action=AuditEvent.Action.CREATE,
        object_type="catalog-proposal",
        object_id=proposal.pk,
        detail={"base_version": previous.number, "source": source, "weakens": len(held.weakened), "changes": len(held.changes)},
    )
    return proposal


def integrity_message(error: IntegrityError) -> str:
    """The plain message of the catalog constraint named in a database error (PostgreSQL and SQLite name it)."""
    text = str(error)
    for model in (*EDITABLE_MODELS, ProtocolArea, ProtocolIngredient):
        for constraint in model._meta.constraints:
            if constraint.name and constraint.name in text:
                return str(constraint.violation_error_message or constraint.name)
    return "The change breaks a rule of the catalog and was not saved."


def _describe(changes: list[dict[str, Any]]) -> str:
    if not changes:
        return "No change"
    if len(changes) == 1:
        change = changes[0]
        return f"{change['action'].capitalize()} {exchange.SECTION_BY_NAME[change['section']].label} “{change['label']}”"[:300]
    return f"{len(changes)} changes"


def _apply_fields(obj: M, fields: Mapping[str, Any]) -> None:
    for name, value in fields.items():
        if name == "key" and obj.pk is not None and value != obj.key:  # type: ignore[attr-defined]
            raise CatalogInvalid(["A key cannot be changed once it exists: other records and files refer to it."])
        setattr(obj, name, value)


def _full_clean(obj: models.Model) -> None:
    try:
        obj.full_clean()
    except ValidationError as error:
        raise CatalogInvalid(exchange._validation_messages(error)) from None


def save_item(
    *,
    ctx: audit.AuditContext,
    model: type[M],
    pk: int | None,
    fields: Mapping[str, Any],
    related: Mapping[str, Iterable[models.Model]] | None = None,
    note: str = "",
    expected_version: int | None = None,
) -> Saved:
    """Create (pk None) or change one catalog item: `fields` are its own fields, `related` its many-to-many lists."""
    if model not in EDITABLE_MODELS:
        raise ValueError(f"{model.__name__} is not a catalog item")
    with catalog_edit(ctx=ctx, note=note, expected_version=expected_version) as edit:
        obj = model._default_manager.select_for_update().get(pk=pk) if pk is not None else model()
        _apply_fields(obj, fields)
        _full_clean(obj)
        obj.save()
        for name, targets in (related or {}).items():
            getattr(obj, name).set(list(targets))
    return Saved(item=obj, version=edit.version, proposal=edit.proposal)


def save_protocol(
    *,
    ctx: audit.AuditContext,
    pk: int | None,
    fields: Mapping[str, Any],
    related: Mapping[str, Iterable[models.Model]],
    areas: Sequence[AreaGuidance],
    ingredients: Sequence[IngredientDose],
    note: str = "",
    expected_version: int | None = None,
) -> Saved:
    """Create or change a protocol with its areas (depth guidance) and ingredients (concentrations)."""
    with catalog_edit(ctx=ctx, note=note, expected_version=expected_version) as edit:
        protocol = Protocol.objects.select_for_update().get(pk=pk) if pk is not None else Protocol()
        _apply_fields(protocol, fields)
        _full_clean(protocol)
        protocol.save()
        for name, targets in related.items():
            getattr(protocol, name).set(list(targets))
        errors: list[str] = []
        exchange.set_protocol_areas(protocol, list(areas), where=protocol.name, errors=errors)
        exchange.set_protocol_ingredients(protocol, list(ingredients), where=protocol.name, errors=errors)
        if errors:
            raise CatalogInvalid(errors)
    return Saved(item=protocol, version=edit.version, proposal=edit.proposal)


def import_catalog(*, ctx: audit.AuditContext, data: Any, note: str = "", expected_version: int | None = None) -> CatalogVersion | None:
    """Replace the catalog with `data` (the export format). Returns the new version, or None if nothing changed
    or the file weakens a safety rule (then see `import_or_propose`)."""
    return import_or_propose(ctx=ctx, data=data, note=note, expected_version=expected_version).version


def import_or_propose(*, ctx: audit.AuditContext, data: Any, note: str = "", expected_version: int | None = None) -> Edit:
    """Import `data`; the result has the new `version`, or the pending `proposal` when the file weakens a safety rule."""
    with catalog_edit(ctx=ctx, note=note or "Imported from a file", expected_version=expected_version, source="import") as edit:
        exchange.apply_catalog(data)
    return edit


def read_fixture(path: Path = DEFAULT_FIXTURE) -> dict[str, Any]:
    with path.open(encoding="utf-8") as handle:
        data: dict[str, Any] = json.load(handle)
    return data


def load_default_catalog(*, ctx: audit.AuditContext = audit.SYSTEM) -> CatalogVersion:
    """Load the default catalog (the clinic's service page) into an empty catalog; a no-op when one exists.

    Returns the current version either way. Idempotent and safe to run on every deploy.
    """
    with transaction.atomic():
        CoreSequence.objects.get_or_create(name=VERSION_SEQUENCE)
        CoreSequence.objects.select_for_update().get(name=VERSION_SEQUENCE)
        current = _latest_version()
        if current is not None:
            return current
        data = read_fixture()
        with catalog_edit(ctx=ctx, note=f"Default catalog (fixture version {data.get('fixture_version', 1)})", source="default") as edit:
            exchange.apply_catalog(data)
        assert edit.version is not None  # an empty catalog always changes
        return edit.version
