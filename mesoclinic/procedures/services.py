"""Every write of the session record. Keyword-only, one transaction each, the record locked with
`select_for_update`, one audit row inside the same transaction, domain errors for the views.

    open_procedure(ctx=…, appointment=…)                         # from the calendar: the record, created once
    record_rescreen(ctx=…, record=…, answers={…})                # 1. screening engine; may stop the session
    override_rescreen(ctx=…, record=…, reason=…)                 #    a doctor overrides "not eligible"
    confirm_consent(ctx=…, record=…)                             # 2. PLACEHOLDER until the consent issue
    confirm_photos(ctx=…, record=…)                              # 3. PLACEHOLDER until the photos issue
    record_numbing(ctx=…, record=…, product_name=…, applied_at=None)   # 4. starts the numbing wait
    record_antisepsis(ctx=…, record=…)                           # 5. alcohol swab
    start_injections_early(ctx=…, record=…, reason=…)            #    before the wait is over: audited
    record_area_treatment(ctx=…, record=…, area_key=…, technique_key=…, depth_mm=…, passes=…,
                          dermapen_speed=…, device=…, products=[ProductLine…], consumables=[ConsumableLine…])
    remove_area_treatment(ctx=…, record=…, treatment_id=…)       #    before sign-off only
    record_prp(ctx=…, record=…, …)                               #    protocols that use PRP
    record_reactions(ctx=…, record=…, reactions=[ReactionLine…]) # 7.
    sign_procedure(ctx=…, record=…)                              # 8. stock, appointment, course, hooks: all or nothing
    amend_record(ctx=…, record=…, target=…, new_value=…, reason=…)   # signed records only
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import IntegrityError, transaction
from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.catalog.models import Area, Product, Protocol, Technique
from mesoclinic.catalog.selectors import CatalogNotLoaded, current_version
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent, Device
from mesoclinic.courses import selectors as courses_selectors
from mesoclinic.courses import services as courses_services
from mesoclinic.inventory import services as inventory
from mesoclinic.inventory.models import Consumable, Lot, Unit
from mesoclinic.scheduling import services as scheduling
from mesoclinic.scheduling.models import Appointment
from mesoclinic.screening import services as screening
from mesoclinic.screening.selectors import current_screening, eligibility

from . import checks, step_rules
from .consumables import consumable_lots_required
from .hooks import run_sign_off_hooks
from .models import (
    MAX_BLOOD_ML,
    MAX_DERMAPEN_SPEED,
    MAX_PASSES,
    MAX_VOLUME_ML,
    Amendment,
    AreaTreatment,
    ConsumableUsage,
    ProcedureRecord,
    ProductUsage,
    PrpPreparation,
    Reaction,
    Step,
)
from .terms import ProtocolMissing, ProtocolTerms, protocol_terms

OBJECT_TYPE = "procedure-record"
STOCK_REFERENCE = "procedure"
MIN_REASON = 10
MAX_REASON = 1000
MAX_TEXT = 160
# A numbing time may be charted up to this long after the cream went on (applied in the waiting area).
MAX_NUMBING_BACKDATE = timedelta(hours=2)
MAX_PRODUCT_LINES = 6
MAX_CONSUMABLE_LINES = 6
CONSUMABLE_KINDS_AT_AREA = (Consumable.Kind.NEEDLE, Consumable.Kind.CARTRIDGE, Consumable.Kind.SYRINGE, Consumable.Kind.OTHER)
Status = ProcedureRecord.Status


# --- domain errors -------------------------------------------------------------------------------


class ProcedureError(Exception):
    """A refused chart action. `message` is for the user; `status` the HTTP status a view answers."""

    status = 400

    def __init__(self, message: str, *, errors: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.errors = dict(errors or {})


class ChartRefused(ProcedureError):
    """Bad input: a depth outside the bounds, a volume of 0, a lot of another product… (400)."""


class StepOutOfOrder(ProcedureError):
    """The step cannot be charted yet, or no longer (409)."""

    status = 409


class RecordClosed(ProcedureError):
    """The record is signed (amend it instead) or stopped at the re-screen (409)."""

    status = 409


class NumbingWaitNotOver(ProcedureError):
    """Injections before the protocol's numbing wait without a written reason (409)."""

    status = 409

    def __init__(self, message: str, *, unlock_at: datetime) -> None:
        super().__init__(message)
        self.unlock_at = unlock_at


class EarlyStartNotAllowed(ProcedureError):
    """The protocol's catalog setting does not let this role start before the numbing wait is over (403)."""

    status = 403


class NotQualified(ProcedureError):
    """The person charting or signing is not qualified for the session's protocol (403)."""

    status = 403


class StepsMissing(ProcedureError):
    """Sign-off with a required step missing (409). `missing` lists the steps' labels."""

    status = 409

    def __init__(self, missing: list[str]) -> None:
        super().__init__("Complete these steps before signing: " + ", ".join(missing) + ".")
        self.missing = missing


class StockRefused(ProcedureError):
    """Stock refused the session's use at sign-off (expired, recalled, not enough): nothing was signed (409)."""

    status = 409


