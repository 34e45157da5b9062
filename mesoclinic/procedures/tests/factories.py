"""Test helpers for the session chart: a clinic with stock, an appointment today, and the chart's steps."""

from __future__ import annotations

from datetime import date, time, timedelta
from decimal import Decimal

from django.utils import timezone

from mesoclinic.catalog.models import Product
from mesoclinic.catalog.selectors import current_version
from mesoclinic.core import audit
from mesoclinic.courses.planner import plan_course
from mesoclinic.courses.services import book_course
from mesoclinic.courses.tests.factories import prescribe_hair
from mesoclinic.inventory.models import Consumable, Lot
from mesoclinic.inventory.tests.factories import ConsumableFactory, make_lot
from mesoclinic.procedures import services
from mesoclinic.procedures.models import ProcedureRecord
from mesoclinic.screening.services import questions_to_ask

__all__ = ["ConsumableFactory", "ctx_of", "make_lot"]


def ctx_of(user) -> audit.AuditContext:
    return audit.AuditContext(actor=user, path="/test")


def product(key: str = "hair_cocktail") -> Product:
    return Product.objects.get(key=key)


def cartridge_lot(location, quantity: str = "20", **kwargs):
    consumable = Consumable.objects.filter(key="dermapen-cartridge").first() or ConsumableFactory(
        key="dermapen-cartridge", name="Dermapen cartridge 16-pin", kind=Consumable.Kind.CARTRIDGE
    )
    return make_lot(location, consumable=consumable, quantity=quantity, **kwargs)


def kit_lot(location, quantity: str = "5", **kwargs):
    consumable = Consumable.objects.filter(key="prp-kit").first() or ConsumableFactory(
        key="prp-kit", name="PRP kit", kind=Consumable.Kind.PRP_KIT
    )
    return make_lot(location, consumable=consumable, quantity=quantity, **kwargs)


def answers_for(record: ProcedureRecord, **yes: bool) -> dict[str, str]:
    asked = questions_to_ask(version=current_version(), kind="rescreen", area_keys=record.area_keys)
    return {str(q["key"]): "yes" if yes.get(str(q["key"])) else "no" for q in asked}


def prepare(ctx, record: ProcedureRecord, *, numbing: str = "EMLA 5% cream") -> ProcedureRecord:
    """Steps 1–5: re-screen (all "no"), consent, photos, the numbing cream put on in the waiting area
    one numbing wait ago (so the wait is over now), and the alcohol swab now."""
    numb(ctx, record, numbing=numbing, applied_at=timezone.now() - timedelta(minutes=record.numbing_minutes))
    services.record_antisepsis(ctx=ctx, record=record)
    return record


def numb(ctx, record: ProcedureRecord, *, numbing: str = "EMLA 5% cream", applied_at=None) -> ProcedureRecord:
    """Steps 1–4: re-screen (all "no"), consent, photos, numbing (now unless `applied_at`): the wait runs from then."""
    services.record_rescreen(ctx=ctx, record=record, answers=answers_for(record))
    services.confirm_consent(ctx=ctx, record=record)
    services.confirm_photos(ctx=ctx, record=record)
    services.record_numbing(ctx=ctx, record=record, product_name=numbing, applied_at=applied_at)
    return record


def needles_for(record: ProcedureRecord) -> list[services.ConsumableLine]:
    """One cartridge of the location's stock: the clinic requires the needle/cartridge lot by default."""
    lot = Lot.objects.filter(location=record.location, consumable__kind=Consumable.Kind.CARTRIDGE).order_by("id").first()
    return [services.ConsumableLine(lot=lot or cartridge_lot(record.location), quantity=1)]


def treat(ctx, record: ProcedureRecord, *, lot, volume: str = "2.50", depth: str | None = "1.00", device=None, consumables=None, **kwargs):
    lines = kwargs.pop("products", None) or [services.ProductLine(product=lot.product, lot=lot, volume_ml=Decimal(volume))]
    consumables = needles_for(record) if consumables is None else consumables
    return services.record_area_treatment(
        ctx=ctx,
        record=record,
        area_key=kwargs.pop("area_key", "scalp"),
        technique_key=kwargs.pop("technique_key", "dermapen_rolling"),
        depth_mm=Decimal(depth) if depth is not None else None,
        passes=kwargs.pop("passes", 3),
        dermapen_speed=kwargs.pop("dermapen_speed", 8),
        device=device if device is not None else record.appointment.device,
        products=lines,
        consumables=list(consumables),
        **kwargs,
    )


def no_reactions(ctx, record: ProcedureRecord) -> ProcedureRecord:
    return services.record_reactions(ctx=ctx, record=record, reactions=[services.ReactionLine(kind="none")])


def chart_fully(ctx, record: ProcedureRecord, clock, *, lot, volume: str = "2.50", consumables=None) -> ProcedureRecord:
    """Steps 1–7 with the clock advanced past the numbing wait."""
    prepare(ctx, record)
    clock.shift(timedelta(minutes=record.numbing_minutes))
    treat(ctx, record, lot=lot, volume=volume, consumables=consumables)
    no_reactions(ctx, record)
    return record


def book_hair_course(clinic, *, start_on: date, at: time = time(10, 0), sessions: int = 6):
    course = prescribe_hair(
        clinic.doctor, clinic.patient, sessions=sessions, interval=(28, 28), preferred=clinic.nurse, location=clinic.location
    )
    rows = plan_course(course=course, start_on=start_on, at_time=at)
    appointments = book_course(ctx=ctx_of(clinic.receptionist), course=course, proposals=rows)
    return course, appointments
