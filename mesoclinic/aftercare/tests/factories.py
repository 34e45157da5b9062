"""Aftercare and safety test helpers: a signed session with areas, products and lots, and its aftercare.

`signed_session` writes the chart rows directly (children while the record is open, then the
signature), the way the procedures app's own sign-off leaves them, so these tests do not depend on
walking the chart's screens.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

from django.utils import timezone

from mesoclinic.accounts.roles import Role
from mesoclinic.accounts.tests.factories import UserFactory
from mesoclinic.aftercare import services
from mesoclinic.aftercare.models import AftercareHandout
from mesoclinic.catalog.models import Area, Product, Protocol, Technique
from mesoclinic.catalog.tests.factories import default_catalog
from mesoclinic.core import audit
from mesoclinic.core.tests.factories import DeviceFactory
from mesoclinic.inventory.models import Consumable, Lot
from mesoclinic.inventory.tests.factories import make_lot
from mesoclinic.patients.models import Patient
from mesoclinic.patients.tests.factories import PatientFactory
from mesoclinic.procedures.models import AreaTreatment, ConsumableUsage, ProcedureRecord, ProductUsage, Reaction
from mesoclinic.scheduling.tests.factories import AppointmentFactory


@dataclass
class Session:
    record: ProcedureRecord
    treatments: dict[str, AreaTreatment] = field(default_factory=dict)
    usages: list[ProductUsage] = field(default_factory=list)

    @property
    def patient(self) -> Patient:
        return self.record.patient


def lot_of(location, product_key: str, **kwargs) -> Lot:
    default_catalog()  # the products are the default catalog's
    return make_lot(location, product=Product.objects.get(key=product_key), **kwargs)


def signed_session(
    location,
    *,
    protocol_key: str = "hair_cocktail",
    areas: dict[str, list[Lot]] | None = None,
    patient: Patient | None = None,
    practitioner=None,
    signed_at: datetime | None = None,
    consumables: dict[str, list[Lot]] | None = None,
    sign: bool = True,
) -> Session:
    """A signed session at `location`: `areas` maps area keys to the lots used there (several lots: a
    mixture), `consumables` area keys to consumable lots. `sign=False` leaves the record open."""
    version = default_catalog()
    protocol = Protocol.objects.get(key=protocol_key)
    practitioner = practitioner or UserFactory(role=Role.NURSE, locations=[location])
    patient = patient or PatientFactory(location=location)
    signed_at = signed_at or timezone.now().replace(microsecond=0)
    started_at = signed_at - timedelta(minutes=50)
    if areas is None:
        areas = {"scalp": [lot_of(location, "hair_cocktail")]}
    appointment = AppointmentFactory(location=location, patient=patient, practitioner=practitioner, starts_at=started_at)
    record = ProcedureRecord.objects.create(
        appointment=appointment,
        patient=patient,
        location=location,
        practitioner=practitioner,
        protocol=protocol,
        catalog_version=version,
        area_keys=list(areas),
        numbing_minutes=protocol.numbing_minutes,
        opened_by=practitioner,
        started_at=started_at,
    )
    session = Session(record=record)
    technique = Technique.objects.filter(method=Technique.Method.DERMAPEN, is_active=True).order_by("key").first()
    device = DeviceFactory(location=location)
    for area_key, lots in areas.items():
        treatment = AreaTreatment.objects.create(
            record=record,
            area=Area.objects.get(key=area_key),
            technique=technique,
            method=technique.method,
            mode=technique.mode,
            depth_mm=Decimal("0.50"),
            passes=2,
            dermapen_speed=8,
            device=device,
            recorded_at=started_at + timedelta(minutes=35),
            recorded_by=practitioner,
        )
        session.treatments[area_key] = treatment
        for lot in lots:
            session.usages.append(
                ProductUsage.objects.create(
                    record=record,
                    treatment=treatment,
                    product=lot.product,
                    lot=lot,
                    volume_ml=Decimal("2.00"),
                    stock_quantity=Decimal("2.00"),
                )
            )
        for lot in (consumables or {}).get(area_key, []):
            ConsumableUsage.objects.create(record=record, treatment=treatment, consumable=lot.consumable, lot=lot, quantity=2)
    Reaction.objects.create(record=record, kind=Reaction.Kind.NONE, recorded_at=signed_at, recorded_by=practitioner)
    if not sign:
        return session
    ProcedureRecord.objects.filter(pk=record.pk).update(
        status=ProcedureRecord.Status.SIGNED,
        rescreened_at=started_at,
        rescreen_status="eligible",
        consent_confirmed_at=started_at,
        consent_confirmed_by=practitioner,
        photos_confirmed_at=started_at,
        photos_confirmed_by=practitioner,
        numbing_product="EMLA 5%",
        numbing_applied_at=started_at,
        numbing_recorded_by=practitioner,
        antisepsis_at=started_at + timedelta(minutes=31),
        antisepsis_by=practitioner,
        injections_started_at=started_at + timedelta(minutes=32),
        reactions_recorded_at=signed_at,
        signed_at=signed_at,
        signed_by=practitioner,
    )
    record.refresh_from_db()
    return session


def issued(session: Session, *, ctx: audit.AuditContext = audit.SYSTEM) -> AftercareHandout:
    return services.issue_aftercare(ctx=ctx, record=session.record)


def nurse(location):
    return UserFactory(role=Role.NURSE, locations=[location])


def _cartridges(location) -> Lot:
    cartridge = Consumable.objects.filter(kind=Consumable.Kind.CARTRIDGE).order_by("id").first() or Consumable.objects.create(
        key="cartridge-test", name="Dermapen cartridge", kind=Consumable.Kind.CARTRIDGE
    )
    return make_lot(location, consumable=cartridge, quantity="10")


def charted_and_signed(location, *, patient: Patient, nurse, doctor, lots: list[Lot], area_key: str = "scalp") -> ProcedureRecord:
    """A session charted step by step and signed through the procedures app's services, so the
    sign-off hook (aftercare) runs exactly as it does from the chart."""
    from mesoclinic.catalog.models import Protocol
    from mesoclinic.courses.tests.factories import qualify
    from mesoclinic.procedures import services as procedures
    from mesoclinic.screening.tests.factories import all_no, screen

    ctx = audit.AuditContext(actor=nurse, ip_address="127.0.0.1", path="/test")
    now = timezone.now()
    appointment = AppointmentFactory(
        location=location,
        patient=patient,
        practitioner=nurse,
        protocol_key="hair_cocktail",
        starts_at=now - timedelta(minutes=45),
        numbing_minutes=30,
        procedure_minutes=60,
    )
    screen(doctor, patient)
    qualify(Protocol.objects.get(key="hair_cocktail"), nurse, doctor)  # the chart refuses an unqualified practitioner
    record = procedures.open_procedure(ctx=ctx, appointment=appointment)
    record = procedures.record_rescreen(ctx=ctx, record=record, answers=all_no("rescreen", record.area_keys))
    record = procedures.confirm_consent(ctx=ctx, record=record)
    record = procedures.confirm_photos(ctx=ctx, record=record)
    record = procedures.record_numbing(ctx=ctx, record=record, product_name="EMLA 5%", applied_at=now - timedelta(minutes=40))
    record = procedures.record_antisepsis(ctx=ctx, record=record)
    procedures.record_area_treatment(
        ctx=ctx,
        record=record,
        area_key=area_key,
        technique_key="dermapen_rolling",
        depth_mm=Decimal("0.50"),
        passes=2,
        dermapen_speed=8,
        device=DeviceFactory(location=location),
        products=[procedures.ProductLine(product=lot.product, lot=lot, volume_ml=Decimal("2.00")) for lot in lots],
        consumables=[procedures.ConsumableLine(lot=_cartridges(location), quantity=1)],  # required by default
    )
    record = procedures.record_reactions(ctx=ctx, record=record, reactions=[procedures.ReactionLine(kind="none")])
    return procedures.sign_procedure(ctx=ctx, record=record)