class NotAllowed(PermissionDenied):
    """The acting user's role or locations do not allow this (views answer 403)."""


# --- input lines ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProductLine:
    """One product of an area's solution: the product, the lot it came from, the volume (and vials for vial products)."""

    product: Product
    lot: Lot
    volume_ml: Decimal
    vials: int | None = None


@dataclass(frozen=True)
class ConsumableLine:
    lot: Lot
    quantity: int


@dataclass(frozen=True)
class ReactionLine:
    kind: str
    severity: str = ""
    description: str = ""


# --- helpers -------------------------------------------------------------------------------------


def _require(ctx: audit.AuditContext, permission: str, what: str) -> User:
    actor = ctx.actor
    if actor is None or not actor.can(permission):
        raise NotAllowed(f"Your role may not {what}.")
    return actor


def _require_at(ctx: audit.AuditContext, permission: str, what: str, location_id: int) -> User:
    actor = _require(ctx, permission, what)
    if location_id not in actor.location_ids:
        raise NotAllowed("You do not work at this session's location.")
    return actor


def _qualified(actor: User, record: ProcedureRecord) -> None:
    problem = checks.qualification_problem(actor=actor, record=record)
    if problem:
        raise NotQualified(problem)


def _no_allergens(record: ProcedureRecord, products: Sequence[ProductLine]) -> None:
    if checks.allergy_acknowledged(record):
        return
    found = checks.allergens_by_product(patient=record.patient, products=[line.product for line in products])
    for index, line in enumerate(products, start=1):
        if line.product.pk in found:
            message = checks.allergy_message(patient=record.patient, product=line.product, allergens=found[line.product.pk])
            raise ChartRefused(message, errors={f"product_{index}": message})


def _audit(ctx: audit.AuditContext, record: ProcedureRecord, *, action: str, detail: dict[str, Any]) -> None:
    audit.record(
        ctx,
        action=action,
        object_type=OBJECT_TYPE,
        object_id=record.pk,
        patient_id=record.patient_id,
        location_id=record.location_id,
        detail=detail,
    )


def _locked(record: ProcedureRecord) -> ProcedureRecord:
    return (
        ProcedureRecord.objects.select_for_update()
        .select_related("location", "patient__location", "protocol", "catalog_version")
        .get(pk=record.pk)
    )


def _refresh(target: ProcedureRecord, source: ProcedureRecord) -> ProcedureRecord:
    """Copy the saved state back onto the caller's instance (views keep using it)."""
    for field in ProcedureRecord._meta.concrete_fields:
        setattr(target, field.attname, getattr(source, field.attname))  # setattr clears stale cached relations
    return target


def terms_of(record: ProcedureRecord) -> ProtocolTerms:
    return protocol_terms(record.catalog_version.snapshot, record.protocol.key)


def today_at(record: ProcedureRecord, now: datetime | None = None) -> date:
    return record.location.local(now or timezone.now()).date()


def _reason(text: str, what: str) -> str:
    text = (text or "").strip()
    if len(text) < MIN_REASON:
        raise ChartRefused(f"Write the reason {what} (at least {MIN_REASON} characters).", errors={"reason": "Write the reason."})
    if len(text) > MAX_REASON:
        raise ChartRefused(f"Keep the reason under {MAX_REASON} characters.", errors={"reason": "Too long."})
    return text


def _open(record: ProcedureRecord) -> None:
    if record.status == Status.SIGNED:
        raise RecordClosed("This session is signed: it can only be amended.")
    if record.status == Status.STOPPED:
        raise RecordClosed(f"This session was stopped at the re-screen: {record.stop_reason}")


def _before_injections(record: ProcedureRecord, what: str) -> None:
    if record.injections_started_at is not None:
        raise StepOutOfOrder(f"Injections have started: {what} can no longer be changed.")


def _need(record: ProcedureRecord, *steps: Step) -> None:
    done = {
        Step.RESCREEN: record.rescreened_at is not None and record.status != Status.STOPPED,
        Step.CONSENT: record.consent_confirmed_at is not None,
        Step.PHOTOS: record.photos_confirmed_at is not None,
        Step.NUMBING: record.numbing_applied_at is not None,
        Step.ANTISEPSIS: record.antisepsis_at is not None,
        Step.TREATMENT: record.injections_started_at is not None,
    }
    missing = [str(step.label) for step in steps if not done.get(step, True)]
    if missing:
        raise StepOutOfOrder("First complete: " + ", ".join(missing) + ".")


def _decimal(value: object, what: str, field: str) -> Decimal:
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        raise ChartRefused(f"The {what} must be a number.", errors={field: "Enter a number."}) from None
    if not number.is_finite():
        raise ChartRefused(f"The {what} must be a number.", errors={field: "Enter a number."})
    return number


def _stock_message(error: inventory.StockError) -> str:
    return str(error)


# --- opening the chart ---------------------------------------------------------------------------


