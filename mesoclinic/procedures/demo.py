"""Demo session records (small scale): a few signed sessions for patients who have a course.

The courses demo books every course from tomorrow, so there is no past course session to chart.
Instead, appointments that already happened (the scheduling demo's completed treatment sessions of
the last two weeks) are charted for patients with a course — preferring them, then other screened
patients. Past records cannot go through the chart services (they check against the clock: the
numbing wait, "applied within two hours"), so they are constructed with timestamps relative to the
appointment; stock is taken through `inventory.services.take_stock` on the session's date, so the
ledger and the recall search see them like any other session. The aftercare demo (which runs after
this one) issues their handouts. The demo patient, Amelia Hart, has none: the golden path charts hers.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from mesoclinic.catalog.models import Area, Protocol, Technique
from mesoclinic.catalog.selectors import current_version
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.seeding import SeedRun
from mesoclinic.courses.models import Course
from mesoclinic.inventory import selectors as inventory_selectors
from mesoclinic.inventory import services as inventory
from mesoclinic.inventory.models import Consumable
from mesoclinic.scheduling.models import Appointment

from .models import AreaTreatment, ConsumableUsage, ProcedureRecord, ProductUsage, Reaction
from .services import OBJECT_TYPE, STOCK_REFERENCE
from .terms import protocol_terms

SESSIONS = 6
REACTIONS = [("redness", "mild"), ("none", ""), ("redness", "mild"), ("bruising", "mild"), ("none", ""), ("pain", "moderate")]


def seed(run: SeedRun) -> None:
    if run.scale.name != "small":
        run.say("Demo session records are seeded in the small scale only.")
        return
    signed = seed_sessions(run)
    run.say(f"{signed} signed session records (with stock taken) for patients with courses.")


def _candidates(run: SeedRun) -> list[Appointment]:
    now = timezone.now()
    demo = run.shared.get("demo_patient")
    demo_id = demo.pk if demo is not None else 0
    with_course = set(Course.objects.values_list("patient_id", flat=True))
    past = (
        Appointment.objects.filter(
            kind=Appointment.Kind.TREATMENT, status=Appointment.Status.COMPLETED, ends_at__lte=now, patient__screenings__isnull=False
        )
        .exclude(patient_id=demo_id)
        .select_related("location", "patient", "practitioner", "device")
        .distinct()
        .order_by("-starts_at", "id")
    )
    chosen: list[Appointment] = []
    patients: set[int] = set()
    for preferred in (True, False):
        for appointment in past[:2000]:
            if len(chosen) >= SESSIONS:
                return chosen
            if appointment.patient_id in patients or (appointment.patient_id in with_course) != preferred:
                continue
            chosen.append(appointment)
            patients.add(appointment.patient_id)
    return chosen


def seed_sessions(run: SeedRun) -> int:
    version = current_version()
    protocol = Protocol.objects.get(key="hair_cocktail")
    terms = protocol_terms(version.snapshot, protocol.key)
    scalp = Area.objects.get(key="scalp")
    rolling, nappage = Technique.objects.get(key="dermapen_rolling"), Technique.objects.get(key="direct_nappage")
    products = {product.key: product for product in protocol.products.all()}
    cocktail = products["hair_cocktail"]
    cartridge = Consumable.objects.filter(kind=Consumable.Kind.CARTRIDGE, is_active=True).order_by("key").first()
    needle = Consumable.objects.filter(kind=Consumable.Kind.NEEDLE, is_active=True).order_by("key").first()
    cream = Consumable.objects.filter(kind=Consumable.Kind.NUMBING, is_active=True).order_by("key").first()
    signed = 0
    for index, appointment in enumerate(_candidates(run)):
        location = appointment.location
        day = location.local(appointment.starts_at).date()
        product_lots = inventory_selectors.usable_lots(location=location, on=day, product=cocktail)
        dermapen = appointment.device is not None
        item = cartridge if dermapen else needle
        item_lots = inventory_selectors.usable_lots(location=location, on=day, consumable=item) if item is not None else []
        if not product_lots or not item_lots:
            continue
        cream_lots = inventory_selectors.usable_lots(location=location, on=day, consumable=cream) if cream is not None else []
        volume = Decimal(run.rng.choice(["2.00", "2.50", "3.00"]))
        ctx = audit.AuditContext(actor=appointment.practitioner, path="seed_demo")
        with transaction.atomic():
            numbing_at = appointment.starts_at
            injections_at = numbing_at + timedelta(minutes=terms.numbing_minutes)
            record = ProcedureRecord.objects.create(
                appointment=appointment,
                patient=appointment.patient,
                location=location,
                practitioner=appointment.practitioner,
                protocol=protocol,
                catalog_version=version,
                area_keys=["scalp"],
                numbing_minutes=terms.numbing_minutes,
                opened_by=appointment.practitioner,
                started_at=numbing_at - timedelta(minutes=8),
                rescreened_at=numbing_at - timedelta(minutes=6),
                rescreen_status="eligible",
                consent_confirmed_at=numbing_at - timedelta(minutes=4),
                consent_confirmed_by=appointment.practitioner,
                photos_confirmed_at=numbing_at - timedelta(minutes=2),
                photos_confirmed_by=appointment.practitioner,
                numbing_product=cream_lots[0].item_name if cream_lots else "EMLA 5% cream",
                numbing_lot=cream_lots[0] if cream_lots else None,
                numbing_applied_at=numbing_at,
                numbing_recorded_by=appointment.practitioner,
                antisepsis_at=injections_at,  # the catalog's steps: the swab once the numbing wait is over
                antisepsis_by=appointment.practitioner,
                injections_started_at=injections_at,
            )
            treatment = AreaTreatment.objects.create(
                record=record,
                area=scalp,
                technique=rolling if dermapen else nappage,
                method=(rolling if dermapen else nappage).method,
                mode=(rolling if dermapen else nappage).mode,
                depth_mm=Decimal("1.00") if dermapen else Decimal("0.50"),
                passes=3 if dermapen else None,
                dermapen_speed=8 if dermapen else None,
                device=appointment.device,
                recorded_at=injections_at + timedelta(minutes=15),
                recorded_by=appointment.practitioner,
            )
            lot, item_lot = product_lots[0], item_lots[0]
            ProductUsage.objects.create(
                record=record, treatment=treatment, product=cocktail, lot=lot, volume_ml=volume, stock_quantity=volume
            )
            assert item_lot.consumable is not None
            ConsumableUsage.objects.create(record=record, treatment=treatment, consumable=item_lot.consumable, lot=item_lot, quantity=1)
            kind, severity = REACTIONS[index % len(REACTIONS)]
            reacted_at = injections_at + timedelta(minutes=20)
            Reaction.objects.create(
                record=record, kind=kind, severity=severity, recorded_at=reacted_at, recorded_by=appointment.practitioner
            )
            try:
                inventory.take_stock(
                    ctx=ctx,
                    location=location,
                    usages=[inventory.StockUsage(lot=lot, quantity=volume), inventory.StockUsage(lot=item_lot, quantity=Decimal(1))],
                    reference_type=STOCK_REFERENCE,
                    reference_id=str(record.pk),
                    patient_id=record.patient_id,
                    on=day,
                )
            except inventory.StockError:
                transaction.set_rollback(True)
                continue
            ProcedureRecord.objects.filter(pk=record.pk).update(
                status=ProcedureRecord.Status.SIGNED,
                reactions_recorded_at=reacted_at,
                signed_at=reacted_at + timedelta(minutes=2),
                signed_by=appointment.practitioner,
            )
            audit.record(
                ctx,
                action=AuditEvent.Action.CREATE,
                object_type=OBJECT_TYPE,
                object_id=record.pk,
                patient_id=record.patient_id,
                location_id=location.pk,
                detail={"demo": True, "appointment": appointment.pk, "status": "signed"},
            )
        signed += 1
    return signed
