"""Demo screenings (small scale only). The demo patient, Amelia Hart, stays unscreened: the golden
path screens her. A few other patients are screened by a doctor of their clinic, with mostly "no"
answers and the odd contraindication, so the patient page shows every kind of verdict."""

from __future__ import annotations

from mesoclinic.accounts.models import User
from mesoclinic.accounts.roles import Role
from mesoclinic.catalog.selectors import current_version
from mesoclinic.core import audit
from mesoclinic.core.seeding import SeedRun
from mesoclinic.patients.models import Patient

from .models import Screening
from .services import questions_to_ask, record_screening

SCREENED = 24


def seed(run: SeedRun) -> None:
    if run.scale.name != "small":
        run.say("Screenings are seeded in the small scale only.")
        return
    demo = run.shared["demo_patient"]
    version = current_version()
    keys = [str(question["key"]) for question in questions_to_ask(version=version, kind=Screening.Kind.FULL)]
    doctors = {
        location_id: user
        for user in User.objects.filter(role=Role.DOCTOR).prefetch_related("memberships").order_by("id")
        for location_id in user.location_ids
    }
    patients = list(Patient.objects.exclude(pk=demo.pk).select_related("location").order_by("id")[:SCREENED])
    for patient in patients:
        doctor = doctors.get(patient.location_id)
        if doctor is None:
            continue
        answers = {key: "no" for key in keys}
        roll = run.rng.random()
        if roll < 0.15:
            answers["pregnancy"] = "yes"
        elif roll < 0.3:
            answers["anticoagulants"] = "yes"
        elif roll < 0.4:
            answers["infection_face"] = "yes"
        elif roll < 0.5:
            answers["diabetes"] = "unknown"
        record_screening(ctx=audit.AuditContext(actor=doctor, path="seed_demo"), patient=patient, answers=answers, kind=Screening.Kind.FULL)
    run.say(f"{len(patients)} patients screened; {demo.full_name} is left unscreened for the golden path.")