def open_procedure(*, ctx: audit.AuditContext, appointment: Appointment) -> ProcedureRecord:
    """The session record of `appointment`, created (once) when the practitioner opens the chart.

    A booked appointment is checked in and the appointment marked in progress (scheduling's
    services). The protocol comes from the appointment's course, else from its protocol key; the
    catalog version is pinned; the areas are the course's (else every area of the protocol).
    """
    actor = _require_at(ctx, "procedure.chart", "chart sessions", appointment.location_id)
    existing = ProcedureRecord.objects.filter(appointment_id=appointment.pk).first()
    if existing is not None:
        return existing
    if appointment.kind != Appointment.Kind.TREATMENT:
        raise ChartRefused("Only a treatment session has a procedure record (this is a consultation).")
    try:
        version = current_version()
    except CatalogNotLoaded as error:
        raise StepOutOfOrder(str(error)) from None
    course_session = courses_selectors.course_for_appointment(appointment)
    course = course_session.course if course_session is not None else None
    protocol = course.protocol if course is not None else Protocol.objects.filter(key=appointment.protocol_key).first()
    if protocol is None:
        raise ChartRefused("This appointment names no protocol: book it from a course or with a protocol.")
    try:
        terms = protocol_terms(version.snapshot, protocol.key)
    except ProtocolMissing:
        raise ChartRefused(f"The current catalog no longer offers “{protocol.name}”.") from None
    if course is not None:
        wanted = list(course.areas.order_by("position", "name").values_list("key", flat=True))
        area_keys = [key for key in wanted if key in terms.areas]
    else:
        area_keys = list(terms.areas)
    if not area_keys:
        raise ChartRefused("None of the planned areas is part of the protocol any more: ask a doctor to review the course.")
    _qualified(actor, ProcedureRecord(protocol=protocol))
    try:
        with transaction.atomic():
            locked = Appointment.objects.select_for_update().get(pk=appointment.pk)
            again = ProcedureRecord.objects.filter(appointment_id=locked.pk).first()
            if again is not None:
                return again
            if locked.status == Appointment.Status.BOOKED:
                locked = scheduling.check_in(ctx=ctx, appointment=locked)
            if locked.status == Appointment.Status.CHECKED_IN:
                locked = scheduling.start_appointment(ctx=ctx, appointment=locked)
            if locked.status != Appointment.Status.IN_PROGRESS:
                raise StepOutOfOrder(f"This appointment is {locked.get_status_display().lower()}: its chart cannot be opened.")
            record = ProcedureRecord.objects.create(
                appointment=locked,
                patient_id=locked.patient_id,
                location_id=locked.location_id,
                practitioner_id=locked.practitioner_id,
                protocol=protocol,
                catalog_version=version,
                course_session=course_session,
                area_keys=area_keys,
                numbing_minutes=terms.numbing_minutes,
                opened_by=actor,
                started_at=timezone.now(),
            )
            _audit(
                ctx,
                record,
                action=AuditEvent.Action.CREATE,
                detail={"appointment": locked.pk, "protocol": protocol.key, "catalog_version": version.number, "areas": area_keys},
            )
    except scheduling.SchedulingError as error:
        raise StepOutOfOrder(error.message) from None
    except IntegrityError:
        existing = ProcedureRecord.objects.filter(appointment_id=appointment.pk).first()
        if existing is None:
            raise
        return existing
    return record


# --- 1. re-screen --------------------------------------------------------------------------------


def _apply_eligibility(record: ProcedureRecord, result: Any, now: datetime) -> list[str]:
    record.rescreen_status = result.status
    record.rescreen_overridden = result.override is not None
    if result.allows_booking:
        record.status = Status.OPEN
        return ["rescreen_status", "rescreen_overridden", "status"]
    record.status = Status.STOPPED
    record.stop_reason = result.explanation[:2000]
    record.stopped_at = now
    return ["rescreen_status", "rescreen_overridden", "status", "stop_reason", "stopped_at"]


def record_rescreen(*, ctx: audit.AuditContext, record: ProcedureRecord, answers: dict[str, str]) -> ProcedureRecord:
    """Re-screen the patient for today's areas (screening engine). A verdict that does not allow
    treatment stops the session with its reason, until a doctor overrides or a new re-screen clears it."""
    _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    now = timezone.now()
    with transaction.atomic():
        current = _locked(record)
        if current.status == Status.SIGNED:
            raise RecordClosed("This session is signed: it can only be amended.")
        _before_injections(current, "the re-screen")
        try:
            screened = screening.record_screening(
                ctx=ctx, patient=current.patient, answers=answers, kind="rescreen", area_keys=current.area_keys
            )
        except screening.InvalidAnswers as error:
            raise ChartRefused("Answer every re-screen question.", errors=error.errors) from None
        except screening.NeedsFullScreening as error:
            raise StepOutOfOrder(str(error)) from None
        result = eligibility(patient=current.patient, protocol=current.protocol, area_keys=current.area_keys)
        current.rescreen = screened
        current.rescreened_at = now
        fields = ["rescreen", "rescreened_at", *_apply_eligibility(current, result, now)]
        current.save(update_fields=[*fields, "updated_at"])
        _audit(
            ctx,
            current,
            action=AuditEvent.Action.UPDATE,
            detail={"step": Step.RESCREEN, "screening": screened.pk, "eligibility": result.status},
        )
    return _refresh(record, current)


