"""Demo courses: every doctor and nurse is qualified for every protocol (all scales, bulk-inserted);
in the small scale a few screened, eligible patients get a hair course, most of them planned and
booked through the real services, one left prescribed but not booked. The demo patient, Amelia
Hart, gets none: the golden path prescribes hers."""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from mesoclinic.accounts.models import User
from mesoclinic.accounts.roles import Role
from mesoclinic.catalog.models import Concern, Protocol, Technique
from mesoclinic.core import audit
from mesoclinic.core.models import AuditEvent
from mesoclinic.core.seeding import SeedRun
from mesoclinic.patients.models import Patient
from mesoclinic.screening.selectors import eligibility
from mesoclinic.screening.services import NotEligible

from .models import Qualification
from .planner import plan_course
from .services import CourseRefused, SessionTaken, book_course, prescribe_course

COURSES = 4
QUALIFIED_ROLES = (Role.DOCTOR, Role.NURSE)
BATCH = 5000


def seed(run: SeedRun) -> None:
    count = seed_qualifications()
    run.say(f"{count:,} qualifications: every doctor and nurse may deliver every protocol.")
    if run.scale.name != "small":
        run.say("Demo courses are seeded in the small scale only.")
        return
    booked, planned = seed_courses(run)
    run.say(f"{booked} courses booked and {planned} prescribed but not booked; {run.shared['demo_patient'].full_name} has none yet.")


def seed_qualifications() -> int:
    protocols = list(Protocol.objects.filter(is_active=True).values_list("id", flat=True))
    practitioners = User.objects.filter(role__in=QUALIFIED_ROLES, is_active=True).values_list("id", flat=True).iterator(chunk_size=BATCH)
    rows = [Qualification(practitioner_id=user_id, protocol_id=protocol_id) for user_id in practitioners for protocol_id in protocols]
    Qualification.objects.bulk_create(rows, batch_size=BATCH, ignore_conflicts=True)
    audit.record(audit.SYSTEM, action=AuditEvent.Action.CREATE, object_type="qualification-batch", detail={"count": len(rows)})
    return len(rows)


def seed_courses(run: SeedRun) -> tuple[int, int]:
    demo = run.shared["demo_patient"]
    protocol = Protocol.objects.get(key="hair_cocktail")
    concern = Concern.objects.get(key="hair_loss")
    rolling = list(Technique.objects.filter(key="dermapen_rolling"))
    doctors: dict[int, User] = {}
    for user in User.objects.filter(role=Role.DOCTOR, is_active=True).order_by("id"):
        for location_id in user.location_ids:
            doctors.setdefault(location_id, user)
    receptionists: dict[int, User] = {}
    for user in User.objects.filter(role=Role.RECEPTIONIST, is_active=True).order_by("id"):
        for location_id in user.location_ids:
            receptionists.setdefault(location_id, user)
    candidates = Patient.objects.filter(screenings__isnull=False).exclude(pk=demo.pk).select_related("location").distinct().order_by("id")
    booked = planned = 0
    for patient in candidates:
        if booked + planned >= COURSES:
            break
        doctor, receptionist = doctors.get(patient.location_id), receptionists.get(patient.location_id)
        if (
            doctor is None
            or receptionist is None
            or not eligibility(patient=patient, protocol=protocol, area_keys=["scalp"]).allows_booking
        ):
            continue
        try:
            course = prescribe_course(
                ctx=audit.AuditContext(actor=doctor, path="seed_demo"),
                patient=patient,
                protocol=protocol,
                concern=concern,
                area_keys=["scalp"],
                sessions=6 if booked % 2 == 0 else 4,
                interval_min_days=21 if booked % 2 == 0 else 28,
                interval_max_days=28,
                techniques=rolling,
            )
        except (CourseRefused, NotEligible):
            continue
        if planned == 0 and booked >= 1:
            planned += 1  # left for the front desk to plan and book
            continue
        start_on = patient.location.local(timezone.now()).date() + timedelta(days=1 + run.rng.randrange(7))
        rows = plan_course(course=course, start_on=start_on)
        if not all(row.bookable for row in rows):
            planned += 1
            continue
        try:
            book_course(ctx=audit.AuditContext(actor=receptionist, path="seed_demo"), course=course, proposals=rows)
        except (CourseRefused, SessionTaken):
            planned += 1
            continue
        booked += 1
    return booked, planned