def override_rescreen(*, ctx: audit.AuditContext, record: ProcedureRecord, reason: str) -> ProcedureRecord:
    """A doctor overrides the "not eligible" verdict that stopped the session (screening's override, audited there too)."""
    _require_at(ctx, "screening.override", "override a verdict (only a doctor may)", record.location_id)
    now = timezone.now()
    with transaction.atomic():
        current = _locked(record)
        if current.status != Status.STOPPED or current.rescreen_id is None:
            raise StepOutOfOrder("Only a session stopped at the re-screen can be overridden.")
        screened = current_screening(current.patient)
        if screened is None or screened.pk != current.rescreen_id:
            raise StepOutOfOrder("The patient was screened again since this re-screen: re-screen the session.")
        try:
            screening.override_verdict(ctx=ctx, screening=screened, protocol=current.protocol, area_keys=current.area_keys, reason=reason)
        except screening.OverrideRefused as error:
            raise ChartRefused(str(error), errors={"reason": str(error)}) from None
        result = eligibility(patient=current.patient, protocol=current.protocol, area_keys=current.area_keys)
        fields = _apply_eligibility(current, result, now)
        current.save(update_fields=[*fields, "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.OVERRIDE, detail={"step": Step.RESCREEN, "eligibility": result.status})
    return _refresh(record, current)


# --- 2, 3. placeholders ------------------------------------------------------------------------


def confirm_consent(*, ctx: audit.AuditContext, record: ProcedureRecord) -> ProcedureRecord:
    """PLACEHOLDER until the consent issue lands: the practitioner confirms a signed consent form is on file."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        current.consent_confirmed_at, current.consent_confirmed_by = timezone.now(), actor
        current.save(update_fields=["consent_confirmed_at", "consent_confirmed_by", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"step": Step.CONSENT, "placeholder": True})
    return _refresh(record, current)


def confirm_photos(*, ctx: audit.AuditContext, record: ProcedureRecord) -> ProcedureRecord:
    """PLACEHOLDER until the photos issue lands: the practitioner confirms the before-photos were taken."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        current.photos_confirmed_at, current.photos_confirmed_by = timezone.now(), actor
        current.save(update_fields=["photos_confirmed_at", "photos_confirmed_by", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"step": Step.PHOTOS, "placeholder": True})
    return _refresh(record, current)


# --- 4, 5. numbing and antisepsis ----------------------------------------------------------------


def record_numbing(
    *,
    ctx: audit.AuditContext,
    record: ProcedureRecord,
    product_name: str = "",
    applied_at: datetime | None = None,
    lot: Lot | None = None,
) -> ProcedureRecord:
    """The numbing cream went on at `applied_at` (default now; up to two hours earlier, never in the
    future). From then the protocol's numbing wait runs; the injection steps stay locked until it is over.
    `lot` is the tube's lot (a topical anaesthetic in this location's stock; it names the cream)."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    if lot is not None:
        if lot.consumable is None or lot.consumable.kind != Consumable.Kind.NUMBING:
            raise ChartRefused("Choose a lot of numbing cream.", errors={"numbing_lot": "Not a numbing cream lot."})
        _check_lot(inventory.check_usable, lot=lot, record=record, on=today_at(record), field="numbing_lot")
        product_name = product_name or lot.item_name
    name = (product_name or "").strip()
    if not name:
        raise ChartRefused("Name the numbing cream.", errors={"product_name": "Name the numbing cream."})
    if len(name) > MAX_TEXT:
        raise ChartRefused(f"Keep the name under {MAX_TEXT} characters.", errors={"product_name": "Too long."})
    now = timezone.now()
    applied = applied_at or now
    if applied > now:
        message = "The numbing time cannot be in the future."
        raise ChartRefused(message, errors={"applied_at": message})
    if applied < now - MAX_NUMBING_BACKDATE:
        message = "Chart the numbing within two hours of applying it."
        raise ChartRefused(message, errors={"applied_at": message})
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        _need(current, Step.RESCREEN)
        _before_injections(current, "the numbing time")
        current.numbing_product, current.numbing_applied_at, current.numbing_recorded_by = name, applied, actor
        current.numbing_lot = lot
        current.save(update_fields=["numbing_product", "numbing_lot", "numbing_applied_at", "numbing_recorded_by", "updated_at"])
        _audit(
            ctx,
            current,
            action=AuditEvent.Action.UPDATE,
            detail={
                "step": Step.NUMBING,
                "backdated_minutes": int((now - applied).total_seconds() // 60),
                "lot": lot.pk if lot is not None else None,
            },
        )
    return _refresh(record, current)


def record_antisepsis(*, ctx: audit.AuditContext, record: ProcedureRecord) -> ProcedureRecord:
    """The area was cleaned with an alcohol swab (after the numbing cream came off): when the catalog's
    procedure steps allow it (by default after the numbing wait, not in the same minute as the cream)."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    now = timezone.now()
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        _need(current, Step.RESCREEN, Step.NUMBING)
        _before_injections(current, "the antisepsis")
        problem = step_rules.step_problem(current, Step.ANTISEPSIS, now, current.catalog_version.snapshot)
        if problem:
            raise StepOutOfOrder(problem)
        current.antisepsis_at, current.antisepsis_by = now, actor
        current.save(update_fields=["antisepsis_at", "antisepsis_by", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"step": Step.ANTISEPSIS})
    return _refresh(record, current)


def start_injections_early(*, ctx: audit.AuditContext, record: ProcedureRecord, reason: str) -> ProcedureRecord:
    """End the numbing wait early: needs a written reason and the role the protocol's catalog setting
    names (a doctor by default, else EarlyStartNotAllowed); audited as an override. Before the alcohol
    swab it lets the swab and the injections go ahead; after it, the injections start now."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    text = _reason(reason, "for starting before the numbing wait is over")
    now = timezone.now()
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        _need(current, Step.RESCREEN, Step.CONSENT, Step.PHOTOS, Step.NUMBING)
        if current.injections_started_at is not None or current.early_start_reason:
            raise StepOutOfOrder(
                "Injections have already started." if current.injections_started_at else "The wait was already ended early."
            )
        unlock = current.injections_unlock_at
        assert unlock is not None
        if now >= unlock:
            raise StepOutOfOrder("The numbing wait is over: no reason is needed, chart the treated area.")
        terms = terms_of(current)
        refused = step_rules.early_start_problem(terms.early_start_role, actor.role, terms.name)
        if refused:
            raise EarlyStartNotAllowed(refused)
        current.early_start_reason = text
        if current.antisepsis_at is not None:
            current.injections_started_at = now
        current.save(update_fields=["injections_started_at", "early_start_reason", "updated_at"])
        _audit(
            ctx,
            current,
            action=AuditEvent.Action.OVERRIDE,
            detail={
                "step": Step.TREATMENT,
                "numbing_wait": "started early",
                "minutes_early": math.ceil((unlock - now).total_seconds() / 60),
                "role": actor.role,
                "allowed": terms.early_start_role,
            },
        )
    return _refresh(record, current)


# --- 6. treated areas ----------------------------------------------------------------------------


def _check_lot(check: Any, *, lot: Lot, record: ProcedureRecord, on: date, field: str, **kwargs: Any) -> None:
    try:
        check(lot=lot, location=record.location, on=on, **kwargs)
    except inventory.StockError as error:
        raise ChartRefused(_stock_message(error), errors={field: _stock_message(error)}) from None


def _product_rows(
    record: ProcedureRecord, terms: ProtocolTerms, lines: Sequence[ProductLine], on: date
) -> list[tuple[ProductLine, Decimal, Decimal]]:
    rows = []
    for index, line in enumerate(lines, start=1):
        field = f"product_{index}"
        if line.product.key not in terms.product_keys:
            raise ChartRefused(f"{line.product.name} is not a product of this protocol.", errors={field: "Not a product of this protocol."})
        volume = _decimal(line.volume_ml, "volume", f"volume_{index}")
        if volume <= 0:
            raise ChartRefused("The volume must be more than 0 ml.", errors={f"volume_{index}": "More than 0 ml."})
        if volume > MAX_VOLUME_ML or volume != volume.quantize(Decimal("0.01")):
            raise ChartRefused(
                f"Give the volume in ml with at most two decimals, up to {MAX_VOLUME_ML.normalize():f} ml.",
                errors={f"volume_{index}": "Check the volume."},
            )
        if line.lot.unit == Unit.ML:
            quantity = volume
        else:
            if line.vials is None or line.vials < 1 or line.vials > 50:
                raise ChartRefused(
                    f"Say how many vials of {line.product.name} were opened (1 to 50).", errors={f"vials_{index}": "How many vials?"}
                )
            quantity = Decimal(line.vials)
        _check_lot(
            inventory.check_usable, lot=line.lot, record=record, on=on, field=f"lot_{index}", product=line.product, quantity=quantity
        )
        rows.append((line, volume, quantity))
    return rows


def _consumable_rows(record: ProcedureRecord, lines: Sequence[ConsumableLine], on: date) -> list[ConsumableLine]:
    for index, line in enumerate(lines, start=1):
        field = f"consumable_lot_{index}"
        consumable = line.lot.consumable
        if consumable is None or consumable.kind not in CONSUMABLE_KINDS_AT_AREA:
            raise ChartRefused(
                "Choose a lot of needles, cartridges or syringes.", errors={field: "Not a needle, cartridge or syringe lot."}
            )
        if not isinstance(line.quantity, int) or not 1 <= line.quantity <= 100:
            raise ChartRefused("Count the needles or cartridges used (1 to 100).", errors={f"consumable_quantity_{index}": "1 to 100."})
        _check_lot(
            inventory.check_usable, lot=line.lot, record=record, on=on, field=field, consumable=consumable, quantity=Decimal(line.quantity)
        )
    return list(lines)


def _start_injections(current: ProcedureRecord, now: datetime) -> bool:
    """Start the injections now if the numbing wait is over; refuse before it (unless started early)."""
    if current.injections_started_at is not None:
        return False
    unlock = current.injections_unlock_at
    assert unlock is not None
    if now < unlock and not current.early_start_reason:
        local = current.location.local(unlock)
        raise NumbingWaitNotOver(
            f"Injections are locked until {local:%H:%M} (the protocol's {current.numbing_minutes}-minute numbing wait). "
            "To start earlier, give the reason.",
            unlock_at=unlock,
        )
    problem = step_rules.step_problem(current, Step.TREATMENT, now, current.catalog_version.snapshot)
    if problem:
        raise StepOutOfOrder(problem)
    current.injections_started_at = now
    return True


def record_area_treatment(
    *,
    ctx: audit.AuditContext,
    record: ProcedureRecord,
    area_key: str,
    technique_key: str,
    depth_mm: Decimal | None,
    passes: int | None = None,
    dermapen_speed: int | None = None,
    device: Device | None = None,
    products: Sequence[ProductLine] = (),
    consumables: Sequence[ConsumableLine] = (),
    notes: str = "",
) -> AreaTreatment:
    """Chart one treated area. The first one starts the injections — refused before the numbing wait
    is over unless an early start was given with its reason. Depth within the protocol's bounds for
    the area (and always within 0–3 mm); each product with a usable lot of that product at this
    location; volumes above 0. Nothing is saved unless everything is valid."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    if len(products) > MAX_PRODUCT_LINES or len(consumables) > MAX_CONSUMABLE_LINES:
        raise ChartRefused("Too many lines for one area: chart the area in two parts.")
    if len(notes or "") > 500:
        raise ChartRefused("Keep the notes under 500 characters.", errors={"notes": "Too long."})
    now = timezone.now()
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        _qualified(actor, current)
        _need(current, Step.RESCREEN, Step.CONSENT, Step.PHOTOS, Step.NUMBING, Step.ANTISEPSIS)
        terms = terms_of(current)
        errors: dict[str, str] = {}
        area_terms = terms.area(area_key) if area_key in current.area_keys else None
        if area_terms is None:
            raise ChartRefused("Choose one of the session's areas.", errors={"area": "Choose one of the session's areas."})
        if technique_key not in terms.technique_keys:
            raise ChartRefused("Choose one of the protocol's techniques.", errors={"technique": "Choose one of the protocol's techniques."})
        area = Area.objects.get(key=area_key)
        technique = Technique.objects.get(key=technique_key)
        problem = area_terms.depth_problem(depth_mm)
        if problem:
            errors["depth_mm"] = problem
        dermapen = technique.method == Technique.Method.DERMAPEN
        if dermapen:
            if depth_mm is None:
                errors["depth_mm"] = "A Dermapen treatment needs the needle depth."
            if dermapen_speed is None or not 1 <= dermapen_speed <= MAX_DERMAPEN_SPEED:
                errors["dermapen_speed"] = f"Give the Dermapen speed setting (1 to {MAX_DERMAPEN_SPEED})."
            if passes is None:
                errors["passes"] = "Give the number of passes."
            if device is None:
                errors["device"] = "Choose the Dermapen used."
            elif device.location_id != current.location_id or device.kind != Device.Kind.DERMAPEN or not device.in_service:
                errors["device"] = "Choose an in-service Dermapen of this location."
        else:
            if dermapen_speed is not None:
                errors["dermapen_speed"] = "Direct injection has no Dermapen speed."
            device = None
        if passes is not None and not 1 <= passes <= MAX_PASSES:
            errors["passes"] = f"Passes are counted from 1 to {MAX_PASSES}."
        if not products and not terms.uses_prp:
            errors["product_1"] = "Record the product injected, with its lot and volume."
        if not consumables and consumable_lots_required():
            errors["consumable_lot_1"] = "Record the needle or cartridge used, with its lot (the clinic requires it for the recall)."
        if errors:
            raise ChartRefused(next(iter(errors.values())), errors=errors)
        on = today_at(current, now)
        _no_allergens(current, products)
        product_rows = _product_rows(current, terms, products, on)
        consumable_rows = _consumable_rows(current, consumables, on)
        started = _start_injections(current, now)
        if started:
            current.save(update_fields=["injections_started_at", "updated_at"])
        treatment = AreaTreatment.objects.create(
            record=current,
            area=area,
            technique=technique,
            method=technique.method,
            mode=technique.mode,
            depth_mm=depth_mm,
            passes=passes,
            dermapen_speed=dermapen_speed if dermapen else None,
            device=device,
            notes=(notes or "").strip(),
            recorded_at=now,
            recorded_by=actor,
        )
        ProductUsage.objects.bulk_create(
            [
                ProductUsage(
                    record=current, treatment=treatment, product=line.product, lot=line.lot, volume_ml=volume, stock_quantity=quantity
                )
                for line, volume, quantity in product_rows
            ]
        )
        ConsumableUsage.objects.bulk_create(
            [
                ConsumableUsage(record=current, treatment=treatment, consumable=line.lot.consumable, lot=line.lot, quantity=line.quantity)
                for line in consumable_rows
            ]
        )
        _audit(
            ctx,
            current,
            action=AuditEvent.Action.UPDATE,
            detail={
                "step": Step.TREATMENT,
                "treatment": treatment.pk,
                "area": area_key,
                "technique": technique_key,
                "lots": [line.lot.pk for line, _v, _q in product_rows] + [line.lot.pk for line in consumable_rows],
                "injections_started": started,
            },
        )
    _refresh(record, current)
    return treatment


def remove_area_treatment(*, ctx: audit.AuditContext, record: ProcedureRecord, treatment_id: int) -> ProcedureRecord:
    """Take back a treated area charted by mistake (open records only; a signed one is amended)."""
    _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        deleted, _ = AreaTreatment.objects.filter(record=current, pk=treatment_id).delete()
        if not deleted:
            raise ChartRefused("That treated area is not part of this session.")
        _audit(ctx, current, action=AuditEvent.Action.DELETE, detail={"step": Step.TREATMENT, "treatment": treatment_id})
    return _refresh(record, current)


def record_prp(
    *,
    ctx: audit.AuditContext,
    record: ProcedureRecord,
    blood_drawn_ml: Decimal,
    drawn_at: datetime,
    kit_lot: Lot,
    centrifuge_programme: str,
    prepared_ml: Decimal,
    injected_ml: Decimal,
) -> PrpPreparation:
    """The PRP of a protocol that uses it: blood draw, kit lot (stock), centrifuge programme, volumes.
    The plasma is the patient's own: it is never stock. Charting again replaces the previous entry."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    now = timezone.now()
    programme = (centrifuge_programme or "").strip()
    errors: dict[str, str] = {}
    if not programme or len(programme) > 120:
        errors["centrifuge_programme"] = "Give the centrifuge programme (up to 120 characters)."
    if not Decimal(0) < blood_drawn_ml <= MAX_BLOOD_ML:
        errors["blood_drawn_ml"] = f"The blood drawn must be more than 0 and at most {MAX_BLOOD_ML.normalize():f} ml."
    if not Decimal(0) < prepared_ml <= blood_drawn_ml:
        errors["prepared_ml"] = "The plasma prepared must be more than 0 and not more than the blood drawn."
    if not Decimal(0) < injected_ml <= prepared_ml:
        errors["injected_ml"] = "The plasma injected must be more than 0 and not more than the plasma prepared."
    if drawn_at > now or drawn_at < now - MAX_NUMBING_BACKDATE * 2:
        errors["drawn_at"] = "The blood draw time must be today, within the last four hours."
    consumable = kit_lot.consumable
    if consumable is None or consumable.kind != Consumable.Kind.PRP_KIT:
        errors["kit_lot"] = "Choose a lot of PRP preparation kits."
    if errors:
        raise ChartRefused(next(iter(errors.values())), errors=errors)
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        _qualified(actor, current)
        if not terms_of(current).uses_prp:
            raise ChartRefused("This protocol does not use PRP.")
        _need(current, Step.RESCREEN)
        _check_lot(
            inventory.check_usable,
            lot=kit_lot,
            record=current,
            on=today_at(current, now),
            field="kit_lot",
            consumable=consumable,
            quantity=Decimal(1),
        )
        PrpPreparation.objects.filter(record=current).delete()
        prp = PrpPreparation.objects.create(
            record=current,
            blood_drawn_ml=blood_drawn_ml,
            drawn_at=drawn_at,
            kit_lot=kit_lot,
            centrifuge_programme=programme,
            prepared_ml=prepared_ml,
            injected_ml=injected_ml,
            recorded_at=now,
            recorded_by=actor,
        )
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"step": Step.PRP, "kit_lot": kit_lot.pk})
    _refresh(record, current)
    return prp


# --- 7. reactions --------------------------------------------------------------------------------


def record_reactions(*, ctx: audit.AuditContext, record: ProcedureRecord, reactions: Sequence[ReactionLine]) -> ProcedureRecord:
    """The immediate reactions after the injections (or "none"), each with its severity. Replaces earlier entries."""
    actor = _require_at(ctx, "procedure.chart", "chart sessions", record.location_id)
    kinds = [line.kind for line in reactions]
    errors: dict[str, str] = {}
    if not reactions:
        errors["kinds"] = "Choose “None” or the reactions seen."
    elif len(set(kinds)) != len(kinds) or not set(kinds) <= set(Reaction.Kind.values):
        errors["kinds"] = "Choose each reaction once."
    elif Reaction.Kind.NONE in kinds and len(kinds) > 1:
        errors["kinds"] = "“None” cannot be chosen together with a reaction."
    for line in reactions:
        if line.kind != Reaction.Kind.NONE and line.severity not in Reaction.Severity.values:
            errors[f"severity_{line.kind}"] = "Give the severity."
        if line.kind == Reaction.Kind.OTHER and not line.description.strip():
            errors["description"] = "Describe the other reaction."
        if len(line.description) > 300:
            errors["description"] = "Keep the description under 300 characters."
    if errors:
        raise ChartRefused(next(iter(errors.values())), errors=errors)
    now = timezone.now()
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        _need(current, Step.TREATMENT)
        Reaction.objects.filter(record=current).delete()
        Reaction.objects.bulk_create(
            [
                Reaction(
                    record=current,
                    kind=line.kind,
                    severity="" if line.kind == Reaction.Kind.NONE else line.severity,
                    description=line.description.strip(),
                    recorded_at=now,
                    recorded_by=actor,
                )
                for line in reactions
            ]
        )
        current.reactions_recorded_at = now
        current.save(update_fields=["reactions_recorded_at", "updated_at"])
        _audit(ctx, current, action=AuditEvent.Action.UPDATE, detail={"step": Step.REACTIONS, "kinds": sorted(kinds)})
    return _refresh(record, current)


# --- 8. sign-off ---------------------------------------------------------------------------------


def missing_steps(record: ProcedureRecord, *, treatments: int, has_prp: bool, uses_prp: bool) -> list[str]:
    """The labels of the required steps not done yet (pure)."""
    missing = []
    if record.rescreened_at is None or record.status == Status.STOPPED:
        missing.append(Step.RESCREEN.label)
    if record.consent_confirmed_at is None:
        missing.append(Step.CONSENT.label)
    if record.photos_confirmed_at is None:
        missing.append(Step.PHOTOS.label)
    if record.numbing_applied_at is None:
        missing.append(Step.NUMBING.label)
    if record.antisepsis_at is None:
        missing.append(Step.ANTISEPSIS.label)
    if treatments == 0 or record.injections_started_at is None:
        missing.append(Step.TREATMENT.label)
    if uses_prp and not has_prp:
        missing.append(Step.PRP.label)
    if record.reactions_recorded_at is None:
        missing.append(Step.REACTIONS.label)
    return [str(label) for label in missing]


def stock_usages(record: ProcedureRecord) -> list[inventory.StockUsage]:
    """What the session takes out of stock: each product usage, each consumable usage, the PRP kit (never the plasma)."""
    usages = [
        inventory.StockUsage(lot=usage.lot, quantity=usage.stock_quantity)
        for usage in ProductUsage.objects.filter(record=record).select_related("lot").order_by("id")
    ]
    usages += [
        inventory.StockUsage(lot=usage.lot, quantity=Decimal(usage.quantity))
        for usage in ConsumableUsage.objects.filter(record=record).select_related("lot").order_by("id")
    ]
    usages += [
        inventory.StockUsage(lot=prp.kit_lot, quantity=Decimal(1))
        for prp in PrpPreparation.objects.filter(record=record).select_related("kit_lot")
    ]
    return usages


def sign_procedure(*, ctx: audit.AuditContext, record: ProcedureRecord) -> ProcedureRecord:
    """Sign the session: from now on the record can only be amended (the database refuses changes).

    In one transaction: refuse if a required step is missing (StepsMissing); take every product,
    consumable and kit lot out of stock (inventory.take_stock — refused as StockRefused, nothing
    signed, when a lot expired, was recalled or no longer holds enough); mark the record signed;
    complete the appointment; recompute the course's windows; run the registered sign-off hooks
    (aftercare). Any failure rolls all of it back.
    """
    actor = _require_at(ctx, "procedure.sign", "sign sessions", record.location_id)
    now = timezone.now()
    with transaction.atomic():
        current = _locked(record)
        _open(current)
        _qualified(actor, current)
        terms = terms_of(current)
        missing = missing_steps(
            current,
            treatments=AreaTreatment.objects.filter(record=current).count(),
            has_prp=PrpPreparation.objects.filter(record=current).exists(),
            uses_prp=terms.uses_prp,
        )
        if missing:
            raise StepsMissing(missing)
        try:
            movements = inventory.take_stock(
                ctx=ctx,
                location=current.location,
                usages=stock_usages(current),
                reference_type=STOCK_REFERENCE,
                reference_id=str(current.pk),
                patient_id=current.patient_id,
                on=today_at(current, now),
            )
        except inventory.StockError as error:
            raise StockRefused(f"Not signed: {error}") from None
        current.status, current.signed_at, current.signed_by = Status.SIGNED, now, actor
        current.save(update_fields=["status", "signed_at", "signed_by", "updated_at"])
        try:
            scheduling.complete_appointment(ctx=ctx, appointment=current.appointment)
        except scheduling.SchedulingError as error:
            raise StepOutOfOrder(f"Not signed: {error.message}") from None
        # The course's progress is derived from completed appointments; its later windows are
        # re-derived from today's actual date (courses' recompute_windows, via the chart's entry point).
        courses_services.after_session_completed(ctx=ctx, appointment=current.appointment)
        _audit(
            ctx,
            current,
            action=AuditEvent.Action.UPDATE,
            detail={"step": Step.SIGN_OFF, "status": Status.SIGNED, "movements": [movement.pk for movement in movements]},
        )
        run_sign_off_hooks(ctx=ctx, record=current)
    return _refresh(record, current)


# --- amendments ----------------------------------------------------------------------------------


def amend_record(*, ctx: audit.AuditContext, record: ProcedureRecord, target: str, new_value: str, reason: str) -> Amendment:
    """Correct a signed record with an amendment (and its stock correction): see `procedures.amending`."""
    from .amending import amend_record as amend

    return amend(ctx=ctx, record=record, target=target, new_value=new_value, reason=reason)
